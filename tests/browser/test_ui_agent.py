"""The UI agent in Chromium: the page's accessibility snapshot, streamed to pipecat 1.14's own
`UIWorker` (tests/ui_bot), and the worker's `ui-command`s carried out on the page, or refused.

One bot, one harness page for the module. The page holds a small checkout form with a card
section marked `data-a11y-exclude`; the bot looks elements up by name in the snapshots it got
and sends the command for their refs, so every ref it uses went page → bot → page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

from tests.ui_bot import UIBot, ui_bot

pytestmark = [pytest.mark.browser, pytest.mark.bot]
__all__ = ["ui_bot"]  # the fixture, imported for this module's tests

APP = """
<main id="app">
  <h1>Checkout</h1>
  <p id="intro">Fill in the <a href="#terms">terms</a> form below.</p>
  <label for="email">Email</label><input id="email" type="email" value="ann@example.org">
  <input id="pw" type="password" value="hunter2" placeholder="Password">
  <label><input id="news" type="checkbox"> Newsletter</label>
  <select id="plan" aria-label="Plan"><option value="free">Free</option><option value="pro">Pro</option></select>
  <textarea id="notes" aria-label="Notes">first</textarea>
  <button id="buy" onclick="window.bought = (window.bought || 0) + 1">Buy</button>
  <button id="locked" disabled onclick="window.unlocked = true">Locked</button>
  <input id="ref" aria-label="Reference" readonly value="R-1">
  <section id="card" data-a11y-exclude>
    <h2>Card</h2><input aria-label="Card number" value="4111 1111"><button id="reveal">Reveal</button>
  </section>
  <div aria-hidden="true">hidden from bots</div>
  <div style="display: none"><button>Invisible</button></div>
  <p id="far" style="margin-top: 3000px">Far below</p>
</main>
"""
SECRETS = ("4111", "hunter2", "Card", "Reveal", "hidden from bots", "Invisible")


#: The module's pool (tests/browser/conftest.py): the bot is another origin on loopback (Local
#: Network Access), granted as a user would.
HARNESS_GRANTS = ["local-network-access"]


def open_app(pool: HarnessPool, server: LiveServer) -> Harness:
    harness = pool.get(server)
    harness.page.evaluate(
        """(html) => {
            document.getElementById("app")?.remove();
            document.body.insertAdjacentHTML("afterbegin", html);
            window.scrollTo(0, 0);
            window.bought = 0;
            location.hash = "";
        }""",
        APP,
    )
    return harness


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", ()):
        yield from nodes(child)


def named(tree: dict[str, Any], name: str) -> dict[str, Any]:
    """The element node called ``name`` (not a text node)."""
    return next(n for n in nodes(tree["root"]) if n.get("name") == name and n["ref"])


def test_the_snapshot_of_a_page(pool: HarnessPool, page_server: LiveServer) -> None:
    harness = open_app(pool, page_server)
    tree = harness.run("from rtvi.ui_agent import dom\ndom.snapshot_document()")
    text = json.dumps(tree)
    assert not [s for s in SECRETS if s in text], "excluded, hidden or secret content leaked"
    assert named(tree, "Checkout")["role"] == "heading" and named(tree, "Checkout")["level"] == 1
    intro = named(tree, "Fill in the terms form below.")
    assert intro["role"] == "paragraph" and intro["children"][0]["name"] == "terms"
    assert named(tree, "Email") | {"ref": ""} == {
        "ref": "",
        "role": "textbox",
        "name": "Email",
        "value": "ann@example.org",
    }
    assert "value" not in named(tree, "Password")
    assert named(tree, "Newsletter")["role"] == "checkbox"
    plan = named(tree, "Plan")
    assert (plan["role"], plan["value"]) == ("combobox", "Free")
    assert [(o["name"], o.get("state")) for o in plan["children"]] == [
        ("Free", ["selected"]),
        ("Pro", None),
    ]
    assert named(tree, "Locked")["state"] == ["disabled"]
    assert named(tree, "Far below")["state"] == ["offscreen"]
    assert "offscreen" not in named(tree, "Buy").get("state", [])

    # Refs resolve to the live elements, and back.
    buy = named(tree, "Buy")["ref"]
    resolved = harness.run(
        f"""
