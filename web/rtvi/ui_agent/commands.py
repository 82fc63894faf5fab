"""``ui-command`` messages: parsed, checked against the page's policy, handed to an action (pure).

A bot's UI worker (pipecat 1.14 ``UIWorker.send_command``, or any bot sending
``ui-command {command, payload}``) asks the page to do something. The standard commands are
pipecat's payload models (``pipecat.processors.frameworks.rtvi.models``), with client-js 1.13's
payload types:

==================  ======================================================================
``toast``           ``{title, subtitle?, description?, image_url?, duration_ms?}``
``navigate``        ``{view, params?}``
``scroll_to``       ``{ref?, target_id?, behavior?}``
``highlight``       ``{ref?, target_id?, duration_ms?}``
``focus``           ``{ref?, target_id?}``
``click``           ``{ref?, target_id?}``
``set_input_value`` ``{value, ref?, target_id?, replace?}``
``select_text``     ``{ref?, target_id?, start_offset?, end_offset?}``
==================  ======================================================================

(hyphenated spellings such as ``set-input-value`` are read as the same command). A page opts in
with :meth:`~rtvi.RTVIClient.handle_ui_commands`, and decides what runs:

- ``allow``: the command names carried out (default: every standard one and the page's own);
  any other is **refused**;
- ``check(command)``: the page's veto, called before each command: ``False`` or a reason
  (``str``) refuses it, ``True``/``None`` lets it run;
- ``handlers``: the page's own action for a name, replacing the standard one (a page's router
  for ``navigate``, its own toast) or adding an app command.

The standard actions (:mod:`rtvi.ui_agent.dom`) refuse on their own what the user could not
do: a disabled target, a read-only or hidden input, an element inside a ``data-a11y-exclude``
or ``aria-hidden`` subtree (the bot never saw it). Every command ends in a
:class:`UICommandResult` (``done``, ``refused``, ``failed``, ``invalid`` or ``unhandled``),
logged and given to ``on_result``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

logger = logging.getLogger("rtvi.ui_agent")


class StandardCommand(StrEnum):
    """The commands pipecat's ``UIWorker`` and client-js's payload types define (wire names)."""

    TOAST = "toast"
    NAVIGATE = "navigate"
    SCROLL_TO = "scroll_to"
    HIGHLIGHT = "highlight"
    FOCUS = "focus"
    CLICK = "click"
    SET_INPUT_VALUE = "set_input_value"
    SELECT_TEXT = "select_text"


STANDARD_COMMANDS = frozenset(StandardCommand)
#: Commands acting on an element (``ref`` first, ``target_id`` when the ref does not resolve).
TARGETED_COMMANDS = STANDARD_COMMANDS - {StandardCommand.TOAST, StandardCommand.NAVIGATE}
SCROLL_BEHAVIORS = frozenset({"smooth", "instant", "auto"})


class UICommandError(ValueError):
    """A ``ui-command`` whose data or standard payload is malformed."""


class Outcome(StrEnum):
    DONE = "done"
    #: The page's policy or the standard action's own rules said no.
    REFUSED = "refused"
    #: The action ran and raised.
    FAILED = "failed"
    #: Malformed data or payload.
    INVALID = "invalid"
    #: No action for this name (the page may still act on ``on_ui_command`` itself).
    UNHANDLED = "unhandled"


@dataclass(frozen=True)
class UICommand:
    """One ``ui-command``: its ``name`` (``command`` on the wire) and ``payload`` (a dict)."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def standard(self) -> bool:
        return self.name in STANDARD_COMMANDS

    @property
    def ref(self) -> str | None:
        ref: str | None = _opt(self.payload, "ref", str)
        return ref

    @property
    def target_id(self) -> str | None:
        target_id: str | None = _opt(self.payload, "target_id", str)
        return target_id

    def target(self) -> str:
        """How the target was named, for messages: ``ref e4`` / ``#id``."""
        parts = [
            f"ref {self.ref}" if self.ref else "",
            f"#{self.target_id}" if self.target_id else "",
        ]
        return " / ".join(p for p in parts if p) or "no target"


@dataclass(frozen=True)
class UICommandResult:
    """What became of one command."""

    command: str
    outcome: Outcome
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "payload": self.payload,
        }


class Refused(Exception):
    """Raised by an action that will not act (the reason is the message)."""


def _opt(payload: Mapping[str, Any], key: str, kind: type) -> Any:
    value = payload.get(key)
    if value is None:
        return None
    if kind is int and isinstance(value, bool):
        raise UICommandError(f"{key} must be an integer, got {value!r}")
    if not isinstance(value, kind):
        raise UICommandError(f"{key} must be {kind.__name__}, got {value!r}")
    return value


