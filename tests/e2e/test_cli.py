"""The command line, run as a user runs it (a subprocess on the test database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest

from shared.config import PROJECT_ROOT
from shared.core.policy import PolicyParams
from tests.support.cli import run_cli


def test_help_lists_the_commands(database_url, tmp_path):
    done = run_cli(database_url, tmp_path, "--help")
    assert done.returncode == 0
    for command in ("run", "generate", "report"):
        assert f"    {command} " in done.stdout


def test_generate_prints_action_probabilities_prompts_and_the_offline_caption(runtime, database_url, tmp_path):
    done = run_cli(
        database_url, tmp_path, "generate", "--topic", "our spring menu", "--platform", "instagram", "--json"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    dims = [d.name for d in runtime.space.dimensions]
    assert list(shown["action"]) == dims and list(shown["probabilities"]) == dims
    for dim, probs in shown["probabilities"].items():
        assert sum(probs.values()) == pytest.approx(1.0)
        assert shown["action"][dim] in probs
    assert shown["platform"] == "instagram" and shown["created"] is True
    assert shown["content_source"] == "offline" and shown["content_status"] == "done"
    assert "our spring menu" in shown["caption"] and shown["caption"] in shown["image_prompt"]
    assert "Acme Analytics" in shown["generator_prompt"]
    assert shown["context_fallback"] is False  # profile and topic embedded by the ONNX model


def test_generate_reads_a_profile_file_and_prints_text(database_url, tmp_path):
    profile = tmp_path / "bakery.json"
    profile.write_text(json.dumps({"name": "Rosa's Bakery", "industries": ["Food & Beverage"]}))
    done = run_cli(
        database_url, tmp_path, "generate", "--topic", "sourdough", "--profile", str(profile),
        "--request-id", "cli-bakery-1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "for Rosa's Bakery on linkedin" in done.stdout
    assert "Action and probabilities (* = chosen):" in done.stdout
    assert done.stdout.count(" * ") == 6  # one chosen value per dimension
    for title in ("Generator prompt:", "Caption prompt:", "Image prompt:", "Caption (offline, done):"):
        assert title in done.stdout
    again = run_cli(
        database_url, tmp_path, "generate", "--topic", "sourdough", "--profile", str(profile),
        "--request-id", "cli-bakery-1",
    )  # fmt: skip
    assert "(already generated)" in again.stdout
    assert again.stdout.split("\n", 1)[0].split()[1] == done.stdout.split("\n", 1)[0].split()[1]  # same post id


def test_an_invalid_profile_file_is_refused_with_the_field(database_url, tmp_path):
    profile = tmp_path / "bad.json"
    profile.write_text(json.dumps({"name": "X", "colours": "navy", "surprise": 1}))
    done = run_cli(database_url, tmp_path, "generate", "--topic", "t", "--profile", str(profile))
    assert done.returncode != 0
    assert "colours" in done.stderr and "surprise" in done.stderr


def test_report_writes_the_dashboard_of_the_database(runtime, database_url, tmp_path):
    out = tmp_path / "report.html"
    assert run_cli(database_url, tmp_path, "generate", "--topic", "t").returncode == 0
    done = run_cli(database_url, tmp_path, "report", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "1 businesses · 1 posts" in page


def test_help_lists_the_policy_and_holdback_commands(database_url, tmp_path):
    done = run_cli(database_url, tmp_path, "--help")
    assert "    policy " in done.stdout and "    holdback " in done.stdout
    sub = run_cli(database_url, tmp_path, "policy", "--help")
    for action in ("export", "import", "snapshot", "snapshots", "rollback", "reset"):
        assert action in sub.stdout


def test_generate_json_carries_the_explanation_of_every_value(runtime, database_url, tmp_path):
    done = run_cli(database_url, tmp_path, "generate", "--topic", "our spring menu", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    assert shown["holdback"] is False and shown["epsilon"] == PolicyParams().epsilon
    assert (shown["learner"], shown["tau"]) == ("bandit", None)  # the default learner has no temperature
    for dim, probs in shown["probabilities"].items():
        parts = shown["explanation"][dim]
        assert list(parts) == list(probs)
        for value, p in parts.items():
            assert p["h"] + p["theta_x"] == p["score"] and p["pi"] == probs[value]


def test_policy_commands_export_snapshot_reset_rollback_and_import(runtime, database_url, tmp_path):
    from tests.support.policy_states import awkward_state, install

    install(runtime, awkward_state(runtime), version=9)
    first = tmp_path / "policy.json"
    done = run_cli(database_url, tmp_path, "policy", "export", "--out", str(first))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Policy version 9 written" in done.stdout
    snap = run_cli(database_url, tmp_path, "policy", "snapshot", "--label", "before the test")
    assert "Saved: snapshot" in snap.stdout and "of version 9" in snap.stdout

    refused = run_cli(database_url, tmp_path, "policy", "reset")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    reset = run_cli(database_url, tmp_path, "policy", "reset", "--yes", "--key", "cli-reset")
    assert reset.returncode == 0 and "reset: version 10" in reset.stdout
    repeat = run_cli(database_url, tmp_path, "policy", "reset", "--yes", "--key", "cli-reset")
    assert "nothing changed" in repeat.stdout

    back = run_cli(database_url, tmp_path, "policy", "rollback", "--version", "9")
    assert back.returncode == 0 and "rollback: version 11 (the state of version 9)" in back.stdout
    listed = run_cli(database_url, tmp_path, "policy", "snapshots", "--json")
    shown = json.loads(listed.stdout)
    assert [e["kind"] for e in shown["lifecycle"]] == ["rollback", "reset"]
    assert "before the test" in [s["label"] for s in shown["snapshots"]]

    imported = run_cli(database_url, tmp_path, "policy", "import", str(first))
    assert imported.returncode == 0 and "import: version 12 (the state of version 9)" in imported.stdout
    second = tmp_path / "again.json"
    run_cli(database_url, tmp_path, "policy", "export", "--out", str(second))
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    for doc in (a, b):
        doc.pop("exported_at"), doc.pop("version")
    assert a == b

    bad = tmp_path / "bad.json"
    bad.write_text(first.read_text().replace('"schema_version": 3', '"schema_version": 7'))
    invalid = run_cli(database_url, tmp_path, "policy", "import", str(bad))
    assert invalid.returncode != 0 and "schema_version" in invalid.stderr


def test_policy_fit_normaliser_fits_on_the_latest_decisions_and_activates_it(
    runtime, database_url, tmp_path, functions, make_profile
):
    from tests.support.functions import embedding, fetch_all, fetch_one, generate

    bid = make_profile()
    for i in range(8):
        generate(functions, bid, f"c{i}", "x", topic_embedding=embedding(i))
    version = fetch_one(runtime, "select version from policy_state")[0]
    done = run_cli(database_url, tmp_path, "policy", "fit-normaliser", "--last", "6", "--key", "cli-fit")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"normaliser: version {version + 1}" in done.stdout and "fitted on 6 contexts is active" in done.stdout
    assert "warning: 6 contexts are few (fewer than 100)" in done.stderr
    rows = fetch_all(runtime, "select version, active, fitted_on from context_normalisers")
    assert len(rows) == 1 and rows[0][1:] == (True, 6) and rows[0][0] in done.stdout
    repeat = run_cli(database_url, tmp_path, "policy", "fit-normaliser", "--key", "cli-fit")
    assert repeat.returncode == 0 and "nothing changed" in repeat.stdout and "warning" not in repeat.stderr
    assert fetch_one(runtime, "select version from policy_state")[0] == version + 1


def test_holdback_prints_both_arms(runtime, database_url, tmp_path):
    done = run_cli(database_url, tmp_path, "holdback", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    assert shown["holdback_share"] == 0.0 and shown["rows"][0]["platform"] == "all"
    text = run_cli(database_url, tmp_path, "holdback")
    # Off and never on: a sentence that says so and how to turn it on, not a table of dashes.
    assert "The holdback is off" in text.stdout and "POLICY_HOLDBACK_SHARE=0.1" in text.stdout
    assert "lift (policy − holdback)" not in text.stdout
    on = run_cli(database_url, tmp_path, "holdback", env={"POLICY_HOLDBACK_SHARE": "0.2"})
    assert "Holdback share 20.0%" in on.stdout and "lift (policy − holdback)" in on.stdout


@pytest.mark.slow
def test_report_demo_days_runs_a_throwaway_campaign_with_a_holdback_section(database_url, tmp_path):
    out = tmp_path / "demo.html"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "report", "--demo-days", "3", "--demo-businesses", "1", "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "HOME": str(tmp_path),
            "POLICY_HOLDBACK_SHARE": "0.3",
        },
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text(encoding="utf-8")
    assert 'id="holdback-section"' in page and "Holdback share 30%" in page
    # The business's own page beside it, each linking the other.
    (own,) = tmp_path.glob("demo-*.html")
    assert f'href="{own.name}"' in page
    mine = own.read_text(encoding="utf-8")
    assert 'href="demo.html">All businesses' in mine and 'id="holdback-sentence"' in mine


def test_snapshot_ids_with_a_gap_are_explained(runtime, database_url, tmp_path):
    assert run_cli(database_url, tmp_path, "policy", "snapshot", "--key", "first").returncode == 0
    assert "ids are never reused" not in run_cli(database_url, tmp_path, "policy", "snapshots").stdout
    for key in ("first", "second"):  # the repeated key keeps nothing but uses up an id
        assert run_cli(database_url, tmp_path, "policy", "snapshot", "--key", key).returncode == 0
    listed = run_cli(database_url, tmp_path, "policy", "snapshots")
    ids = [int(line.split()[0][1:]) for line in listed.stdout.splitlines() if line.strip().startswith("#")]
    assert len(ids) == 2 and max(ids) - min(ids) == 2
    assert "ids are never reused: a gap is a snapshot that was not kept" in listed.stdout


@pytest.mark.parametrize("command", [["generate", "--topic", "t"], ["holdback"]])
def test_an_empty_database_is_named_in_one_line_with_what_to_run(database_url, tmp_path, command):
    name = f"empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        done = run_cli(psycopg.conninfo.make_conninfo(database_url, dbname=name), tmp_path, *command)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "error: the database at DATABASE_URL has none of the product's tables: apply the migrations once "
            "with AUTO_MIGRATE=true (or `supabase db push`, docs/deploy.md), then run this again"
        ]
        # Nothing was created in it.
        with psycopg.connect(psycopg.conninfo.make_conninfo(database_url, dbname=name)) as conn:
            assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_best_time_lists_every_slot_and_the_next_best_time(database_url, tmp_path):
    made = run_cli(database_url, tmp_path, "generate", "--topic", "our spring menu", "--json")
    assert made.returncode == 0, made.stderr[-2000:]
    post = json.loads(made.stdout)
    assert post["scheduled_by"] == "best_time"  # no --when: the business's best time
    done = run_cli(database_url, tmp_path, "best-time", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    assert [s["time_bucket"] for s in shown["slots"]] == ["morning", "afternoon", "evening", "night"]
    assert all(s["low"] <= s["expected"] <= s["high"] for s in shown["slots"])
    assert shown["time_zone"] == "Europe/Berlin"  # the sample profile's
    # The same slot (its next time may move on by a day if the two calls straddle its lead time).
    scheduled = datetime.fromisoformat(post["scheduled_for"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert datetime.fromisoformat(shown["next_time"]).hour == scheduled.hour
    text = run_cli(database_url, tmp_path, "best-time")
    assert "Next best time:" in text.stdout and "*" in text.stdout
