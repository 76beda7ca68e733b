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


def test_an_instance_imports_only_the_function_it_serves():
    """Every function is deployed from main.py; an instance of one must not pay, at its cold
    start, for the others' modules (docs/performance.md, section 5)."""
    check = (
        "import sys, functions_framework; "
        "functions_framework.create_app(target='update_policy', source='main.py'); "
        "others = sorted(m for m in sys.modules if m.startswith('functions.') and m != 'functions.update_policy' "
        "and m != 'functions._entry'); "
        "heavy = [m for m in ('shared.services.dashboard', 'shared.services.generation') if m in sys.modules]; "
        "sys.exit(str(others + heavy) if others or heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_environment_variable_terraform_sets_is_a_setting_the_code_reads():
    env = _locals()["environment"]
    secrets = {_str(v["setting"]) for v in _locals()["secrets"].values()}
    assert set(env) <= SETTINGS_FIELDS, set(env) - SETTINGS_FIELDS
    assert secrets <= SETTINGS_FIELDS, secrets - SETTINGS_FIELDS
    assert not set(env) & secrets, "a secret must not also be a plain environment variable"


def test_every_secret_setting_comes_from_secret_manager_and_production_settings_are_set():
    secrets = {_str(v["setting"]) for v in _locals()["secrets"].values()}
    secret_fields = {
        name.upper() for name, f in Settings.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)
    }
    assert secret_fields | {"DATABASE_URL"} <= secrets
    env = _locals()["environment"]
    needed = {"AUTH_MODE", "TASK_DISPATCH", "GCP_PROJECT", "GCP_LOCATION", "URL_COMPUTE_REWARD", "URL_UPDATE_POLICY"}
    needed |= {"TASKS_SERVICE_ACCOUNT", "OIDC_SERVICE_ACCOUNTS", "SUPABASE_JWKS_URL"}
    assert needed <= set(env)
    assert _str(env["AUTH_MODE"]) == "enforce" and _str(env["TASK_DISPATCH"]) == "cloud_tasks"
    # And the values terraform gives parse as settings.
    Settings(auth_mode=_str(env["AUTH_MODE"]), task_dispatch=_str(env["TASK_DISPATCH"]))


def _mounted(configured: set[str]) -> dict[str, set[str]]:
    """function → the settings it gets from Secret Manager, by locals.tf's rule (whose text the
    test below pins): a secret is mounted on the functions that read it, if it is required or
    listed in var.configured_secrets."""
    every = [_str(k) for k in _locals()["functions"]]
    out: dict[str, set[str]] = {fn: set() for fn in every}
    for key, spec in _locals()["secrets"].items():
        readers = every if spec["functions"] == "${keys(local.functions)}" else [_str(f) for f in spec["functions"]]
        if spec["required"] or _str(key) in configured:
            for fn in readers:
                out[fn].add(_str(spec["setting"]))
    return out


def test_each_function_mounts_only_the_secrets_it_reads_and_optional_ones_once_configured():
    loc = _locals()
    assert loc["secret_mounts"].replace(" ", "") == (
        "${{forkey,pairinlocal.secret_readers:key=>pair"
        "iflocal.secrets[pair.secret].required||contains(var.configured_secrets,pair.secret)}}"
    )
    resource = _load("functions.tf")["resource"][0]['"google_cloudfunctions2_function"']['"fn"']
    dynamic = resource["service_config"][0]["dynamic"][0]['"secret_environment_variables"']
    assert dynamic["for_each"].replace(" ", "") == (
        "${{forkey,pairinlocal.secret_mounts:pair.secret=>local.secrets[pair.secret]ifpair.function==each.key}}"
    )
    # Out of the box only the database URL, whose version Terraform writes in the same apply.
    assert _mounted(set()) == {fn: {"DATABASE_URL"} for fn in _mounted(set())}
    everything = _mounted({_str(k) for k in loc["secrets"]})
    assert everything["generate_post"] == {"DATABASE_URL", "XAI_API_KEY", "GEMINI_API_KEY", "SUPABASE_SERVICE_ROLE_KEY"}
    assert everything["record_snapshot"] == {"DATABASE_URL", "WEBHOOK_SECRET", "WEBHOOK_SECRET_PREVIOUS"}
    assert everything["compute_reward"] == everything["update_policy"] == everything["report"] == {"DATABASE_URL"}
    # Access follows reading, not configuration: what may be read is granted per pair.
    access = _load("secrets.tf")["resource"]
    members = next(r for r in access if '"google_secret_manager_secret_iam_member"' in r)
    assert members['"google_secret_manager_secret_iam_member"']['"function_access"']["for_each"] == (
        "${local.secret_readers}"
    )
    version = next(r for r in access if '"google_secret_manager_secret_version"' in r)
    assert version['"google_secret_manager_secret_version"']['"database_url"']["secret_data"] == "${var.database_url}"
    variables = {_str(k): v for block in _load("variables.tf")["variable"] for k, v in block.items()}
    assert variables["database_url"]["sensitive"] is True and "default" not in variables["database_url"]


