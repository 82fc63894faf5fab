"""docs/api-mapping.md has a row for every public member and option of client-js 1.13 and of
both official transports, read from their installed ``.d.ts`` files (bench/js, bench/wsjs).

A name is covered when it stands in the document as a code span of its own or at the start of
one (`` `startBot` ``, `` `startBot(apiRequest)` ``, `` `setLogLevel(LogLevel.X)` ``), or as a
word in the first cell of a table row; a row may say "not in pyrtvi, because …". What is
checked:

- client-js: every exported class and function, and the members of ``PipecatClient``,
  ``Transport``, ``PipecatClientOptions``, ``RTVIEventCallbacks``, ``APIRequest``;
- small-webrtc-transport: ``SmallWebRTCTransport``'s members and its constructor and
  connection options;
- websocket-transport: ``WebSocketTransport``'s members, its options, the serializers.

Left out: ``protected``/``private`` members, ``constructor``, names starting with ``_`` (the
transports' internals, public in TypeScript only because a subclass calls them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "api-mapping.md"
MODULES = {
    "client-js": ROOT / "bench/js/node_modules/@pipecat-ai/client-js/dist/index.d.ts",
    "small-webrtc-transport": (
        ROOT / "bench/js/node_modules/@pipecat-ai/small-webrtc-transport/dist/index.d.ts"
    ),
    "websocket-transport": (
        ROOT / "bench/wsjs/node_modules/@pipecat-ai/websocket-transport/dist/index.d.ts"
    ),
}
#: The declarations whose members are checked, by module.
DECLARATIONS = {
    "client-js": [
        "PipecatClient",
        "Transport",
        "PipecatClientOptions",
        "RTVIEventCallbacks",
        "APIRequest",
    ],
    "small-webrtc-transport": [
        "SmallWebRTCTransport",
        "SmallWebRTCTransportConnectionOptions",
        "SmallWebRTCTransportConstructorOptions",
    ],
    "websocket-transport": [
        "WebSocketTransport",
        "WebSocketTransportOptions",
        "WebSocketTransportConstructorOptions",
    ],
}

_HEAD = re.compile(
    r"^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:class|interface|type)\s+(\w+)\b[^{]*\{"
)
_MEMBER = re.compile(
    r"^\s*(?:(?:static|abstract|readonly|get|set|async)\s+)*([A-Za-z$][\w$]*)\??\s*[(:<]"
)
_EXPORTED = re.compile(r"^export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|function)\s+(\w+)")


def read(module: str) -> str:
    path = MODULES[module]
    if not path.exists():
        pytest.fail(f"{path} is missing: `npm ci` in bench/js and bench/wsjs (make setup-test)")
    return path.read_text()


def members(source: str, declaration: str) -> set[str]:
    """The public member names of one class, interface or object type."""
    lines = source.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if (m := _HEAD.match(line)) and m[1] == declaration),
        None,
    )
    assert start is not None, f"{declaration} not found"
    names: set[str] = set()
    depth = 0
    for line in lines[start:]:
        code = re.sub(r"/\*.*?\*/|//.*$", "", line)
        if depth == 1 and not re.match(r"^\s*(?:protected|private)\b", code):
            found = _MEMBER.match(code)
            if found and found[1] != "constructor":
                names.add(found[1])
        depth += code.count("{") - code.count("}")
        if depth <= 0 and line is not lines[start]:
            break
    return {name for name in names if not name.startswith("_")}


def public_names(module: str) -> set[str]:
    source = read(module)
    names = {m[1] for line in source.splitlines() if (m := _EXPORTED.match(line))}
    for declaration in DECLARATIONS[module]:
        names |= members(source, declaration)
    return names


def covered(name: str, document: str) -> bool:
    """A code span starting with ``name``, or ``name`` as a word in a table's first cell (the
    callbacks table: ``| 1.x onDeviceError | on_device_error | …``)."""
    if re.search(r"`" + re.escape(name) + r"(?![\w$])", document):
        return True
    word = re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])")
    return any(
        word.search(line.split("|")[1]) for line in document.splitlines() if line.startswith("|")
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_public_name_has_a_row(module: str) -> None:
    document = MAPPING.read_text()
    missing = sorted(name for name in public_names(module) if not covered(name, document))
    assert not missing, f"{module}: no row in docs/api-mapping.md for {missing}"


def test_the_reader_finds_members_options_and_exports() -> None:
    client = public_names("client-js")
    assert {"startBotAndConnect", "mediaState", "needsInit", "enableScreenShare"} <= client
    assert {"disconnectOnBotDisconnect", "onMediaStateChanged", "requestData"} <= client
    assert {"DeviceError", "InvalidTransportParamsError", "makeRequest"} <= client
    assert "_messageDispatcher" not in client and "constructor" not in client
    webrtc = public_names("small-webrtc-transport")
    assert {"setAudioCodec", "webrtcRequestParams", "waitForICEGathering"} <= webrtc
    assert "_resolveRequestInfo" not in webrtc
    websocket = public_names("websocket-transport")
    assert {"sendRawMessage", "playerSampleRate", "serializer", "TwilioSerializer"} <= websocket
