# Every target sets itself up: a venv in .venv with pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)

.DEFAULT_GOAL := help
CHROMIUM := /usr/bin/chromium
.PHONY: help demo try dev bundle scheduler-jobs report post policy holdback test test-unit test-fast test-reliability test-pooler load openapi lint typecheck clean emulator bench bench-learning bench-tenants bench-best-time bench-variety

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The lock constrains the venvs too: the functions' packages are the versions the bundle ships.
# Its hashes are left out here: a hash in a constraints file turns on hash checking for every
# package, and the dev closure is not hashed (it is never deployed). Pins with extras go too
# (pip refuses extras in constraints); the lock pins each of those packages without them as well.
$(VENV)/constraints.txt: requirements.lock | $(BIN)/python
	sed -e '/--hash=/d' -e '/^[A-Za-z0-9_.-]*\[/d' -e 's/ \\$$//' requirements.lock > $@

$(VENV)/.local-installed: requirements.txt requirements-local.txt $(VENV)/constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-local.txt -c $(VENV)/constraints.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-local.txt requirements-dev.txt $(VENV)/constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt -c $(VENV)/constraints.txt
	@touch $@ $(VENV)/.local-installed

# The Cloud Tasks emulator pins an old protobuf: it lives in a venv of its own.
EMULATOR_VENV := .venv-emulator
$(EMULATOR_VENV)/.installed: requirements-emulator.txt
	$(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet -r requirements-emulator.txt
	@touch $@

emulator: $(EMULATOR_VENV)/.installed ## Install the Cloud Tasks emulator (used by the tests)

# The dashboard test drives Debian's Chromium (Playwright's own browser download is not used).
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "The dashboard test needs Chromium at $(CHROMIUM)"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium

# The pooler suite runs the database tests through Debian's pgbouncer (transaction mode).
PGBOUNCER := /usr/sbin/pgbouncer
$(PGBOUNCER):
	@command -v apt-get >/dev/null || { echo "The pooler suite needs pgbouncer at $(PGBOUNCER)"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq pgbouncer

demo: $(VENV)/.local-installed ## The main job: a simulated campaign through the real functions and database (+ out/report.html)
	$(BIN)/python -m simulation $(ARGS)

try: $(VENV)/.local-installed ## The loop in a few seconds on a local clock: profile, draft, publish, metrics, reward, update, read back
	$(BIN)/python -m devtools.quickstart

dev: $(VENV)/.local-installed ## The functions and the dashboard on loopback with the local task dispatcher (no auth)
	$(BIN)/python -m devtools.server $(ARGS)

bundle: $(VENV)/.local-installed ## The deployable source archive: dist/functions-source.zip (requirements.lock as its requirements.txt)
	$(BIN)/python -m deploy.bundle

# Needs no installed venv: after a change to requirements.txt the old lock would conflict with it.
lock: | $(BIN)/python ## Write requirements.lock: the bundle's requirements, whole closure, versions of .venv, with hashes
	$(BIN)/pip install --quiet pip-tools==7.6.2
	$(BIN)/python -m devtools.lock

scheduler-jobs: $(VENV)/.local-installed ## Print the Cloud Scheduler jobs (ARGS="--project P --region R --service-account SA [--apply]")
	$(BIN)/python -m deploy.scheduler_jobs $(ARGS)

report: $(VENV)/.local-installed ## Write the dashboard to out/report.html from the database (ARGS="--demo-days 14" for a demo)
	$(BIN)/python -m cli report $(ARGS)

post: $(VENV)/.local-installed ## Generate one post and print it: make post ARGS='--topic "spring sale" --platform instagram'
	$(BIN)/python -m cli generate $(ARGS)

policy: $(VENV)/.local-installed ## Policy lifecycle: make policy ARGS="export --out policy.json" (import FILE, snapshot, snapshots, rollback --snapshot ID, reset --yes)
	$(BIN)/python -m cli policy $(ARGS)

holdback: $(VENV)/.local-installed ## Lift of the policy over the holdback arm: mean rewards with 95% intervals (ARGS="--json")
	$(BIN)/python -m cli holdback $(ARGS)

test: $(VENV)/.dev-installed $(EMULATOR_VENV)/.installed $(CHROMIUM) $(PGBOUNCER) lint typecheck ## ruff, mypy, the whole test suite, tests/reliability at its quick scale (CI)
	$(BIN)/python -m pytest -n 2 $(ARGS)

test-unit: $(VENV)/.dev-installed ## The pure core's and the tools' tests (tests/unit): about half a minute, no browser, no emulator
	$(BIN)/python -m pytest -n 2 tests/unit $(ARGS)

test-fast: $(VENV)/.dev-installed ## The quick loop: no slow (learning) suites, no tests/reliability, no Chromium, no Cloud Tasks emulator
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser and not emulator" --ignore=tests/reliability $(ARGS)

test-reliability: $(VENV)/.dev-installed $(EMULATOR_VENV)/.installed $(PGBOUNCER) ## docs/spec.md §7 at full scale (rounds, kills, cases) and 60 s of load (CI; docs/reliability.md)
	RELIABILITY_SCALE=full $(BIN)/python -m pytest -n 2 tests/reliability $(ARGS)
	$(BIN)/python -m benchmarks.load

test-pooler: $(VENV)/.dev-installed $(EMULATOR_VENV)/.installed $(PGBOUNCER) ## The database tests through pgbouncer in transaction mode, as Supabase's pooler (CI)
	$(BIN)/python -m devtools.pooler -- $(BIN)/python -m pytest -n 2 -m "not slow" tests/integration tests/reliability tests/e2e $(ARGS)

load: $(VENV)/.dev-installed ## Only the load: record_snapshot 200/s and generate_post 20/s for 60 s on loopback (ARGS="--duration 10")
	$(BIN)/python -m benchmarks.load $(ARGS)

openapi: $(VENV)/.dev-installed ## Write openapi.yaml from the pydantic models (a test checks it is current)
	$(BIN)/python -m devtools.openapi

lint: $(VENV)/.dev-installed ## ruff check and format check, terraform fmt's layout of terraform/*.tf (devtools/tffmt.py), the layers' import contract (devtools/layers.py)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m devtools.tffmt terraform
	$(BIN)/python -m devtools.layers

typecheck: $(VENV)/.dev-installed ## mypy, strict
	$(BIN)/mypy .

clean: ## Remove the venv, the embedded database and caches
	rm -rf $(VENV) $(EMULATOR_VENV) .data dist .mypy_cache .ruff_cache .pytest_cache .hypothesis out

bench: $(VENV)/.dev-installed ## Performance benchmark (about 25 min): writes docs/performance.md
	$(BIN)/python -m benchmarks.performance $(ARGS)

bench-best-time: $(VENV)/.dev-installed ## Following the best time vs the businesses' own hours, in the simulator (about 7 min): docs/best-time-figures.md
	$(BIN)/python -m benchmarks.best_time $(ARGS)

bench-variety: $(VENV)/.dev-installed ## What the variety cap costs in reward and buys in variety, in the simulator (about 6 min): docs/variety-figures.md
	$(BIN)/python -m benchmarks.variety $(ARGS)

bench-tenants: $(VENV)/.dev-installed ## One tenant's fabricated posts vs as many honest ones: how far another business's policy moves (about 3 min): docs/tenants.md
	$(BIN)/python -m benchmarks.tenants $(ARGS)

# One BLAS thread per process: the benchmark runs one process per core itself.
bench-learning: $(VENV)/.dev-installed ## Learning benchmark on the held-out worlds vs baselines (VW incl.), OPE coverage, cost (about 20 min): docs/learning.md
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m benchmarks.learning $(ARGS)
