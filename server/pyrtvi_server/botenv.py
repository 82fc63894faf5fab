"""The embedded bot's own Python environment, made on first use when pyrtvi is installed.

Why not an extra (`pip install "pyrtvi[bot]"`): the bot needs Pipecat 0.0.108, whose pins
(`websockets<16`, among others) conflict with the server's (`websockets==17.4`), so the two
cannot share one environment; a checkout keeps one venv per Pipecat version in `.venvs/` for the
same reason. Installed from the wheel, `pyrtvi serve` (embedded bot) or `pyrtvi setup-bot` makes
`bot-<version>/` under the user's cache directory (`config.cache_dir()`): a venv with
`pipecat-ai[webrtc,silero]==<version>` and `pyrtvi_bot/requirements.txt`, pip's progress shown
as it goes. `--bot-python` (`PYRTVI_BOT_PYTHON`) points at an environment that already has them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from pyrtvi_server.botproc import SERVER_DIR, bot_python

REQUIREMENTS = SERVER_DIR / "pyrtvi_bot" / "requirements.txt"
#: Written last into a made environment: its absence means a first use or an interrupted one.
MARKER = ".pyrtvi-installed"
ESPEAK_HINT = "install it (Debian/Ubuntu: sudo apt-get install espeak-ng)"


class BotEnvError(RuntimeError):
    """The bot's environment cannot be made or used."""


def pipecat_spec(version: str) -> str:
    return f"pipecat-ai[webrtc,silero]=={version}"


def env_dir(version: str) -> Path:
    """The default environment of a Pipecat version (`bot-<version>/`)."""
    return bot_python(version).parents[1]


def is_ready(version: str) -> bool:
    """The default environment exists and was made completely."""
    return (env_dir(version) / MARKER).is_file() and bot_python(version).exists()


def espeak_ng() -> str | None:
    """The espeak-ng binary on PATH (the bot's voice), or None."""
    return shutil.which("espeak-ng")


def pipecat_version_of(python: Path) -> str | None:
    """The pipecat-ai version installed in the environment of `python`, or None."""
    try:
        found = subprocess.run(
            [
                str(python),
                "-c",
                "from importlib.metadata import version; print(version('pipecat-ai'))",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None if found.returncode == 0 else None


def create(version: str, out: TextIO = sys.stderr) -> Path:
    """Make (or finish) the default environment of `version`, showing pip's progress on `out`'s
    terminal; its Python. BotEnvError, saying what to do, when it cannot."""
    if espeak_ng() is None:
        raise BotEnvError(
            f"espeak-ng is not on PATH: the embedded bot speaks with it; {ESPEAK_HINT}, "
            "or talk to your own bot with --bot-url URL"
        )
    target = env_dir(version)
    python = bot_python(version)
    steps = [
        ([sys.executable, "-m", "venv", str(target)], "a virtualenv"),
        ([str(python), "-m", "pip", "install", "--upgrade", "pip"], "pip, upgraded"),
        (
            [str(python), "-m", "pip", "install", pipecat_spec(version), "-r", str(REQUIREMENTS)],
            f"{pipecat_spec(version)} and the bot's requirements (about 1.3 GB on disk, one time)",
        ),
    ]
    print(f"pyrtvi: making the embedded bot's environment in {target}", file=out, flush=True)
    for number, (command, what) in enumerate(steps, 1):
        if number == 1 and python.exists():
            continue
        print(f"pyrtvi: [{number}/{len(steps)}] {what}", file=out, flush=True)
        try:
            code = subprocess.run(command, stdout=out, stderr=out).returncode
        except OSError as exc:
            print(f"pyrtvi: {exc}", file=out)
            code = -1
        if code != 0:
            raise BotEnvError(
                f"could not make the embedded bot's environment in {target} "
                f"({' '.join(command[:4])} … exited with {code}; see above). The first "
                "use needs PyPI (or your pip index). Instead: --bot-python PATH (an environment "
                f"with {pipecat_spec(version)} and {REQUIREMENTS}), or --bot-url URL"
            )
    (target / MARKER).write_text(f"{pipecat_spec(version)}\n")
    print(f"pyrtvi: the embedded bot's environment is ready ({python})", file=out, flush=True)
    return python
