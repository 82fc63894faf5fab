"""``ui-command`` parsing, the page's policy (allow-list, veto) and the runner, in CPython (the
actions are the test's; the standard DOM actions run in tests/browser/test_ui_agent.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import RTVIClient
from rtvi.transports.memory import FakeBot
from rtvi.ui_agent import (
    STANDARD_COMMANDS,
    Outcome,
    Refused,
    UICommand,
    UICommandError,
    UICommandPolicy,
    UICommandResult,
    parse_ui_command,
)
from rtvi.ui_agent.commands import run_command


def test_standard_commands_are_pipecats_wire_names() -> None:
    assert set(STANDARD_COMMANDS) == {
        "toast",
        "navigate",
        "scroll_to",
        "highlight",
        "focus",
        "click",
        "set_input_value",
        "select_text",
    }


@pytest.mark.parametrize(
    "data",
    [
        {"command": "toast", "payload": {"title": "Saved", "duration_ms": 2000}},
        {"command": "navigate", "payload": {"view": "cart", "params": {"id": 3}}},
        {
            "command": "scroll_to",
            "payload": {"ref": "e4", "target_id": None, "behavior": "instant"},
        },
        {"command": "highlight", "payload": {"target_id": "total"}},
        {"command": "focus", "payload": {"ref": "e1"}},
        {"command": "click", "payload": {"ref": "e2"}},
        {"command": "set_input_value", "payload": {"ref": "e3", "value": "", "replace": False}},
        {"command": "select_text", "payload": {"ref": "e5", "start_offset": 2, "end_offset": 2}},
        {"command": "my_app_thing", "payload": {"anything": [1, 2]}},
        {"command": "my_app_thing"},
    ],
)
def test_valid_commands(data: dict[str, Any]) -> None:
    command = parse_ui_command(data)
    assert command.name == data["command"] and command.payload == (data.get("payload") or {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("click", "must be an object"),
        ({"payload": {}}, "needs a command name"),
        ({"command": "click", "payload": [1]}, "payload must be an object"),
        ({"command": "toast", "payload": {}}, "toast: title is required"),
        ({"command": "toast", "payload": {"title": "x", "duration_ms": -1}}, "must be >= 0"),
        ({"command": "navigate", "payload": {"view": 3}}, "view must be str"),
        ({"command": "click", "payload": {}}, "needs a ref or a target_id"),
        ({"command": "click", "payload": {"ref": 4}}, "ref must be str"),
        ({"command": "set_input_value", "payload": {"ref": "e1"}}, "value is required"),
        (
            {"command": "set_input_value", "payload": {"ref": "e1", "value": "x", "replace": "no"}},
            "replace",
        ),
        (
            {
                "command": "select_text",
                "payload": {"ref": "e1", "start_offset": 5, "end_offset": 2},
            },
            "before",
        ),
        ({"command": "select_text", "payload": {"ref": "e1", "start_offset": True}}, "integer"),
    ],
)
def test_invalid_commands(data: Any, message: str) -> None:
    with pytest.raises(UICommandError, match=message):
        parse_ui_command(data)


def test_hyphenated_names_are_the_standard_commands() -> None:
    command = parse_ui_command(
        {"command": "set-input-value", "payload": {"ref": "e1", "value": "v"}}
    )
    assert command.name == "set_input_value" and command.standard
    assert parse_ui_command({"command": "my-thing"}).name == "my-thing"
    assert UICommand("click", {"ref": "e1", "target_id": "go"}).target() == "ref e1 / #go"


async def test_run_command_outcomes() -> None:
    done: list[str] = []

    def act(command: UICommand) -> None:
        done.append(command.name)

    def refuse(command: UICommand) -> None:
        raise Refused("click: e1 is disabled")

    def broken(command: UICommand) -> None:
        raise RuntimeError("boom")

    async def later(command: UICommand) -> None:
        await asyncio.sleep(0)
        done.append("later")

    actions = {"focus": act, "click": refuse, "highlight": broken, "toast": later}
    policy = UICommandPolicy()
    focus = {"command": "focus", "payload": {"ref": "e1"}}
    assert (await run_command(focus, policy, actions)).outcome == Outcome.DONE
    result = await run_command({"command": "click", "payload": {"ref": "e1"}}, policy, actions)
    assert (result.outcome, result.reason) == (Outcome.REFUSED, "click: e1 is disabled")
    result = await run_command({"command": "highlight", "payload": {"ref": "e1"}}, policy, actions)
    assert result.outcome == Outcome.FAILED and "boom" in str(result.reason)
    assert (
        await run_command({"command": "toast", "payload": {"title": "t"}}, policy, actions)
    ).outcome == "done"
    result = await run_command({"command": "scroll_to", "payload": {"ref": "e1"}}, policy, actions)
    assert result.outcome == Outcome.UNHANDLED
    result = await run_command({"command": "toast", "payload": {}}, policy, actions)
    assert result == UICommandResult("toast", Outcome.INVALID, "toast: title is required")
    assert done == ["focus", "later"]
    assert result.to_dict()["outcome"] == "invalid"


async def test_the_page_policy_refuses() -> None:
    ran: list[str] = []
    actions = {n: (lambda c: ran.append(c.name)) for n in ("click", "focus", "scroll_to")}

    def check(command: UICommand) -> bool | str | None:
        if command.ref == "e9":
            return "e9 is the pay button: ask the user"
        return command.name != "scroll_to"

    policy = UICommandPolicy(frozenset({"click", "scroll_to"}), check)
    outcomes = [
        await run_command({"command": name, "payload": {"ref": ref}}, policy, actions)
        for name, ref in [("focus", "e1"), ("click", "e9"), ("scroll_to", "e1"), ("click", "e1")]
    ]
    assert [(r.outcome, r.reason) for r in outcomes] == [
        (Outcome.REFUSED, "focus is not allowed by this page"),
        (Outcome.REFUSED, "e9 is the pay button: ask the user"),
        (Outcome.REFUSED, "scroll_to refused by the page"),
        (Outcome.DONE, None),
    ]
    assert ran == ["click"]

    async def async_check(command: UICommand) -> bool:
        raise ValueError("bad check")

    result = await run_command(
        {"command": "click", "payload": {"ref": "e1"}}, UICommandPolicy(None, async_check), actions
    )
    assert result.outcome == Outcome.REFUSED and "bad check" in str(result.reason)


async def test_the_client_runs_the_bots_commands_in_order(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    client = make_client()
    await client.connect()
    order: list[str] = []
    results: list[UICommandResult] = []
    seen: list[Any] = []
    client.on("uiCommand", seen.append)

    async def slow_toast(command: UICommand) -> None:
        await asyncio.sleep(0.05)
        order.append("toast " + command.payload["title"])

    runner = client.handle_ui_commands(
        allow=["toast", "set-input-value", "ping"],
        handlers={
            "toast": slow_toast,
            "set-input-value": lambda c: order.append("set"),
            "ping": lambda c: order.append("ping"),
        },
        on_result=results.append,
    )
    bot.send("ui-command", {"command": "toast", "payload": {"title": "one"}})
    bot.send("ui-command", {"command": "ping", "payload": None})
    bot.send("ui-command", {"command": "click", "payload": {"ref": "e1"}})
    bot.send("ui-command", {"command": "set_input_value", "payload": {"ref": "e1", "value": "v"}})
    await asyncio.sleep(0.01)
    await runner.idle()
    assert order == ["toast one", "ping", "set"]
    assert [(r.command, r.outcome) for r in results] == [
        ("toast", "done"),
        ("ping", "done"),
        ("click", "unhandled"),
        ("set_input_value", "done"),
    ]
    assert len(seen) == 4 and runner.results == results
    runner.close()
    bot.send("ui-command", {"command": "ping"})
    await asyncio.sleep(0.01)
    assert order[-1] == "set" and len(seen) == 5
