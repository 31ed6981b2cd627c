"""The REST API for links and their snapshots: views and JSON shapes."""
