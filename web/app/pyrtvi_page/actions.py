"""The actions panel: a form per action the bot describes (describe-actions) plus "Any action";
each runs in the session, or over HTTP (a disconnected action) when there is none, and shows
the bot's streamed LLM text while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtvi import RTVIEvent, TransportState
from rtvi.errors import RequestCancelledError

from . import controls, model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h, set_text
from .event_log import now_ms
from .forms import control_value, run_row, slug, typed_field, value_control
from .transcript import payload_text

if TYPE_CHECKING:
    from .context import PanelContext

#: The "Any action" form's fields and starting values.
CUSTOM_FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("service", "string", "llm"),
    ("action", "string", "append_to_messages"),
    (
        "arguments",
        "object",
        {"messages": [{"role": "user", "content": "Tell me a joke"}], "run_immediately": True},
    ),
)


class ActionsPanel(Panel):
    """Loads describe-actions once the bot is ready; an action over HTTP uses the connection
    settings as they are then, and a bot that is down or does not answer shows the banner."""

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.actions: list[dict[str, Any]] = []
        #: The running actions' ``.stream`` elements, with the text streamed into each so far.
        self.streams: dict[int, tuple[Any, str]] = {}
        self.empty = by_id("actions-empty")
        self.list = by_id("actions-list")
        self.render()

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.BOT_READY: self.on_bot_ready,
            RTVIEvent.BOT_LLM_TEXT: lambda data: self.stream(payload_text(data)),
        }

    def on_bot_ready(self, *_args: Any) -> None:
        self.ctx.bind.spawn(self.load())

    async def load(self) -> None:
        try:
            reply = await self.client.describe_actions()
        except RequestCancelledError:
            return  # the session ended before the reply: the list stays; the next bot-ready asks
        except Exception as exc:
            self.log("describe_actions()", str(exc), kind="error")
            set_text(
                self.empty,
                f"This bot does not describe its actions ({getattr(exc, 'message', None) or exc}). "
                "The form below still sends any action.",
            )
            self.empty.hidden = False
            return
        self.actions = model.described_actions(reply.data)
        self.render()

    def render(self) -> None:
        clear(self.list)
        for spec in self.actions:
            self.list.append(self.action_form(spec))
        self.list.append(self.custom_action_form())
        self.empty.hidden = bool(self.actions)
        self.update(self.client.state)

    def update(self, state: TransportState) -> None:
        """Actions run in the session when it is ready, else over HTTP: the buttons say which."""
        label = controls.run_label(state == TransportState.READY)
        for button in self.list.querySelectorAll("button[type=submit]"):
            button.textContent = label

    def stream(self, token: str) -> None:
        """Bot LLM text: it belongs to the running actions too."""
        for key, (element, text) in list(self.streams.items()):
            self.streams[key] = (element, text + token)
            set_text(element, text + token)

    def action_form(self, spec: dict[str, Any]) -> Any:
        service, action = spec["service"], spec["action"]
        form_id = "action-" + slug(service, action)
        fieldset = h("fieldset", None, h("legend", {"text": f"{service}:{action}"}))
        for argument in spec["arguments"]:
            name, kind = argument["name"], argument["type"]
            control_id = f"{form_id}-{slug(name)}"
            default = model.ARGUMENT_DEFAULTS.get((service, action, name))
            value = model.parse_value(kind, default) if default is not None else None
            control = value_control(control_id, kind, value)
            control.dataset.argument = name
            control.dataset.type = kind
            fieldset.append(typed_field(control_id, name, kind, control))
        result = spec.get("result")
        fieldset.append(run_row(f"returns {result}" if result else ""))
        form = self._form(form_id, f"{service}:{action}", fieldset)
        self.ctx.bind.on(form, "submit", lambda _e: self.run(form, service, action))
        return form

    def custom_action_form(self) -> Any:
        form_id = "action-custom"
        fieldset = h("fieldset", None, h("legend", {"text": "Any action"}))
        for name, kind, value in CUSTOM_FIELDS:
            control = value_control(f"{form_id}-{name}", kind, value)
            control.dataset.field = name
            control.dataset.type = kind
            fieldset.append(
                h(
                    "div",
                    {"class": "field"},
                    h("label", {"for": f"{form_id}-{name}", "text": name}),
                    control,
                )
            )
        fieldset.append(run_row())
        form = self._form(form_id, "custom", fieldset)
        self.ctx.bind.on(form, "submit", lambda _e: self.run(form, None, None))
        return form

    @staticmethod
    def _form(form_id: str, action: str, fieldset: Any) -> Any:
        fieldset.append(h("span", {"class": "stream", "aria-live": "polite"}))
        fieldset.append(h("output", {"for": form_id, "aria-live": "polite"}))
        return h("form", {"class": "action", "id": form_id, "data-action": action}, fieldset)

    async def run(self, form: Any, service: str | None, action: str | None) -> None:
        output = form.querySelector("output")
        stream = form.querySelector(".stream")
        try:
            if service is None or action is None:
                values = {
                    str(c.dataset.field): control_value(c)
                    for c in form.querySelectorAll("[data-field]")
                }
                service, action, arguments = model.custom_action(values)
            else:
                arguments = [
                    {"name": str(c.dataset.argument), "value": control_value(c)}
                    for c in form.querySelectorAll("[data-argument]")
                ]
        except ValueError as exc:
            output.dataset.status = "error"
            set_text(output, f"Invalid input: {exc}")
            return
        connected = self.client.state == TransportState.READY
        if not connected:
            self.ctx.settings.apply(self.client)
        call = {"service": service, "action": action, "arguments": arguments}
        self.log("action()" if connected else "action() over HTTP", call, kind="call")
        output.dataset.status = "running"
        set_text(output, "running…" if connected else "running over HTTP (no session)…")
        set_text(stream, "")
        button = form.querySelector("button[type=submit]")
        button.disabled = True
        key = id(form)
        self.streams[key] = (stream, "")
        started = now_ms()
        try:
            reply = await self.client.action(service, action, arguments)
        except Exception as exc:
            output.dataset.status = "error"
            set_text(output, f"Failed: {getattr(exc, 'message', None) or exc}")
            problem = model.classify_error(exc)
            if problem.kind in ("bot-down", "timeout"):
                self.ctx.banner.show(problem)
            return
        finally:
            del self.streams[key]
            button.disabled = False
        data = reply.data if isinstance(reply.data, dict) else {}
        output.dataset.status = "ok"
        took = model.format_ms(now_ms() - started)
        set_text(output, f"result: {model.summarize(data.get('result'), 400)}  ({took})")
