"""Privacy: consent records (and, later, the data map, export, erasure and retention)."""
