"""Form controls for RTVI-typed values (config options, action arguments): one control per
type, and the typed value back out of it."""

from __future__ import annotations

import re
from typing import Any

from . import model
from .dom import h


def slug(*parts: str) -> str:
    """An id-safe name: ``slug("llm", "get context")`` → ``"llm-get_context"``."""
    return "-".join(re.sub(r"[^a-zA-Z0-9_]+", "_", p) for p in parts)


def value_control(control_id: str, kind: str, value: Any, choices: Any = None) -> Any:
    """A select (given ``choices``), checkbox (``bool``), textarea (JSON) or input."""
    if isinstance(choices, list) and choices:
        select = h("select", {"id": control_id})
        names = [str(c) for c in choices]
        if value is not None and str(value) not in names:
            names.insert(0, str(value))
        for choice in names:
            select.append(h("option", {"value": choice, "text": choice}))
        if value is not None:
            select.value = str(value)
        return select
    if kind == "bool":
        box = h("input", {"id": control_id, "type": "checkbox"})
        box.checked = bool(value)
        return box
    if kind in ("array", "object"):
        area = h("textarea", {"id": control_id, "rows": "3", "spellcheck": "false"})
        area.value = model.format_value(kind, value)
        return area
    control = h("input", {"id": control_id, "type": "number" if kind == "number" else "text"})
    if kind == "number":
        control.setAttribute("step", "any")
    control.value = model.format_value(kind, value)
    return control


def raw_value(control: Any) -> Any:
    """What the control holds: a bool for a checkbox, its text otherwise."""
    return bool(control.checked) if str(control.type) == "checkbox" else str(control.value)


def control_value(control: Any) -> Any:
    """The control's value as its ``data-type`` wants it (``ValueError`` on bad input)."""
    return model.parse_value(str(control.dataset.type), raw_value(control))


def typed_field(control_id: str, name: str, kind: str, control: Any) -> Any:
    """``div.field``: the label (name and a type hint) and the control."""
    return h(
        "div",
        {"class": "field"},
        h(
            "label",
            {"for": control_id},
            f"{name} ",
            h("span", {"class": "type", "aria-hidden": "true", "text": kind}),
        ),
        control,
    )


def run_row(hint: str | None = None) -> Any:
    """The Run button (with an optional hint beside it)."""
    row = h("div", {"class": "row"}, h("button", {"type": "submit", "text": "Run"}))
    if hint is not None:
        row.append(h("span", {"class": "hint", "text": hint}))
    return row
