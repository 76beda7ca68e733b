"""The package every function shares: pure core, services, store, tasks."""
