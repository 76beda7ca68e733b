"""Local development tools (not part of the function bundle)."""
