"""The marketer's dashboard: a view of the data (pure), SVG charts (pure), one HTML page (pure)."""
