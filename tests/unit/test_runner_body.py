"""pyrtvi serve's relay hands each WebSocket session's body to a Pipecat runner through its
`--runner-body` file, one session at a time (`wsrelay.RunnerBodyFile`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pyrtvi_server.wsrelay import RunnerBodyFile


async def test_bodies_are_written_one_session_at_a_time(tmp_path: Path) -> None:
    handover = RunnerBodyFile(tmp_path / "body.json", timeout=5)
    release = await handover.hand({"user": 1})
    assert json.loads(handover.path.read_text()) == {"user": 1}
    second = asyncio.ensure_future(handover.hand({"user": 2}))
    await asyncio.sleep(0.05)
    # Until the first session's bot has spoken, its body stays.
    assert not second.done() and json.loads(handover.path.read_text()) == {"user": 1}
    release()
    release()  # idempotent: the relay calls it on the first message and at the end
    release_second = await asyncio.wait_for(second, 1)
    assert json.loads(handover.path.read_text()) == {"user": 2}
    release_second()


async def test_a_bot_that_never_speaks_holds_the_file_for_timeout_only(tmp_path: Path) -> None:
    handover = RunnerBodyFile(tmp_path / "body.json", timeout=0.1)
    await handover.hand(None)
    release = await asyncio.wait_for(handover.hand({"user": 2}), 1)
    assert json.loads(handover.path.read_text()) == {"user": 2}
    release()
