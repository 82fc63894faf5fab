"""The accessibility snapshot of a page, as client-js 1.13's walker shapes it (pure).

The browser adapter (:mod:`rtvi.ui_agent.dom`) reads the DOM in one pass into *raw* elements, plain
JSON, and :func:`build_snapshot` turns them into the wire tree that ``ui-snapshot {tree}``
carries and pipecat's ``UIWorker`` renders as ``<ui_state>``:
``{"root": A11yNode, "captured_at": ms, "selection"?: {ref, text, start_offset?, end_offset?}}``
with ``A11yNode = {ref, role, name?, value?, state?, level?, colcount?, rowcount?, children?}``.

A raw element is ``{"id": int, "tag": str, "attrs": {name: value}, "kids": [str | raw], ...}``
plus what only the live element knows: ``type``, ``value``, ``checked`` (inputs), ``selectedText``
(selects), ``selected``/``disabled``/``text`` (options), ``active`` (it has focus) and
``offscreen``. ``id`` is the adapter's stable number for the element; the :class:`RefTable`
gives each emitted element its ``e{N}`` ref. The adapter has already left out what is never
shown: ``script``-like tags, ``hidden``, ``display: none``, ``aria-hidden="true"`` and every
subtree marked ``data-a11y-exclude`` (so not even a name is computed from an excluded subtree,
where client-js still reads text inside it into an ancestor's name).

The limits are client-js's: depth 10, 200 nodes, 50 children per node, 20 options per select,
names of 100 characters, selections of 2000.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .refs import RefTable

MAX_DEPTH = 10
MAX_NODES = 200
MAX_CHILDREN_PER_NODE = 50
MAX_SELECT_OPTIONS = 20
NAME_MAX = 100
SELECTION_TEXT_MAX = 2000

#: The attribute that leaves an element and everything in it out of every snapshot.
EXCLUDE_ATTRIBUTE = "data-a11y-exclude"
#: Tags never walked (nothing of them is shown).
EXCLUDED_TAGS = frozenset({"script", "style", "link", "meta", "noscript", "template"})
#: The attributes the adapter reads off every element (the walker needs no others).
ATTRIBUTES = (
    "role",
    "aria-label",
    "aria-labelledby",
    "aria-expanded",
    "aria-selected",
    "aria-checked",
    "aria-disabled",
    "aria-level",
    "aria-colcount",
    "aria-rowcount",
    "disabled",
    "tabindex",
    "href",
    "alt",
    "placeholder",
    "id",
    "for",
)
INTERACTIVE_ROLES = frozenset(
    {"button", "link", "checkbox", "radio", "textbox", "combobox", "switch", "menuitem", "tab"}
)
#: Roles whose element is one node: its text is its name, its descendants are not walked.
LEAF_ROLES = INTERACTIVE_ROLES | {"heading", "img"}
LANDMARK_TAGS = frozenset({"main", "nav", "header", "aside", "footer"})
TAG_ROLES = {
    "button": "button",
    "select": "combobox",
    "textarea": "textbox",
    "p": "paragraph",
    "ul": "list",
    "ol": "list",
    "li": "listitem",
    "table": "table",
    "tr": "row",
    "th": "columnheader",
    "td": "cell",
    **{f"h{n}": "heading" for n in range(1, 7)},
}
INPUT_ROLES = {
    "checkbox": "checkbox",
    "radio": "radio",
    "submit": "button",
    "button": "button",
    "reset": "button",
}
#: Form controls, whose text is not part of a label's text.
FORM_CONTROLS = frozenset({"input", "textarea", "select"})

RawElement = Mapping[str, Any]
A11yNode = dict[str, Any]


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def truncate(text: str, limit: int = NAME_MAX) -> str:
    """Whitespace collapsed, cut to ``limit`` characters with an ellipsis."""
    collapsed = collapse_whitespace(text)
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "\u2026"


def clamp_selection(text: str) -> str:
    return text if len(text) <= SELECTION_TEXT_MAX else text[: SELECTION_TEXT_MAX - 1] + "\u2026"


_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def parse_int(raw: str | None) -> int | None:
    """JS ``parseInt(raw, 10)``: the leading integer of ``raw``, or ``None``."""
    match = _LEADING_INT.match(raw or "")
    return int(match.group(1)) if match else None


def attr(el: RawElement, name: str) -> str | None:
    value = el.get("attrs", {}).get(name)
    return value if isinstance(value, str) else None


def kids(el: RawElement) -> Sequence[str | RawElement]:
    return el.get("kids", ())  # type: ignore[no-any-return]


def elements(el: RawElement) -> Iterator[RawElement]:
    """``el`` and every element below it, in document order."""
    yield el
    for kid in kids(el):
        if not isinstance(kid, str):
            yield from elements(kid)


def accessible_text(el: RawElement, *, skip_controls: bool = False) -> str:
    """The text of ``el``'s descendants, one space between elements (``<span>Foo</span>
    <span>Bar</span>`` is ``"Foo Bar"``); ``skip_controls`` leaves form controls out."""
    parts: list[str] = []
    for kid in kids(el):
        if isinstance(kid, str):
            text = kid.strip()
        elif skip_controls and kid.get("tag") in FORM_CONTROLS:
            continue
        else:
            text = accessible_text(kid, skip_controls=skip_controls)
        if text:
            parts.append(text)
    return collapse_whitespace(" ".join(parts))


def has_accessible_name(el: RawElement) -> bool:
    return (
        attr(el, "aria-label") is not None
        or attr(el, "aria-labelledby") is not None
        or bool(accessible_text(el))
    )


def role_of(el: RawElement) -> str | None:
    """The element's ARIA role (explicit, else from its tag), or ``None`` for a pure wrapper,
    whose children are walked into its parent's list."""
    explicit = attr(el, "role")
    if explicit:
        return explicit
    tag = str(el.get("tag", ""))
    if tag in LANDMARK_TAGS:
        return tag
    if tag in ("article", "section"):
        return "region" if has_accessible_name(el) else None
    if tag == "a":
        return "link" if attr(el, "href") is not None else None
    if tag == "input":
        kind = str(el.get("type", "text"))
        if kind == "hidden":
            return None
        return INPUT_ROLES.get(kind, "textbox")
    if tag == "img":
        return "img" if attr(el, "alt") is not None else None
    if tag in TAG_ROLES:
        return TAG_ROLES[tag]
    if any(attr(el, a) is not None for a in ("aria-label", "aria-labelledby", "tabindex")):
        return "generic"
    return None


