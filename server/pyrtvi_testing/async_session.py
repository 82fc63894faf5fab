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
from typing import Any

from playwright.async_api import BrowserContext, Error, Page, Route

from .chromium import BOOT_TIMEOUT_MS
from .session import (
    DISCONNECT_CODE,
    EVENTS_JS,
    HAS_MIC_JS,
    HEARD_JS,
    PAGE_DIR,
    PLAY_JS,
    PREFIX,
    READY_JS,
    RECORDING_JS,
    RUN_JS,
    SessionRecord,
    Speech,
    connect_code,
    kit_page_body,
    no_mic,
    speech_wav,
    wav_of,
)
from .surface import AsyncKitSession, ClientCall, Recording, not_connected
from .turns import Turn, speech_label, spoken_turn

__all__ = ["PAGE_DIR", "AsyncSession"]


class AsyncSession(SessionRecord[BrowserContext, Page], AsyncKitSession):
    """A connected session in a Chromium page, awaited: see
    :class:`~pyrtvi_testing.surface.AsyncKitSession`."""

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
            raise not_connected(error.message, "page console", session.console, log_tail) from None
        return session

    async def run(self, code: str) -> Any:
        """Evaluate Python in the page (the client is ``client``); the last expression's value."""
        return json.loads(await self.page.evaluate(RUN_JS, code))

    async def now(self) -> float:
        return float(await self.page.evaluate("performance.now()"))

    async def events(self) -> list[dict[str, Any]]:
        """Every event so far (a coroutine here, a property on the sync session)."""
        raw: list[str] = await self.page.evaluate(EVENTS_JS)
        return [json.loads(item) for item in raw]

    async def disconnect(self) -> None:
        if not self.page.is_closed():
            await self.run(DISCONNECT_CODE)

    # -- what the API stands on (``surface.AsyncKitSession``) ----------------------------------

    async def _call(self, call: ClientCall) -> Any:
        return await self.run(call.code())

    async def _sleep(self, ms: float) -> None:
        await self.page.wait_for_timeout(ms)

    async def _recording(self, which: Recording) -> bytes | None:
        if self.page.is_closed():
            return None
        return wav_of(await self.page.evaluate(RECORDING_JS, which))

    async def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        wav = speech_wav(speech)
        if not await self.page.evaluate(HAS_MIC_JS):
            raise no_mic(kind)
        start = await self.now()
        said_end = float(await self.page.evaluate(PLAY_JS, base64.b64encode(wav).decode()))
        heard = await self.page.evaluate(HEARD_JS, [said_end, timeout * 1000])
        turn = await self._turn(start, kind, speech_label(speech), timeout)
        return spoken_turn(turn, said_end, None if heard is None else float(heard))
