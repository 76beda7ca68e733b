"""Use cases: load → call the pure core → store. One module per concern."""