def _required(payload: Mapping[str, Any], key: str, kind: type) -> Any:
    value = _opt(payload, key, kind)
    if value is None:
        raise UICommandError(f"{key} is required")
    return value


def _non_negative(payload: Mapping[str, Any], key: str) -> int | None:
    value: int | None = _opt(payload, key, int)
    if value is not None and value < 0:
        raise UICommandError(f"{key} must be >= 0, got {value}")
    return value


def parse_ui_command(data: Any) -> UICommand:
    """``ui-command`` data (``{command, payload}``) as a :class:`UICommand`; a standard
    command's payload is checked against its model. Raises :class:`UICommandError`."""
    if not isinstance(data, Mapping):
        raise UICommandError(f"ui-command data must be an object, got {data!r}")
    name = data.get("command")
    if not isinstance(name, str) or not name:
        raise UICommandError(f"ui-command needs a command name, got {name!r}")
    payload = data.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise UICommandError(f"{name}: payload must be an object, got {payload!r}")
    command = UICommand(normalize_name(name), dict(payload))
    if command.standard:
        validate(command)
    return command


def validate(command: UICommand) -> None:
    """Check a standard command's payload (pipecat's models: types, required fields)."""
    p = command.payload
    name = command.name
    try:
        if name == StandardCommand.TOAST:
            _required(p, "title", str)
            for key in ("subtitle", "description", "image_url"):
                _opt(p, key, str)
            _non_negative(p, "duration_ms")
            return
        if name == StandardCommand.NAVIGATE:
            _required(p, "view", str)
            _opt(p, "params", Mapping)
            return
        ref, target_id = command.ref, command.target_id
        if ref is None and target_id is None:
            raise UICommandError("needs a ref or a target_id")
        if name == StandardCommand.SCROLL_TO:
            _opt(p, "behavior", str)
        elif name == StandardCommand.HIGHLIGHT:
            _non_negative(p, "duration_ms")
        elif name == StandardCommand.SET_INPUT_VALUE:
            _required(p, "value", str)
            _opt(p, "replace", bool)
        elif name == StandardCommand.SELECT_TEXT:
            start, end = _non_negative(p, "start_offset"), _non_negative(p, "end_offset")
            if start is not None and end is not None and end < start:
                raise UICommandError(f"end_offset {end} is before start_offset {start}")
    except UICommandError as exc:
        raise UICommandError(f"{name}: {exc}") from None


Action = Callable[[UICommand], Any]
Check = Callable[[UICommand], "bool | str | Awaitable[bool | str | None] | None"]


def normalize_name(name: str) -> str:
    """A command name as the runner keys it: ``set-input-value`` is ``set_input_value``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"command names are strings, got {name!r}")
    alias = name.replace("-", "_")
    return alias if alias in STANDARD_COMMANDS else name


def normalize_names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_name(name) for name in names)


@dataclass(frozen=True)
class UICommandPolicy:
    """What the page lets a bot do: ``allow`` (``None``: every command that has an action) and
    ``check``, the page's veto per command."""

    allow: frozenset[str] | None = None
    check: Check | None = None

    async def refusal(self, command: UICommand) -> str | None:
        """Why ``command`` may not run, or ``None`` when it may."""
        if self.allow is not None and command.name not in self.allow:
            return f"{command.name} is not allowed by this page"
        if self.check is None:
            return None
        verdict = self.check(command)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is False:
            return f"{command.name} refused by the page"
        if isinstance(verdict, str):
            return verdict
        return None


async def run_command(
    data: Any, policy: UICommandPolicy, actions: Mapping[str, Action]
) -> UICommandResult:
    """Parse ``data``, ask the policy, run the action; never raises."""
    try:
        command = parse_ui_command(data)
    except UICommandError as exc:
        name = data.get("command") if isinstance(data, Mapping) else None
        return UICommandResult(str(name or "?"), Outcome.INVALID, str(exc))
    payload = command.payload
    action = actions.get(command.name)
    if action is None:
        return UICommandResult(command.name, Outcome.UNHANDLED, None, payload)
    try:
        reason = await policy.refusal(command)
    except Exception as exc:
        logger.exception("the page's ui-command check raised")
        return UICommandResult(command.name, Outcome.REFUSED, f"check raised {exc!r}", payload)
    if reason is not None:
        return UICommandResult(command.name, Outcome.REFUSED, reason, payload)
    try:
        result = action(command)
        if inspect.isawaitable(result):
            await result
    except Refused as exc:
        return UICommandResult(command.name, Outcome.REFUSED, str(exc), payload)
    except Exception as exc:
        logger.exception("ui-command %s failed", command.name)
        return UICommandResult(
            command.name, Outcome.FAILED, f"{type(exc).__name__}: {exc}", payload
        )
    return UICommandResult(command.name, Outcome.DONE, None, payload)
