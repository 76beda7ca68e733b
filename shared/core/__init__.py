"""The pure core: the product's math and rules (the standard library and numpy, no I/O; devtools/layers.py)."""
