"""Authorize Mirakl Connect: the first screen of a fresh install (and after a disconnect).

`AuthorizeScreen` is the form both authorize screens share: fields, an Authorize button,
Enter submits, the call runs in a worker owned by the screen with a visible busy state, and
an error is shown next to the form in plain words while the form keeps what was typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from connector.errors import ConnectorError
from connector.secret import Secret
from tui.messages import AccountsChanged
from tui.widgets.header import AccountsHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.text import show_text

if TYPE_CHECKING:
    from connector.engine import Engine
    from tui.app import MiraklWooApp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    """One input of an authorize form."""

    id: str
    label: str
    password: bool = False
    placeholder: str = ""
    demo_key: str = ""


class AuthorizeScreen(Screen[None]):
    """A credentials form whose Authorize action runs `authorize_call` in a worker."""

    HEADING: ClassVar[str] = ""
    BUSY_TEXT: ClassVar[str] = "Authorizing…"
    FIELDS: ClassVar[tuple[Field, ...]] = ()

    busy: reactive[bool] = reactive(False, bindings=True, init=False)

    def __init__(self, *, demo: dict[str, str] | None = None) -> None:
        super().__init__()
        self.demo = demo
        self.error_text = ""

    @property
    def engine(self) -> Engine:
        return cast("MiraklWooApp", self.app).engine

    # to fill in -------------------------------------------------------------------------

    def help_text(self) -> str:
        raise NotImplementedError

    def demo_text(self, demo: dict[str, str]) -> str:
        raise NotImplementedError

    async def authorize_call(self, values: dict[str, str]) -> None:
        """Authorize with the typed values; raise ConnectorError when refused."""
        raise NotImplementedError

    # layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AccountsHeader()
        with VerticalScroll(id="body", can_focus=False):
            yield Static(self.HEADING, classes="heading", markup=False)
            yield Static(self.help_text(), classes="help", markup=False)
            if self.demo:
                yield Static(self.demo_text(self.demo), classes="demo", markup=False)
            for field in self.FIELDS:
                with Horizontal(classes="field"):
                    yield Label(field.label, classes="field-label", markup=False)
                    yield Input(
                        value=(self.demo or {}).get(field.demo_key, ""),
                        placeholder=field.placeholder,
                        password=field.password,
                        id=field.id,
                    )
            with Horizontal(classes="actions"):
                yield Button("Authorize", id="authorize", variant="primary")
                yield Label("", id="busy", markup=False)
            yield Static("", id="error", classes="error", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#error", Static).display = False

    # behaviour --------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """What the form holds now."""
        return {field.id: self.query_one(f"#{field.id}", Input).value for field in self.FIELDS}

    @on(Input.Submitted)
    @on(Button.Pressed, "#authorize")
    def action_submit(self) -> None:
        """Check the credentials with the remote system (Enter or the Authorize button)."""
        if self.busy:
            return
        self.show_error("")
        self.busy = True
        self.authorize(self.values())

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#authorize", Button).disabled = busy
        show_text(self.query_one("#busy", Label), self.BUSY_TEXT if busy else "")

    def show_error(self, message: str, hint: str = "") -> None:
        """Plain words next to the form (never parsed as markup: servers write these)."""
        self.error_text = f"{message}\n{hint}".strip() if message else ""
        error = self.query_one("#error", Static)
        show_text(error, f"Not authorized: {self.error_text}" if message else "")
        error.display = bool(message)
        if message:
            self.query_one("#body", VerticalScroll).scroll_end(animate=False)

    @work(exclusive=True, group="authorize", exit_on_error=False)
    async def authorize(self, values: dict[str, str]) -> None:
        try:
            await self.authorize_call(values)
        except ConnectorError as error:
            log.info("authorize refused: %s", error.one_line())
            self.show_error(error.message, error.hint)
            self.busy = False
            return
        except Exception as error:  # the log keeps the traceback; the screen one line
            log.exception("authorize failed")
            self.show_error(
                f"Something unexpected went wrong ({type(error).__name__}).",
                "Nothing was saved. The log file in the data folder has the details.",
            )
            self.busy = False
            return
        self.busy = False
        self.post_message(AccountsChanged())


class AuthorizeMiraklScreen(AuthorizeScreen):
    """Authorize Mirakl Connect: client ID, client secret, optional company ID."""

    HEADING = "Authorize Mirakl Connect"
    BUSY_TEXT = "Authorizing… checking the credentials with Mirakl Connect"
    FIELDS = (
        Field("client-id", "Client ID", demo_key="mirakl_client_id"),
        Field("client-secret", "Client secret", password=True, demo_key="mirakl_client_secret"),
        Field(
            "company-id",
            "Company ID",
            placeholder="optional: only if Mirakl asked for it",
            demo_key="mirakl_company_id",
        ),
    )

    def help_text(self) -> str:
        return (
            "Create an API client in Mirakl Connect › Settings › API and copy its client ID "
            "and client secret here. The company ID is optional. Press Enter to authorize."
        )

    def demo_text(self, demo: dict[str, str]) -> str:
        return (
            "Demo: the sandbox's credentials are filled in: client ID "
            f"{demo.get('mirakl_client_id', '')}, client secret "
            f"{demo.get('mirakl_client_secret', '')}, company ID "
            f"{demo.get('mirakl_company_id', '') or '(none)'}."
        )

    async def authorize_call(self, values: dict[str, str]) -> None:
        from connector.services import onboarding

        await onboarding.connect_mirakl(
            self.engine,
            values["client-id"],
            Secret(values["client-secret"]),
            company_id=values["company-id"] or None,
        )
