"""Operator commands: ``python -m cli policy ...`` (docs/lifecycle.md) and ``holdback``.

policy export     write the whole policy state to a versioned JSON file (or stdout)
policy import     replace the policy by a file's, as a new version
policy snapshot   save the current state as a snapshot
policy snapshots  list snapshots and the lifecycle log
policy rollback   restore a snapshot (by id or by version), as a new version
policy reset      back to the initial policy, as a new version
policy fit-normaliser  fit the context normaliser on the latest decisions and activate it (θ starts afresh)
holdback          mean reward of the policy vs the holdback arm, with 95% intervals and the lift
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import asdict
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.errors import AppError

if TYPE_CHECKING:  # imported lazily at run time: --help stays quick
    from shared.bootstrap import Runtime
    from shared.core.lift import Interval
    from shared.services.lifecycle import LifecycleOutcome
    from shared.store.lifecycle import LifecycleEntry, SnapshotInfo


def _key_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        help="idempotency key: the same key again changes nothing and prints the first outcome (default: a new one)",
    )


def add_policy_commands(sub: Any) -> None:
    pol = sub.add_parser(
        "policy",
        help="policy lifecycle: export, import, snapshot, snapshots, rollback, reset, fit-normaliser",
        description="Manage the policy state (H, θ, baselines, version, context normaliser). Every change "
        "(import, rollback, reset, fit-normaliser) "
        "is a new version, saves the state it replaces as a snapshot first, and takes the lock policy updates "
        "take. See docs/lifecycle.md.",
    )
    ps = pol.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    exp = ps.add_parser("export", help="write the policy to a JSON file (default stdout)")
    exp.add_argument("--out", type=Path, help="file to write (default: stdout)")

    imp = ps.add_parser("import", help="replace the policy by a file's, as a new version")
    imp.add_argument("file", type=Path, help="a file written by 'policy export'")
    imp.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="import even if the file's action space differs: rows of unknown values are dropped, "
        "values the file lacks start at 0",
    )
    _key_option(imp)

    snap = ps.add_parser("snapshot", help="save the current state as a snapshot")
    snap.add_argument("--label", default="", help="a note for the snapshot list")
    _key_option(snap)

    lst = ps.add_parser("snapshots", help="list snapshots (newest first) and the lifecycle log")
    lst.add_argument("--limit", type=int, default=50, help="at most this many of each (default 50)")
    lst.add_argument("--json", action="store_true", help="print JSON")

    rb = ps.add_parser("rollback", help="restore a snapshot's H, θ and baselines, as a new version")
    which = rb.add_mutually_exclusive_group(required=True)
    which.add_argument("--snapshot", type=int, metavar="ID", help="the snapshot id (see 'policy snapshots')")
    which.add_argument("--version", type=int, metavar="V", help="the newest snapshot taken at version V")
    _key_option(rb)

    rs = ps.add_parser("reset", help="back to the initial policy (H = 0, θ = 0, baselines 0), as a new version")
    rs.add_argument("--yes", action="store_true", help="needed: confirms the reset (the old state is saved)")
    _key_option(rs)

    fit = ps.add_parser(
        "fit-normaliser",
        help="fit the context normaliser on the latest decisions' contexts and activate it, as a new version "
        "(θ starts at 0; H and the baselines carry over)",
    )
    fit.add_argument(
        "--last", type=int, default=5000, metavar="N", help="fit on the latest N decisions (default 5000, at most 5000)"
    )
    _key_option(fit)

    hb = sub.add_parser(
        "holdback",
        help="lift of the policy over the holdback arm: mean rewards with 95%% intervals",
        description="Mean final reward of the policy's posts and of the holdback arm's (the fixed baseline "
        "action, POLICY_HOLDBACK_SHARE), per platform and overall, with 95%% normal intervals and the "
        "difference (Welch).",
    )
    hb.add_argument("--since", type=date.fromisoformat, help="only posts scheduled from this UTC day on (YYYY-MM-DD)")
    hb.add_argument("--json", action="store_true", help="print JSON")


def run_policy(args: argparse.Namespace) -> None:
    from shared.bootstrap import build_runtime

    if args.policy_command == "reset" and not args.yes:
        sys.exit("reset replaces the policy by the initial one: add --yes to confirm (the old state is saved)")
    runtime = build_runtime()
    try:
        _policy(args, runtime)
    except AppError as exc:
        sys.exit(f"error{f' ({exc.field})' if exc.field else ''}: {exc.message}")
    finally:
        runtime.close()


def _policy(args: argparse.Namespace, rt: Runtime) -> None:
    from shared import policy_file
    from shared.services import lifecycle

    now = rt.clock.now()
    key = getattr(args, "key", None) or f"cli-{uuid.uuid4().hex[:16]}"
    command = args.policy_command
    if command == "export":
        text = policy_file.dumps(lifecycle.export_policy(rt.db, rt.space, rt.params, now))
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
            print(f"Policy version {json.loads(text)['version']} written to {args.out}")
    elif command == "import":
        try:
            doc = policy_file.loads(args.file.read_bytes())
        except ValidationError as exc:
            sys.exit(f"invalid policy file {args.file}:\n{exc}")
        ours = policy_file.hyperparameters(rt.params)
        if doc.hyperparameters != ours:
            print("note: the file was exported with other hyperparameters; this instance keeps its own configuration")
        out = lifecycle.import_policy(rt.db, doc, space=rt.space, key=key, now=now, allow_mismatch=args.allow_mismatch)
        _print_outcome(out)
    elif command == "snapshot":
        info, created = lifecycle.take_snapshot(rt.db, key=key, label=args.label, space=rt.space, now=now)
        what = "Saved" if created else "Already saved (same key)"
        print(f"{what}: snapshot {info.snapshot_id} of version {info.version} ({info.steps} learning steps)")
    elif command == "snapshots":
        _print_snapshots(lifecycle.snapshots(rt.db, args.limit), lifecycle.lifecycle_log(rt.db, args.limit), args.json)
    elif command == "rollback":
        out = lifecycle.rollback(
            rt.db, space=rt.space, key=key, now=now, snapshot_id=args.snapshot, version=args.version
        )
        _print_outcome(out)
    elif command == "fit-normaliser":
        fitted = lifecycle.fit_context_normaliser(rt.db, space=rt.space, key=key, now=now, last=args.last)
        assert fitted is not None
        _print_outcome(fitted)
        print(f"normaliser {fitted.detail['normaliser']} fitted on {fitted.detail['fitted_on']} contexts is active")
        if fitted.applied and fitted.detail["fitted_on"] < lifecycle.FEW_FIT_CONTEXTS:
            print(
                f"warning: {fitted.detail['fitted_on']} contexts are few (fewer than {lifecycle.FEW_FIT_CONTEXTS}): "
                "the normaliser's directions are mostly noise. The sweep fits once by itself after "
                "POLICY_NORMALISER_FIT_AFTER decisions (default 300); `policy rollback` undoes this fit.",
                file=sys.stderr,
            )
    else:
        _print_outcome(lifecycle.reset_policy(rt.db, space=rt.space, key=key, now=now))


def _print_outcome(out: LifecycleOutcome) -> None:
    head = f"{out.kind}: version {out.version}"
    if out.source_version is not None:
        head += f" (the state of version {out.source_version})"
    print(head if out.applied else f"{head}: done before under this key, nothing changed")
    if out.saved_snapshot is not None:
        print(
            f"The state it replaced is snapshot {out.saved_snapshot} (policy rollback --snapshot {out.saved_snapshot})"
        )
    for name in ("dropped", "zeroed"):
        if out.detail.get(name):
            print(f"{name}: {', '.join(out.detail[name])}")


def _print_snapshots(snaps: list[SnapshotInfo], log: list[LifecycleEntry], as_json: bool) -> None:
    if as_json:
        shown = {"snapshots": [asdict(s) for s in snaps], "lifecycle": [asdict(e) for e in log]}
        print(json.dumps(shown, indent=2, default=str))
        return
    print("Snapshots (newest first):")
    if not snaps:
        print("  none")
    for s in snaps:
        label = f"  {s.label}" if s.label else ""
        print(
            f"  #{s.snapshot_id:<5} version {s.version:<7} steps {s.steps:<7} {s.reason:<16} "
            f"{s.created_at:%Y-%m-%d %H:%M}{label}"
        )
    ids = sorted(s.snapshot_id for s in snaps)
    if any(b - a > 1 for a, b in pairwise(ids)):
        print(
            "  (ids are never reused: a gap is a snapshot that was not kept, because its key was taken "
            "or the change it belonged to was refused or rolled back)"
        )
    print("Lifecycle log (versions made by import, rollback, reset, normaliser fits):")
    if not log:
        print("  none")
    for e in log:
        source = f" ← version {e.source_version}" if e.source_version is not None else ""
        print(
            f"  version {e.version:<7} {e.kind:<9}{source}  saved as #{e.saved_snapshot}  {e.applied_at:%Y-%m-%d %H:%M}"
        )


def run_holdback(args: argparse.Namespace) -> None:
    from shared.bootstrap import build_runtime
    from shared.services.holdback import holdback_report

    runtime = build_runtime()
    try:
        rows = holdback_report(runtime.db, args.since)
        share = runtime.params.holdback_share
    finally:
        runtime.close()
    if args.json:
        print(json.dumps({"holdback_share": share, "rows": [asdict(r) for r in rows]}, indent=2))
        return
    if share == 0 and all(r.holdback.n == 0 for r in rows):
        print(
            "The holdback is off (POLICY_HOLDBACK_SHARE=0) and no post ever took the baseline action, "
            "so there is no lift to measure.\nTo measure it, send a share of posts to the fixed baseline, "
            'e.g. POLICY_HOLDBACK_SHARE=0.1 (a tenth); docs/lifecycle.md, "Holdback".'
        )
        return
    print(f"Holdback share {share:.1%} (POLICY_HOLDBACK_SHARE); mean final reward, 95% interval:")
    print(f"  {'platform':<10} {'policy':>30} {'holdback':>30} {'lift (policy − holdback)':>32}")
    for r in rows:
        print(
            f"  {r.platform:<10} {_interval(r.policy_mean, r.policy.n):>30} "
            f"{_interval(r.holdback_mean, r.holdback.n):>30} {_interval(r.lift, None):>32}"
        )


def _interval(iv: Interval | None, n: int | None) -> str:
    count = f" (n={n})" if n is not None else ""
    if iv is None:
        return f"-{count}"
    if iv.low is None:
        return f"{iv.estimate:+.4f}{count}"
    return f"{iv.estimate:+.4f} [{iv.low:+.4f}, {iv.high:+.4f}]{count}"
