"""Demo workflows (registered by default through STEPBACK_WORKFLOWS)."""
