"""`error_text`: the one function that turns error payloads and HTTP error bodies into text."""

from __future__ import annotations

from typing import Any

import pytest
from rtvi.errors import error_text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"error": "boom"}, "boom"),
        ({"message": "m"}, "m"),
        ({"detail": "d"}, "d"),
        ({"info": "i"}, "i"),
        ({"error": "", "message": "m"}, "m"),
        (
            {"error": "no bot service", "detail": "bot is starting"},
            "no bot service: bot is starting",
        ),
        ({"error": "same", "detail": "same"}, "same"),
        ({"message": "m", "detail": "d"}, "m"),
        ({"detail": [{"loc": ["body"], "msg": "bad"}]}, '[{"loc": ["body"], "msg": "bad"}]'),
        ('{"detail": "not found"}', "not found"),
        (b'{"error": "from bytes"}', "from bytes"),
        ("  plain text \n", "plain text"),
        ("{not json", "{not json"),
        ('{"other": 1}', ""),
        ("", ""),
        (None, ""),
        (42, ""),
    ],
)
def test_error_text(data: Any, expected: str) -> None:
    assert error_text(data) == expected


def test_error_text_is_bounded() -> None:
    assert error_text("x" * 1000) == "x" * 300
    assert error_text({"error": "y" * 50}, limit=10) == "y" * 10
