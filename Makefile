# The two commands of the README: `make run` (the whole product, locally) and
# `make test` (lint + the whole test suite against PostgreSQL and Redis).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,pathlib;print(hashlib.sha1(pathlib.Path('pyproject.toml').read_bytes()).hexdigest()[:12])")

# Local demo: SQLite, file-system broker and the mock Meta server; override any of
# these in the environment (DATABASE_URL, REDIS_URL, ...) to use real servers.
WEB_PORT       ?= 8000
MOCK_META_PORT ?= 8001
run: export DEBUG ?= 1
run: export WEB_PORT := $(WEB_PORT)
run: export MOCK_META_PORT := $(MOCK_META_PORT)
run: export SITE_URL ?= http://127.0.0.1:$(WEB_PORT)
run: export META_APP_ID ?= 900000000000001
run: export META_APP_SECRET ?= demo-app-secret
run: export META_CONFIG_ID ?= 900000000000002
run: export META_WEBHOOK_VERIFY_TOKEN ?= demo-verify-token
run: export GRAPH_API_BASE_URL ?= http://127.0.0.1:$(MOCK_META_PORT)
run: export EMBEDDED_SIGNUP_URL ?= http://127.0.0.1:$(MOCK_META_PORT)/dialog/embedded-signup

.PHONY: install run test lint bench messages clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho start -f Procfile.dev

# The same checks run before each commit with .pre-commit-config.yaml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

test: lint
	$(PY) scripts/run_tests.py -n auto $(PYTEST_ARGS)

# The webhook pipeline, then the inbox at scale, its idle polls and its sending pace
# (bench/README.md); BENCH_ARGS go to the first, its --quick to every one.
bench: install
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.inbox_scale $(filter --quick,$(BENCH_ARGS))
	$(PY) -m bench.inbox_poll $(filter --quick,$(BENCH_ARGS))
	$(PY) -m bench.send_pacing $(filter --quick,$(BENCH_ARGS))

# The webhook pipeline under faults (bench/faults.py): kills and restarts during a load.
.PHONY: faults
faults: install
	$(PY) -m bench.faults $(FAULTS_ARGS)

# Re-extract and compile the translations (needs GNU gettext).
messages: export DEBUG := 1
messages: install
	$(PY) manage.py makemessages -l de -l ru --no-location --ignore=.venv --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache .mypy_cache