def value_of(el: RawElement) -> str | None:
    """An input's, textarea's or select's current value (never a password's)."""
    tag = el.get("tag")
    if tag == "input":
        if el.get("type") in ("password", "checkbox", "radio", "hidden"):
            return None
        return str(el.get("value") or "") or None
    if tag == "textarea":
        return str(el.get("value") or "") or None
    if tag == "select":
        text = str(el.get("selectedText") or "").strip()
        return text or str(el.get("value") or "") or None
    return None


def state_of(el: RawElement) -> list[str]:
    state: list[str] = []
    if el.get("active"):
        state.append("focused")
    if attr(el, "aria-expanded") == "true":
        state.append("expanded")
    if attr(el, "aria-selected") == "true":
        state.append("selected")
    if attr(el, "disabled") is not None or attr(el, "aria-disabled") == "true":
        state.append("disabled")
    checked_input = el.get("tag") == "input" and el.get("type") in ("checkbox", "radio")
    if attr(el, "aria-checked") == "true" or (checked_input and el.get("checked")):
        state.append("checked")
    return state


def level_of(el: RawElement, role: str) -> int | None:
    if role != "heading":
        return None
    tag = str(el.get("tag", ""))
    if re.fullmatch(r"h[1-6]", tag):
        return int(tag[1])
    return parse_int(attr(el, "aria-level"))


