"""AutonomOS AAM/DCL: connect sources, land their records in Postgres, map them to a canonical ontology."""

__version__ = "0.1.0"
