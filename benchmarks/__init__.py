"""Measurements whose figures go into docs/ (never asserted in tests: timings vary by machine)."""
