"""The error banner: one problem at a time, in words a person understands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import model
from .dom import Bindings, by_id, set_text


class Banner:
    """``#banner`` (``role=alert``); its ``data-kind`` is the problem's stable kind."""

    def __init__(self, bind: Bindings, log: Callable[..., None]) -> None:
        self.element = by_id("banner")
        self.title = by_id("banner-title")
        self.text = by_id("banner-text")
        self._log = log
        bind.on(by_id("banner-close"), "click", lambda _e: self.hide())

    @property
    def shown(self) -> bool:
        return not self.element.hidden

    def show(self, problem: model.Problem) -> None:
        banner: Any = self.element
        banner.dataset.kind = problem.kind
        set_text(self.title, problem.title)
        set_text(self.text, problem.text)
        banner.hidden = False
        self._log("banner", f"{problem.kind}: {problem.text}", kind="error")

    def hide(self) -> None:
        self.element.hidden = True
