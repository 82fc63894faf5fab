"""Snapshot refs: ``e{N}`` names for page elements, stable while the element lives (pure).

The browser adapter numbers every element it reads (a JS ``WeakMap``, so numbering keeps no
element alive); this table names the numbered elements that a snapshot shows, the first time
it shows them, and maps a ref back to the number, which the adapter resolves to the live
element (or to nothing, once the element is gone: :meth:`RefTable.forget` then drops the ref).
As in client-js, refs are never reused: ``e7`` means one element for the page's lifetime.
"""

from __future__ import annotations

import re

REF_PATTERN = re.compile(r"e[0-9]+")


class RefTable:
    """Element numbers ↔ refs."""

    def __init__(self) -> None:
        self._by_key: dict[int, str] = {}
        self._by_ref: dict[str, int] = {}
        self._issued = 0

    def __len__(self) -> int:
        return len(self._by_ref)

    def ref(self, key: int) -> str:
        """The ref of element ``key``, issued now if it has none."""
        ref = self._by_key.get(key)
        if ref is None:
            self._issued += 1
            ref = f"e{self._issued}"
            self._by_key[key] = ref
            self._by_ref[ref] = key
        return ref

    def known(self, key: int) -> str | None:
        """The ref of element ``key`` if a snapshot has shown it, else ``None``."""
        return self._by_key.get(key)

    def key(self, ref: str) -> int | None:
        """The element number behind ``ref``, or ``None`` (never issued, or forgotten)."""
        return self._by_ref.get(ref)

    def forget(self, ref: str) -> None:
        """Drop a ref whose element is gone (its number is never issued again)."""
        key = self._by_ref.pop(ref, None)
        if key is not None:
            self._by_key.pop(key, None)