def count_of(el: RawElement, name: str) -> int | None:
    value = parse_int(attr(el, name))
    return value if value is not None and value >= 0 else None


@dataclass
class _Walk:
    """One snapshot's walk: the ref table, the node budget, the page's labels and ids."""

    refs: RefTable
    track_viewport: bool
    by_id: dict[str, RawElement] = field(default_factory=dict)
    label_for: dict[str, RawElement] = field(default_factory=dict)
    count: int = 0

    @property
    def full(self) -> bool:
        return self.count >= MAX_NODES

    def index(self, root: RawElement) -> None:
        for el in elements(root):
            el_id = attr(el, "id")
            if el_id and el_id not in self.by_id:
                self.by_id[el_id] = el
            target = attr(el, "for")
            if el.get("tag") == "label" and target and target not in self.label_for:
                self.label_for[target] = el

    def ref(self, el: RawElement) -> str:
        return self.refs.ref(int(el["id"]))

    # --- names ----------------------------------------------------------------------------------

    def name_of(self, el: RawElement, role: str, label: RawElement | None) -> str | None:
        aria_label = attr(el, "aria-label")
        if aria_label:
            return truncate(aria_label)
        labelled = self.labelled_by(el)
        if labelled:
            return truncate(labelled)
        tag = el.get("tag")
        if tag in FORM_CONTROLS:
            el_id = attr(el, "id")
            for source in (self.label_for.get(el_id) if el_id else None, label):
                text = accessible_text(source, skip_controls=True) if source else ""
                if text:
                    return truncate(text)
            placeholder = attr(el, "placeholder")
            return truncate(placeholder) if placeholder else None
        if tag == "img":
            alt = attr(el, "alt")
            return truncate(alt) if alt else None
        if role in LEAF_ROLES or role == "paragraph":
            text = accessible_text(el)
            return truncate(text) if text else None
        return None

    def labelled_by(self, el: RawElement) -> str:
        ids = (attr(el, "aria-labelledby") or "").split()
        texts = [accessible_text(self.by_id[i]) for i in ids if i in self.by_id]
        return " ".join(t for t in texts if t)

    # --- the walk -------------------------------------------------------------------------------

    def children(
        self, el: RawElement, depth: int, skip_text: bool, label: RawElement | None
    ) -> list[A11yNode]:
        out: list[A11yNode] = []
        for kid in kids(el):
            if isinstance(kid, str):
                text = collapse_whitespace(kid)
                if skip_text or not text:
                    continue
                if self.full:
                    break
                self.count += 1
                out.append({"ref": "", "role": "text", "name": truncate(text)})
            else:
                out.extend(self.walk(kid, depth, skip_text, label))
                if self.full:
                    break
        return out

    def walk(
        self, el: RawElement, depth: int, skip_text: bool, label: RawElement | None
    ) -> list[A11yNode]:
        if self.full:
            return []
        if depth > MAX_DEPTH:
            self.count += 1
            return [{"ref": self.ref(el), "role": "ellipsis", "name": "<truncated: max depth>"}]
        if el.get("tag") == "label":
            label = el
        role = role_of(el)
        if role is None:  # a pure wrapper: its children join the parent's list
            return self.children(el, depth, skip_text, label)
        self.count += 1
        node: A11yNode = {"ref": self.ref(el), "role": role}
        name = self.name_of(el, role, label)
        if name:
            node["name"] = name
        value = value_of(el)
        if value is not None:
            node["value"] = value
        state = state_of(el)
        if self.track_viewport and el.get("offscreen"):
            state.append("offscreen")
        if state:
            node["state"] = state
        for key, number in (
            ("level", level_of(el, role)),
            ("colcount", count_of(el, "aria-colcount")),
            ("rowcount", count_of(el, "aria-rowcount")),
        ):
            if number is not None:
                node[key] = number
        if role not in LEAF_ROLES:
            # A paragraph's text is its name already: its text nodes are not repeated.
            children = self.children(el, depth + 1, role == "paragraph", label)
            if len(children) > MAX_CHILDREN_PER_NODE:
                more = len(children) - MAX_CHILDREN_PER_NODE
                children = children[:MAX_CHILDREN_PER_NODE]
                children.append(
                    {"ref": f"{node['ref']}.more", "role": "ellipsis", "name": f"{more} more"}
                )
            if children:
                node["children"] = children
        elif el.get("tag") == "select":
            options = self.options(el, node["ref"])
            if options:
                node["children"] = options
        return [node]

    def options(self, select: RawElement, select_ref: str) -> list[A11yNode]:
        """A native select's choices (a combobox is a leaf, but the bot needs its options)."""
        all_options = [e for e in elements(select) if e.get("tag") == "option"]
        out: list[A11yNode] = []
        for emitted, option in enumerate(all_options):
            if self.full:
                break
            self.count += 1
            if emitted >= MAX_SELECT_OPTIONS:
                more = len(all_options) - emitted
                out.append(
                    {"ref": f"{select_ref}.more", "role": "ellipsis", "name": f"{more} more"}
                )
                break
            text = str(option.get("text") or attr(option, "value") or "").strip()
            node: A11yNode = {"ref": self.ref(option), "role": "option", "name": truncate(text)}
            state = [s for s in ("selected", "disabled") if option.get(s)]
            if state:
                node["state"] = state
            out.append(node)
        return out


