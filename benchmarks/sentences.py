"""A fixed set of sentences like the product embeds: business profiles and post topics."""

from __future__ import annotations

SENTENCES: tuple[str, ...] = (
    "Acme Analytics. Technology, B2B. Software. Dashboards for small operations teams.",
    "Our new analytics dashboard is live",
    "Spring sale: 20% off all pastries this weekend",
    "Rosa's Bakery. Food & Beverage, Restaurant. Sourdough and coffee in the old town.",
    "How to budget for your first home",
    "Northwind Wealth. Finance, Financial services. Independent advice for retirees.",
    "Five mistakes people make when filing taxes",
    "Behind the build: how we cut page load time in half",
    "Meet the team: our head baker shares her morning routine",
    "Why cybersecurity matters for small businesses",
    "New class schedule at the gym starting Monday",
    "Summer collection drop: linen shirts in four colours",
    "Customer story: a plumbing company that doubled its bookings",
    "AI tooling",
    "data privacy",
    "Is remote work here to stay? What managers should know",
    "Limited-time offer on home solar installations",
    "Webinar: getting started with cloud cost optimisation",
    "Three quick breakfast ideas for busy mornings",
    "Quarterly market outlook: interest rates and your savings",
    "Ünïcödé café ☕ — crème brûlée & 日本茶 tasting night",
)

# Degenerate inputs: a one-character text and a text far past the 256-token limit.
# The int8 model drifts most on them (0.9985 for "x"), so they are reported apart.
EDGE_CASES: tuple[str, ...] = ("x", "growth " * 400)
