"""The page side of the UI agent: read the DOM, watch it, act on it (runs only under Pyodide).

Thin on purpose: what a snapshot shows and how refs are named are :mod:`.tree` and :mod:`.refs`
(pure); here the DOM is read in **one** JS call per snapshot (``READER``: a short walk that
returns raw elements as JSON, so a page of a thousand elements costs one crossing instead of
tens of thousands of proxy calls), watched with the events client-js's streamer watches, and
acted on by the standard ``ui-command`` actions.

The functions keep client-js's names: :func:`snapshot_document`, :func:`find_element_by_ref`,
:func:`find_ref_for_element`, :func:`serialize_selection`, :class:`A11ySnapshotStreamer`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from ..transports._interop import PROXIES, Listeners, js_global, js_value, to_js_object
from .commands import SCROLL_BEHAVIORS, Action, Refused, StandardCommand, UICommand
from .refs import RefTable
from .stream import Snapshot, SnapshotStream, StreamOptions
from .tree import ATTRIBUTES, EXCLUDE_ATTRIBUTE, EXCLUDED_TAGS, build_snapshot, selection_of

logger = logging.getLogger("rtvi.ui_agent")

#: The refs of this page (one DOM, one table, as client-js's module-level registry).
REFS = RefTable()

# The reader: numbers elements (WeakMap, never keeping one alive), leaves out what is never
# shown, and returns the raw tree and the selection as JSON (see rtvi.ui_agent.tree).
READER = """
const SKIP = new Set(%(skip)s), ATTRS = %(attrs)s, EXCLUDE = %(exclude)s;
const ids = new WeakMap(), els = new Map();
let issued = 0;
function idOf(el, issue) {
  let id = ids.get(el);
  if (id === undefined && issue) {
    id = ++issued; ids.set(el, id); els.set(id, new WeakRef(el));
  }
  return id === undefined ? null : id;
}
function element(id) {
  const el = els.get(id)?.deref();
  if (!el || !el.isConnected) { els.delete(id); return null; }
  return el;
}
function shut(el) {
  return el.getAttribute("aria-hidden") === "true" || el.hasAttribute(EXCLUDE);
}
function unseen(el) {
  if (SKIP.has(el.localName) || shut(el) || el.hidden) return true;
  if (el instanceof HTMLElement && el.offsetParent === null && el !== document.body
      && !(el instanceof HTMLOptionElement)) {
    const style = getComputedStyle(el);
    return style.display === "none" || style.visibility === "hidden";
  }
  return false;
}
function read(el, track, vw, vh, budget) {
  if (unseen(el) || budget.left-- <= 0) return null;
  const node = { id: idOf(el, true), tag: el.localName, attrs: {} };
  for (const name of ATTRS) {
    const value = el.getAttribute(name);
    if (value !== null) node.attrs[name] = value;
  }
  if (el === document.activeElement) node.active = true;
  if (el instanceof HTMLInputElement) {
    node.type = el.type; node.checked = el.checked;
    if (el.type !== "password") node.value = el.value;
  } else if (el instanceof HTMLTextAreaElement) {
    node.value = el.value;
  } else if (el instanceof HTMLSelectElement) {
    node.value = el.value; node.selectedText = el.selectedOptions[0]?.text ?? "";
  } else if (el instanceof HTMLOptionElement) {
    node.selected = el.selected; node.disabled = el.disabled; node.text = el.text;
  }
  if (track && !(el instanceof HTMLOptionElement)) {
    const r = el.getBoundingClientRect();
    node.offscreen = (r.width === 0 && r.height === 0) || r.bottom <= 0 || r.top >= vh
      || r.right <= 0 || r.left >= vw;
  }
  const kids = [];
  for (const child of el.childNodes) {
    if (child.nodeType === 3) {
      if (child.data.trim()) kids.push(child.data);
    } else if (child.nodeType === 1) {
      const kid = read(child, track, vw, vh, budget);
      if (kid) kids.push(kid);
    }
  }
  if (kids.length) node.kids = kids;
  return node;
}
function selection() {
  const active = document.activeElement;
  if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement) {
    let start = null, end = null;
    try { start = active.selectionStart; end = active.selectionEnd; } catch (e) {}
    if (start !== null && end !== null && start !== end) {
      return { input: idOf(active, false), text: active.value.slice(start, end), start, end };
    }
  }
  const sel = document.getSelection();
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const text = sel.toString();
  if (!text) return null;
  let node = sel.getRangeAt(0).commonAncestorContainer;
  while (node && node.nodeType !== 1) node = node.parentNode;
  const chain = [];
  for (let el = node; el; el = el.parentElement) {
    if (shut(el)) { chain.push(null); break; }
    const id = idOf(el, false);
    if (id !== null) chain.push(id);
  }
  return { chain, text };
}
return {
  capture(root, track, limit) {
    const vw = window.innerWidth || document.documentElement.clientWidth;
    const vh = window.innerHeight || document.documentElement.clientHeight;
    const tree = root ? read(root, track, vw, vh, { left: limit }) : null;
    return JSON.stringify({ tree, selection: selection() });
  },
  element, idOf: (el) => idOf(el, false), shut,
  within: (el) => el.closest('[' + EXCLUDE + '], [aria-hidden="true"]') !== null,
};
"""
#: At most this many elements are read per snapshot (the tree shows at most 200 nodes).
READ_LIMIT = 5000

_reader: Any = None


def reader() -> Any:
    global _reader
    if _reader is None:
        source = READER % {
            "skip": json.dumps(sorted(EXCLUDED_TAGS)),
            "attrs": json.dumps(list(ATTRIBUTES)),
            "exclude": json.dumps(EXCLUDE_ATTRIBUTE),
        }
        _reader = js_global().Function.new(source)()
    return _reader


# --- snapshots and refs (client-js's exported functions) --------------------------------------


def snapshot_document(root: Any = None, *, track_viewport: bool = True) -> Snapshot:
    """The accessibility snapshot of ``root`` (default ``document.body``): client-js
    ``snapshotDocument``. Issues refs for the elements it shows."""
    js = js_global()
    element = root if root is not None else js_value(js.document.body)
    raw = json.loads(str(reader().capture(element, track_viewport, READ_LIMIT)))
    return build_snapshot(
        raw["tree"],
        REFS,
        int(js.Date.now()),
        raw_selection=raw["selection"],
        track_viewport=track_viewport,
    )


def find_element_by_ref(ref: str) -> Any:
    """The live element a snapshot called ``ref``, or ``None`` (never issued, or the element
    is gone): client-js ``findElementByRef``."""
    key = REFS.key(ref)
    if key is None:
        return None
    element = js_value(reader().element(key))
    if element is None:
        REFS.forget(ref)
    return element


def find_ref_for_element(element: Any) -> str | None:
    """The ref a snapshot gave ``element``, or ``None``: client-js ``findRefForElement``."""
    key = js_value(reader().idOf(element))
    return None if key is None else REFS.known(int(key))


def serialize_selection() -> dict[str, Any] | None:
    """The user's selection as an ``A11ySelection`` (``None`` when there is none, or it is
    not in an element a snapshot showed): client-js ``serializeSelection``."""
    raw = json.loads(str(reader().capture(None, False, 0)))
    return selection_of(raw["selection"], REFS)


# --- the streamer -----------------------------------------------------------------------------

#: Attribute changes that can change a snapshot (client-js's MutationObserver filter).
OBSERVED_ATTRIBUTES = (
    *(a for a in ATTRIBUTES if a not in ("alt", "placeholder", "id", "for")),
    "aria-hidden",
    EXCLUDE_ATTRIBUTE,
    "hidden",
)


class A11ySnapshotStreamer:
    """Snapshots of the page through ``emit`` on every change (client-js
    ``A11ySnapshotStreamer``): DOM mutations, focus, scroll end, resize, the tab shown again,
    the selection, form edits; debounced and capped as :class:`~.stream.SnapshotStream` says.

    ``emit(snapshot)`` returns ``False`` when it could not send now (the latest is kept for
    :meth:`flush`); ``None`` counts as sent.
    """

    def __init__(
        self,
        emit: Callable[[Snapshot], bool | None],
        options: StreamOptions | None = None,
        root: Any = None,
    ) -> None:
        self.options = options or StreamOptions()
        self.root = root
        self.stream = SnapshotStream(self.capture, lambda s: emit(s) is not False, self.options)
        self._listeners = Listeners()
        self._observer: Any = None
        self._observer_proxy: Any = None

    @property
    def running(self) -> bool:
        return self.stream.running

    def capture(self) -> Snapshot:
        return snapshot_document(self.root, track_viewport=self.options.track_viewport)

    def start(self) -> None:
        """Begin streaming (a first snapshot after one debounce); starting twice is harmless."""
        if self.running:
            return
        js = js_global()
        changed = self.stream.changed
        self._observer_proxy = PROXIES.create(lambda *_: changed())
        self._observer = js.MutationObserver.new(self._observer_proxy)
        target = self.root if self.root is not None else js.document.body
        options = {
            "childList": True,
            "subtree": True,
            "characterData": True,
            "attributes": True,
            "attributeFilter": list(OBSERVED_ATTRIBUTES),
        }
        self._observer.observe(target, to_js_object(options))
        document, window = js.document, js.window
        for event in ("focusin", "focusout", "selectionchange", "visibilitychange"):
            self._listeners.add(document, event, lambda _e: changed())
        for event in ("input", "change"):  # form controls change properties, not attributes
            self._listeners.add(document, event, lambda _e: changed())
        for event in ("scrollend", "resize"):
            self._listeners.add(window, event, lambda _e: changed())
        self.stream.start()

    def flush(self) -> None:
        self.stream.flush()

    def stop(self) -> None:
        """Stop: observers and listeners removed, their proxies released; safe any time."""
        self.stream.stop()
        if self._observer is not None:
            self._observer.disconnect()
            self._observer = None
        if self._observer_proxy is not None:
            PROXIES.destroy(self._observer_proxy)
            self._observer_proxy = None
        self._listeners.clear()


# --- the standard ui-command actions ----------------------------------------------------------

#: How long ``highlight`` and ``toast`` last when the bot does not say (ms).
HIGHLIGHT_MS = 1500
TOAST_MS = 4000
STYLE_ID = "pyrtvi-ui-agent-style"
STYLE = """
[data-pyrtvi-highlight] { outline: 3px solid #f59e0b !important; outline-offset: 2px; }
.pyrtvi-toasts { position: fixed; right: 1rem; bottom: 1rem; z-index: 2147483647;
  display: flex; flex-direction: column; gap: .5rem; max-width: 22rem; font: 14px system-ui; }
.pyrtvi-toast { background: #1f2937; color: #f9fafb; border-radius: .5rem; padding: .75rem 1rem;
  box-shadow: 0 4px 16px rgb(0 0 0 / .3); display: flex; gap: .75rem; }
.pyrtvi-toast img { width: 2.5rem; height: 2.5rem; object-fit: cover; border-radius: .25rem; }
.pyrtvi-toast p { margin: .25rem 0 0; }
"""


def _ensure_style() -> None:
    document = js_global().document
    if js_value(document.getElementById(STYLE_ID)) is None:
        style = document.createElement("style")
        style.id = STYLE_ID
        style.textContent = STYLE
        document.head.appendChild(style)


def _later(seconds: float, callback: Callable[[], None]) -> None:
    asyncio.get_event_loop().call_later(seconds, callback)


def resolve_target(command: UICommand) -> Any:
    """The element a command names: its ``ref`` first, else ``target_id``. Refuses when
    neither resolves, or the element is in a subtree the page keeps from the bot."""
    element = find_element_by_ref(command.ref) if command.ref else None
    if element is None and command.target_id:
        element = js_value(js_global().document.getElementById(command.target_id))
    if element is None:
        raise Refused(f"{command.name}: no element for {command.target()}")
    if reader().within(element):
        raise Refused(f"{command.name}: {command.target()} is excluded from the UI agent")
    return element


def _disabled(element: Any) -> bool:
    if element.getAttribute("aria-disabled") == "true":
        return True
    try:
        return bool(element.matches(":disabled"))
    except Exception:
        return False


def scroll_to(command: UICommand) -> None:
    element = resolve_target(command)
    behavior = command.payload.get("behavior") or "smooth"
    if behavior not in SCROLL_BEHAVIORS:
        behavior = "smooth"
    element.scrollIntoView(to_js_object({"behavior": behavior, "block": "center"}))


def highlight(command: UICommand) -> None:
    element = resolve_target(command)
    _ensure_style()
    element.scrollIntoView(to_js_object({"behavior": "smooth", "block": "nearest"}))
    element.setAttribute("data-pyrtvi-highlight", "")
    duration = command.payload.get("duration_ms") or HIGHLIGHT_MS
    _later(duration / 1000, lambda: element.removeAttribute("data-pyrtvi-highlight"))


def focus(command: UICommand) -> None:
    element = resolve_target(command)
    element.focus()
    if js_global().document.activeElement != element:
        raise Refused(f"focus: {command.target()} cannot take focus")


def click(command: UICommand) -> None:
    element = resolve_target(command)
    if _disabled(element):
        raise Refused(f"click: {command.target()} is disabled")
    element.click()


#: Inputs whose value is not text: click them (checkbox, radio) or leave them to the user.
NOT_TEXT_INPUTS = frozenset(
    {"hidden", "checkbox", "radio", "file", "submit", "button", "reset", "image", "range", "color"}
)


def set_input_value(command: UICommand) -> None:
    element = resolve_target(command)
    js = js_global()
    tag = str(element.localName)
    value = str(command.payload["value"])
    if tag == "input" and str(element.type) in NOT_TEXT_INPUTS:
        raise Refused(f"set_input_value: {command.target()} is an input of type {element.type}")
    if tag not in ("input", "textarea", "select"):
        raise Refused(f"set_input_value: {command.target()} is a {tag}, not a form field")
    if _disabled(element) or (tag != "select" and bool(element.readOnly)):
        raise Refused(f"set_input_value: {command.target()} is disabled or read-only")
    if tag == "select":
        options = [element.options.item(i) for i in range(int(element.options.length))]
        match = next((o for o in options if str(o.value) == value), None) or next(
            (o for o in options if str(o.text).strip() == value.strip()), None
        )
        if match is None:
            raise Refused(f"set_input_value: {command.target()} has no option {value!r}")
        value = str(match.value)
        prototype = js.HTMLSelectElement.prototype
    else:
        if command.payload.get("replace") is False:
            value = str(element.value) + value
        prototype = (js.HTMLInputElement if tag == "input" else js.HTMLTextAreaElement).prototype
    # The prototype's setter, so that frameworks tracking the value (React) see the change.
    js.Object.getOwnPropertyDescriptor(prototype, "value").set.call(element, value)
    for event in ("input", "change"):
        element.dispatchEvent(js.Event.new(event, to_js_object({"bubbles": True})))


def select_text(command: UICommand) -> None:
    element = resolve_target(command)
    js = js_global()
    start = command.payload.get("start_offset")
    end = command.payload.get("end_offset")
    if str(element.localName) in ("input", "textarea"):
        length = len(str(element.value))
        element.focus()
        if start is None and end is None:
            element.select()
        else:
            element.setSelectionRange(
                min(start or 0, length), min(length if end is None else end, length)
            )
        return
    walker = js.document.createTreeWalker(element, 4)  # NodeFilter.SHOW_TEXT
    texts = []
    while js_value(node := walker.nextNode()) is not None:
        texts.append(node)
    total = sum(len(str(t.data)) for t in texts)
    start = 0 if start is None else min(start, total)
    end = total if end is None else min(end, total)
    selection = js.document.getSelection()
    selection.removeAllRanges()
    if not texts:
        raise Refused(f"select_text: {command.target()} has no text")
    range_ = js.document.createRange()
    offset = 0
    start_set = False
    for text in texts:
        size = len(str(text.data))
        if not start_set and start <= offset + size:
            range_.setStart(text, start - offset)
            start_set = True
        if end <= offset + size:
            range_.setEnd(text, end - offset)
            break
        offset += size
    selection.addRange(range_)


def toast(command: UICommand) -> None:
    """A small notice in the page's corner (``role="status"``, read out by screen readers)."""
    js = js_global()
    document = js.document
    _ensure_style()
    box = js_value(document.querySelector(".pyrtvi-toasts"))
    if box is None:
        box = document.createElement("div")
        box.className = "pyrtvi-toasts"
        box.setAttribute("role", "status")
        box.setAttribute("aria-live", "polite")
        document.body.appendChild(box)
    payload = command.payload
    item = document.createElement("div")
    item.className = "pyrtvi-toast"
    if payload.get("image_url"):
        image = document.createElement("img")
        image.src = payload["image_url"]
        image.alt = ""
        item.appendChild(image)
    text = document.createElement("div")
    title = document.createElement("strong")
    title.textContent = payload["title"]
    text.appendChild(title)
    for key in ("subtitle", "description"):
        if payload.get(key):
            line = document.createElement("p")
            line.className = f"pyrtvi-toast-{key}"
            line.textContent = payload[key]
            text.appendChild(line)
    item.appendChild(text)
    box.appendChild(item)
    _later((payload.get("duration_ms") or TOAST_MS) / 1000, item.remove)


def navigate(command: UICommand) -> None:
    """The page's address gets ``#view`` (``#view?key=value`` with params): a hash router
    follows; a page with another router gives its own ``navigate`` handler."""
    params: Mapping[str, Any] = command.payload.get("params") or {}
    view = command.payload["view"]
    query = urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})
    js_global().location.hash = f"{view}?{query}" if query else view


def standard_actions() -> dict[str, Action]:
    """The page actions of the standard commands."""
    return {
        StandardCommand.TOAST: toast,
        StandardCommand.NAVIGATE: navigate,
        StandardCommand.SCROLL_TO: scroll_to,
        StandardCommand.HIGHLIGHT: highlight,
        StandardCommand.FOCUS: focus,
        StandardCommand.CLICK: click,
        StandardCommand.SET_INPUT_VALUE: set_input_value,
        StandardCommand.SELECT_TEXT: select_text,
    }
