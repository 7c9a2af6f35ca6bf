"""Privacy: the data map (`data_map`), retention (`retention`, `retention_rules`) and consent records (`consent`)."""
