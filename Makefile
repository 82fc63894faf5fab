# pyrtvi: `make run` serves everything, `make test` runs the whole suite. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
#: The embedded bot's Pipecat; the tests also start a bot on the newest Pipecat.
BOT_PIPECAT ?= 0.0.108
TEST_BOTS := 0.0.108 1.14.0
#: A stock Pipecat development-runner bot for the tests (tests/runner_bot).
RUNNER_PIPECAT := 1.14.0
PYTEST_ARGS ?=
#: Two pytest workers (pytest-xdist), each test module on one of them (its module-scoped servers,
#: bots and pages stay shared): the browser tests mostly wait on real time (speech, ICE).
PYTEST_WORKERS ?= -n 2 --dist loadfile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup setup-test system-deps lint typecheck unit pytest bench clean boot-build dist

run: setup
	$(BIN)/pyrtvi serve --host $(HOST) --port $(PORT) --bot-pipecat $(BOT_PIPECAT)

test: setup-test lint typecheck pytest

setup: $(VENV)/.installed node_modules/.installed .venvs/bot-$(BOT_PIPECAT)/.installed system-deps boot-build

setup-test: setup $(foreach v,$(TEST_BOTS),.venvs/bot-$(v)/.installed) \
	.venvs/runner-$(RUNNER_PIPECAT)/.installed bench/js/dist/bench-client.js \
	bench/wsjs/dist/ws-client.js browser-deps cluster-deps

# The fast boot (memory snapshot, trimmed stdlib, precompressed runtime) in build/boot/; a no-op
# (< 1 s) when it matches the sources. Without it the server boots pages plain.
boot-build: $(VENV)/.installed node_modules/.installed
	$(BIN)/python tools/build_boot.py

# Debian packages: espeak-ng is the bot's offline TTS; chromium runs the browser tests.
system-deps:
	@command -v espeak-ng >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; }

.PHONY: browser-deps
browser-deps:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# redis-server and nginx: the tests of several replicas behind a load balancer (tests/replicas.py).
.PHONY: cluster-deps
cluster-deps:
	@command -v redis-server >/dev/null && [ -x /usr/sbin/nginx ] || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server nginx; }

$(VENV)/.installed: pyproject.toml web/rtvi/__init__.py server/pyrtvi_server/__init__.py
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# One isolated environment per Pipecat version (they pin different, conflicting packages).
.venvs/bot-%/.installed: server/pyrtvi_bot/requirements.txt
	[ -x .venvs/bot-$*/bin/python ] || $(PYTHON) -m venv .venvs/bot-$*
	.venvs/bot-$*/bin/pip install -q --upgrade pip
	.venvs/bot-$*/bin/pip install -q 'pipecat-ai[webrtc,silero]==$*' -r server/pyrtvi_bot/requirements.txt
	touch $@

# What a Pipecat user installs for `python bot.py` (its development runner), and nothing of ours.
.venvs/runner-%/.installed: tests/runner_bot/requirements.txt
	[ -x .venvs/runner-$*/bin/python ] || $(PYTHON) -m venv .venvs/runner-$*
	.venvs/runner-$*/bin/pip install -q --upgrade pip
	.venvs/runner-$*/bin/pip install -q 'pipecat-ai[runner,webrtc,silero]==$*' -r tests/runner_bot/requirements.txt
	touch $@

# The official Pipecat JS client, bundled for the tests and bench/connect.py.
bench/js/dist/bench-client.js: bench/js/package.json bench/js/package-lock.json bench/js/entry.js
	cd bench/js && npm ci --no-audit --no-fund && npm run --silent build

# The official Pipecat JS client with its WebSocket transport (tests and bench/websocket.py).
bench/wsjs/dist/ws-client.js: bench/wsjs/package.json bench/wsjs/package-lock.json bench/wsjs/entry.js
	cd bench/wsjs && npm ci --no-audit --no-fund && npm run --silent build

# dist/pyrtvi-<version>.tar.gz and dist/pyrtvi-<version>-py3-none-any.whl, the wheel built from
# the sdist as pip would build it (setup.py: `npm ci` and the boot build inside it, so node is
# needed here, never to use the wheel). build/lib is setuptools' staging: emptied so that no
# file of an earlier build slips in.
dist: $(VENV)/.installed
	rm -rf dist build/lib build/bdist.*
	$(BIN)/python -m build
	@ls -l dist

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The bot imports pipecat, whose API differs by version: mypy (from .venv) checks it against each
# bot venv's packages, with the flavour module that pipecat runs (pipecat 0.* runs legacy.py, the
# others modern.py: __main__ decides with LEGACY_PIPECAT, a constant to mypy). One cache per venv.
BOT_SOURCES := $(wildcard server/pyrtvi_bot/*.py)
legacy_pipecat = $(filter 0.%,$(1))
bot_mypy = $(BIN)/mypy --python-executable .venvs/bot-$(1)/bin/python --cache-dir .mypy_cache/bot-$(1) \
	--always-$(if $(legacy_pipecat),true,false) LEGACY_PIPECAT \
	$(filter-out %/$(if $(legacy_pipecat),modern,legacy).py,$(BOT_SOURCES))

typecheck: $(VENV)/.installed $(foreach v,$(TEST_BOTS),.venvs/bot-$(v)/.installed) \
		.venvs/runner-$(RUNNER_PIPECAT)/.installed
	$(BIN)/mypy server/pyrtvi_server server/pyrtvi_testing web/rtvi web/app bench tests tools examples playwright.config.py
	$(foreach v,$(TEST_BOTS),$(call bot_mypy,$(v)) && ) true
	@# The stock runner bot is written as a Pipecat user writes it: pipecat's untyped
	@# @event_handler decorators stay, the rest is strict.
	$(BIN)/mypy --python-executable .venvs/runner-$(RUNNER_PIPECAT)/bin/python \
		--cache-dir .mypy_cache/runner-$(RUNNER_PIPECAT) --follow-imports=silent \
		--disable-error-code untyped-decorator tests/runner_bot/bot.py tests/ui_bot/bot.py

# Two runs: Playwright's sync API keeps an event loop running for the rest of its pytest session,
# which breaks the asyncio tests (pytest-asyncio) that would come after it. tests/wheel (the
# wheel built and installed into a fresh virtualenv; its console in Chromium) runs with the
# browser tests.
pytest: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_WORKERS) tests/unit tests/tools tests/server $(PYTEST_ARGS)
	@# (timing tests hold a known delay to ±60 ms: they run alone, not beside another worker's
	@# load; exit code 5 is "no test selected", e.g. by a PYTEST_ARGS subset)
	$(BIN)/python -m pytest $(PYTEST_WORKERS) -m "not timing" tests/browser tests/kit tests/wheel $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m timing tests/browser tests/kit $(PYTEST_ARGS) || [ $$? -eq 5 ]

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit -q

bench: setup-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venvs node_modules build dist .pytest_cache .mypy_cache .ruff_cache
