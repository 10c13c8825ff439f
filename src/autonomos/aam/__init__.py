"""AAM, the Adaptive API Mesh: connectors, sync, and schema drift."""
