"""One entry point for people: ``python -m cli <command>``.

run        the main job: a simulated campaign through the real functions (same as ``python -m simulation``)
generate   choose, log and write one post for a profile and topic, and print what was decided
report     write the dashboard (one HTML file) from the database, and optionally open it
best-time  the expected reward of each posting slot of a business and platform, and the next best time
evaluate   off-policy evaluation of other policies on the logged decisions (IPS, SNIPS, DR with 95% intervals)
policy     the policy lifecycle: export | import | snapshot | snapshots | rollback | reset | fit-normaliser (admin.py)
holdback   lift of the policy over the holdback arm, with 95% intervals
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import uuid
import webbrowser
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.config import PROJECT_ROOT, Settings
from shared.core.context import PLATFORMS

DEFAULT_REPORT = PROJECT_ROOT / "out" / "report.html"


def _aware(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-02T09:00:00+01:00")
    return when


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m cli",
        description="The social content learner: a contextual bandit that picks the creative parameters of posts, "
        "logs each decision with its probability, and learns from delayed engagement.",
        epilog="Configuration comes from the environment (see README.md): DATABASE_URL (unset: the embedded "
        "Postgres under .data/postgres), XAI_API_KEY and GEMINI_API_KEY (unset: the offline generator), ...",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from simulation.__main__ import DESCRIPTION, add_arguments

    run = sub.add_parser(
        "run", help="the main job: a simulated campaign (as python -m simulation)", description=DESCRIPTION
    )
    add_arguments(run)

    gen = sub.add_parser(
        "generate",
        help="generate one post for a profile and topic and print action, probabilities, prompts and caption",
        description="Choose the creative parameters of one post with the current policy, log the decision and "
        "write the prompts and caption (offline without provider keys), then print them. The post is stored "
        "in the configured database like any other generated post.",
    )
    gen.add_argument("--topic", required=True, help="what the post is about, e.g. 'our new analytics dashboard'")
    gen.add_argument("--platform", choices=PLATFORMS, default="linkedin", help="default linkedin")
    gen.add_argument(
        "--profile", type=Path, help="business profile as JSON (see cli/profiles.py); default: a sample B2B profile"
    )
    gen.add_argument(
        "--when", type=_aware, help="scheduled time, ISO 8601 with a zone (default: the business's best time)"
    )
    gen.add_argument("--request-id", help="idempotency key: the same key returns the same post (default: a new one)")
    gen.add_argument("--json", action="store_true", help="print the result as JSON instead of text")

    rep = sub.add_parser(
        "report",
        help="write the dashboard as HTML files, every business's and one per business (and open it)",
        description="Write the dashboard (policy preferences, reward vs baseline, exploration, latest posts) "
        "from the configured database, or from a short simulated campaign with --demo-days.",
    )
    rep.add_argument("--out", type=Path, default=DEFAULT_REPORT, help="output file (default out/report.html)")
    rep.add_argument("--open", action="store_true", help="open the file in the default browser")
    rep.add_argument(
        "--demo-days",
        type=int,
        metavar="N",
        help="fill a throwaway database with an N-day simulated campaign first (nothing is written to yours)",
    )
    rep.add_argument("--demo-businesses", type=int, default=4, help="businesses in the demo campaign (default 4)")

    best = sub.add_parser(
        "best-time",
        help="when to post: each slot's expected reward with its 95%% interval, and the next best time",
        description="The expected reward of each posting slot (local time bucket, and weekday where the "
        "business's own posts support it) for one business and platform, learned from its rewards and "
        "everyone's, with 95%% intervals, and the next time of the best slot (docs/best-time.md).",
    )
    best.add_argument("--business", type=uuid.UUID, help="business id (default: the sample profile's)")
    best.add_argument("--platform", choices=PLATFORMS, default="linkedin", help="default linkedin")
    best.add_argument("--json", action="store_true", help="print the estimates as JSON")

    ev = sub.add_parser(
        "evaluate",
        help="estimate what other policies would have earned on the logged posts (off-policy)",
        description="Off-policy evaluation on the latest rewarded decisions of the configured database: the "
        "current policy, uniform random, the logging policy and the what-if policies of shared/what_ifs.json, "
        "each by IPS, self-normalised IPS and doubly robust, with 95%% bootstrap intervals and the effective "
        "sample size (docs/learning.md says how far to trust them).",
    )
    ev.add_argument("--limit", type=int, default=5000, help="latest rewarded decisions to use (default 5000)")
    ev.add_argument("--what-ifs", type=Path, help="what-if policies as JSON (default: shared/what_ifs.json)")
    ev.add_argument("--json", action="store_true", help="print the estimates as JSON")
    from cli.admin import add_policy_commands

    add_policy_commands(sub)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    from shared.store.migrate import SchemaMissing

    try:
        _dispatch(args)
    except SchemaMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "run":
        from simulation.__main__ import run

        run(args)
    elif args.command == "generate":
        generate(args)
    elif args.command == "evaluate":
        evaluate(args)
    elif args.command == "best-time":
        best_time(args)
    elif args.command == "policy":
        from cli.admin import run_policy

        run_policy(args)
    elif args.command == "holdback":
        from cli.admin import run_holdback

        run_holdback(args)
    else:
        run_report(args)


def generate(args: argparse.Namespace) -> None:
    from cli.profiles import load_profile
    from shared.bootstrap import build_runtime
    from shared.services.generation import GenerateCommand, create_post
    from shared.services.profiles import save_profiles

    try:
        profile = load_profile(args.profile)
    except ValidationError as exc:
        sys.exit(f"invalid profile {args.profile}:\n{exc}")
    runtime = build_runtime()
    try:
        save_profiles(runtime.db, [profile])
        command = GenerateCommand(
            business_id=profile.business_id,
            request_id=args.request_id or f"cli-{uuid.uuid4().hex[:12]}",
            platform=args.platform,
            topic=args.topic,
            topic_embedding=None,
            scheduled_for=args.when,
            auto_publish=False,
        )
        result = create_post(
            runtime.db,
            command,
            space=runtime.space,
            params=runtime.params,
            reward_config=runtime.reward_config,
            embedder=runtime.embedders,
            now=runtime.clock.now(),
            content=runtime.content,
        )
    finally:
        runtime.close()
    shown = describe(result, runtime.space, profile.name)
    print(json.dumps(shown, indent=2) if args.json else as_text(shown))


def best_time(args: argparse.Namespace) -> None:
    from cli.profiles import load_profile
    from shared.bootstrap import build_runtime
    from shared.services.best_time import best_times

    business = args.business or load_profile(None).business_id
    runtime = build_runtime()
    try:
        found = best_times(runtime.db, business, args.platform, runtime.clock.now())
    finally:
        runtime.close()
    slots = [
        {
            "time_bucket": s.time_bucket,
            "day_of_week": s.day_of_week,
            "expected": s.expected,
            "low": s.low,
            "high": s.high,
            "posts": s.posts,
        }
        for s in found.slots
    ]
    if args.json:
        shown = {"platform": found.platform, "time_zone": found.time_zone, "next_time": found.next_time.isoformat()}
        print(json.dumps(shown | {"slots": slots}, indent=2))
        return
    days = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
    print(f"When to post on {found.platform} ({found.time_zone}): expected reward, 95% interval, own posts")
    for s in found.slots:
        name = s.time_bucket if s.day_of_week is None else f"{s.time_bucket}, {days[s.day_of_week]}"
        mark = "*" if s == found.best else " "
        print(f"  {mark} {name:<22} {s.expected:+.3f}  [{s.low:+.3f}, {s.high:+.3f}]  {s.posts}")
    print(f"Next best time: {found.next_time:%A %Y-%m-%d %H:%M} ({found.time_zone})")


def describe(result: Any, space: Any, business: str) -> dict[str, Any]:
    from shared.core.policy import explain

    d, p = result.decision, result.post
    return {
        "post_id": str(result.post_id),
        "created": result.created,
        "business": business,
        "platform": p.platform,
        "scheduled_for": p.scheduled_for.isoformat(),
        "scheduled_by": p.scheduled_by,
        "time_bucket": d.time_bucket,
        "policy_version": d.policy_version,
        "context_fallback": d.context_fallback,
        "mode": p.mode,
        "action": d.action,
        "probabilities": {c.dimension: dict(zip(c.values, c.pi, strict=True)) for c in d.choices},
        "joint_propensity": d.joint_propensity,
        "learner": d.learner,
        "tau": d.tau,
        "epsilon": d.epsilon,
        "holdback": d.holdback,
        "explanation": explain(d.choices),
        "labels": {dim.name: dict(zip(dim.values, dim.labels, strict=True)) for dim in space.dimensions},
        "generator_prompt": p.generator_prompt,
        "caption_prompt": p.caption_prompt,
        "image_prompt": p.image_prompt,
        "caption": p.caption,
        "content_source": p.content_source,
        "content_status": p.content_status,
        "image_url": p.image_url,
    }


def as_text(s: dict[str, Any]) -> str:
    def block(title: str, text: str | None) -> list[str]:
        body = textwrap.indent("\n".join(textwrap.fill(line, 96) for line in (text or "-").splitlines()), "  ")
        return [f"{title}:", body, ""]

    bandit = s["learner"] == "bandit"
    # The two parts of each score: the gradient's preference and context term; the bandit's
    # part from the rest of the greedy recipe and the value's own term.
    first, second = ("recipe", "own") if bandit else ("H", "θ·x")
    how = (
        "score = predicted reward of the best recipe with this value = recipe + own; π⁰ = inverse gap weights"
        if bandit
        else "score = H + θ·x, the preference and the context's part; π⁰ = softmax(score / τ)"
    )
    lines = [
        f"Post {s['post_id']} for {s['business']} on {s['platform']} ({s['time_bucket']}), "
        f"policy version {s['policy_version']}, {s['mode']} mode{'' if s['created'] else ' (already generated)'}",
        f"Scheduled for {s['scheduled_for']}"
        + (" (the business's best time)" if s["scheduled_by"] == "best_time" else ""),
        "",
        "Action and probabilities (* = chosen):",
        f"  (the % is π, with the ε floor; {how})"
        if not s["holdback"]
        else f"  holdback: the fixed baseline action (π one-hot); {first}, {second} and π⁰ are what the policy had",
    ]
    explained = s["explanation"] or {}
    for dim, probs in s["probabilities"].items():
        lines.append(f"  {dim}")
        for value, p in probs.items():
            mark = "*" if s["action"][dim] == value else " "
            bar = "█" * round(p * 30)
            parts = explained.get(dim, {}).get(value)
            why = (
                f"  {first} {parts['h']:+.3f}  {second} {parts['theta_x']:+.3f}  π⁰ {parts['pi0']:6.1%}"
                if parts is not None
                else ""
            )
            lines.append(f"   {mark} {s['labels'][dim][value]:<22} {p:6.1%} {bar:<30}{why}")
    lines += [
        f"  joint propensity {s['joint_propensity']:.3e}  ("
        + ("reward-model learner" if bandit else f"τ = {s['tau']:g}")
        + f", ε = {s['epsilon']:g})",
        "",
    ]
    lines += block("Generator prompt", s["generator_prompt"])
    lines += block("Caption prompt", s["caption_prompt"])
    lines += block("Image prompt", s["image_prompt"])
    lines += block(f"Caption ({s['content_source'] or 'offline'}, {s['content_status']})", s["caption"])
    if s["image_url"]:
        lines += [f"Image: {s['image_url']}"]
    return "\n".join(lines).rstrip()


def run_report(args: argparse.Namespace) -> None:
    from shared.bootstrap import build_runtime

    if args.demo_days is None:
        runtime = build_runtime()
        try:
            _write_report(runtime, args.out)
        finally:
            runtime.close()
    else:
        _demo_report(args)
    print(f"Dashboard written to {args.out}")
    if args.open:
        webbrowser.open(args.out.resolve().as_uri())


def _write_report(runtime: Any, out: Path) -> None:
    from shared.services.dashboard import write_dashboards

    written = write_dashboards(runtime.db, runtime.space, runtime.params, runtime.clock.now(), out)
    if len(written) > 1:
        print(f"One page per business beside it: {written[1].name}, … ({len(written) - 1})")


def _demo_report(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from shared.bootstrap import build_runtime, use_runtime
    from shared.clock import ManualClock
    from simulation.campaign import CampaignConfig, run_campaign
    from simulation.local_functions import LocalFunctions

    config = CampaignConfig(businesses=args.demo_businesses, days=args.demo_days)
    with tempfile.TemporaryDirectory(prefix="learner-report-") as tmp:
        settings = Settings(
            database_url=None,
            auth_mode="disabled",  # the campaign calls the functions in process, as the simulation does
            embedded_pg_dir=Path(tmp) / "pg",
            db_options="-c synchronous_commit=off",
        )
        runtime = build_runtime(settings, clock=ManualClock(config.start))
        use_runtime(runtime)
        try:
            with tqdm(total=config.days, unit="day", desc="simulating") as bar:

                def advance(day: int) -> None:
                    bar.update(min(day + 1, config.days) - bar.n)

                run_campaign(config, runtime, LocalFunctions(), on_day=advance)
            _write_report(runtime, args.out)
        finally:
            use_runtime(None)
            runtime.close()


def evaluate(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from shared.bootstrap import build_runtime
    from shared.core.target_policies import what_ifs_from_data
    from shared.services.evaluation import evaluate_logged

    what_ifs = None
    if args.what_ifs is not None:
        try:
            what_ifs = what_ifs_from_data(json.loads(args.what_ifs.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            sys.exit(f"invalid what-if file {args.what_ifs}: {exc}")
    runtime = build_runtime()
    try:
        result = evaluate_logged(runtime.db, runtime.space, what_ifs=what_ifs, limit=args.limit)
    finally:
        runtime.close()
    if args.json:
        print(
            json.dumps(
                {"policy_version": result.version, "n": result.n, "estimates": [asdict(e) for e in result.estimates]},
                indent=2,
            )
        )
        return
    print(evaluation_table(result))


def evaluation_table(result: Any) -> str:
    if not result.estimates:
        return f"Not enough rewarded decisions to evaluate ({result.n}; at least 20 are needed)."
    width = max(len(e.policy) for e in result.estimates)
    head = f"{'policy':<{width}}  {'estimator':<9} {'value':>7}  {'95% interval':<17} {'ESS':>7} {'n':>6}"
    lines = [
        f"Off-policy estimates on the latest {result.n} rewarded posts (policy version {result.version})",
        "",
        head,
        "-" * len(head),
    ]
    for e in result.estimates:
        lines.append(
            f"{e.policy:<{width}}  {e.estimator:<9} {e.value:>7.4f}  [{e.ci_low:.4f}, {e.ci_high:.4f}]"
            f" {e.ess:>7.0f} {e.n:>6}"
        )
    return "\n".join(lines)
