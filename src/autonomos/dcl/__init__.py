"""DCL: data connectivity layer (schema matching and mapping)."""
