"""An exported console session (``#log-export`` / ``#log-import``) and the event log's filter, as
pure Python: no ``js`` here, so the format, the secret stripping and the matching run (and are
tested) in CPython.

The file is one JSON object::

    {
      "format": "pyrtvi-session",
      "version": 1,
      "exported_at": "2026-12-06T15:40:00.000Z",
      "session": {"client": "pyrtvi 0.1.0", "transport": "webrtc", ...},
      "panels": {
        "events": [{"t_ms": 12.0, "dt_ms": 12.0, "at_ms": 1796...e12, "name": "botReady",
                    "kind": "event", "data": {...}}, ...],
        "transcript": [{"role": "user", "who": "You (typed)", "text": "hi", ...}, ...],
        "<a panel's export_key>": <what its export_state() returned>
      }
    }

Secrets never reach the file: :func:`redact` runs over the whole document before it is written
(its rules in :func:`is_secret_name` and :func:`redact_text`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: The ``format`` field of every session file.
FORMAT = "pyrtvi-session"
#: The file format's version; a reader refuses other versions (a newer one may mean other things).
VERSION = 1
#: What a stripped secret becomes.
REDACTED = "[redacted]"
#: The event log's part of the file (:attr:`EventLog.export_key`).
EVENTS_KEY = "events"


class SessionFileError(ValueError):
    """A file that is not a session this page can read; the message says why, for a person."""


# --- secrets ------------------------------------------------------------------------------------

#: Words that make a field name secret (see :func:`is_secret_name`).
SECRET_WORDS = frozenset(
    {
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "signature",
        "token",
        "apikey",
    }
)

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

#: Values that are secrets whatever their field is called: an ``Authorization`` value with its
#: scheme (a credential of 12+ characters with a digit or ``=``), a JWT, and the shapes of
#: well-known API keys (OpenAI/Stripe-like ``sk-``/``pk_``, GitHub ``ghp_``, Slack ``xoxb-``,
#: AWS ``AKIA``, Google ``AIza``).
_SECRET_VALUES = re.compile(
    r"\b(?:Bearer|Basic|Token|Digest)\s+(?=\S*[\d=])[\w.~+/=-]{12,}"
    r"|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"
    r"|\b(?:sk|pk|rk)[-_](?:[a-z]+[-_])?[A-Za-z0-9]{16,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bAIza[0-9A-Za-z_-]{30,}"
)
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s:]*:[^/@\s]*@", re.IGNORECASE)
_QUERY_PARAM = re.compile(r"([?&#;])([^=&#\s]+)=([^&#\s]*)")


def name_words(name: str) -> list[str]:
    """``"x-api-key"`` → ``["x", "api", "key"]``; ``"accessToken"`` → ``["access", "token"]``."""
    return [word.lower() for word in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a field, header or query parameter called `name` holds a secret.

    It does when one of its words (split at ``-``, ``_``, ``.``, spaces and camelCase) is one
    of :data:`SECRET_WORDS`, when it ends with the word ``key`` (``api_key``, ``X-Api-Key``,
    ``privateKey``, ``key``). Plural counters such as ``prompt_tokens`` are not secrets.
    """
    words = name_words(name)
    return bool(words) and (words[-1] == "key" or any(word in SECRET_WORDS for word in words))


#: Query parameters that hold secrets besides the secret names (Daily's meeting token ``t``,
#: signed URLs' ``sig``).
SECRET_PARAMS = frozenset({"t", "sig"})


