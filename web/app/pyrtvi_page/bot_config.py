"""The bot configuration panel: describe-config drawn as a form, get-config values in it, and
update-config with only what the person changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtvi import RTVIEvent, TransportState

from . import model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h, set_text
from .forms import control_value, raw_value, slug, typed_field, value_control

if TYPE_CHECKING:
    from .context import PanelContext


class ConfigPanel(Panel):
    """Loads describe-config and get-config once the bot is ready."""

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.services: list[dict[str, Any]] = []
        #: ``{(service, option): value}``: what the bot reported and what was applied since.
        self.values: dict[tuple[str, str], Any] = {}
        self.empty = by_id("config-empty")
        self.form = by_id("config-form")
        self.fields = by_id("config-fields")
        self.apply_button = by_id("config-apply")
        self.reload_button = by_id("config-reload")
        self.status_line = by_id("config-status")
        ctx.bind.on(self.form, "submit", self.on_submit)
        ctx.bind.on(self.reload_button, "click", lambda _e: self.load())

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.BOT_READY: self.on_bot_ready,
            RTVIEvent.CONFIG: self.remember,
        }

    def on_bot_ready(self, *_args: Any) -> None:
        self.ctx.bind.spawn(self.load())

    def session_starting(self) -> None:
        """A new session: the values of the last one no longer hold."""
        self.values = {}

    def update(self, state: TransportState) -> None:
        ready = state == TransportState.READY
        self.apply_button.disabled = not ready
        self.reload_button.disabled = not ready

    def status(self, text: str, status: str = "ok") -> None:
        self.status_line.dataset.status = status
        set_text(self.status_line, text)

    def remember(self, config: Any) -> None:
        """A ``config`` event (or get-config answer) from the bot."""
        if isinstance(config, list):
            self.values.update(model.config_values(config))

    async def load(self) -> None:
        try:
            described = await self.client.describe_config()
            self.services = model.described_services(described.data)
            # Merge: a bot may report only the options it was started with (pipecat does), so
            # values applied in this session stay known.
            self.values.update(model.config_values(await self.client.get_config()))
        except Exception as exc:
            self.empty.hidden = True
            self.status(f"Configuration unavailable: {exc}", "error")
            self.log("describe_config()", str(exc), kind="error")
            return
        self.render()
        self.status(f"{len(self.services)} services described by the bot.")

    def render(self) -> None:
        clear(self.fields)
        for service in self.services:
            fieldset = h(
                "fieldset",
                {"data-service": service["name"]},
                h("legend", {"text": service["name"]}),
            )
            for option in service["options"]:
                fieldset.append(self.option_field(service["name"], option))
            self.fields.append(fieldset)
        self.form.hidden = not self.services
        self.empty.hidden = bool(self.services)

    def option_field(self, service: str, option: dict[str, Any]) -> Any:
        name, kind = option["name"], str(option.get("type") or "string")
        control_id = "config-" + slug(service, name)
        value = self.values.get((service, name), option.get("default"))
        control = value_control(control_id, kind, value, option.get("values"))
        control.dataset.service = service
        control.dataset.option = name
        control.dataset.type = kind
        control.dataset.initial = str(raw_value(control))
        return typed_field(control_id, name, kind, control)

    async def on_submit(self, _event: Any) -> None:
        """Send only what the person changed since the form was drawn (or last applied)."""
        changes: dict[tuple[str, str], Any] = {}
        changed_controls = []
        for control in self.fields.querySelectorAll("[data-option]"):
            if str(raw_value(control)) == str(control.dataset.initial):
                continue
            key = (str(control.dataset.service), str(control.dataset.option))
            try:
                changes[key] = control_value(control)
            except ValueError as exc:
                self.status(f"{key[0]}.{key[1]}: {exc}", "error")
                control.focus()
                return
            changed_controls.append(control)
        if not changes:
            self.status("Nothing changed.")
            return
        update = model.config_update(changes)
        self.log("update_config()", update, kind="call")
        self.status("Applying…", "pending")
        try:
            reply = await self.client.update_config(update)
        except Exception as exc:
            self.status(f"Not applied: {getattr(exc, 'message', None) or exc}", "error")
            return
        data = reply.data if isinstance(reply.data, dict) else {}
        self.values.update(changes)
        self.remember(data.get("config"))
        for control in changed_controls:
            control.dataset.initial = str(raw_value(control))
        applied = ", ".join(f"{s}.{n} = {model.summarize(v, 40)}" for (s, n), v in changes.items())
        self.status(f"Applied: {applied}")
