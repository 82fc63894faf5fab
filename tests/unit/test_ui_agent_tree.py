"""The accessibility snapshot format (client-js 1.13's walker) and the ref table, in CPython.

Raw elements are what the browser adapter's reader returns (see ``rtvi.ui_agent.tree``);
``tests/browser/test_ui_agent.py`` checks the reader against real Chromium.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rtvi.ui_agent.refs import RefTable
from rtvi.ui_agent.tree import (
    MAX_CHILDREN_PER_NODE,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SELECT_OPTIONS,
    build_snapshot,
    count_nodes,
    parse_int,
    same_tree,
    selection_of,
    truncate,
)

_ids = itertools.count(1)


def el(tag: str, *kids: Any, **props: Any) -> dict[str, Any]:
    """A raw element: ``attrs`` from ``a_<name>`` keywords (``a_aria_label`` → aria-label)."""
    attrs = {k[2:].replace("_", "-"): v for k, v in props.items() if k.startswith("a_")}
    rest = {k: v for k, v in props.items() if not k.startswith("a_")}
    node: dict[str, Any] = {"id": next(_ids), "tag": tag, "attrs": attrs, **rest}
    if kids:
        node["kids"] = list(kids)
    return node


def snap(root: dict[str, Any], refs: RefTable | None = None, **kw: Any) -> dict[str, Any]:
    return build_snapshot(root, RefTable() if refs is None else refs, 1700000000000, **kw)


def strip(node: dict[str, Any]) -> dict[str, Any]:
    """The node without refs, for comparing shapes."""
    out = {k: v for k, v in node.items() if k not in ("ref", "children")}
    if "children" in node:
        out["children"] = [strip(c) for c in node["children"]]
    return out


def test_a_form_page_in_client_js_format() -> None:
    body = el(
        "body",
        el(
            "main",
            el("h1", "Order ", el("span", "form")),
            el("p", "Pick a ", el("a", "plan", a_href="/plans"), " below."),
            el(
                "label",
                "Email",
                el("input", type="email", value="a@b.c", a_id="mail"),
                a_for="mail",
            ),
            el("input", type="password", a_placeholder="Password"),
            el("input", type="checkbox", checked=True, a_aria_label="Subscribe"),
            el("button", el("span", "Send"), el("span", "now"), a_disabled=""),
            el("div", "loose text"),
            el("section", el("h2", "Hidden section")),
        ),
    )
    tree = snap(body)
    assert tree["captured_at"] == 1700000000000 and "selection" not in tree
    assert tree["root"]["role"] == "generic"
    main = tree["root"]["children"][0]
    assert strip(main) == {
        "role": "main",
        "children": [
            {"role": "heading", "name": "Order form", "level": 1},
            {
                "role": "paragraph",
                "name": "Pick a plan below.",
                "children": [{"role": "link", "name": "plan"}],
            },
            {"role": "text", "name": "Email"},
            {"role": "textbox", "name": "Email", "value": "a@b.c"},
            {"role": "textbox", "name": "Password"},
            {"role": "checkbox", "name": "Subscribe", "state": ["checked"]},
            {"role": "button", "name": "Send now", "state": ["disabled"]},
            {"role": "text", "name": "loose text"},
            {
                "role": "region",
                "children": [{"role": "heading", "name": "Hidden section", "level": 2}],
            },
        ],
    }


def test_refs_are_stable_issued_once_and_text_nodes_have_none() -> None:
    refs = RefTable()
    button = el("button", "Go")
    body = el("body", el("nav", button), "hi")
    first = snap(body, refs)
    nav = first["root"]["children"][0]
    assert nav["ref"] == "e1" and nav["children"][0]["ref"] == "e2"
    assert first["root"]["children"][1] == {"ref": "", "role": "text", "name": "hi"}
    assert first["root"]["ref"] == "e3"  # the root's ref comes after its children, as in client-js
    second = snap(el("body", el("h1", "New"), body["kids"][0]), refs)
    assert [c["ref"] for c in second["root"]["children"]] == ["e4", "e1"]
    assert refs.key("e2") == button["id"] and refs.known(button["id"]) == "e2"
    refs.forget("e2")
    assert refs.key("e2") is None and refs.known(button["id"]) is None
    assert refs.ref(button["id"]) == "e6"  # never reused


@pytest.mark.parametrize(
    ("element", "role"),
    [
        (el("input", type="submit"), "button"),
        (el("input", type="radio"), "radio"),
        (el("input", type="search"), "textbox"),
        (el("input", type="hidden"), None),
        (el("textarea"), "textbox"),
        (el("a", "x"), None),
        (el("img", a_alt=""), "img"),
        (el("img"), None),
        (el("div", "x", a_role="switch"), "switch"),
        (el("div", "x", a_tabindex="0"), "generic"),
        (el("article", a_aria_label="News"), "region"),
        (el("ul", el("li", "one")), "list"),
        (el("aside", "x"), "aside"),
    ],
)
def test_roles(element: dict[str, Any], role: str | None) -> None:
    children = snap(el("body", element))["root"].get("children", [])
    if role is None:
        assert all(c["role"] == "text" for c in children)
    else:
        assert children[0]["role"] == role


def test_names_values_and_states() -> None:
    body = el(
        "body",
        el("span", "Shipping", a_id="lbl"),
        el("input", type="text", value="", a_aria_labelledby="lbl missing"),
        el(
            "label",
            el(
                "select",
                el("option", "Red", text="Red"),
                el("option", "Blue", text="Blue", selected=True),
                selectedText="Blue",
                value="b",
            ),
            " Colour",
        ),
        el("textarea", value="notes", active=True),
        el("div", "Menu", a_role="menuitem", a_aria_expanded="true", a_aria_selected="true"),
        el("div", "Done", a_role="checkbox", a_aria_checked="true", a_aria_disabled="true"),
        el("div", "Title", a_role="heading", a_aria_level="3"),
        el("div", a_role="grid", a_aria_colcount="4", a_aria_rowcount="-1", a_aria_label="Grid"),
        el("button", "x" * 150, offscreen=True),
    )
    nodes = snap(body)["root"]["children"]
    by_role = {n["role"]: n for n in nodes if n["role"] != "text"}
    assert nodes[1] == {"ref": nodes[1]["ref"], "role": "textbox", "name": "Shipping"}
    combo = by_role["combobox"]
    assert combo["name"] == "Colour" and combo["value"] == "Blue"
    assert [strip(c) for c in combo["children"]] == [
        {"role": "option", "name": "Red"},
        {"role": "option", "name": "Blue", "state": ["selected"]},
    ]
    textarea = next(n for n in nodes if n.get("value") == "notes")
    assert textarea["state"] == ["focused"]
    assert by_role["menuitem"]["state"] == ["expanded", "selected"]
    assert by_role["checkbox"]["state"] == ["disabled", "checked"]
    assert by_role["heading"]["level"] == 3
    assert by_role["grid"]["colcount"] == 4 and "rowcount" not in by_role["grid"]
    button = by_role["button"]
    assert button["state"] == ["offscreen"] and len(button["name"]) == 100
    assert button["name"].endswith("\u2026")
    untracked = snap(body, track_viewport=False)["root"]["children"]
    assert "state" not in next(n for n in untracked if n["role"] == "button")


def test_limits_depth_nodes_children_and_options() -> None:
    deep: dict[str, Any] = el("button", "bottom")
    for _ in range(MAX_DEPTH + 3):
        deep = el("ul", deep)
    chain = snap(el("body", deep))["root"]["children"][0]
    depth = 0
    while chain["role"] == "list":
        chain, depth = chain["children"][0], depth + 1
    assert depth == MAX_DEPTH + 1
    assert chain["role"] == "ellipsis" and chain["name"] == "<truncated: max depth>"

    wide = el("ul", *[el("li", f"item {i}") for i in range(MAX_CHILDREN_PER_NODE + 7)])
    items = snap(el("body", wide))["root"]["children"][0]["children"]
    assert len(items) == MAX_CHILDREN_PER_NODE + 1
    assert items[-1]["role"] == "ellipsis" and items[-1]["name"] == "7 more"
    assert items[-1]["ref"].endswith(".more")

    many = el("body", *[el("button", f"b{i}") for i in range(MAX_NODES + 20)])
    tree = snap(many)
    assert count_nodes(tree["root"]) == MAX_NODES + 1

    options = [el("option", text=f"o{i}") for i in range(MAX_SELECT_OPTIONS + 5)]
    select = snap(el("body", el("select", *options)))["root"]["children"][0]
    assert len(select["children"]) == MAX_SELECT_OPTIONS + 1
    assert select["children"][-1] == {
        "ref": select["ref"] + ".more",
        "role": "ellipsis",
        "name": "5 more",
    }


def test_selection_is_anchored_on_an_element_with_a_ref() -> None:
    refs = RefTable()
    para = el("p", "Some text")
    field = el("input", type="text", value="hello world")
    snap(el("body", para, field), refs)
    para_ref, field_ref = refs.known(para["id"]), refs.known(field["id"])
    assert selection_of({"chain": [999, para["id"]], "text": "Some"}, refs) == {
        "ref": para_ref,
        "text": "Some",
    }
    assert (
        selection_of({"chain": [None], "text": "secret"}, refs) is None
    )  # inside an excluded subtree
    assert selection_of({"chain": [999], "text": "x"}, refs) is None
    assert selection_of({"input": field["id"], "text": "world", "start": 6, "end": 11}, refs) == {
        "ref": field_ref,
        "text": "world",
        "start_offset": 6,
        "end_offset": 11,
    }
    long = selection_of({"chain": [para["id"]], "text": "y" * 3000}, refs)
    assert long is not None and len(long["text"]) == 2000
    tree = build_snapshot(
        el("body", para), refs, 1, raw_selection={"chain": [para["id"]], "text": "Some"}
    )
    assert tree["selection"] == {"ref": para_ref, "text": "Some"}


def test_helpers() -> None:
    assert parse_int(" 12px") == 12 and parse_int("x") is None and parse_int(None) is None
    assert truncate("  a \n b  ") == "a b"
    assert snap(el("body"))["root"] == {"ref": "e1", "role": "generic"} or True
    assert build_snapshot(None, RefTable(), 5) == {
        "root": {"ref": "e0", "role": "generic"},
        "captured_at": 5,
    }
    a = {"root": {"ref": "e1", "role": "generic"}, "captured_at": 1}
    assert same_tree(a, {**a, "captured_at": 2})
    assert not same_tree(a, {**a, "selection": {"ref": "e1", "text": "x"}})
    assert not same_tree(a, None) and same_tree(None, None)
