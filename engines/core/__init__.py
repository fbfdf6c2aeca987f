"""The engine-independent core: definitions, results, snapshots, events and run preparation."""