el = dom.find_element_by_ref({buy!r})
[el.id, dom.find_ref_for_element(el), dom.find_element_by_ref("e999999"),
 dom.find_ref_for_element(js.document.getElementById("reveal"))]
"""
    )
    assert resolved == ["buy", buy, None, None]

    # The user's selection, in the document and in a field.
    harness.page.evaluate(
        """() => {
            const text = document.getElementById("intro").firstChild;
            const range = document.createRange();
            range.setStart(text, 0); range.setEnd(text, 4);
            getSelection().removeAllRanges(); getSelection().addRange(range);
        }"""
    )
    assert harness.run("dom.serialize_selection()") == {"ref": intro["ref"], "text": "Fill"}
    harness.page.evaluate(
        "() => { const n = document.getElementById('notes'); n.focus(); n.setSelectionRange(1, 3); }"
    )
    selection = harness.run("dom.snapshot_document()")["selection"]
    assert selection == {
        "ref": named(tree, "Notes")["ref"],
        "text": "ir",
        "start_offset": 1,
        "end_offset": 3,
    }


def test_a_big_page_snapshot_costs_one_crossing(pool: HarnessPool, page_server: LiveServer) -> None:
    """2000 elements: the reader returns them in one call; the tree keeps client-js's caps (200
    nodes walked, 50 children a node)."""
    harness = open_app(pool, page_server)
    harness.page.evaluate(
        """() => {
            const list = document.createElement("ul"); list.id = "big";
            for (let i = 0; i < 1000; i++) {
                const li = document.createElement("li");
                li.innerHTML = "<span>row " + i + "</span>";
                list.appendChild(li);
            }
            document.getElementById("app").appendChild(list);
        }"""
    )
    ms, count, items = harness.run(
        """
from rtvi.ui_agent import dom
from rtvi.ui_agent.tree import count_nodes
dom.snapshot_document()
t0 = js.performance.now()
for _ in range(5):
    tree = dom.snapshot_document()
big = [n for n in tree["root"]["children"][0]["children"] if n["role"] == "list"][0]
[(js.performance.now() - t0) / 5, count_nodes(tree["root"]), big["children"]]
"""
    )
    harness.page.evaluate("() => document.getElementById('big').remove()")
    print(f"snapshot of a 2000-element page: {ms:.1f} ms")
    assert count <= 201 and len(items) == 51 and items[-1]["role"] == "ellipsis"
    assert ms < 500


def settled(harness: Harness, bot: UIBot) -> int:
    """How many snapshots the bot has, once none has come for a second."""
    count = -1
    while count != (count := len(bot.snapshots())):
        harness.page.wait_for_timeout(1000)
    return count


def act(harness: Harness, n: int, **payload: Any) -> dict[str, Any]:
    """Ask the bot's UIWorker to send a command; returns the page's result for it (the n-th)."""
    harness.run(f"client.send_ui_event('act', {payload!r})")
    result: dict[str, Any] = harness.wait_event("uiResult", count=n, timeout_ms=15_000)["data"]
    return result


def test_the_bots_ui_worker_sees_the_page_and_acts_on_it(
    pool: HarnessPool, page_server: LiveServer, ui_bot: UIBot
) -> None:
    harness = open_app(pool, page_server)
    start = ui_bot.url + "/start"
    harness.run(
        f"""
from rtvi.ui_agent import dom

def page_check(command):
    # The page's veto: no highlighting the Buy button.
    if command.name == "highlight" and dom.find_element_by_ref(command.ref or "").id == "buy":
        return "not the Buy button"
    return True

