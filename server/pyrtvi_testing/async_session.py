"""`AsyncSession`: the asynchronous twin of :class:`~pyrtvi_testing.session.Session`, on
Playwright's async API, for async test suites (pytest-asyncio, anyio)::

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium")
        context = await browser.new_context()
        session = await AsyncSession.open(context, rtvi_bot.server.url)
        turn = await session.type("hello")

Same methods, same page, same turns; each is awaited.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal, overload

from playwright.async_api import BrowserContext, Error, Page, Route

from .chromium import BOOT_TIMEOUT_MS
from .processes import BotStartError
from .session import (
    EVENTS_JS,
    HAS_MIC_JS,
    HEARD_JS,
    PAGE_DIR,
    PLAY_JS,
    PREFIX,
    READY_JS,
    RECORDING_JS,
    RUN_JS,
    TURN_TIMEOUT_S,
    SessionRecord,
    Speech,
    connect_code,
    kit_page_body,
    no_mic,
    send_file_code,
    speech_wav,
    wav_of,
)
from .turns import (
    Turn,
    arun_steps,
    event_steps,
    speaking_steps,
    speech_label,
    spoken_turn,
    turn_steps,
)

__all__ = ["PAGE_DIR", "AsyncSession"]


class AsyncSession(SessionRecord[BrowserContext, Page]):
    """A connected session, awaited: see :class:`~pyrtvi_testing.session.Session`."""

    def __init__(self, context: BrowserContext, page: Page, transport: str) -> None:
        super().__init__(context, page, transport)
        page.on("console", lambda message: self.console.append(message.text))

    @classmethod
    async def open(
        cls,
        context: BrowserContext,
        origin: str,
        transport: str = "webrtc",
        request_data: Any = None,
        log_tail: Callable[[], str] = str,
        **options: Any,
    ) -> AsyncSession:
        page = await context.new_page()
        session = cls(context, page, transport)
        runtime = (await (await page.request.get(origin + "/health")).json())["runtime"]
        pyscript_url = f"/runtime/pyscript/{runtime['pyscript']}"

        async def serve(route: Route) -> None:
            status, body, kind = kit_page_body(route.request.url, pyscript_url)
            await route.fulfill(status=status, body=body, content_type=kind)

        await page.route(f"{origin}{PREFIX}**", serve)
        await page.goto(f"{origin}{PREFIX}kit.html")
        await page.wait_for_function(READY_JS, timeout=BOOT_TIMEOUT_MS)
        try:
            session.ready = await session.run(connect_code(transport, request_data, options))
        except Error as error:
            raise BotStartError(
                f"the session did not connect: {error.message}\n"
                f"page console:\n{chr(10).join(session.console[-15:])}\nbot log:\n{log_tail()}"
            ) from None
        return session

    async def run(self, code: str) -> Any:
        return json.loads(await self.page.evaluate(RUN_JS, code))

    async def now(self) -> float:
        return float(await self.page.evaluate("performance.now()"))

    async def events(self) -> list[dict[str, Any]]:
        """Every event so far (a coroutine here, a property on the sync session)."""
        raw: list[str] = await self.page.evaluate(EVENTS_JS)
        return [json.loads(item) for item in raw]

    @overload
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[True] = True
    ) -> Turn: ...
    @overload
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[False]
    ) -> None: ...
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: bool = True
    ) -> Turn | None:
        start = await self.now()
        await self.run(f"client.send_text({text!r})")
        return await self._turn(start, "type", text, timeout) if wait else None

    async def say(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        return await self._speak(speech, "say", timeout)

    async def interrupt(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        await arun_steps(speaking_steps(timeout), self.events, self.page.wait_for_timeout)
        return await self._speak(speech, "interrupt", timeout)

    async def press(self, keys: str) -> None:
        await self.run(f"client.send_dtmf({keys!r})")

    async def send_file(
        self, path: str, *, format: str = "text/plain", content: str = ""
    ) -> dict[str, Any]:
        sent: dict[str, Any] = await self.run(send_file_code(path, format, content))
        return sent

    async def request(self, type: str, data: Any = None, *, timeout: float | None = None) -> Any:
        return await self.run(f"await client.send_client_request({type!r}, {data!r}, {timeout!r})")

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] | None = None,
        timeout: float = TURN_TIMEOUT_S,
        *,
        after: float | None = None,
    ) -> dict[str, Any]:
        steps = event_steps(event, where, timeout, after)
        return await arun_steps(steps, self.events, self.page.wait_for_timeout)

    async def user_wav(self) -> bytes | None:
        if self.page.is_closed():
            return None
        return wav_of(await self.page.evaluate(RECORDING_JS, "user"))

    async def bot_wav(self) -> bytes | None:
        if self.page.is_closed():
            return None
        return wav_of(await self.page.evaluate(RECORDING_JS, "bot"))

    async def disconnect(self) -> None:
        if not self.page.is_closed():
            await self.run("await client.disconnect() if client else None")

    async def _turn(self, start: float, kind: str, sent: str, timeout: float) -> Turn:
        async def poll() -> tuple[list[dict[str, Any]], float]:
            return await self.events(), await self.now()

        steps = turn_steps(start, kind, sent, timeout, self.turns)
        return await arun_steps(steps, poll, self.page.wait_for_timeout)

    async def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        wav = speech_wav(speech)
        if not await self.page.evaluate(HAS_MIC_JS):
            raise no_mic(kind)
        start = await self.now()
        said_end = float(await self.page.evaluate(PLAY_JS, base64.b64encode(wav).decode()))
        heard = await self.page.evaluate(HEARD_JS, [said_end, timeout * 1000])
        turn = await self._turn(start, kind, speech_label(speech), timeout)
        return spoken_turn(turn, said_end, None if heard is None else float(heard))
