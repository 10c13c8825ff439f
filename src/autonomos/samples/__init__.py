"""Sample data the project generates itself (deterministic), used by the demo."""
