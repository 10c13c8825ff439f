"""Stateless offline field matcher (filled in below)."""
