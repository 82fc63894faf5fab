"""Server settings, read from the command line or `PYRTVI_*` environment variables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from pyrtvi_server.boot import BOOT_MODES

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
#: Where an installed wheel keeps what a checkout has in `web/`, `node_modules/`, `build/boot/`
#: and `server/pyrtvi_bot/` (setup.py copies them there at wheel build time).
SHARE_DIR = PACKAGE_DIR / "share"
#: The list of every file under SHARE_DIR, written at wheel build time (`check_install`).
SHARE_FILES = SHARE_DIR / "files.txt"
#: Pipecat version of the embedded bot (the checkout's Makefile pins the same: BOT_PIPECAT).
BOT_PIPECAT = "0.0.108"


def in_checkout() -> bool:
    """True when this package runs from a source checkout (`make run`, an editable install);
    False when it is installed from the wheel (its files then live under SHARE_DIR)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "web" / "index.html").is_file()


@dataclass(frozen=True)
class Locations:
    """Where the page, the runtime, the boot build and the embedded bot's sources are."""

    web_dir: Path
    node_modules: Path
    boot_dir: Path
    #: The directory holding the `pyrtvi_bot` package (put on the bot process's PYTHONPATH).
    bot_source_dir: Path
    #: Where the embedded bot's environments are (`bot-<pipecat version>/`).
    bot_envs: Path

    @classmethod
    def find(cls) -> Locations:
        if in_checkout():
            return cls(
                web_dir=REPO_ROOT / "web",
                node_modules=REPO_ROOT / "node_modules",
                boot_dir=REPO_ROOT / "build" / "boot",
                bot_source_dir=REPO_ROOT / "server",
                bot_envs=REPO_ROOT / ".venvs",
            )
        return cls(
            web_dir=SHARE_DIR / "web",
            node_modules=SHARE_DIR / "runtime",
            boot_dir=SHARE_DIR / "runtime_boot",
            bot_source_dir=SHARE_DIR / "bot",
            bot_envs=cache_dir(),
        )


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/pyrtvi`, else `~/.cache/pyrtvi`: the installed wheel's bot environments."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "pyrtvi"


class BrokenInstallError(RuntimeError):
    """Files the wheel installed are missing: the page would half load."""


def check_install() -> None:
    """Raise BrokenInstallError if a file the wheel installed is missing (nothing in a checkout,
    whose `make setup` checks its own files). One message for all of them."""
    if in_checkout():
        return
    try:
        names = SHARE_FILES.read_text().splitlines()
    except OSError:
        names = []
    missing = [name for name in names if name and not (SHARE_DIR / name).is_file()]
    if not names or missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        what = (
            f"{len(missing)} of its {len(names)} files are missing ({shown})"
            if names
            else (f"{SHARE_FILES} is missing")
        )
        raise BrokenInstallError(
            f"this pyrtvi installation is broken: {what} under {SHARE_DIR}. Reinstall it: "
            "pip install --force-reinstall pyrtvi-<version>-py3-none-any.whl"
        )


LOCATIONS = Locations.find()


def _env_list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip().rstrip("/") for item in raw.split(",") if item.strip())


def _env_json(name: str) -> object:
    try:
        return json.loads(os.environ[name])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; built once, passed explicitly (no globals)."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: A checkout's `web/`, `node_modules/`, `build/boot/`; the installed wheel's copies of them.
    web_dir: Path = LOCATIONS.web_dir
    node_modules: Path = LOCATIONS.node_modules
    #: What `tools/build_boot.py` (run by `make setup`) built: snapshot, trimmed stdlib, .br/.gz.
    boot_dir: Path = LOCATIONS.boot_dir
    #: How pages boot when the build matches the sources (boot.BOOT_MODES): "local" (a plain
    #: first visit, then the snapshot the browser made), "shipped" (the build's snapshot,
    #: downloaded), "trimmed" (no snapshot) or "plain" (no build used: full stdlib).
    boot: str = "local"
    #: Origins allowed to call the RTVI endpoints cross-origin. Empty: same origin only.
    allowed_origins: tuple[str, ...] = ()
    #: Request headers an allowed origin may send (preflight). Empty: any header it asks for.
    allowed_headers: tuple[str, ...] = ()
    #: "embedded" starts the offline Pipecat bot as a child process; "url" uses `bot_url`;
    #: "none" serves the page only (the RTVI endpoints answer 503).
    bot_mode: str = "embedded"
    bot_url: str | None = None
    #: Pipecat version of the embedded bot (selects `.venvs/bot-<version>` in a checkout,
    #: `<cache dir>/bot-<version>` when installed).
    bot_pipecat_version: str = BOT_PIPECAT
    #: Python of the embedded bot; default `bot-<bot_pipecat_version>/bin/python` under
    #: `LOCATIONS.bot_envs`.
    bot_python: Path | None = None
    #: Seconds the embedded bot may take to answer its /health after being started.
    bot_start_timeout: float = 120.0
    #: Extra JSON merged into every bot start request, server-side only (secrets, config).
    bot_extra: dict[str, object] = field(default_factory=dict)
    #: Headers added to every upstream request (e.g. an API key for a hosted bot runner).
    bot_headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait for the bot service before answering 504.
    upstream_timeout: float = 30.0
    #: Largest request body accepted by the RTVI endpoints, in bytes.
    max_body_bytes: int = 256 * 1024
    #: Largest (non-streamed) reply accepted from the bot service, in bytes.
    max_upstream_bytes: int = 1024 * 1024
    #: Seconds a client may take to send its request headers / its whole request body.
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    #: Seconds a session may stay half-open (started, never connected) before the bot frees it.
    half_open_timeout: float = 30.0
    #: Sessions one client may start per `half_open_timeout` window (429 beyond).
    client_max_pending: int = 50
    #: `/connect` attempts per minute per client, after a burst of `client_connect_burst` (429).
    client_connects_per_minute: float = 120.0
    client_connect_burst: int = 60
    #: Active sessions in all (503 beyond).
    max_sessions: int = 100
    #: Recycle the idle embedded bot when its memory exceeds its baseline by this many MiB (0: never).
    bot_recycle_mb: int = 300
    #: Address classes trickled ICE candidates may name besides public ones (see guard.py).
    #: None: "private" and "hostname" with the embedded bot (which runs on this machine), any
    #: address with a remote bot service (its own policy applies there).
    ice_allow: tuple[str, ...] | None = None
    #: Absolute base URL the browser reaches this server at; decides `offer_url` and the
    #: `/pyscript.json` URLs instead of the request's `Host`.
    public_url: str | None = None
    #: Host names (optionally `host:port`) requests may name in `Host`; empty: any.
    trusted_hosts: tuple[str, ...] = ()
    #: Let disconnected actions read back the context/config even when `bot_extra` sets config.
    expose_server_config: bool = False
    #: The file a Pipecat runner reads as each WebSocket session's `runner_args.body` (its
    #: `--runner-body PATH`): the relay writes each session's body there before its socket
    #: opens (`wsrelay.RunnerBodyFile`).
    runner_body_file: Path | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then `PYRTVI_*` variables, then explicit overrides (CLI flags)."""
        values: dict[str, object] = {}
        env = os.environ
        if "PYRTVI_HOST" in env:
            values["host"] = env["PYRTVI_HOST"]
        if "PYRTVI_PORT" in env:
            values["port"] = int(env["PYRTVI_PORT"])
        if "PYRTVI_ALLOWED_ORIGINS" in env:
            values["allowed_origins"] = _env_list("PYRTVI_ALLOWED_ORIGINS")
        if "PYRTVI_BOT" in env:
            values["bot_mode"] = env["PYRTVI_BOT"]
        if "PYRTVI_BOT_URL" in env:
            values["bot_url"] = env["PYRTVI_BOT_URL"]
            values.setdefault("bot_mode", "url")
        if "PYRTVI_BOT_PIPECAT" in env:
            values["bot_pipecat_version"] = env["PYRTVI_BOT_PIPECAT"]
        if "PYRTVI_ALLOWED_HEADERS" in env:
            values["allowed_headers"] = _env_list("PYRTVI_ALLOWED_HEADERS")
        if "PYRTVI_BOT_PYTHON" in env:
            values["bot_python"] = Path(env["PYRTVI_BOT_PYTHON"])
        if "PYRTVI_BOT_START_TIMEOUT" in env:
            values["bot_start_timeout"] = float(env["PYRTVI_BOT_START_TIMEOUT"])
        if "PYRTVI_BOT_EXTRA" in env:
            values["bot_extra"] = _env_json("PYRTVI_BOT_EXTRA")
        if "PYRTVI_BOT_HEADERS" in env:
            values["bot_headers"] = _env_json("PYRTVI_BOT_HEADERS")
        if "PYRTVI_MAX_BODY_BYTES" in env:
            values["max_body_bytes"] = int(env["PYRTVI_MAX_BODY_BYTES"])
        if "PYRTVI_BOOT_DIR" in env:
            values["boot_dir"] = Path(env["PYRTVI_BOOT_DIR"])
        if env.get("PYRTVI_FAST_BOOT", "").strip().lower() in {"0", "false", "no"}:
            values["boot"] = "plain"  # the older switch
        if "PYRTVI_BOOT" in env:
            values["boot"] = env["PYRTVI_BOOT"].strip().lower()
        if "PYRTVI_UPSTREAM_TIMEOUT" in env:
            values["upstream_timeout"] = float(env["PYRTVI_UPSTREAM_TIMEOUT"])
        for name, kind in NUMERIC_ENV.items():
            if f"PYRTVI_{name.upper()}" in env:
                values[name] = kind(env[f"PYRTVI_{name.upper()}"])
        if "PYRTVI_ICE_ALLOW" in env:
            values["ice_allow"] = _env_list("PYRTVI_ICE_ALLOW")
        if "PYRTVI_PUBLIC_URL" in env:
            values["public_url"] = env["PYRTVI_PUBLIC_URL"].rstrip("/") or None
        if "PYRTVI_TRUSTED_HOSTS" in env:
            values["trusted_hosts"] = tuple(h.lower() for h in _env_list("PYRTVI_TRUSTED_HOSTS"))
        if "PYRTVI_RUNNER_BODY_FILE" in env:
            values["runner_body_file"] = Path(env["PYRTVI_RUNNER_BODY_FILE"])
        if "PYRTVI_EXPOSE_SERVER_CONFIG" in env:
            values["expose_server_config"] = env["PYRTVI_EXPOSE_SERVER_CONFIG"].lower() in TRUE
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("bot_url") and overrides.get("bot_mode") is None:
            values["bot_mode"] = "url"  # `--bot-url URL` alone means that bot, as the variable does
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.bot_mode not in {"embedded", "url", "none"}:
            raise ValueError(f"bot mode must be embedded, url or none, not {self.bot_mode!r}")
        if self.boot not in BOOT_MODES:
            raise ValueError(f"boot must be one of {', '.join(BOOT_MODES)}, not {self.boot!r}")
        if self.bot_mode == "url" and not self.bot_url:
            raise ValueError("bot mode 'url' needs a bot URL (--bot-url or PYRTVI_BOT_URL)")
        if not isinstance(self.bot_extra, dict):
            raise ValueError("bot extra (PYRTVI_BOT_EXTRA) must be a JSON object")
        if not isinstance(self.bot_headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.bot_headers.items()
        ):
            raise ValueError("bot headers (PYRTVI_BOT_HEADERS) must be a JSON object of strings")
        if self.bot_url and not self.bot_url.startswith(("http://", "https://")):
            raise ValueError(f"bot URL must start with http:// or https://: {self.bot_url!r}")
        if self.upstream_timeout <= 0 or self.bot_start_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max body size must be positive")
        for name in NUMERIC_ENV:
            if getattr(self, name) < 0 or (
                getattr(self, name) == 0 and name not in {"bot_recycle_mb"}
            ):
                raise ValueError(f"{name} (PYRTVI_{name.upper()}) must be positive")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError(f"public URL must start with http:// or https://: {self.public_url!r}")
        from pyrtvi_server.guard import CandidatePolicy

        if self.ice_allow is not None:
            CandidatePolicy(self.ice_allow)  # raises ValueError for an unknown class
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port out of range: {self.port}")
        for origin in self.allowed_origins:
            if origin == "*":
                raise ValueError("a wildcard origin is not allowed: list the origins explicitly")
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"allowed origin must start with http:// or https://: {origin!r}")


#: Numeric settings read from `PYRTVI_<NAME>` (upper case), with their types.
NUMERIC_ENV: dict[str, type[int] | type[float]] = {
    "max_upstream_bytes": int,
    "header_timeout": float,
    "body_timeout": float,
    "half_open_timeout": float,
    "client_max_pending": int,
    "client_connects_per_minute": float,
    "client_connect_burst": int,
    "max_sessions": int,
    "bot_recycle_mb": int,
}


def public_base(settings: Settings, request: Request) -> str:
    """The base URL browsers reach this server at: the configured one, else the request's."""
    return settings.public_url or str(request.base_url).rstrip("/")


def server_config_options(extra: dict[str, Any]) -> list[tuple[str, str]]:
    """The `(service, option)` pairs that `PYRTVI_BOT_EXTRA` sets in `config` (at its top level
    or in its `body`): values the operator set, which clients may not read back."""
    body = extra.get("body")
    entries = [
        *_list(extra.get("config")),
        *_list(body.get("config") if isinstance(body, dict) else None),
    ]
    pairs = set()
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("service"), str):
            for option in _list(entry.get("options")):
                if isinstance(option, dict) and isinstance(option.get("name"), str):
                    pairs.add((entry["service"], option["name"]))
    return sorted(pairs)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
