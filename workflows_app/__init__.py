"""Stepback's web app: runs, events and snapshots in Django models, browsed in the browser."""
