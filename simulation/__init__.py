"""The simulated audience and the campaign that drives the real functions with it."""