def test_each_function_expects_tokens_for_its_own_url():
    # Cloud Run's front end accepts an OIDC token only for the service's URL, and tasks and
    # jobs name the URL they call; so each function must expect its own URL, not a shared name.
    resource = _load("functions.tf")["resource"][0]['"google_cloudfunctions2_function"']['"fn"']
    env = _str(resource["service_config"][0]["environment_variables"]).replace(" ", "")
    assert env == (
        "${merge(local.environment,{OIDC_AUDIENCE=local.function_url[each.key]},"
        "lookup(local.function_environment,each.key,{}))}"
    ), env
    assert "OIDC_AUDIENCE" not in _locals()["environment"]
    assert all("OIDC_AUDIENCE" not in over for over in _locals()["function_environment"].values())
    with pytest.raises(KeyError):
        _variable_default("oidc_audience")


def test_the_dashboard_is_reachable_by_owners_and_listed_operators_only():
    # Owners carry a Supabase token and operators a Google ID token for the report's URL: Cloud
    # Run lets both through to the function, which checks them (tests/integration/test_auth.py).
    public = _load("iam.tf")["resource"]
    invoker = next(r for r in public if '"google_cloud_run_service_iam_member"' in r and
                   '"public_invoker"' in r['"google_cloud_run_service_iam_member"'])  # fmt: skip
    members = invoker['"google_cloud_run_service_iam_member"']['"public_invoker"']
    assert "report" in _str(members["for_each"])
    over = {_str(k): v for k, v in _locals()["function_environment"].items()}
    # The dashboard's Google callers are the operators alone, not the tasks and scheduler accounts.
    assert set(over) == {"report"} and set(over["report"]) <= SETTINGS_FIELDS
    assert _str(over["report"]["OIDC_SERVICE_ACCOUNTS"]) == '${join(",", var.operator_emails)}'
    variables = {_str(k): v for block in _load("variables.tf")["variable"] for k, v in block.items()}
    assert variables["operator_emails"]["default"] == []  # nobody sees every business until named


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
        # Cloud Run's front end accepts a token only for the URL it serves.
        assert job.http_target.oidc_token.audience == job.http_target.uri
        assert _str(target["oidc_token"][0]["audience"]) == "${local.function_url[each.value.function]}"
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


def test_only_the_functions_that_create_tasks_may_enqueue_and_mint_the_tasks_token():
    creators = {_str(f) for f in _locals()["task_creators"]}
    # A function creates tasks when its entry point dispatches them (the sweep's re-dispatch
    # runs in compute_reward).
    dispatching = {
        name
        for name in _locals()["functions"]
        if "tasks.dispatch" in (PROJECT_ROOT / "functions" / f"{_str(name)}.py").read_text()
    }
    assert creators == {_str(n) for n in dispatching} == {"generate_post", "record_snapshot", "compute_reward"}
    grants = {}
    for block in _load("iam.tf")["resource"]:
        for kind, resources in block.items():
            for name, body in resources.items():
                grants[(_str(kind), _str(name))] = body.get("for_each")
    for grant in ("function_acts_as_tasks", "enqueue_compute_reward", "enqueue_update_policy"):
        kind = (
            "google_service_account_iam_member"
            if grant == "function_acts_as_tasks"
            else ("google_cloud_tasks_queue_iam_member")
        )
        assert grants[(kind, grant)] == "${toset(local.task_creators)}"
