"""Shared fixtures: real servers on free ports (the test kit's `LiveServer`,
`pyrtvi_testing.processes`); the suite's browser settings (playwright.config.py, loaded by
`bench.support`, which the benches share)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyrtvi_testing.processes import LiveServer

from bench.support import ROOT, browser_config

__all__ = ["ROOT", "SUITE_BOOT", "browser_config"]


#: The boot mode of the suite's servers, the default one. Every test page is a first visit (a
#: fresh browser context): in the "local" mode each would boot plain and then make a snapshot in
#: a Worker, seconds of CPU next to the bot and WebRTC on two cores. The tests of that mode
#: (tests/browser/test_boot.py, test_example_embed.py) start their servers with `--boot local`.
#: The kit's `LiveServer` (re-exported here) starts its servers in this mode.
SUITE_BOOT = "shipped"
assert LiveServer.boot == SUITE_BOOT


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start extra servers with custom flags; all are stopped at the end of the session."""
    started: list[LiveServer] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(*args: str, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(list(args), env or {}).start(log_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def page_server(server_factory: Any) -> LiveServer:
    """The server with no bot: page, runtime and client package only."""
    return server_factory("--bot", "none")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def local_boot_server(server_factory: Any) -> LiveServer:
    """The server with no bot, in the local boot mode (the browser's own snapshot)."""
    return server_factory("--bot", "none", "--boot", "local")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": browser_config.CHROMIUM,
        "args": browser_config.LAUNCH_ARGS,
        "headless": browser_config.HEADLESS,
    }
