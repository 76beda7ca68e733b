"""Structured logs: one JSON line per event, with a severity; never a secret."""

from __future__ import annotations

import json
import sys
from typing import Any


def log(severity: str, message: str, **fields: Any) -> None:
    record = {"severity": severity, "message": message, **fields}
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)
