"""The event log panel: every client event and page call, timed from the Connect click; a type
filter, a search, pause/resume, an entry's full JSON (click it) and a copy of it; the session's
export to one JSON file and its import (the format and its rules in :mod:`.session_file`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]
import rtvi
from pyodide.ffi import to_js  # type: ignore[import-not-found]
from rtvi import RTVIEvent, TransportState

from . import model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h, nullable, query, set_text
from .session_file import (
    EVENTS_KEY,
    LogEntry,
    SessionFileError,
    build_session,
    dump_hidden,
    dump_session,
    file_name,
    load_hidden,
    matches,
    read_session,
)

if TYPE_CHECKING:
    from .context import PanelContext

logger = logging.getLogger("pyrtvi.page")

#: Log entries shown in the event log (older ones leave the page, not the export).
MAX_LOG_ENTRIES = 400
#: Log entries kept for the export (older ones are dropped).
MAX_KEPT_ENTRIES = 5000

#: Events logged as errors.
ERROR_EVENTS = frozenset({"error", "messageError", "deviceError"})

#: Where the type filter's choice is remembered (``localStorage``): the hidden types, as JSON.
HIDDEN_TYPES_KEY = "pyrtvi.log.hidden"

#: States in which a file may be imported (no session to mix it with).
IDLE_STATES = frozenset(
    {TransportState.DISCONNECTED, TransportState.INITIALIZED, TransportState.ERROR}
)


def now_ms() -> float:
    return float(js.performance.now())


def describe_arg(value: Any) -> Any:
    """Event arguments for the log: a browser track as ``"audio track"``, the rest as is."""
    if hasattr(value, "readyState") and hasattr(value, "kind"):
        return f"{value.kind} track ({value.readyState})"
    return value


def stored(key: str) -> str | None:
    """``localStorage[key]``; ``None`` when absent or when the page may not use storage."""
    with contextlib.suppress(Exception):
        value = nullable(js.localStorage.getItem(key))
        return None if value is None else str(value)
    return None


def store(key: str, value: str) -> None:
    with contextlib.suppress(Exception):
        js.localStorage.setItem(key, value)


def download(text: str, name: str) -> Any:
    """Save `text` as the file `name` (a JSON download); returns the object URL it used."""
    options = to_js({"type": "application/json"}, dict_converter=js.Object.fromEntries)
    url = js.URL.createObjectURL(js.Blob.new(to_js([text]), options))
    link = h("a", {"href": url, "download": name, "hidden": True})
    js.document.body.append(link)
    link.click()
    link.remove()
    return url


async def copy_text(text: str) -> bool:
    """Put `text` on the clipboard (the Clipboard API, else the older ``execCommand``)."""
    with contextlib.suppress(Exception):
        await js.navigator.clipboard.writeText(text)
        return True
    area = h("textarea", {"class": "visually-hidden", "readonly": True})
    area.value = text
    js.document.body.append(area)
    try:
        area.select()
        return bool(js.document.execCommand("copy"))
    except Exception:
        return False
    finally:
        area.remove()


class EventLog(Panel):
    """``#event-log``: one ``li`` per entry, with ``+since start`` and ``Δsince last``. It hears
    every client event; the other panels log their calls through the context.

    The entries are kept (:class:`~.session_file.LogEntry`) apart from the page: a paused log
    holds new ones until it resumes, the filter (``#log-types``, remembered in
    ``localStorage``) and the search (``#log-search``) hide what does not match, and
    ``#log-export`` writes them, with every panel's :meth:`~.base.Panel.export_state`, to one
    file that ``#log-import`` shows again."""

    export_key = EVENTS_KEY

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.list = by_id("event-log")
        self.verbose = by_id("log-verbose")
        self.search = by_id("log-search")
        self.filter_summary = query(by_id("log-filter"), "summary")
        self.types = by_id("log-types")
        self.pause_button = by_id("log-pause")
        self.import_input = by_id("log-import")
        self.clock = model.EventClock(now_ms())
        #: Every entry of the session (the export's events), oldest first.
        self.entries: list[LogEntry] = []
        #: Entries logged while paused, shown on resume.
        self.held: list[LogEntry] = []
        self.paused = False
        #: The entry behind each ``li`` on the page (by its ``data-n``).
        self.shown: dict[int, LogEntry] = {}
        self.serial = 0
        self.type_boxes: dict[str, Any] = {}
        self.hidden = set(load_hidden(stored(HIDDEN_TYPES_KEY)))
        self.download_url: Any = None
        bind = ctx.bind
        bind.on(by_id("log-clear"), "click", lambda _e: self.clear())
        bind.on(self.search, "input", lambda _e: self.refilter())
        bind.on(self.types, "change", self.on_type_change)
        bind.on(by_id("log-types-all"), "click", lambda _e: self.set_hidden(set()))
        bind.on(by_id("log-types-none"), "click", lambda _e: self.set_hidden(set(self.type_boxes)))
        bind.on(self.pause_button, "click", lambda _e: self.set_paused(not self.paused))
        bind.on(self.list, "click", self.on_entry_click)
        bind.on(by_id("log-export"), "click", lambda _e: self.export())
        bind.on(self.import_input, "change", self.on_import)
        self.show_filter_summary()

    def subscriptions(self) -> Subscriptions:
        return {event: self.handler_for(str(event)) for event in RTVIEvent}

    def session_starting(self) -> None:
        """Times restart from the Connect click."""
        self.clock.reset(now_ms())

    def handler_for(self, name: str) -> Callable[..., None]:
        """A client event handler that logs the event (streamed ones only when verbose)."""

        def log_event(*args: Any) -> None:
            if name in model.SILENT_EVENTS:
                return
            if name in model.STREAMED_EVENTS and not self.verbose.checked:
                return
            shown = [describe_arg(a) for a in args]
            data: Any = shown[0] if len(shown) == 1 else (shown or None)
            self.log(name, data, kind="error" if name in ERROR_EVENTS else "event")

        return log_event

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        since_start, since_last = self.clock.stamp(now_ms())
        entry = LogEntry(
            name, kind, since_start, since_last, float(js.Date.now()), model.plain(data)
        )
        self.entries.append(entry)
        if len(self.entries) > MAX_KEPT_ENTRIES:
            del self.entries[0]
        if self.paused:
            self.held.append(entry)
            self.show_pause()
        else:
            self.show([entry])

    # --- the list -----------------------------------------------------------------------------

    def show(self, entries: list[LogEntry], *, imported: bool = False) -> None:
        """Append `entries` to the page (filtered), dropping the oldest beyond the limit."""
        search = str(self.search.value)
        for entry in entries:
            self.add_type(entry.name)
            self.serial += 1
            self.shown[self.serial] = entry
            item = h(
                "li",
                {
                    "data-event": entry.name,
                    "data-kind": entry.kind,
                    "data-n": self.serial,
                    "data-imported": "true" if imported else None,
                    "hidden": not matches(entry, self.hidden, search),
                },
                h("span", {"class": "t", "text": f"+{model.format_ms(entry.t_ms)}"}),
                h("span", {"class": "dt", "text": f"Δ{entry.dt_ms:.0f}"}),
                h(
                    "button",
                    {
                        "type": "button",
                        "class": "name",
                        "aria-expanded": "false",
                        "text": entry.name,
                    },
                ),
                h("span", {"class": "data", "text": model.summarize(entry.data)}),
            )
            self.list.append(item)
        while self.list.childElementCount > MAX_LOG_ENTRIES:
            first = self.list.firstElementChild
            self.shown.pop(int(first.dataset.n), None)
            first.remove()
        with contextlib.suppress(Exception):
            self.list.scrollTop = self.list.scrollHeight

    def clear(self) -> None:
        clear(self.list)
        self.entries, self.held, self.shown = [], [], {}
        self.show_pause()

    def on_entry_click(self, event: Any) -> Any:
        """A click on an entry shows (or hides) its full JSON; its Copy button copies it."""
        target = event.target
        item = nullable(target.closest("li"))
        entry = self.shown.get(int(item.dataset.n)) if item is not None else None
        if entry is None or nullable(target.closest("pre")) is not None:
            return None
        if nullable(target.closest("button.copy")) is not None:
            return self.copy(entry, target.closest("button.copy"))
        details = query(item, ".details")
        button = query(item, "button.name")
        if details is not None:
            details.remove()
            button.setAttribute("aria-expanded", "false")
            return None
        item.append(
            h(
                "div",
                {"class": "details"},
                h("button", {"type": "button", "class": "copy quiet", "text": "Copy"}),
                h("pre", {"class": "json", "text": entry.json_text()}),
            )
        )
        button.setAttribute("aria-expanded", "true")
        return None

    async def copy(self, entry: LogEntry, button: Any) -> None:
        copied = await copy_text(entry.json_text())
        button.dataset.copied = "true" if copied else "false"
        set_text(button, "Copied" if copied else "Copy failed")

    # --- filter, search, pause ------------------------------------------------------------------

    def add_type(self, name: str) -> None:
        """A type seen for the first time gets its box in the filter (checked unless hidden)."""
        if name in self.type_boxes:
            return
        box = h("input", {"type": "checkbox", "value": name, "checked": name not in self.hidden})
        self.type_boxes[name] = box
        self.types.append(h("label", {"class": "check"}, box, f" {name}"))
        self.show_filter_summary()

    def on_type_change(self, _event: Any) -> None:
        self.set_hidden({name for name, box in self.type_boxes.items() if not box.checked})

    def set_hidden(self, hidden: set[str]) -> None:
        """Hide these types (and show the others), and remember the choice."""
        self.hidden = hidden
        for name, box in self.type_boxes.items():
            box.checked = name not in hidden
        store(HIDDEN_TYPES_KEY, dump_hidden(hidden))
        self.show_filter_summary()
        self.refilter()

    def show_filter_summary(self) -> None:
        count = len(self.hidden & set(self.type_boxes))
        set_text(self.filter_summary, f"Types ({count} hidden)" if count else "Types (all)")

    def refilter(self) -> None:
        search = str(self.search.value)
        for item in list(self.list.children):
            entry = self.shown.get(int(item.dataset.n))
            item.hidden = entry is not None and not matches(entry, self.hidden, search)

    def set_paused(self, paused: bool) -> None:
        """Pause: new entries are kept but not shown; resume shows them."""
        self.paused = paused
        if not paused and self.held:
            held, self.held = self.held, []
            self.show(held)
        self.show_pause()

    def show_pause(self) -> None:
        button = self.pause_button
        button.setAttribute("aria-pressed", "true" if self.paused else "false")
        held = f" ({len(self.held)} new)" if self.held else ""
        set_text(button, f"Resume{held}" if self.paused else "Pause")

    # --- export and import ------------------------------------------------------------------------

    def export_state(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.entries]

    def import_state(self, data: Any) -> None:
        """The imported events replace the log, with the times they had."""
        if not isinstance(data, list):
            raise SessionFileError("the events are not a list")
        entries = [LogEntry.from_json(item) for item in data]
        self.clear()
        self.paused = False
        self.entries = entries[-MAX_KEPT_ENTRIES:]
        self.show(entries[-MAX_LOG_ENTRIES:], imported=True)
        self.show_pause()

    def session_info(self) -> dict[str, Any]:
        """The session's header in the file: client, transport, server and bot."""
        client = self.client
        bot = client.bot_ready_data if isinstance(client.bot_ready_data, dict) else {}
        settings = self.ctx.settings
        return {
            "client": f"pyrtvi {getattr(rtvi, '__version__', '?')}",
            "rtvi_client_version": rtvi.RTVI_PROTOCOL_VERSION,
            "bot_rtvi_version": bot.get("version"),
            "transport": settings.transport_kind(),
            "server": settings.base_url(),
            "state": str(client.state),
            "user_agent": str(js.navigator.userAgent),
        }

    def export(self) -> None:
        """Download the session: its header, the events and every panel's part."""
        parts: dict[str, Any] = {}
        for panel in self.ctx.panels:
            if panel.export_key is None:
                continue
            try:
                parts[panel.export_key] = model.plain(panel.export_state())
            except Exception:
                logger.exception("the %s panel could not export", panel.export_key)
                self.log(
                    "export", f"{panel.export_key}: not exported (see the console)", kind="error"
                )
        at = float(js.Date.now())
        text = dump_session(build_session(self.session_info(), parts, exported_at_ms=at))
        if self.download_url is not None:
            js.URL.revokeObjectURL(self.download_url)
        name = file_name(at)
        self.download_url = download(text, name)
        self.log("export", {"file": name, "parts": sorted(parts)}, kind="call")

    async def on_import(self, _event: Any) -> None:
        files = self.import_input.files
        if not files.length:
            return
        file = files.item(0)
        text = str(await file.text())
        self.import_input.value = ""
        self.import_text(text, str(file.name))

    def import_text(self, text: str, name: str) -> None:
        """Show a session file: each panel whose ``export_key`` is in it shows its part. A
        file that cannot be read, or a part a panel cannot show, is said in the banner."""
        banner = self.ctx.banner
        if self.client.state not in IDLE_STATES:
            banner.show(
                model.Problem(
                    "import", "Disconnect first", "A session file is shown in a page without a bot."
                )
            )
            return
        try:
            session = read_session(text)
        except SessionFileError as exc:
            banner.show(model.Problem("import", "Cannot import this file", f"{name}: {exc}."))
            return
        panels = {panel.export_key: panel for panel in self.ctx.panels if panel.export_key}
        failed, absent = [], []
        for key, part in session.panels.items():
            panel = panels.get(key)
            if panel is None:
                absent.append(key)
                continue
            try:
                panel.import_state(part)
            except Exception as exc:
                logger.exception("the %s panel could not import", key)
                failed.append(f"{key} ({exc})")
        if failed:
            banner.show(
                model.Problem(
                    "import",
                    "Part of this file could not be shown",
                    f"{name}: {'; '.join(failed)}.",
                )
            )
            return
        note = f" Not shown on this page: {', '.join(absent)}." if absent else ""
        banner.show(
            model.Problem(
                "info",
                "Session imported",
                f"{name}, exported {session.exported_at}: {len(session.events)} events.{note}",
            )
        )
