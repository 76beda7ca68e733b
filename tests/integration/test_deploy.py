"""The Terraform and the code agree; the bundle imports every entry point in a clean venv."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import hcl2
import pytest
from pydantic import SecretStr

import main
from deploy.bundle import build
from deploy.scheduler_jobs import build_jobs
from shared.config import PROJECT_ROOT, Settings

TF = PROJECT_ROOT / "terraform"


def _load(name: str) -> dict[str, Any]:
    with (TF / name).open() as f:
        data: dict[str, Any] = hcl2.load(f)
    return data


def _str(value: str) -> str:
    """hcl2 keeps the quotes (and escapes) of string literals."""
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('\\"', '"')
    return value


def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _load("locals.tf")["locals"]:
        merged.update(block)
    return merged


def _variable_default(name: str) -> str:
    for block in _load("variables.tf")["variable"]:
        for key, body in block.items():
            if _str(key) == name:
                return _str(body["default"])
    raise KeyError(name)


SETTINGS_FIELDS = {name.upper() for name in Settings.model_fields}


def test_terraform_deploys_exactly_the_entry_points_of_main():
    functions = {_str(k): v for k, v in _locals()["functions"].items()}
    assert set(functions) == set(main.__all__)
    for name, spec in functions.items():
        assert _str(spec["entry_point"]) == name
        assert callable(getattr(main, name))


def test_every_environment_variable_terraform_sets_is_a_setting_the_code_reads():
    env = _locals()["environment"]
    secrets = {_str(v) for v in _locals()["secrets"].values()}
    assert set(env) <= SETTINGS_FIELDS, set(env) - SETTINGS_FIELDS
    assert secrets <= SETTINGS_FIELDS, secrets - SETTINGS_FIELDS
    assert not set(env) & secrets, "a secret must not also be a plain environment variable"


def test_every_secret_setting_comes_from_secret_manager_and_production_settings_are_set():
    secrets = {_str(v) for v in _locals()["secrets"].values()}
    secret_fields = {
        name.upper() for name, f in Settings.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)
    }
    assert secret_fields | {"DATABASE_URL"} <= secrets
    env = _locals()["environment"]
    needed = {"AUTH_MODE", "TASK_DISPATCH", "GCP_PROJECT", "GCP_LOCATION", "URL_COMPUTE_REWARD", "URL_UPDATE_POLICY"}
    needed |= {"TASKS_SERVICE_ACCOUNT", "OIDC_AUDIENCE", "OIDC_SERVICE_ACCOUNTS", "SUPABASE_JWKS_URL"}
    assert needed <= set(env)
    assert _str(env["AUTH_MODE"]) == "enforce" and _str(env["TASK_DISPATCH"]) == "cloud_tasks"
    # And the values terraform gives parse as settings.
    Settings(auth_mode=_str(env["AUTH_MODE"]), task_dispatch=_str(env["TASK_DISPATCH"]))


def test_the_scheduler_jobs_built_by_the_client_match_terraform():
    tf_jobs = _locals()["scheduler_jobs"]
    resource = _load("scheduler.tf")["resource"][0]['"google_cloud_scheduler_job"']['"job"']
    target = resource["http_target"][0]
    jobs = build_jobs("proj-1", "europe-west1", "sched@proj-1.iam.gserviceaccount.com")
    assert {j.name.rsplit("/", 1)[1] for j in jobs} == set(tf_jobs)
    for job in jobs:
        spec = tf_jobs[job.name.rsplit("/", 1)[1]]
        assert job.schedule == _variable_default("sweep_schedule")
        assert _str(spec["schedule"]) == "${var.sweep_schedule}"
        assert job.http_target.body.decode() == _str(spec["body"])
        assert job.http_target.uri.endswith("/" + _str(spec["function"]))
        assert job.time_zone == _str(resource["time_zone"])
        assert job.http_target.http_method.name == _str(target["http_method"])
        assert dict(job.http_target.headers) == {"Content-Type": "application/json"}
        assert {_str(k): _str(v) for k, v in target["headers"].items()} == {"Content-Type": "application/json"}
        assert job.http_target.oidc_token.audience == _variable_default("oidc_audience")
        assert job.retry_config.retry_count == resource["retry_config"][0]["retry_count"]
        assert f"{job.attempt_deadline.seconds}s" == _str(resource["attempt_deadline"])
        # The body the sweep gets is one compute_reward accepts.
        assert json.loads(job.http_target.body) == {"sweep": True}
        assert base64.b64encode(job.http_target.body)


def test_every_terraform_file_parses_and_names_only_defined_resources():
    text = "".join(p.read_text() for p in TF.glob("*.tf"))
    defined = set(re.findall(r'resource "([a-z0-9_]+)" "([a-z0-9_]+)"', text))
    assert len(defined) >= 15
    for kind, name in set(re.findall(r"\b(google_[a-z0-9_]+)\.([a-z0-9_]+)\.", text)):
        assert (kind, name) in defined, f"{kind}.{name} is referenced but not defined"
    for path in TF.glob("*.tf"):
        _load(path.name)


@pytest.mark.slow
def test_the_bundle_imports_every_entry_point_in_a_clean_venv(tmp_path: Path):
    archive = tmp_path / "bundle.zip"
    names = build(archive)
    assert "main.py" in names and "requirements.txt" in names
    assert not [n for n in names if n.startswith(("tests/", "simulation/", ".venv"))]
    src = tmp_path / "src"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(src)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        # The bundle's requirements are the lock: every package hashed, so nothing else installs.
        [str(venv / "bin/pip"), "install", "--quiet", "--require-hashes", "-r", str(src / "requirements.txt")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    check = (
        "import main, sys; "
        "missing = [n for n in ('generate_post', 'record_snapshot', 'compute_reward', 'update_policy') "
        "if not callable(getattr(main, n, None))]; "
        "sys.exit(str(missing) if missing else 0)"
    )
    done = subprocess.run([str(venv / "bin/python"), "-c", check], cwd=src, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
