"""Secrets: credential encryption and redaction."""