def build_snapshot(
    raw_root: RawElement | None,
    refs: RefTable,
    captured_at: int,
    *,
    raw_selection: Mapping[str, Any] | None = None,
    track_viewport: bool = True,
) -> dict[str, Any]:
    """The ``A11ySnapshot`` of a raw root (``document.body``'s, usually): a ``generic`` root
    holding the walked children, ``captured_at`` and, when the user has selected text in a
    walked element, ``selection``."""
    if raw_root is None:
        return {"root": {"ref": "e0", "role": "generic"}, "captured_at": captured_at}
    walk = _Walk(refs, track_viewport)
    walk.index(raw_root)
    children = walk.children(raw_root, 0, False, None)
    root: A11yNode = {"ref": walk.ref(raw_root), "role": "generic"}
    if children:
        root["children"] = children
    snapshot: dict[str, Any] = {"root": root, "captured_at": captured_at}
    selection = selection_of(raw_selection, refs)
    if selection is not None:
        snapshot["selection"] = selection
    return snapshot


def selection_of(raw: Mapping[str, Any] | None, refs: RefTable) -> dict[str, Any] | None:
    """The user's selection as an ``A11ySelection``, anchored on an element that has a ref.

    ``raw`` is ``{"input": id, "text", "start", "end"}`` for a selection inside an input or a
    textarea, or ``{"chain": [id, ...], "text"}`` for a document selection: the ids of the
    selection's common ancestor and its ancestors, innermost first, ending in ``None`` where an
    excluded or ``aria-hidden`` ancestor hides it (then there is no selection to report).
    """
    if not raw or not raw.get("text"):
        return None
    text = clamp_selection(str(raw["text"]))
    if "input" in raw:
        ref = refs.known(raw["input"]) if raw["input"] is not None else None
        if ref is None:
            return None
        return {"ref": ref, "text": text, "start_offset": raw["start"], "end_offset": raw["end"]}
    for el_id in raw.get("chain", ()):
        if el_id is None:
            return None
        ref = refs.known(el_id)
        if ref is not None:
            return {"ref": ref, "text": text}
    return None


def count_nodes(node: Mapping[str, Any]) -> int:
    """How many nodes a tree has (the root included)."""
    return 1 + sum(count_nodes(child) for child in node.get("children", ()))


def same_tree(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Two snapshots show the same page (``captured_at`` aside)."""
    if a is None or b is None:
        return a is b
    return (a.get("root"), a.get("selection")) == (b.get("root"), b.get("selection"))
