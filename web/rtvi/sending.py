"""The client's messages to the bot, RTVI 1.x and 2.x: ``send_message``, client messages and
requests, ``send_text``, ``send_dtmf``, ``send_file``, the UI worker messages, and the deprecated
``append_to_context``.

One group of :class:`~rtvi.client.RTVIClient`'s methods, over the fields and primitives of
:class:`~rtvi.core.ClientCore` (``_send`` and ``_request`` do the transport, size and readiness
checks). A message the bot's protocol cannot serve is refused at once here
(:mod:`rtvi.features`), nothing is sent.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from . import messages as m
from .compat import Done
from .core import ClientCore
from .errors import BotNotReadyError
from .features import Feature, check, dtmf_uses_buttons
from .messages import MessageType, RTVIMessage
from .start import upload_file
from .state import TransportState

#: The keys ``send_dtmf`` accepts (pipecat's ``KeypadEntry``).
DTMF_KEYS = frozenset("0123456789*#")


class MessageMethods(ClientCore):
    """Fire-and-forget messages and requests to the bot (all need the ``ready`` state)."""

    def send_message(self, message: RTVIMessage) -> None:
        """Send any RTVI message, fire-and-forget (requires ``ready``)."""
        self._send(message, ready=True)

    def send_client_message(self, msg_type: str, data: Any = None) -> None:
        """RTVI 1.x: send ``client-message {t, d}``, fire-and-forget."""
        self._send(m.client_message(msg_type, data), ready=True)

    async def send_client_request(
        self, msg_type: str, data: Any = None, timeout: float | None = None
    ) -> Any:
        """RTVI 1.x: send ``client-message {t, d}`` and return the ``d`` of the bot's
        ``server-response``. An ``error-response`` raises :class:`ErrorResponse` (or
        :class:`UnsupportedFeatureError` from bots without ``client-message``)."""
        reply = await self._request(m.client_message(msg_type, data), timeout)
        return m.data_field(reply.data, "d")

    def send_text(
        self,
        content: str,
        *,
        run_immediately: bool | None = None,
        audio_response: bool | None = None,
    ) -> None:
        """RTVI 1.1: send typed user text (``send-text``)."""
        options: dict[str, Any] = {}
        if run_immediately is not None:
            options["run_immediately"] = run_immediately
        if audio_response is not None:
            options["audio_response"] = audio_response
        self._send(m.send_text(content, options), ready=True)

    def _gate(self, feature: Feature) -> None:
        """Ready, and the bot serves ``feature``: else raise at once (nothing is sent)."""
        if self.state != TransportState.READY:
            raise BotNotReadyError()
        check(feature, self._bot_ready)

    def send_dtmf(self, buttons: str | Sequence[str]) -> None:
        """RTVI 2.x ``dtmf``: keypad keys (``"0"``–``"9"``, ``"*"``, ``"#"``), in order;
        ``"12#"`` is three keys. One ``{buttons}`` message (2.1+) or one ``{button}`` per key
        (2.0). Older bots: :class:`UnsupportedFeatureError`."""
        keys = list(buttons)
        bad = [k for k in keys if k not in DTMF_KEYS]
        if not keys or bad:
            raise ValueError(f"DTMF keys are 0-9, * and #; got {buttons!r}")
        self._gate(Feature.DTMF)
        if dtmf_uses_buttons(self._bot_ready):
            self._send(m.dtmf(keys), ready=True)
        else:
            for key in keys:
                self._send(m.dtmf_button(key), ready=True)

    async def send_file(
        self,
        file: bytes | bytearray | str,
        *,
        format: str,
        name: str | None = None,
        content: str = "",
        run_immediately: bool | None = None,
        audio_response: bool | None = None,
        custom_options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """RTVI 2.2 ``send-file``: a file for the bot's LLM, with ``content`` as the text that
        goes with it; ``format`` is its MIME type. Returns the ``file`` object sent.

        ``file`` is the bytes or a URL. Bytes are uploaded to the start reply's
        ``fileUploadUrl`` when the session has one (the runner's ``POST
        /sessions/{id}/files``, multipart ``file``; a :class:`FileUploadError` when that
        fails) and sent by the URL it answers; else they go inline, base64. Bots older than
        RTVI 2.2: :class:`UnsupportedFeatureError`.
        """
        if not isinstance(format, str) or "/" not in format:
            raise ValueError(f"format must be a MIME type such as 'text/plain', got {format!r}")
        self._gate(Feature.SEND_FILE)
        upload_to = self._start.file_upload_url if self._start else None
        file_obj: dict[str, Any]
        if isinstance(file, str):
            file_obj = {"format": format, "source": {"type": "url", "url": file}}
        elif upload_to is not None:
            uploaded = await upload_file(upload_to, name or "file", bytes(file), format, self._http)
            self._gate(Feature.SEND_FILE)  # still connected after the upload
            file_obj = {"format": format, "source": uploaded["source"]}
        else:
            encoded = base64.b64encode(bytes(file)).decode("ascii")
            file_obj = {"format": format, "source": {"type": "bytes", "bytes": encoded}}
        if name is not None:
            file_obj["name"] = name
        options: dict[str, Any] = {}
        if run_immediately is not None:
            options["run_immediately"] = run_immediately
        if audio_response is not None:
            options["audio_response"] = audio_response
        if custom_options is not None:
            options["custom_options"] = dict(custom_options)
        self._send(m.send_file(content, file_obj, options), ready=True)
        return file_obj

    def send_ui_event(self, event: str, payload: Any = None) -> None:
        """UI worker protocol: ``ui-event {event, payload?}`` (client-js ``sendUIEvent``)."""
        self._gate(Feature.UI_EVENT)
        self._send(m.ui_event(event, payload), ready=True)

    def send_ui_snapshot(self, tree: Mapping[str, Any]) -> None:
        """UI worker protocol: ``ui-snapshot {tree}``, one accessibility snapshot
        (``{root, captured_at, selection?}``)."""
        self._gate(Feature.UI_SNAPSHOT)
        self._send(m.ui_snapshot(tree), ready=True)

    def cancel_ui_job_group(self, job_id: str, reason: str | None = None) -> None:
        """UI worker protocol: ``ui-cancel-job-group {job_id, reason?}``
        (client-js ``cancelUIJobGroup``)."""
        self._gate(Feature.UI_CANCEL_JOB_GROUP)
        self._send(m.ui_cancel_job_group(job_id, reason), ready=True)

    def append_to_context(
        self, role: str, content: Any, run_immediately: bool = False
    ) -> Done[bool]:
        """RTVI 1.0 ``append-to-context`` (deprecated, as in client-js: use :meth:`send_text`).

        Sent and not waited on, as client-js does: pipecat 1.x never answers it with a result
        (1.14 answers ``error-response "Unsupported type"``, which fires
        ``on_unsupported_feature``). Returns at once; ``await``-ing the result (``True``), as
        when this waited for a reply, still works (deprecated).
        """
        warnings.warn(
            "append_to_context() is deprecated (as in client-js): use send_text()",
            DeprecationWarning,
            stacklevel=2,
        )
        message = RTVIMessage(
            MessageType.APPEND_TO_CONTEXT,
            {"role": role, "content": content, "run_immediately": run_immediately},
        )
        self._send(message, ready=True)
        return Done(True, "append_to_context()")
