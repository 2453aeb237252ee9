# The project's vocabulary. Each target creates .venv/ at the repo root if needed and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CDK_CLI := aws-cdk@2.1148.1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install test lint unit synth bench run clean openapi console

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,infra]"
	# customerio-cdp-analytics and customerio both own customerio/__init__.py, and the later install wins:
	# put customerio's back (the cdp package's is empty), whichever order pip installed them in.
	$(BIN)/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
		"$$(grep -o '"customerio==[^"]*"' pyproject.toml | tr -d '"')"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# CI runs `make test`: lint and the real synth with the pinned CLI (cdk-nag inside), then pytest. Lint and
# synth are independent and each leaves a core idle much of the time, so they run side by side (their
# output kept apart: -O); they were about a third of a fresh clone's 12-minute budget one after the other.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 -O lint synth
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

openapi: $(STAMP)
	$(BIN)/python -m nudge.http.track_openapi > openapi/track.json
	$(BIN)/python -m nudge.http.app_api.openapi > openapi/app.json

synth: $(STAMP)
	npx --yes $(CDK_CLI) synth --quiet

bench: $(STAMP)
	$(BIN)/python -m bench

# The web console (console/, a single-page app) built into console/dist, which `make run` serves under
# /console/, by the helper synth and the browser tests use (infra/console_build.py): installed again only
# when the lock file changes, built again only when a source does.
console: $(STAMP)
	$(BIN)/python -m infra.console_build

# 60x: the demo's 5-minute delay passes in 5 seconds. The console is served when it was built (its URL
# and sign-in come first in the banner). ARGS go to nudge local after these: make run ARGS="--port 4811 --tls"
ARGS ?=
run: $(STAMP) console
	$(BIN)/nudge local --time-scale 60 $$(test -f console/dist/index.html && echo --console console/dist) $(ARGS)

clean:
	rm -rf $(VENV) build cdk.out .mypy_cache .ruff_cache
