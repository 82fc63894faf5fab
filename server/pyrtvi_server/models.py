"""Pydantic models for the RTVI developer endpoints and the bot service's replies.

The browser is untrusted: every body is validated here before anything reaches the bot service, and
only the validated fields are forwarded. Upstream replies are validated too, so a confused bot
service produces a clear 502 rather than a half-formed auth bundle.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

#: Session ids go into an upstream URL path: letters, digits, `-` and `_` only (no `/`, `.`, `%`).
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

ShortStr = Annotated[str, StringConstraints(max_length=256)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class _Strict(BaseModel):
    """Known fields are type-checked strictly (no "1" → 1 coercion); unknown ones are dropped."""

    model_config = ConfigDict(strict=True, extra="ignore")


class ConfigOption(_Strict):
    name: Name
    value: JsonValue = None


class ServiceConfig(_Strict):
    service: Name
    options: list[ConfigOption] = Field(default_factory=list, max_length=256)


class ConnectRequest(_Strict):
    """The body realtime-ai's `connect()` POSTs to `baseUrl + endpoints.connect`.

    0.2.x sends `{services, config, ...customBodyParams, ...requestData}` flattened (requestData
    holds `rtvi_client_version`); 0.3.1+ sends `{config, services?, ...requestData}`. The known keys
    are validated; every other top-level key belongs to the request data. An explicit
    `request_data` object is accepted as well and merged over the flattened keys.
    """

    model_config = ConfigDict(strict=True, extra="allow")

    services: dict[Name, ShortStr] = Field(default_factory=dict, max_length=64)
    config: list[ServiceConfig] = Field(default_factory=list, max_length=64)
    rtvi_client_version: ShortStr | None = None
    request_data: dict[str, JsonValue] = Field(default_factory=dict)

    def bot_request_data(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.model_extra or {})
        if self.rtvi_client_version is not None:
            data["rtvi_client_version"] = self.rtvi_client_version
        data.update(self.request_data)
        return data


class OfferRequest(_Strict):
    """SmallWebRTC offer (and renegotiation) as the transports POST it (PROTOCOL §4.2)."""

    sdp: Annotated[str, StringConstraints(min_length=1, max_length=128 * 1024)]
    type: Literal["offer"]
    pc_id: ShortStr | None = None
    restart_pc: bool = False
    request_data: dict[str, JsonValue] | None = None
    requestData: dict[str, JsonValue] | None = None

    def upstream_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sdp": self.sdp,
            "type": self.type,
            "pc_id": self.pc_id,
            "restart_pc": self.restart_pc,
        }
        data = self.requestData if self.requestData is not None else self.request_data
        if data is not None:
            body["requestData"] = data
        return body


class IceCandidate(_Strict):
    #: Empty string = end of candidates.
    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdp_mid: ShortStr | None = None
    sdp_mline_index: Annotated[int, Field(ge=0, le=1024)] | None = None


class IcePatch(_Strict):
    """Trickle ICE candidates (small-webrtc-transport 1.7+, PROTOCOL §4.5)."""

    pc_id: Name
    candidates: list[IceCandidate] = Field(min_length=1, max_length=256)


class ActionData(_Strict):
    model_config = ConfigDict(strict=True, extra="allow")

    service: Name
    action: Name
    arguments: list[ConfigOption] | None = None


class ActionMessage(_Strict):
    """One RTVI action envelope `{id, label, type: "action", data}`; forwarded as sent."""

    model_config = ConfigDict(strict=True, extra="allow")

    id: Name
    label: ShortStr = "rtvi-ai"
    type: Literal["action"]
    data: ActionData


class ActionRequest(_Strict):
    """Disconnected action: `{...requestData, actions: [<envelope>]}` (PROTOCOL §1.8)."""

    model_config = ConfigDict(strict=True, extra="allow")

    actions: list[ActionMessage] = Field(min_length=1, max_length=16)


class IceServer(BaseModel):
    model_config = ConfigDict(extra="allow")

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class IceConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    iceServers: list[IceServer] = Field(default_factory=list)


class StartReply(BaseModel):
    """The bot service's `/start` answer."""

    model_config = ConfigDict(extra="ignore")

    sessionId: str
    iceConfig: IceConfig | None = None

    @model_validator(mode="after")
    def _check_session_id(self) -> StartReply:
        if not SESSION_ID_RE.match(self.sessionId):
            raise ValueError("sessionId has an unexpected format")
        return self


class AnswerReply(BaseModel):
    """The bot service's SDP answer."""

    model_config = ConfigDict(extra="ignore")

    sdp: str
    type: Literal["answer"]
    pc_id: str
