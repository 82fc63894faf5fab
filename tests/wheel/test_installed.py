"""The installed wheel, without a browser: version, doctor, a broken install, the embedded bot."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pyrtvi_server import __version__
from pyrtvi_server.config import Settings
from pyrtvi_testing.processes import free_port

from tests.conftest import SUITE_BOOT, browser_config
from tests.wheel.conftest import BOT_PYTHON, Installed, InstalledServer, only_on_path

pytestmark = [pytest.mark.wheel]


def test_version(installed: Installed) -> None:
    done = installed.run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pyrtvi {__version__}"


def test_doctor_finds_the_installed_files_and_says_what_is_missing(
    installed: Installed, tmp_path: Path
) -> None:
    # Everything but Chromium on PATH; the embedded bot's environment not made yet.
    done = installed.run("doctor", PATH=only_on_path(tmp_path / "a", "espeak-ng"))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"pyrtvi {__version__} (installed)"
    assert f"ok      installed files: {installed.share}" in lines
    assert any(line.startswith("ok      runtime: Pyodide ") for line in lines), lines
    assert any(line.startswith("ok      boot build: ") for line in lines), lines
    assert any(line.startswith("ok      espeak-ng: ") for line in lines), lines
    chromium = lines.index(next(line for line in lines if "Chromium" in line))
    assert lines[chromium].startswith("MISSING Chromium: none on PATH")
    assert "apt-get install chromium" in lines[chromium + 1]
    bot = next(line for line in lines if "embedded bot environment" in line)
    assert bot.startswith("MISSING") and str(installed.home / "cache" / "pyrtvi") in bot
    assert "pyrtvi setup-bot" in lines[lines.index(bot) + 1]

    # Chromium but no espeak-ng; the checkout's bot environment lent with PYRTVI_BOT_PYTHON.
    done = installed.run(
        "doctor",
        PATH=only_on_path(tmp_path / "b", "chromium"),
        PYRTVI_BOT_PYTHON=str(BOT_PYTHON),
    )
    lines = done.stdout.splitlines()
    espeak = lines.index(next(line for line in lines if "espeak-ng" in line))
    assert lines[espeak].startswith("MISSING espeak-ng: not on PATH")
    assert "apt-get install espeak-ng" in lines[espeak + 1]
    assert any(line.startswith("ok      Chromium: ") for line in lines), lines
    assert f"ok      embedded bot environment: {BOT_PYTHON} (pipecat-ai 0.0.108)" in lines
    assert done.returncode == 1


def test_a_runtime_file_missing_stops_the_start_with_one_message(installed: Installed) -> None:
    wasm = installed.share / "runtime" / "pyodide" / "pyodide.asm.wasm"
    aside = wasm.with_name("moved-aside")
    wasm.rename(aside)
    mounting = "from starlette.applications import Starlette; import pyrtvi_server as p; "
    mounting += "p.mount(Starlette(), '/rtvi', bot_mode='none')"
    try:
        done = installed.run("serve", "--bot", "none", "--port", str(free_port()), timeout=30)
        mounted = subprocess.run(
            [str(installed.venv / "bin" / "python"), "-c", mounting],
            cwd=installed.home,
            env=installed.env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        aside.rename(wasm)
    # Mounted in the user's own app: the same error, raised by mount().
    assert mounted.returncode == 1
    assert "BrokenInstallError: this pyrtvi installation is broken: 1 of its" in mounted.stderr
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"pyrtvi: this pyrtvi installation is broken: 1 of its {n_files(installed)} files are "
        f"missing (runtime/pyodide/pyodide.asm.wasm) under {installed.share}. Reinstall it: "
        "pip install --force-reinstall pyrtvi-<version>-py3-none-any.whl"
    ]


def n_files(installed: Installed) -> int:
    return len((installed.share / "files.txt").read_text().split())


def test_embedded_bot_without_espeak_ng_is_refused_at_start(
    installed: Installed, tmp_path: Path
) -> None:
    done = installed.run("serve", "--port", str(free_port()), PATH=str(tmp_path), timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "pyrtvi: espeak-ng is not on PATH: the embedded bot speaks with it; install it "
        "(Debian/Ubuntu: sudo apt-get install espeak-ng), or talk to your own bot with "
        "--bot-url URL"
    )


def test_first_use_shows_its_steps_and_says_what_to_do_when_pip_cannot(
    installed: Installed,
) -> None:
    """No package index reachable: the environment cannot be made, and the user is told why."""
    done = installed.run(
        "serve",
        "--port",
        str(free_port()),
        timeout=120,
        PIP_CONFIG_FILE="/dev/null",
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS="",
    )
    cache = installed.home / "cache" / "pyrtvi" / "bot-0.0.108"
    assert done.returncode == 2, done.stderr
    err = done.stderr
    assert f"pyrtvi: making the embedded bot's environment in {cache}" in err
    assert "pyrtvi: [1/3] a virtualenv" in err
    assert "pyrtvi: [3/3] pipecat-ai[webrtc,silero]==0.0.108 and the bot's requirements" in err
    assert (
        err.rstrip()
        .splitlines()[-1]
        .startswith(f"pyrtvi: could not make the embedded bot's environment in {cache}")
    )
    assert "--bot-python PATH" in err.splitlines()[-1]
    assert not (cache / ".pyrtvi-installed").exists()


def test_runtime_precompressed_and_the_embed_urls_are_served_from_the_wheel(
    serve_installed: Callable[..., InstalledServer], installed: Installed
) -> None:
    """pip writes the boot build after the runtime (setup.py orders them): the server takes the
    wheel's .br files as fresh, instead of serving the 9.6 MB wasm uncompressed."""
    server = serve_installed("--bot", "none")
    runtime = installed.share / "runtime" / "pyodide"
    version = json.loads((runtime / "package.json").read_text())["version"]
    reply = httpx.get(
        f"{server.url}/runtime/pyodide/{version}/pyodide.asm.wasm",
        headers={"Accept-Encoding": "br"},
        timeout=30,
    )
    assert reply.headers["content-encoding"] == "br"
    side = installed.share / "runtime_boot" / "precompressed" / "pyodide" / version
    # The bytes sent (httpx decodes them): the wheel's .br, not one compressed at start.
    assert int(reply.headers["content-length"]) == (side / "pyodide.asm.wasm.br").stat().st_size
    # What the embed snippet and the example page ask for (docs/embedding.md).
    for path in ("/pyscript/core.js", "/pyscript.json", "/examples/embed.html", "/py/rtvi.zip"):
        assert httpx.get(server.url + path, follow_redirects=True).status_code == 200, path
    # The default boot mode (the suite's servers run in it) and every file the console's HTML
    # asks for in it (its snapshot included) come from the wheel.
    assert Settings().boot == SUITE_BOOT
    page = httpx.get(server.url + "/").text
    links = re.findall(r'<link rel="(?:module)?preload" href="([^"]+)"', page)
    assert any(link.endswith("/snapshot.bin") for link in links), links
    for link in links:
        assert httpx.head(server.url + html.unescape(link)).status_code == 200, link


def test_embedded_bot_runs_from_the_installed_wheel(
    serve_installed: Callable[..., InstalledServer],
) -> None:
    """The bot package installed with the wheel, in the environment named by --bot-python."""
    if not BOT_PYTHON.exists():
        pytest.skip(f"no bot environment {BOT_PYTHON}: make setup")
    server = serve_installed("--bot-python", str(BOT_PYTHON))
    deadline = time.monotonic() + browser_config.SERVER_START_TIMEOUT_S
    while (health := httpx.get(server.url + "/health", timeout=10).json())["bot"]["state"] != (
        "running"
    ):
        assert time.monotonic() < deadline, f"the embedded bot did not start:\n{server.log()}"
        time.sleep(0.2)
    assert health["bot"]["pipecat"] == "0.0.108", health
