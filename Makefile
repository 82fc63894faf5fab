# pyrtvi: `make run` serves everything, `make test` runs the whole suite. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
#: The embedded bot's Pipecat; the tests also start a bot on the newest Pipecat.
BOT_PIPECAT ?= 0.0.108
TEST_BOTS := 0.0.108 1.14.0
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup setup-test system-deps lint typecheck unit pytest bench clean boot-build

run: setup
	$(BIN)/pyrtvi serve --host $(HOST) --port $(PORT) --bot-pipecat $(BOT_PIPECAT)

test: setup-test lint typecheck pytest

setup: $(VENV)/.installed node_modules/.installed .venvs/bot-$(BOT_PIPECAT)/.installed system-deps boot-build

setup-test: setup $(foreach v,$(TEST_BOTS),.venvs/bot-$(v)/.installed) browser-deps

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

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy server/pyrtvi_server web/rtvi web/app bench tests tools playwright.config.py

# Two runs: Playwright's sync API keeps an event loop running for the rest of its pytest session,
# which breaks the asyncio tests (pytest-asyncio) that would come after it.
pytest: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit tests/server $(PYTEST_ARGS)
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit -q

bench: setup-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venvs node_modules build .pytest_cache .mypy_cache .ruff_cache