def redact_text(text: str) -> str:
    """`text` with secret-looking values (:data:`_SECRET_VALUES`), a URL's ``user:password@``
    and the values of secret query parameters (``?token=…``, ``&api_key=…``) replaced by
    :data:`REDACTED`."""
    text = _SECRET_VALUES.sub(REDACTED, text)
    text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)

    def param(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        secret = is_secret_name(name) or name.lower() in SECRET_PARAMS
        return f"{sep}{name}={REDACTED}" if value and secret else match.group(0)

    return _QUERY_PARAM.sub(param, text)


def redact(value: Any) -> Any:
    """A copy of JSON-able `value` with no secrets: the value of every secret-named field
    (:func:`is_secret_name`) that holds text or structure becomes :data:`REDACTED`, as does the ``value`` of a
    ``{"name": <secret name>, "value": …}`` pair (headers and config options are written so);
    every string is passed through :func:`redact_text`. A number that JSON cannot hold (NaN,
    infinity) becomes ``None``."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        named = value.get("name")
        secret_pair = isinstance(named, str) and is_secret_name(named)
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            secret = is_secret_name(key) or (secret_pair and key == "value")
            # (a duration or a count under a secret-sounding name, e.g. the connect split's
            # "auth" phase, is no credential: numbers and booleans are kept)
            kept = item in (None, "") or isinstance(item, bool | int | float)
            out[key] = REDACTED if secret and not kept else redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


# --- the event log's entries ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """One event log entry: its name (``botReady``, ``connect()``), kind (event, call, error),
    milliseconds since the Connect click and since the entry before, wall-clock time (ms since
    the epoch) and its data as JSON-able values."""

    name: str
    kind: str
    t_ms: float
    dt_ms: float
    at_ms: float
    data: Any = None
    #: The lowercased text the search matches (name and data).
    text: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.text:
            shown = "" if self.data is None else json.dumps(self.data, ensure_ascii=False)
            object.__setattr__(self, "text", f"{self.name} {shown}".lower())

    def to_json(self) -> dict[str, Any]:
        return {
            "t_ms": round(self.t_ms, 1),
            "dt_ms": round(self.dt_ms, 1),
            "at_ms": round(self.at_ms),
            "name": self.name,
            "kind": self.kind,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, item: Any) -> LogEntry:
        """An entry as :meth:`to_json` wrote it; :class:`SessionFileError` when it is not one."""
        if not isinstance(item, Mapping):
            raise SessionFileError(f"an event is not an object: {str(item)[:60]}")
        name, kind = item.get("name"), item.get("kind", "event")
        if not isinstance(name, str) or not name or not isinstance(kind, str):
            raise SessionFileError(f"an event has no name: {json.dumps(item)[:80]}")
        times = [item.get(key, 0) for key in ("t_ms", "dt_ms", "at_ms")]
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
            raise SessionFileError(f"the event {name!r} has a time that is not a number")
        return cls(name, kind, float(times[0]), float(times[1]), float(times[2]), item.get("data"))

    def json_text(self) -> str:
        """The entry as the log shows it expanded (and copies it)."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def matches(entry: LogEntry, hidden: Iterable[str], search: str) -> bool:
    """Whether the log shows `entry`: its type is not hidden, and every word of `search`
    occurs in its name or data (case-insensitive)."""
    if entry.name in hidden:
        return False
    return all(word in entry.text for word in search.lower().split())


def load_hidden(raw: str | None) -> frozenset[str]:
    """The hidden event types as the page stored them (a JSON list); nothing hidden when the
    stored value is missing or unreadable."""
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return frozenset()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def dump_hidden(hidden: Iterable[str]) -> str:
    return json.dumps(sorted(hidden))


# --- the file -------------------------------------------------------------------------------------


def iso_time(epoch_ms: float) -> str:
    """``2026-12-06T15:40:00.000Z``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def file_name(epoch_ms: float) -> str:
    """The download's name: ``pyrtvi-session-20261206-154000.json``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("pyrtvi-session-%Y%m%d-%H%M%S.json")


def build_session(
    session: Mapping[str, Any], panels: Mapping[str, Any], *, exported_at_ms: float
) -> dict[str, Any]:
    """The file's content, secrets stripped (:func:`redact`)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso_time(exported_at_ms),
        "session": redact(dict(session)),
        "panels": {str(key): redact(value) for key, value in panels.items()},
    }


def dump_session(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


@dataclass(frozen=True)
class SessionFile:
    """A session file as read back: its header, its session info and each panel's part."""

    version: int
    exported_at: str
    session: dict[str, Any]
    panels: dict[str, Any]

    @property
    def events(self) -> list[LogEntry]:
        return [LogEntry.from_json(item) for item in self.panels.get(EVENTS_KEY) or []]


def read_session(text: str) -> SessionFile:
    """Read a file :func:`build_session` wrote; :class:`SessionFileError` says why it cannot."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SessionFileError(f"it is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionFileError('it is not a pyrtvi session file (no "format": "pyrtvi-session")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionFileError("it has no version number")
    if version != VERSION:
        raise SessionFileError(
            f"it is version {version} of the format; this page reads version {VERSION}"
        )
    session, panels = document.get("session", {}), document.get("panels", {})
    if not isinstance(session, dict) or not isinstance(panels, dict):
        raise SessionFileError('its "session" or "panels" is not an object')
    if not isinstance(panels.get(EVENTS_KEY, []), list):
        raise SessionFileError('its "events" is not a list')
    exported_at = document.get("exported_at")
    result = SessionFile(version, str(exported_at or "?"), session, panels)
    result.events  # noqa: B018  (every event is checked before anything is shown)
    return result
