"""The sync engine: runs in Postgres, jobs on Redis (RQ), landing into raw records."""