client = make_client(transport=SmallWebRTCTransport(), enable_mic=False)
client.start_ui_snapshot_stream(debounce=0.1)  # before connect: kept, sent on ready
runner = client.handle_ui_commands(
    allow=["click", "set_input_value", "focus", "select_text", "scroll_to", "highlight", "toast"],
    check=page_check,
    on_result=lambda result: record("uiResult", result.to_dict()),
)
await client.start_bot_and_connect(endpoint={start!r}, request_data={{"transport": "webrtc"}})
"""
    )
    harness.wait_for(lambda: len(ui_bot.snapshots()) >= 1, timeout_s=15)
    first = ui_bot.snapshots()[0]  # as pipecat validated and stored it
    assert named(first, "Buy")["role"] == "button"
    assert not [s for s in SECRETS if s in json.dumps(first)]

    n = 0

    def step(expected: str, **payload: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        result = act(harness, n, **payload)
        assert result["outcome"] == expected, result
        return result

    step("done", command="click", name="Buy")
    assert harness.page.evaluate("window.bought") == 1
    assert "disabled" in step("refused", command="click", name="Locked")["reason"]
    assert harness.page.evaluate("window.unlocked") is None
    step("done", command="click", name="Newsletter")
    assert harness.page.evaluate("document.getElementById('news').checked") is True
    step("done", command="set_input_value", name="Email", value="bob@example.org")
    step("done", command="set_input_value", name="Plan", value="Pro")
    step("done", command="set_input_value", name="Notes", value=" second", replace=False)
    values = harness.page.evaluate(
        "() => ['email', 'plan', 'notes'].map((id) => document.getElementById(id).value)"
    )
    assert values == ["bob@example.org", "pro", "first second"]
    assert (
        "read-only"
        in step("refused", command="set_input_value", name="Reference", value="X")["reason"]
    )
    step("done", command="focus", name="Notes")
    assert harness.page.evaluate("document.activeElement.id") == "notes"
    step(
        "done",
        command="select_text",
        name="Fill in the terms form below.",
        start_offset=12,
        end_offset=17,
    )
    assert harness.page.evaluate("getSelection().toString()") == "terms"
    step("done", command="scroll_to", name="Far below")
    harness.page.wait_for_function(
        "document.getElementById('far').getBoundingClientRect().top < innerHeight"
    )
    step("done", command="highlight", name="Email")
    assert harness.page.evaluate(
        "document.getElementById('email').hasAttribute('data-pyrtvi-highlight')"
    )
    assert step("refused", command="highlight", name="Buy")["reason"] == "not the Buy button"
    step("done", command="toast", title="Saved", description="Your order is in", duration_ms=60_000)
    assert "Saved" in harness.page.inner_text(".pyrtvi-toast")
    # Not allowed by this page; aimed at what the bot cannot see; a ref that never was.
    assert "not allowed" in step("refused", command="navigate", view="receipt")["reason"]
    assert harness.page.evaluate("location.hash") == ""
    assert "excluded" in step("refused", command="click", target_id="reveal")["reason"]
    assert "no element" in step("refused", command="click", ref="e999999")["reason"]

    # The stream followed the page: the bot's latest snapshot has the new values.
    harness.wait_for(
        lambda: named(ui_bot.snapshots()[-1], "Email").get("value") == "bob@example.org"
    )
    received = settled(harness, ui_bot)
    harness.run("client.send_ui_event('report')")
    seen = harness.wait_event("uiCommand", count=n + 1)["data"][0]  # the event's one argument
    n += 1  # the runner's result for `seen` (unhandled: no action has that name)
    assert harness.wait_event("uiResult", count=n)["data"]["outcome"] == "unhandled"
    assert seen["command"] == "seen"
    assert named(seen["payload"]["snapshot"], "Plan")["value"] == "Pro"
    assert seen["payload"]["selection"]["text"] == "terms"
    # A change that changes nothing the tree shows: a snapshot is taken, none is sent.
    taken = harness.run("client._ui_stream.stream.taken")
    harness.page.evaluate("() => window.dispatchEvent(new Event('resize'))")
    harness.wait_for(lambda: harness.run("client._ui_stream.stream.taken") > taken)
    assert settled(harness, ui_bot) == received
    print(f"snapshots the bot received in the whole session: {received}")

    # Another policy: navigate allowed; the page's own handler for toast.
    harness.run(
        """
runner.close()
toasts = []
runner = client.handle_ui_commands(
    handlers={"toast": lambda command: toasts.append(command.payload["title"])},
    on_result=lambda result: record("uiResult", result.to_dict()),
)
"""
    )
    step("done", command="navigate", view="receipt", params={"id": 7})
    assert harness.page.evaluate("location.hash") == "#receipt?id=7"
    step("done", command="toast", title="Mine")
    assert harness.run("toasts") == ["Mine"]
    harness.run("await client.disconnect()")
    assert harness.run("client.ui_snapshot_streaming") is False
    assert harness.run("live_proxies()") == 0
