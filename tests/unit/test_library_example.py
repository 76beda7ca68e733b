"""docs/learner-library.md's example runs as written and does what it says."""

from __future__ import annotations

import contextlib
import io
import re

from shared.config import PROJECT_ROOT


def test_the_documented_example_runs_and_learns_the_hook_that_pays() -> None:
    text = (PROJECT_ROOT / "docs" / "learner-library.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "learner-library.md", "exec"), {})  # the project's own doc, as a reader runs it
    # What it printed: the hook's probabilities as a dict literal of numpy floats.
    printed = eval(out.getvalue().strip(), {"np": __import__("numpy")})
    assert max(printed, key=printed.get) == "question"
    assert printed["question"] > 0.5
