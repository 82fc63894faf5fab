"""``RTVIClient``'s fields are declared once, in ``ClientCore``; its method groups declare none."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from rtvi import RTVIClient
from rtvi.core import ClientCore


def test_the_constructor_sets_exactly_the_declared_fields(
    make_client: Callable[..., RTVIClient],
) -> None:
    client = make_client()
    assert set(vars(client)) == set(inspect.get_annotations(ClientCore))


def test_no_method_group_declares_a_field() -> None:
    groups = [c for c in RTVIClient.__mro__ if issubclass(c, ClientCore) and c is not ClientCore]
    assert len(groups) >= 6  # RTVIClient and its method groups
    for cls in groups:
        assert inspect.get_annotations(cls) == {}, cls.__qualname__
