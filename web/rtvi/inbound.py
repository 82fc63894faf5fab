"""Inbound messages: validate what the transport (or a disconnected action) delivers, then
carry out its route (:func:`rtvi.routing.plan`) effect by effect.

One group of :class:`~rtvi.client.RTVIClient`'s methods, over the fields and primitives of
:class:`~rtvi.core.ClientCore`. Nothing here raises to the transport: a malformed message is
reported (``on_message_error``), a failing callback or helper is logged.
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

from . import messages as m
from . import routing
from .core import ClientCore
from .dispatcher import is_unsupported_type
from .errors import InvalidMessageError, RTVIMessageError, UnsupportedFeatureError
from .events import EVENT_CALLBACKS, RTVIEvent, call_handler
from .messages import BotReady, ErrorPayload, FunctionCallParams, RTVIMessage
from .routing import Call, Step

logger = logging.getLogger("rtvi")


class InboundMethods(ClientCore):
    """The transport's message handler and what each effect of a route does."""

    def _handle_message(self, raw: Any, strict: bool = False) -> None:
        """The transport's message handler: validate, then route. Never raises.

        A message not labelled ``rtvi-ai`` is ignored, unless ``strict`` (then it is malformed).
        """
        try:
            message = m.parse_message(raw)
        except m.NotRTVIMessageError as exc:
            if strict:
                self._report_malformed(exc)
            else:
                logger.debug("ignoring a message not labelled rtvi-ai")
            return
        except InvalidMessageError as exc:
            self._report_malformed(exc)
            return
        try:
            self._route(message)
        except Exception:
            logger.exception("error handling RTVI message %r", message.type)

    def _unheard_events(self) -> frozenset[RTVIEvent]:
        """The events no callback or handler listens to now (the callbacks are the
        constructor's: their part is computed once)."""
        if self._uncalled is None:
            called = self._callbacks
            self._uncalled = frozenset(e for e in RTVIEvent if EVENT_CALLBACKS[e] not in called)
        return self._uncalled - self._emitter.heard_events()

    def _listeners_changed(self) -> None:
        """A handler was added or removed: tell the transport (it may skip unheard work) when
        that changed what is unheard. A page adds dozens of handlers as it starts, most to
        events already heard (the console: ~70, once 20 ms of its start)."""
        unheard = self._unheard_events()
        if unheard != self._told_unheard:
            self._told_unheard = unheard
            self._transport.set_unheard_events(unheard)

    def _report_malformed(self, exc: InvalidMessageError) -> None:
        logger.warning("malformed RTVI message: %s", exc.message)
        self._fire("on_message_error", m.malformed_report(exc))

    def _route(self, message: RTVIMessage) -> None:
        """Carry out :func:`rtvi.routing.plan` for ``message``, effect by effect."""
        request_type: str | None = None
        for effect in routing.plan(message):
            match effect:
                case Call(callback, args):
                    self._fire(callback, *args)
                case Step.SETTLE:
                    request_type = self._dispatcher.request_type(message.id)
                    self._dispatcher.resolve(message)
                case Step.BOT_READY:
                    self._on_bot_ready(message)
                case Step.FATAL_ERROR:
                    self._on_fatal_error(message)
                case Step.UNSUPPORTED:
                    self._on_error_response(message, request_type)
                case Step.FUNCTION_CALL:
                    self.function_calls.dispatch(FunctionCallParams.parse(message.data))
                case Step.LEGACY_FUNCTION_CALL:
                    call = FunctionCallParams.parse(message.data, legacy=True)
                    if not self.function_calls.dispatch(call):
                        self._offer_to_helpers(message, generic=False)
                case Step.HELPERS | Step.GENERIC:
                    self._offer_to_helpers(message, generic=effect is Step.GENERIC)
                case _:
                    assert_never(effect)

    def _offer_to_helpers(self, message: RTVIMessage, *, generic: bool) -> None:
        handled = False
        for helper in list(self._helpers.values()):
            try:
                if message.type in helper.get_message_types():
                    handled = True
                    call_handler(helper.handle_message, message, tasks=self._tasks)
            except Exception:
                logger.exception("helper %r failed", helper.service)
        if not handled and generic:
            self._fire("on_generic_message", message.data)

    def _on_bot_ready(self, message: RTVIMessage) -> None:
        ready = self._bot_ready = BotReady.parse(message.data)
        if ready.version is None:
            version = m.data_field(ready.data, "version")
            logger.warning("bot-ready without a usable protocol version: %r", version)
        if self._attempt is not None:
            self._attempt.complete(ready.data)

    def _on_error_message(self, message: RTVIMessage) -> None:
        """An ``error`` reported by the transport (not by the bot): same as the bot's."""
        self._fire("on_error", message)
        self._on_fatal_error(message)

    def _on_fatal_error(self, message: RTVIMessage) -> None:
        error = ErrorPayload.parse(message.data)
        if not error.fatal:
            return
        text = error.text or "fatal error"
        logger.error("fatal error: %s", text)
        attempt = self._attempt
        failure = RTVIMessageError(text, message)
        if attempt is not None and attempt.phase.started and attempt.fail(failure):
            return  # connect() fails with the reason; its cleanup disconnects
        self._spawn(self.disconnect())

    def _on_error_response(self, message: RTVIMessage, request_type: str | None) -> None:
        text = ErrorPayload.parse(message.data).text
        if is_unsupported_type(text):
            feature = f"message type {request_type or '?'!r}"
            self._fire("on_unsupported_feature", UnsupportedFeatureError(feature, "the bot", text))
