"""The console's two themes (web/app/style.css): every variable in both, and the text pairs the
page draws readable at WCAG AA (4.5:1 for text, 3:1 for field borders)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

STYLE = (ROOT / "web" / "app" / "style.css").read_text()

#: (text, background) pairs the page draws; text is 4.5:1 or more on its background.
TEXT_PAIRS = [
    *[("fg", bg) for bg in ("bg", "panel", "field", "off", "user-bubble", "bot-bubble")],
    *[("fg", bg) for bg in ("bad-bg", "info-bg")],
    *[("muted", bg) for bg in ("bg", "panel", "field", "user-bubble", "bot-bubble")],
    *[("on-accent", bg) for bg in ("accent", "ok", "warn", "bad")],
    *[(text, bg) for text in ("ok-text", "bad-text") for bg in ("bg", "panel", "field")],
    ("bad-text", "bad-bg"),
]


def theme(name: str) -> dict[str, str]:
    """The colour variables of `html[data-theme="name"]` (the light one is also `:root`'s)."""
    block = re.search(r'html\[data-theme="' + name + r'"\]\s*\{([^}]*)\}', STYLE)
    assert block, f"no {name} theme in style.css"
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block.group(1)))


def luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_both_themes_define_the_same_colours() -> None:
    light, dark = theme("light"), theme("dark")
    assert set(light) == set(dark)
    assert {"bg", "fg", "muted", "panel", "accent", "focus"} <= set(light)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_text_is_readable(name: str) -> None:
    colours = theme(name)
    low = {
        f"{text} on {bg}": round(contrast(colours[text], colours[bg]), 2)
        for text, bg in TEXT_PAIRS
        if contrast(colours[text], colours[bg]) < 4.5
    }
    assert not low, f"{name} theme: below 4.5:1: {low}"
    for bg in ("bg", "panel", "field"):
        assert contrast(colours["field-line"], colours[bg]) >= 3, f"field border on {bg}"
        assert contrast(colours["focus"], colours[bg]) >= 3, f"focus ring on {bg}"


def test_no_colour_outside_the_variables() -> None:
    """Rules use the variables (a literal colour would not follow the theme)."""
    rules = re.sub(r'(:root, )?html\[data-theme="\w+"\]\s*\{[^}]*\}', "", STYLE)
    rules = re.sub(r"/\*.*?\*/", "", rules, flags=re.S)
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b|\bCanvas(Text)?\b", rules)
