"""Checks on what crosses the server's edges: client JSON in, secrets out, ICE candidates through.

- `loads_json`: JSON a browser sent, refused (ValueError) when Python's `json` would accept it but
  nothing downstream can use it: `NaN`/`Infinity`, numbers out of float range (`1e400` → inf),
  lone surrogates (cannot be encoded as UTF-8 again), nesting deeper than `MAX_DEPTH`.
- `Secrets`: the configured secret values (`PYRTVI_BOT_EXTRA` leaves, `PYRTVI_BOT_HEADERS` values);
  text that contains one of them is never shown to a browser.
- `CandidatePolicy`: which addresses a trickled ICE candidate may name.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Iterable, Iterator, Mapping

#: Deepest nesting of objects/arrays accepted in a request body.
MAX_DEPTH = 32
#: Secret values shorter than this are not matched (a "tts" or "none" would match everything).
MIN_SECRET_CHARS = 8


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone surrogate (invalid Unicode)") from None


def check_tree(data: object, max_depth: int = MAX_DEPTH) -> None:
    """ValueError for nesting deeper than `max_depth` or strings that are not valid Unicode."""
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                raise ValueError(f"nested more than {max_depth} levels deep")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def loads_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> object:
    """Strict JSON: ValueError (with a short reason) for anything downstream could not use."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested more than {max_depth} levels deep") from None
    check_tree(data, max_depth)
    return data


def _leaves(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value  # numbers and booleans are not secrets (and would match port numbers)


class Secrets:
    """Configured secret values, and a test for text that contains any of them."""

    def __init__(self, values: Iterable[str]) -> None:
        found = {v.strip() for v in values if len(v.strip()) >= MIN_SECRET_CHARS}
        # Matched as sent and as JSON would escape them (an upstream may echo its input as JSON).
        forms = set(found) | {json.dumps(v)[1:-1] for v in found}
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    @classmethod
    def from_config(cls, extra: Mapping[str, object], headers: Mapping[str, str]) -> Secrets:
        values = list(_leaves(extra)) + list(headers.values())
        # "Bearer sk-…": the token alone is the secret too.
        values += [part for v in headers.values() for part in v.split() if part != v]
        return cls(values)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def found_in(self, text: str) -> bool:
        lowered = text.lower()
        return any(form.lower() in lowered for form in self._forms)


#: Address classes a trickled candidate may name only when `--ice-allow` lists them.
ADDRESS_CLASSES = ("loopback", "link-local", "multicast", "unspecified", "private", "hostname")
DEFAULT_ALLOWED = ("private", "hostname")


def address_class(address: str) -> str | None:
    """The restricted class of an IP address (None: public), "hostname" for names (mDNS)."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return "hostname"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    return None


class CandidatePolicy:
    """Which addresses trickled ICE candidates may name. Default: public and private (LAN)
    addresses and mDNS names; never loopback, link-local, multicast or unspecified ones, which
    would let a page make the bot send STUN requests to services on the bot's own machine."""

    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED) -> None:
        self.allowed = frozenset(allowed)
        unknown = self.allowed - set(ADDRESS_CLASSES)
        if unknown:
            raise ValueError(
                f"unknown ICE address class(es) {sorted(unknown)}; use {', '.join(ADDRESS_CLASSES)}"
            )

    def refusal(self, candidate: str) -> str | None:
        """Why `candidate` (an `a=candidate` value) is refused, or None if it may pass."""
        text = candidate.strip().removeprefix("a=").removeprefix("candidate:")
        if not text:
            return None  # end of candidates
        parts = text.split()
        if len(parts) < 8:
            return "not an ICE candidate line"
        # Only the connection address is contacted (raddr is informational, often 0.0.0.0).
        address = parts[4]
        kind = address_class(address)
        if kind is not None and kind not in self.allowed:
            return f"{kind} address {address} is not allowed"
        return None

    def filter_sdp(self, sdp: str) -> tuple[str, list[str]]:
        """`sdp` without its refused `a=candidate` lines, and why each was dropped."""
        kept, dropped = [], []
        for line in sdp.splitlines(keepends=True):
            why = self.refusal(line.strip()) if line.startswith("a=candidate:") else None
            if why:
                dropped.append(why)
            else:
                kept.append(line)
        return "".join(kept), dropped
