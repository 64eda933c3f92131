"""Read-only queries: the catalogue and the reports."""
