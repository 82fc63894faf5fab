"""`pyrtvi doctor`: what this installation has, and what to do about each missing piece."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pyrtvi_server import __version__, botenv
from pyrtvi_server.boot import BootBuild
from pyrtvi_server.botproc import bot_python
from pyrtvi_server.config import (
    SHARE_DIR,
    BrokenInstallError,
    Settings,
    check_install,
    in_checkout,
)
from pyrtvi_server.runtime import Runtime, RuntimeMissingError

#: Browser binaries looked up on PATH (PYRTVI_CHROMIUM, as the tests read it, comes first).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    found: str
    #: What to do when it is missing.
    fix: str = ""

    def lines(self) -> list[str]:
        head = f"{'ok' if self.ok else 'MISSING':8}{self.name}: {self.found}"
        return [head] if self.ok or not self.fix else [head, f"{'':8}→ {self.fix}"]


def chromium() -> str | None:
    configured = os.environ.get("PYRTVI_CHROMIUM")
    if configured and Path(configured).is_file():
        return configured
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def checks(settings: Settings) -> list[Check]:
    checkout = in_checkout()
    setup = "make setup" if checkout else "pip install --force-reinstall pyrtvi-*.whl"
    found: list[Check] = []
    try:
        check_install()
        installed = Check("installed files", True, "checkout" if checkout else str(SHARE_DIR))
    except BrokenInstallError as exc:
        installed = Check("installed files", False, str(exc).partition(": ")[2], setup)
    found.append(installed)
    try:
        runtime: Runtime | None = Runtime.locate(settings.node_modules)
    except RuntimeMissingError as exc:
        runtime = None
        found.append(Check("runtime", False, str(exc), "npm ci" if checkout else setup))
    if runtime is not None:
        found.append(
            Check(
                "runtime",
                True,
                f"Pyodide {runtime.pyodide_version}, PyScript {runtime.pyscript_version} "
                f"({settings.node_modules})",
            )
        )
        build = BootBuild.load(settings.boot_dir, settings.web_dir, runtime)
        found.append(
            Check(
                "boot build",
                build is not None,
                f"{build.key} (snapshot {'yes' if build.snapshot else 'no'}) in {settings.boot_dir}"
                if build
                else f"none matching the sources in {settings.boot_dir}: pages boot plain (slower)",
                ".venv/bin/python tools/build_boot.py" if checkout else setup,
            )
        )
    browser = chromium()
    found.append(
        Check(
            "Chromium",
            browser is not None,
            browser or f"none on PATH ({', '.join(CHROMIUM_NAMES)}); only tests need it",
            "sudo apt-get install chromium (or PYRTVI_CHROMIUM=/path/to/chrome)",
        )
    )
    espeak = botenv.espeak_ng()
    found.append(
        Check(
            "espeak-ng",
            espeak is not None,
            espeak or "not on PATH; the embedded bot speaks with it",
            "sudo apt-get install espeak-ng (not needed with --bot-url)",
        )
    )
    version = settings.bot_pipecat_version
    python = settings.bot_python or bot_python(version)
    pipecat = botenv.pipecat_version_of(python) if python.exists() else None
    if settings.bot_python is None and not checkout and not botenv.is_ready(version):
        pipecat = None
    make_it = (
        f"make setup BOT_PIPECAT={version}"
        if checkout
        else "pyrtvi setup-bot (or the first `pyrtvi serve` makes it; needs PyPI once), or "
        "--bot-python PATH / PYRTVI_BOT_PYTHON"
    )
    found.append(
        Check(
            "embedded bot environment",
            pipecat is not None,
            f"{python} (pipecat-ai {pipecat})"
            if pipecat
            else f"{python}: not made yet (not needed with --bot-url)",
            make_it,
        )
    )
    return found


def report(settings: Settings) -> tuple[str, bool]:
    """The doctor's text and whether everything was found."""
    found = checks(settings)
    where = "checkout" if in_checkout() else "installed"
    lines = [f"pyrtvi {__version__} ({where})"]
    for check in found:
        lines += check.lines()
    return "\n".join(lines), all(check.ok for check in found)
