"""What keeps old call shapes working while the API follows one rule.

The rule (docs/api-mapping.md, "Which methods are async"): a method is ``async def`` when it
waits on the network, the browser or the bot; one that only hands a message to the transport
returns at once. A method moved to "returns at once" returns a :class:`Done`: calling it does
the work, and ``await``-ing the result, as before, still works (with a ``DeprecationWarning``).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Done(Generic[T]):
    """The value of a call that has already happened; awaiting it is deprecated."""

    __slots__ = ("_value", "_what")

    def __init__(self, value: T, what: str) -> None:
        self._value = value
        self._what = what

    @property
    def value(self) -> T:
        return self._value

    def __await__(self) -> Generator[Any, None, T]:
        warnings.warn(
            f"{self._what} returns at once now; drop the 'await'",
            DeprecationWarning,
            stacklevel=3,
        )
        return self._value
        yield  # a generator: ``await`` drives it

    def __repr__(self) -> str:
        return f"Done({self._value!r})"
