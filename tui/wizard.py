"""The create wizard: pick a driver, fill a form generated from that driver's flag schema (the same schema the
CLI's options come from), create in the background. A cloud driver's form offers live choices from its provider
(regions, sizes with vCPUs, memory and price, images, networks, key pairs) above the fields they fill; typing a
value stays possible, and is the way when the provider cannot be reached."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import Function, Integer
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select

from ..core.createflags import BATCH_FLAGS, create_flags
from ..core.hostconfig import INVALID_NAME_MESSAGE, is_valid_name
from ..core.service.catalog import driver_flags as flags_of
from ..core.service.catalog import driver_form, driver_names, live_choices, offers_choices


@dataclass
class CreateRequest:
    name: str
    driver: str
    values: dict
    explicit: set


def _widget_id(flag_name: str) -> str:
    return "flag-" + flag_name


def _choice_id(flag_name: str) -> str:
    return "choice-" + flag_name


class CreateWizard(ModalScreen[CreateRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="wizard-cancel"),
                Binding("ctrl+s", "submit", "Create", id="wizard-submit"),
                Binding("ctrl+r", "refresh_choices", "Refresh choices", id="wizard-refresh-choices")]

    def __init__(self, driver: str = "none", existing: set[str] | None = None, store_path: str = ""):
        super().__init__()
        self.driver = driver
        self.existing = existing or set()
        self.store_path = store_path  # where live choices are cached
        self.choices = None  # the last Choices shown
        self.choices_region = None  # the region they are for
        self.form_ready = False  # the driver's fields are all there (collect waits for them)

    TITLE = "[b]Create a machine[/]  (Escape to cancel)"
    NAME_HINT = "machine name"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.TITLE)
            yield Select([(d, d) for d in driver_names()], value=self.driver, allow_blank=False, id="driver")
            yield Label("", id="driver-summary", markup=False)
            yield Input(placeholder=self.NAME_HINT, id="name",
                        validators=[Function(is_valid_name, INVALID_NAME_MESSAGE),
                                    Function(lambda v: v not in self.existing, "a machine of that name exists")])
            yield from self.extra_fields()
            form = VerticalScroll(id="form")
            form.can_focus = False  # Tab goes from the name straight to the first field, not to the scroller
            yield Label("", id="choices-status", markup=False)
            yield form
            yield Label("", id="problem")
            with Horizontal(id="buttons"):
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")
            yield Label("Enter in a field or ctrl+s creates · Tab moves · Escape cancels", id="submit-hint")

    def extra_fields(self) -> ComposeResult:
        return iter(())

    async def on_mount(self) -> None:
        await self.build_form()
        self.query_one("#name", Input).focus()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "choices")  # a provider still answering has no form to fill any more

    def flags(self):
        driver_flags = flags_of(self.driver)
        _summary, _essential, obsolete = driver_form(self.driver)
        own = [f for f in driver_flags if f.name not in obsolete]
        common = [f for f in create_flags([]) if f.name != "driver" and f.name not in BATCH_FLAGS]
        # required first, then the driver's own options, then the advanced engine/swarm/TLS ones
        own.sort(key=lambda f: (not f.required, f.advanced, f.name))
        return own, common

    async def build_form(self) -> None:
        self.form_ready = False
        driver = self.driver
        form = self.query_one("#form", VerticalScroll)
        await form.remove_children()
        own, common = self.flags()
        summary, essential, _obsolete = driver_form(driver)
        self.query_one("#driver-summary", Label).update(summary)
        first = [f for f in own if not essential or f.required or f.name in essential]
        more = [f for f in own if f not in first]
        await form.mount_all([w for f in first for w in self._field(f)])
        if more:  # a cloud's essentials (credentials, region, size, image) in sight, its other options folded
            folded = Collapsible(title=f"More {driver} options ({len(more)})", collapsed=True)
            await form.mount(folded)
            await folded.query(Collapsible.Contents).first().mount_all([w for f in more for w in self._field(f)])
        advanced = Collapsible(title="Advanced: engine, swarm and TLS options", collapsed=True)
        await form.mount(advanced)
        contents = advanced.query(Collapsible.Contents)
        if driver != self.driver or not advanced.is_attached or not contents:
            return  # the driver changed again meanwhile: that build makes the form
        await contents.first().mount_all([w for f in common for w in self._field(f)])
        self.form_ready = True
        self.choices = None
        self.workers.cancel_group(self, "choices")  # another driver's choices must not land in this form
        self.say_choices("")
        if self.store_path and offers_choices(self.driver):
            self.fetch_choices()

    # ----- live choices
    def typed_values(self) -> dict:
        """The driver's options as the form holds them now (unchecked), to ask its provider for choices."""
        values = {}
        for flag in flags_of(self.driver):
            widget: Any = self.query_one(f"#{_widget_id(flag.name)}")  # an Input, a Checkbox or a Select
            value = widget.value
            if isinstance(value, str):
                value = value.strip()
                if flag.kind == "list":
                    value = [v for v in value.split(",") if v.strip()]
                elif flag.kind == "int":
                    value = int(value) if value.isdigit() else flag.initial()
            if value not in ("", None, []) or not flag.secret:
                values[flag.name] = value
        return values

    def action_refresh_choices(self) -> None:
        if self.store_path and offers_choices(self.driver):
            self.fetch_choices(refresh=True)

    @work(exclusive=True, group="choices")
    async def fetch_choices(self, refresh: bool = False) -> None:
        driver = self.driver
        self.say_choices(f"Fetching live choices for {driver}…")
        values = self.typed_values()
        self.choices_region = next((v for k, v in values.items() if k.endswith("-region")), None)
        found = await live_choices(self.store_path, driver, values, refresh)
        if driver != self.driver or not self.is_attached:
            return
        self.choices = found
        await self.show_choices(found.by_flag)
        if driver == self.driver:
            self.say_choices(found.summary)

    def say_choices(self, text: str) -> None:
        found = self.query("#choices-status")
        if not found:  # the form closed (or is being rebuilt) while the provider answered
            return
        status = found.first(Label)
        status.update(text)
        status.display = bool(text)  # a local driver's form keeps its lines

    async def show_choices(self, by_flag: dict) -> None:
        """A Select above each option the provider listed, its choices labelled with their details; choosing fills
        the option's field."""
        for flag in flags_of(self.driver):
            fields = self.query(f"#{_widget_id(flag.name)}")
            field = fields.first() if fields else None
            if field is None or field.parent is None:
                return  # the form is being rebuilt for another driver
            old = self.query(f"#{_choice_id(flag.name)}")
            if old:
                await old.remove()
            options = by_flag.get(flag.name) or []
            if not options or not isinstance(field, Input):
                continue
            current = field.value.strip()
            known = {c.value for c in options}
            select = Select([(c.label, c.value) for c in options], prompt=f"{len(options)} choices",
                            value=current if current in known else Select.NULL, id=_choice_id(flag.name),
                            classes="choice")
            parent: Any = field.parent
            await parent.mount(select, before=field)

    @on(Select.Changed, ".choice")
    def choice_made(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.select.id is None:
            return
        flag = event.select.id.removeprefix("choice-")
        field = self.query_one(f"#{_widget_id(flag)}", Input)
        if flag.endswith(("security-group", "sec-groups")) and field.value.strip() and \
                str(event.value) not in field.value.split(","):
            field.value = f"{field.value.strip()},{event.value}"  # a list: a choice adds to it
        else:
            field.value = str(event.value)
        if flag.endswith("-region") and self.choices is not None and field.value != self.choices_region:
            self.fetch_choices()  # sizes, images, networks and key pairs are the region's

    def _field(self, flag):
        label = f"--{flag.name}" + (" (required)" if flag.required else "") + f": {flag.usage}"
        if flag.env:
            label += f" [${flag.env}]"
        initial = flag.initial()
        if flag.kind == "bool":
            return [Checkbox(label, value=bool(initial), id=_widget_id(flag.name))]
        if flag.choices:
            return [Label(label, classes="flag-label", markup=False),
                    Select([(c, c) for c in flag.choices],
                           value=initial if initial in flag.choices else flag.choices[0],
                           allow_blank=False, id=_widget_id(flag.name))]
        if flag.secret:  # a credential: typed masked, never filled in (nor echoed) from the environment
            found = bool(flag.env and os.environ.get(flag.env))
            hint = (f"set in ${flag.env}: used without being stored" if found
                    else "not set (kept in config.json if typed here)")
            return [Label(label, classes="flag-label", markup=False),
                    Input(value="", placeholder=hint, password=True, id=_widget_id(flag.name))]
        validators = [Integer()] if flag.kind == "int" else []
        value = ",".join(initial) if flag.kind == "list" else str(initial if initial is not None else "")
        if flag.name == "qemu-local-image" and not value and self.store_path:
            from ..core.service.getting_started import built_images

            value = next(iter(built_images(self.store_path)), "")  # the image `build-image` made, offered
        hint = "comma-separated" if flag.kind == "list" else str(flag.default or "")
        return [Label(label, classes="flag-label", markup=False),
                Input(value=value, placeholder=hint, validators=validators, id=_widget_id(flag.name))]

    @on(Select.Changed, "#driver")
    async def driver_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.driver:
            self.driver = str(event.value)
            await self.build_form()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self.submit()

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def submit(self) -> None:
        problem = self.collect()
        if isinstance(problem, str):
            self.query_one("#problem", Label).update(f"[red]{problem}[/]")
            return
        self.dismiss(problem)

    def collect(self) -> CreateRequest | str:
        if not self.form_ready:
            return "The form is still being made for this driver: a moment"
        name = self.query_one("#name", Input).value.strip()
        if not is_valid_name(name):
            return INVALID_NAME_MESSAGE
        if name in self.existing:
            return f'Docker machine "{name}" already exists'
        own, common = self.flags()
        values, explicit = {}, set()
        for flag in own + common:
            widget: Any = self.query_one(f"#{_widget_id(flag.name)}")  # an Input or a Checkbox
            if flag.kind == "bool":
                value = widget.value
            elif flag.kind == "list":
                value = [v.strip() for v in widget.value.split(",") if v.strip()]
            elif flag.kind == "int":
                try:
                    value = int(widget.value or 0)
                except ValueError:
                    return f"--{flag.name} must be a whole number"
            else:
                value = str(widget.value).strip()
            if flag.required and not value:
                return f"--{flag.name} is required"
            if flag.secret and not value:
                continue  # left empty: the environment's credential is used at run time, never stored
            values[flag.name] = value
            if flag.secret or value != flag.initial():
                explicit.add(flag.name)
        return CreateRequest(name, self.driver, values, explicit)


@dataclass
class ClusterRequest:
    """N managers and M workers named PREFIX1..PREFIXn, the first one the swarm's first manager."""

    prefix: str
    driver: str
    values: dict
    explicit: set
    managers: int
    workers: int

    def members(self) -> list[CreateRequest]:
        """The creates, as the CLI's `swarm create` makes them (one plan, in the service)."""
        from ..core.service import cluster_plan

        return [CreateRequest(name, self.driver, options, explicit)
                for name, options, explicit in cluster_plan(self.prefix, self.managers, self.workers, self.values,
                                                            self.explicit)]


class ClusterWizard(CreateWizard):
    """The create form for a Swarm-mode cluster: the driver's options once, how many managers and workers; on qemu,
    the machines share a private network named after the prefix unless one is given."""

    TITLE = "[b]Create a Swarm-mode cluster[/]  (Escape to cancel)"
    NAME_HINT = "name prefix: sw makes sw1, sw2..."

    def __init__(self, driver: str = "qemu", existing: set[str] | None = None, store_path: str = ""):
        super().__init__(driver, existing, store_path)

    def extra_fields(self) -> ComposeResult:
        with Horizontal(id="cluster-size"):
            yield Label("managers", classes="flag-label")
            yield Input("1", id="managers", validators=[Integer(1, 7)])
            yield Label("workers", classes="flag-label")
            yield Input("2", id="workers", validators=[Integer(0, 50)])

    def collect(self) -> ClusterRequest | str:  # type: ignore[override]
        try:
            managers = int(self.query_one("#managers", Input).value)
            workers = int(self.query_one("#workers", Input).value)
        except ValueError:
            return "managers and workers are whole numbers"
        if not 1 <= managers <= 7 or not 0 <= workers <= 50:
            return "1 to 7 managers (an odd number keeps a quorum), 0 to 50 workers"
        prefix = self.query_one("#name", Input).value.strip()
        taken = [f"{prefix}{i}" for i in range(1, managers + workers + 1) if f"{prefix}{i}" in self.existing]
        if taken:
            return f"machines of those names exist: {', '.join(taken)}"
        single = super().collect()
        if isinstance(single, str):
            return single
        values, explicit = single.values, single.explicit
        if self.driver == "qemu" and not values.get("qemu-network"):
            values["qemu-network"] = f"{prefix}-net"  # the nodes must reach each other: a network of their own
            explicit.add("qemu-network")
        return ClusterRequest(prefix, self.driver, values, explicit, managers, workers)
