"""The dashboard in a real headless Chromium, filled from a seeded simulated campaign.

The campaign runs through the real functions and database (the test runtime);
the page is written to a file and opened the way a marketer opens it. A
screenshot is left in out/ (gitignored) for review.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from shared.config import PROJECT_ROOT
from shared.core.off_policy import Estimate
from shared.services.dashboard import dashboard_html
from shared.store.evaluation import StoredEvaluation, store_evaluation
from simulation.campaign import CampaignConfig, run_campaign
from tests.support.browser import ARGS, executable
from tests.support.database import START

SCREENSHOT = PROJECT_ROOT / "out" / "dashboard.png"


@pytest.fixture
def seeded_page(runtime, functions, tmp_path):
    """A short campaign (2 businesses × 4 platforms × 10 days), then the report file."""
    result = run_campaign(CampaignConfig(seed=11, businesses=2, days=10, start=START), runtime, functions)
    assert sum(r.status == "computed" for r in result.posts) > 40
    html = dashboard_html(runtime.db, runtime.space, runtime.params, START + timedelta(days=12))
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def shown(page: Page, selector: str) -> int:
    return page.locator(f".view.shown {selector}").count()


@pytest.mark.slow
@pytest.mark.browser
def test_the_dashboard_loads_without_errors_and_its_charts_show_the_campaign(seeded_page):
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable(), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})

            def on_console(m: ConsoleMessage) -> None:
                if m.type in ("error", "warning"):
                    problems.append(f"{m.type}: {m.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(seeded_page.as_uri())
            page.wait_for_selector("body[data-ready=true]")

            # "all" buckets: reward and exploration lines, no bars (preferences are per bucket).
            assert page.locator(".view.shown").count() == 3
            reward_points = page.locator("#reward .view.shown polyline[data-series^=reward]").get_attribute(
                "data-points"
            )
            assert reward_points is not None and int(reward_points) >= 5
            assert (
                int(
                    page.locator("#reward .view.shown polyline[data-series^=platform]").get_attribute("data-points")
                    or 0
                )
                >= 5
            )
            assert page.locator("#exploration .view.shown circle").count() >= 5

            # One bucket: a bar per value of every dimension, probabilities of each dimension summing to 1.
            page.click("button[data-set=bucket][data-value=afternoon]")
            assert page.locator("#policy .view.shown svg.bars").count() == 6
            bars = page.locator("#policy .view.shown rect.bar")
            assert bars.count() == 5 + 2 + 4 + 3 + 2 + 2
            first = page.locator("#policy .view.shown svg.bars").first.locator("rect.bar")
            total = sum(float(first.nth(i).get_attribute("data-probability") or 0) for i in range(first.count()))
            assert total == pytest.approx(1.0, abs=1e-5)
            rendered = bars.first.bounding_box()
            assert rendered is not None and rendered["width"] > 0  # drawn, not just present

            # Switching platform shows that platform's views and posts.
            page.click("button[data-set=platform][data-value=linkedin]")
            assert page.locator(".view.shown[data-platform=linkedin]").count() == 3
            visible = page.locator("#posts tbody tr:not(.hidden)")
            assert visible.count() >= 1
            assert all(visible.nth(i).get_attribute("data-platform") == "linkedin" for i in range(visible.count()))
            assert "has you covered" in visible.first.inner_text()  # the offline caption

            # The what-ifs as sentences against what the posts earned; the table behind a click.
            sentences = page.locator("#what-if-sentences li")
            assert sentences.count() >= 6
            assert all("would have earned" in sentences.nth(i).inner_text() for i in range(sentences.count()))
            assert "95% interval" in sentences.first.inner_text()
            what_if = page.locator("#what-if")
            assert not what_if.is_visible()
            page.click("#what-if-section summary")
            assert what_if.is_visible()
            assert (
                "current policy" in what_if.inner_text() and "always question hooks on LinkedIn" in what_if.inner_text()
            )
            # What works: per platform, a sentence per dimension with its evidence and interval.
            works = page.locator("#what-works-section ul.sentences")
            assert works.count() == 4
            first = works.first.locator("li")
            assert first.count() >= 3
            assert all(
                "over the platform's average reward" in first.nth(i).inner_text()
                and "95% interval" in first.nth(i).inner_text()
                for i in range(first.count())
            )
            # When to post: each business and platform with rewards, in its own time zone.
            times = page.locator("#best-times tbody tr")
            assert times.count() == 2 * 4
            zones = ("UTC", "America/New_York")  # the campaign's two businesses' (simulation/audience.py)
            for i in range(times.count()):
                row = times.nth(i)
                assert " h)" in row.locator("td").nth(2).inner_text()  # the slot with its local hours
                assert row.locator("td").nth(5).inner_text().split()[-1] in zones
            # Probabilities as people read them.
            assert "drawn with probability" in page.locator("#posts").inner_text()
            assert "e-0" not in page.locator("#posts").inner_text()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.click("button[data-set=bucket][data-value=all]")
            page.click("button[data-set=platform][data-value=instagram]")
            page.click("button[data-set=bucket][data-value=evening]")
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)])
def test_the_dashboard_fits_a_desktop_and_a_phone(seeded_page, name, width, height):
    """At both widths nothing pushes the page sideways (wide tables scroll in their own box),
    every section is on the page, and a screenshot is left in out/ for review."""
    shot = PROJECT_ROOT / "out" / f"dashboard-{name}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable(), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(seeded_page.as_uri())
            page.wait_for_selector("body[data-ready=true]")
            page.click("button[data-set=bucket][data-value=evening]")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow} px wider than a {width} px screen"
            for section in (
                "glance",
                "policy",
                "reward",
                "exploration",
                "engagement-section",
                "what-works-section",
                "best-times-section",
                "standouts-section",
                "what-if-section",
                "holdback-section",
                "latest",
            ):
                box = page.locator(f"#{section}").bounding_box()
                assert box is not None and box["width"] <= width and box["x"] >= 0, section
            charts = page.locator("#policy .view.shown svg.bars")
            first = charts.first.bounding_box()
            assert first is not None and first["width"] <= width
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def test_the_report_function_serves_the_page_over_http(runtime, functions, make_profile):
    import functions_framework

    create = functions_framework.create_app  # untyped library call
    client = create(target="report", source=str(PROJECT_ROOT / "main.py")).test_client()  # type: ignore[no-untyped-call]
    business = make_profile()
    status, _ = functions.post(
        "generate_post", {"business_id": str(business), "request_id": "r1", "platform": "x", "topic": "tea"}
    )
    assert status == 201
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    page = resp.get_data(as_text=True)
    assert "1 businesses · 1 posts" in page and 'id="what-if-unavailable"' in page  # no evaluation yet
    assert client.post("/").status_code == 405


def test_the_what_if_table_shows_the_stored_evaluation(runtime):
    absent = dashboard_html(runtime.db, runtime.space, runtime.params, START)
    assert 'id="what-if-unavailable"' in absent  # the sweep has not evaluated anything yet
    rows = (
        Estimate("greedy", "SNIPS", 0.412, 0.38, 0.44, 120, 80.0),
        Estimate("uniform", "IPS", 0.301, 0.25, 0.35, 120, math.nan),  # NaN: stored as JSON null
    )
    with runtime.db.transaction() as conn:
        store_evaluation(conn, StoredEvaluation(0, 120, START, rows))
    html = dashboard_html(runtime.db, runtime.space, runtime.params, START)
    assert 'id="what-if"' in html and "greedy" in html and "[0.380, 0.440]" in html and "[0.250, 0.350]" in html
