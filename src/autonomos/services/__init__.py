"""The one service layer: CLI, API and console call these functions and only format results."""
