"""Worker processes: `manage.py stepback_worker --engine <name>` runs one of these modules."""
