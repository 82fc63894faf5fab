"""The wheel, built once per session and installed into one fresh virtualenv outside the checkout.

`python -m build --wheel` runs setup.py, whose `tools/build_boot.py` is a no-op when the
checkout's `build/boot/` matches the sources (`make test` has just built it), so the boot build
is not made twice. The virtualenv lives in a temporary directory; every command runs there with
PYTHONPATH cleared, so neither `web/` nor `node_modules/` of the checkout is reachable.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyrtvi_testing.processes import LiveServer

from tests.conftest import ROOT, SUITE_BOOT

#: The checkout's embedded-bot environment (`make setup`), lent to the installed server so that
#: the tests do not install Pipecat again.
BOT_PYTHON = ROOT / ".venvs" / "bot-0.0.108" / "bin" / "python"


@dataclass
class Installed:
    """A virtualenv with the wheel installed, in `home` (its working directory too)."""

    home: Path
    venv: Path
    wheel: Path

    @property
    def pyrtvi(self) -> Path:
        return self.venv / "bin" / "pyrtvi"

    @property
    def share(self) -> Path:
        found = list(self.venv.glob("lib/python3*/site-packages/pyrtvi_server/share"))
        assert len(found) == 1, found
        return found[0]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user's shell: no PYTHONPATH, no PYRTVI_* of the suite, an empty
        cache directory of its own."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYRTVI_", "PYTHON", "VIRTUAL_ENV"))
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["XDG_CACHE_HOME"] = str(self.home / "cache")
        return {**env, **extra}

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.pyrtvi), *args],
            cwd=self.home,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # One build at a time: each pytest-xdist worker builds its own, in the checkout's `build/`.
    with open(Path(tempfile.gettempdir()) / "pyrtvi-wheel-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
            check=True,
            capture_output=True,
        )
    (found,) = out.glob("pyrtvi-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Installed:
    home = tmp_path_factory.mktemp("user")
    assert not home.resolve().is_relative_to(ROOT)
    venv = home / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, cwd=home)
    result = Installed(home, venv, wheel)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        check=True,
        cwd=home,
        env=result.env(),
        capture_output=True,
    )
    return result


@dataclass
class InstalledServer(LiveServer):
    """`pyrtvi serve` of the installed wheel, run from the user's directory."""

    installed: Installed | None = None

    def start(self, log_dir: Path) -> InstalledServer:
        assert self.installed is not None
        self.log_path = log_dir / f"installed-server-{self.port}.log"
        cmd = [str(self.installed.pyrtvi), "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), *self.args]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=self.installed.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.installed.env(PYRTVI_BOOT=SUITE_BOOT, **self.env),
            )
        self.wait_healthy("installed server")
        return self


@pytest.fixture
def serve_installed(
    installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., InstalledServer]]:
    """Start `pyrtvi serve ARGS` from the installed wheel; stopped after the test."""
    started: list[InstalledServer] = []
    log_dir = tmp_path_factory.mktemp("installed-logs")

    def start(*args: str, **env: str) -> InstalledServer:
        server = InstalledServer(list(args), dict(env), installed=installed).start(log_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def only_on_path(tmp: Path, *names: str) -> str:
    """A PATH holding only the named programs (from this machine's PATH), e.g. no Chromium."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in names:
        found = shutil.which(name)
        assert found, f"{name} is not on this machine's PATH"
        (tmp / name).symlink_to(found)
    return str(tmp)
