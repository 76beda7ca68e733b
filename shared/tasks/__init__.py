"""Tasks: the outbox, and the ways tasks reach their target function."""
