"""`mirakl-woo`: the scriptable face of the engine. Headless commands never import Textual."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from connector.errors import ConnectorError, UsageError
from connector.secret import Secret
from connector.words import count as count_of

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("connector.cli")

if TYPE_CHECKING:
    import argparse


#: argparse's own English: the words its messages are made of (anything else in a message
#: came from the command line and is not repeated).
_ARGPARSE_TEXT = """usage error unrecognized arguments argument expected one at most least
    invalid choice choose from value int float str the following are required ignored explicit
    not allowed with ambiguous option could match of is a an unexpected string options
    positional show this help message and exit"""
_ARGPARSE_WORDS = frozenset(_ARGPARSE_TEXT.split())
#: Options people try for a secret: named (they are fixed words, not the value) with the hint.
_SECRET_OPTIONS = frozenset(
    {"--client-secret", "--consumer-secret", "--secret", "--password", "--token",
     "--access-token", "--api-key", "--key"}
)  # fmt: skip
_MESSAGE_TOKEN = re.compile(r"[^\s,()\[\]{}'\":=/]+")
_SEPARATORS = re.compile(r"[\s,()\[\]{}'\":=/]")
_HIDDEN = "…"


def safe_usage_message(message: str, vocabulary: frozenset[str], words: Sequence[str]) -> str:
    """argparse's message with every command-line value replaced by `…`: only argparse's own
    words and the parser's option strings, command words, choices and metavars are kept."""
    safe = vocabulary | _ARGPARSE_WORDS | _SECRET_OPTIONS
    pieces: set[str] = set()
    for word in words:
        if word in vocabulary:
            continue
        name, equals, value = word.partition("=")
        if word.startswith("-") and equals:
            pieces.add(value)  # `--opt=VALUE`: argparse may repeat VALUE alone
            if name not in safe:
                pieces.add(name)
        else:
            pieces.add(word)
        if len(word) > 2 and word[0] == "-" and word[1] != "-":
            pieces.add(word[2:])  # `-sSECRET`: argparse may repeat SECRET alone
    # A value made of safe words and separators (`status,--json`) would pass the word check.
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 4 and _SEPARATORS.search(piece):
            message = message.replace(repr(piece), _HIDDEN).replace(piece, _HIDDEN)
    message = _MESSAGE_TOKEN.sub(lambda m: m.group(0) if m.group(0) in safe else _HIDDEN, message)
    message = re.sub(r"""(['"])…\1""", _HIDDEN, message)
    message = re.sub(r"…(?:[\s,'\"=:]*…)+", _HIDDEN, message)
    return " ".join(message.split())


def _vocabulary(parser: argparse.ArgumentParser) -> set[str]:
    """Every word the parser itself defines: option strings, command words, choices, metavars."""
    words = set(parser.prog.split())
    for action in parser._actions:
        words.update(action.option_strings)
        words.add(str(action.dest))
        metavar = action.metavar
        words.update([metavar] if isinstance(metavar, str) else metavar or ())
        choices = action.choices
        if isinstance(choices, dict):  # sub-commands
            for name, sub in choices.items():
                words.add(str(name))
                words.update(_vocabulary(sub))
        elif choices is not None:
            words.update(str(choice) for choice in choices)
    return words


def build_parser(words: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; `words` are the arguments it will parse, never repeated in its errors."""
    import argparse  # only when there are arguments to parse: `mirakl-woo` alone skips it

    class _Parser(argparse.ArgumentParser):
        """argparse repeats arguments in its errors (an unknown one, a bad choice, a value
        after an option, `-sSECRET`); a secret pasted on the command line must not be: every
        message is one line with only the parser's own words (safe_usage_message)."""

        vocabulary: frozenset[str] = frozenset()
        argv: tuple[str, ...] = ()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["allow_abbrev"] = False  # `--c=SECRET` is no option, not `--client-id`
            super().__init__(*args, **kwargs)

        def error(self, message: str) -> NoReturn:
            shown = safe_usage_message(message, self.vocabulary, self.argv)
            if message.startswith("unrecognized arguments"):
                shown += " (secrets are read from the environment or stdin, never from arguments)"
            if "--json" in self.argv:
                _print_error_json("usage_error", shown, f"See `{self.prog} --help`.")
            self.exit(EXIT_USAGE, f"{self.prog}: error: {shown}; see `{self.prog} --help`.\n")

    parser = _Parser(
        prog="mirakl-woo",
        description="Connect a WooCommerce store to Mirakl Connect. Without a command: the app.",
    )
    from connector import __version__

    parser.add_argument("--version", action="version", version=f"mirakl-woo {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser("demo", help="open the app against local sandbox servers")
    demo.add_argument("--connected", action="store_true", help="start with both accounts set up")
    demo.add_argument(
        "--catalog-size", type=int, default=1500, metavar="N", help="products in the store"
    )
    demo.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="the sandbox's pace: seconds between two calls of one product operation",
    )

    sandbox = sub.add_parser("sandbox", help="run only the sandbox servers")
    sandbox.add_argument(
        "--catalog-size", type=int, default=1500, metavar="N", help="products in the store"
    )
    sandbox.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between two calls of one product operation "
        "(default: $MIRAKL_WOO_MIN_INTERVAL, else 60)",
    )
    sandbox.add_argument(
        "--mirakl-port", type=int, default=0, metavar="PORT", help="default: any free port"
    )
    sandbox.add_argument(
        "--woo-port", type=int, default=0, metavar="PORT", help="default: any free port"
    )
    sandbox.add_argument(
        "--woo-latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the store answers each request this much later, as a real host does",
    )
    sandbox.add_argument(
        "--woo-fail-from",
        type=int,
        default=None,
        metavar="N",
        help="the store fails every REST request from its Nth on (try a store going away)",
    )
    sandbox.add_argument(
        "--woo-fail-status",
        type=int,
        default=503,
        metavar="CODE",
        help="how it fails: an HTTP status (401, 404, 503...), or 0 to drop the connection",
    )
    sandbox.add_argument(
        "--mirakl-hold-reply",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Mirakl applies each product call, then holds its answer this long "
        "(kill the connector meanwhile to try the crash window)",
    )
    sandbox.add_argument(
        "--mirakl-echo-token-form",
        action="store_true",
        help="a refused token request echoes the posted form, as some proxies do",
    )
    sandbox.add_argument(
        "--seller-products",
        type=int,
        default=0,
        metavar="N",
        help="the seller's own Mirakl Connect products, half of them sharing a store SKU",
    )

    connect = sub.add_parser("connect", help="authorize an account")
    which = connect.add_subparsers(dest="system", required=True, parser_class=_Parser)
    mirakl = which.add_parser(
        "mirakl", help="Mirakl Connect (secret from $MIRAKL_WOO_CLIENT_SECRET or stdin)"
    )
    mirakl.add_argument("--client-id", required=True, help="the API client's id")
    mirakl.add_argument(
        "--company-id", default=None, help="sent as the token's audience, for accounts that need it"
    )
    woo = which.add_parser(
        "woocommerce", help="a WooCommerce store (secret from $MIRAKL_WOO_CONSUMER_SECRET or stdin)"
    )
    woo.add_argument("--url", required=True, help="the store's address, e.g. https://shop.example")
    woo.add_argument(
        "--consumer-key",
        default=None,
        help="the ck_ key; or set $MIRAKL_WOO_CONSUMER_KEY to keep it out of `ps` "
        "(asked for when missing, on a terminal)",
    )

    status = sub.add_parser(
        "status", help="accounts, sync setting, ledger counts, running job, schedule"
    )
    _json_option(status)

    sync = sub.add_parser("sync", help="one full sync pass WooCommerce → Mirakl Connect")
    _json_option(sync)
    sync.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines: stderr only for errors, the outcome in one line (for schedules)",
    )
    sync.add_argument(
        "--skip-if-busy",
        action="store_true",
        help="another process running a job on this data folder (or wiping it) ends this run "
        "at once, exit 0 (for schedules: an overlapping run is no failure)",
    )

    disconnect = sub.add_parser("disconnect", help="end the connection (a resumable job)")
    disconnect.add_argument(
        "--catalog",
        required=True,
        choices=("keep", "deactivate", "delete"),
        help="keep: leave products active; deactivate: quantities to 0; delete: remove them",
    )
    disconnect.add_argument(
        "--confirm", required=True, metavar="WORD", help="the word `disconnect`, to confirm"
    )
    disconnect.add_argument(
        "--no-verify",
        action="store_true",
        help="skip reading the catalog back to report what Mirakl Connect shows gone or at 0",
    )
    _json_option(disconnect)

    jobs = sub.add_parser(
        "jobs", help="the running or interrupted job; `jobs resume` resumes it, `jobs cancel` "
        "calls it off"
    )
    jobs.add_argument(
        "action",
        nargs="?",
        choices=("show", "resume", "cancel"),
        default="show",
        help="show (the default) the open job, resume it here, or cancel it (a disconnect "
        "called off keeps both accounts; what it changed is pushed again by the next sync)",
    )
    _json_option(jobs)

    settings = sub.add_parser("settings", help="the Product Settings; `settings set` sets one")
    _json_option(settings)
    settings_sub = settings.add_subparsers(
        dest="settings_action", metavar="{set}", parser_class=_Parser
    )
    setting = settings_sub.add_parser(
        "set", help="set one Product Setting, checked as the app checks it"
    )
    from connector.product_options import ProductOptions

    names = ", ".join(ProductOptions().to_dict())
    setting.add_argument("name", metavar="NAME", help=f"the setting's name: {names}")
    setting.add_argument(
        "value",
        metavar="VALUE",
        help="on/off for sync_products and take_over_existing; statuses comma-separated "
        "(publish,private,draft,pending); price_mode regular_with_sale or current",
    )
    _json_option(setting, suppress=True)

    schedule = sub.add_parser(
        "schedule", help="run `sync` on a schedule: a systemd user timer, or a cron line"
    )
    schedule_sub = schedule.add_subparsers(
        dest="schedule_action", required=True, metavar="{install,remove}", parser_class=_Parser
    )
    install = schedule_sub.add_parser(
        "install", help="write and enable the timer (without systemd: print the cron line)"
    )
    install.add_argument(
        "--every",
        default="15m",
        metavar="INTERVAL",
        help="how often (default 15m): 5m to 24h dividing an hour or a day "
        "(5m, 10m, 15m, 30m, 1h, 6h, 24h...)",
    )
    _json_option(install)
    remove = schedule_sub.add_parser("remove", help="undo what `schedule install` made")
    _json_option(remove)
    _Parser.vocabulary = frozenset(_vocabulary(parser))
    _Parser.argv = tuple(words)
    return parser


def _json_option(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    import argparse

    parser.add_argument(
        "--json",
        action="store_true",
        # A sub-command's own default would overwrite `settings --json set ...`'s True.
        default=argparse.SUPPRESS if suppress else False,
        help='machine-readable output on stdout (a failure too: {"error": {...}})',
    )


def read_secret(env_name: str, prompt: str, stdin: TextIO | None = None) -> Secret:
    """From the environment, else stdin (a prompt without echo when stdin is a terminal)."""
    value = os.environ.get(env_name)
    if value is None:
        stdin = stdin or sys.stdin
        if stdin.isatty():
            import getpass

            value = getpass.getpass(prompt)
        else:
            value = stdin.readline()
    value = value.strip()
    if not value:
        raise UsageError("No secret given.", f"Set ${env_name} or pipe the secret on stdin.")
    return Secret(value)


def ask_consumer_key(stdin: TextIO | None = None) -> str:
    """The consumer key typed on a terminal: no secret (WooCommerce shows it in the admin),
    so it is echoed as typed. Without a terminal there is nobody to ask."""
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        raise UsageError(
            "No consumer key given.",
            "Pass --consumer-key or set $MIRAKL_WOO_CONSUMER_KEY "
            "(it is asked for only on a terminal).",
        )
    sys.stderr.write("WooCommerce consumer key (ck_…): ")
    sys.stderr.flush()
    try:
        value = input().strip()
    except EOFError:
        value = ""
    if not value:
        raise UsageError("No consumer key given.", "Type the ck_ key, or pass --consumer-key.")
    return value


def _clean(text: Any) -> str:
    """Text that may hold what a remote system sent (a store name, an error): one line,
    secrets and terminal escapes out."""
    from connector.errors import clean

    return clean(text, collapse=False)


def _scrubbed(data: Any) -> Any:
    from connector.redact import scrub

    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, dict):
        return {key: _scrubbed(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_scrubbed(value) for value in data]
    return data


def _print_json(data: Any) -> None:
    json.dump(_scrubbed(data), sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def error_code(error: BaseException) -> str:
    """A stable name scripts branch on: the error's class in snake case (`JobBusy` →
    `job_busy`); a remote system's own code stays in the message's log record."""
    name = type(error).__name__
    if not isinstance(error, ConnectorError):
        return "unexpected_error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _print_error_json(code: str, message: str, hint: str) -> None:
    from connector.errors import clean

    with contextlib.suppress(OSError, ValueError):
        _print_json({"error": {"code": code, "message": clean(message), "hint": clean(hint)}})
        sys.stdout.flush()


def _engine() -> Any:
    from connector.engine import Engine
    from connector.redact import setup_logging

    engine = Engine.from_env()
    if engine.exists:
        setup_logging(str(engine.settings.log_path))
    _opened.append(engine)
    return engine


_opened: list[Any] = []  # engines this command opened: their warnings are said at the end


def _say_warnings(command: str | None) -> None:
    """What the engine did on the way (a secrets file tightened to 0600) reaches the
    terminal once. A standing condition (a data folder others can open) is left to
    `status`, which lists every warning: a cron job would repeat it on every run."""
    for engine in _opened:
        if command == "status":
            continue
        standing = set(engine.settings.folder_warnings())
        for warning in engine.warnings:
            if warning not in standing:
                _fail(f"warning: {warning}")
    _opened.clear()


def cmd_connect(args: argparse.Namespace) -> int:
    from connector.redact import setup_logging
    from connector.services import onboarding

    engine = _engine()
    try:
        if args.system == "mirakl":
            secret = read_secret("MIRAKL_WOO_CLIENT_SECRET", "Mirakl Connect client secret: ")
            account = asyncio.run(
                onboarding.connect_mirakl(engine, args.client_id, secret, args.company_id)
            )
            client_id = account.details["client_id"]
            name = account.details.get("company_name") or client_id
            print(_clean(f"Mirakl Connect connected: {name} (client {client_id})."))
        else:
            from connector.clients.woocommerce import normalize_store_url

            normalize_store_url(args.url)  # a bad URL is refused before anything is asked
            key = Secret(
                args.consumer_key
                or os.environ.get("MIRAKL_WOO_CONSUMER_KEY", "")
                or ask_consumer_key()
            )
            onboarding.check_woo_key(key)
            secret = read_secret("MIRAKL_WOO_CONSUMER_SECRET", "WooCommerce consumer secret: ")
            account = asyncio.run(onboarding.connect_woocommerce(engine, args.url, key, secret))
            details = account.details
            print(
                _clean(
                    f"WooCommerce connected: {details.get('store_name')} ({details['url']}), "
                    f"WooCommerce {details.get('wc_version', '?')}, key …{details['key_last7']}."
                )
            )
            if details.get("auth_notice"):
                print(f"mirakl-woo: warning: {_clean(details['auth_notice'])}", file=sys.stderr)
        setup_logging(str(engine.settings.log_path))
        return EXIT_OK
    finally:
        engine.close()


def cmd_status(args: argparse.Namespace) -> int:
    from connector.services.status import status

    engine = _engine()
    try:
        data = status(engine, with_schedule=True)
    finally:
        engine.close()
    if args.json:
        _print_json(data)
        return EXIT_OK
    print(format_status(data))
    return EXIT_OK


def format_status(data: dict[str, Any]) -> str:
    lines = []
    mirakl, woo = data["mirakl"], data["woocommerce"]
    if mirakl:
        name = mirakl.get("company_name") or "—"
        lines.append(
            f"Mirakl Connect  {name}  client {mirakl['client_id']}  "
            f"since {mirakl['connected_since']}" + _needs_authorization(mirakl)
        )
    else:
        lines.append("Mirakl Connect  not connected")
    if woo:
        lines.append(
            f"WooCommerce     {woo.get('store_name')}  {woo['url']}  key …{woo['key_last7']}  "
            f"since {woo['connected_since']}" + _needs_authorization(woo)
        )
        if woo.get("permalinks") == "plain":
            lines.append("                the store uses plain permalinks (API at ?rest_route=)")
        if woo.get("home_url"):
            lines.append(
                f"                WordPress home URL {woo['home_url']}: requests are signed "
                f"for it, sent to {woo['url']}"
            )
        if woo.get("auth_mode") == "query":
            lines.append(
                "                the secret travels in the URL: the host strips the "
                "Authorization header"
            )
    else:
        lines.append("WooCommerce     not connected")
    lines.append(f"Sync products   {'on' if data['sync_products'] else 'off'}")
    products = dict(data["products"])
    linked, taken_over = products.pop("linked"), products.pop("taken_over", 0)
    theirs = products.pop("already_on_mirakl", 0)
    woo_products = products.pop("woo_products", 0)
    products.pop("changed_by_disconnect", None)  # its own line below
    lines.append(
        "Products        "
        + "  ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(products.items()))
        + f"  (linked {linked:,}"
        + (f", {taken_over:,} of them taken over" if taken_over else "")
        + ")"
    )
    if linked:
        from connector.services.status import from_woo

        lines.extend(f"                {line}" for line in from_woo(woo_products, linked))
    if theirs:
        lines.append(
            f"                {theirs} already on Mirakl Connect, not created by the "
            "connector: left alone"
        )
    from connector.services.status import disconnect_effect

    effect = disconnect_effect(data, "`jobs resume` finishes it, `jobs cancel` undoes it.")
    if effect:
        lines.append(f"                {effect}")
    job = data["job"]
    if job:
        lines.append(f"Job             {job['kind']} {job['state']} {job['done']}/{job['total']}")
    lines.append(f"Schedule        {format_schedule(data.get('schedule'))}")
    lines.append(f"Data folder     {data['data_folder']}")
    lines.extend(f"Warning         {warning}" for warning in data.get("warnings", []))
    return "\n".join(_clean(line) for line in lines)


def format_schedule(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "none"
    if schedule["kind"] == "cron":
        return f"{schedule['detail']} (every {schedule['every']})"
    next_run = schedule["next_run"] or "not planned (see `systemctl --user list-timers`)"
    return f"sync every {schedule['every']}, next run {next_run} ({schedule['detail']})"


def _needs_authorization(account: dict[str, Any]) -> str:
    return "  — needs authorizing again" if account.get("needs_authorization") else ""


class _ProgressLines:
    """Progress on stderr: one line a second, rewritten in place on a terminal."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.tty = sys.stderr.isatty() and not quiet
        self.quiet = quiet
        self.last = 0.0
        self.dirty = False

    def __call__(self, event: Any) -> None:
        import time

        from connector.events import Activity, Progress, Waiting, format_duration

        now = time.monotonic()
        if self.quiet:  # errors and warnings only
            if isinstance(event, Activity) and event.level != "info":
                self._write(_clean(event.message), transient=False)
            return
        if isinstance(event, Progress):
            if now - self.last < 1 and event.done != event.total:
                return
            self.last = now
            eta = "" if event.eta is None else f", about {format_duration(event.eta)} left"
            line = f"{event.job}: {event.step} {event.done}/{event.total}{eta}"
            self._write(line, transient=True)
        elif isinstance(event, Waiting) and event.seconds >= 1:
            self._write(
                f"waiting {format_duration(event.seconds)} for Mirakl Connect's next "
                f"{event.operation} slot",
                transient=True,
            )
        elif isinstance(event, Activity):
            self._write(_clean(event.message), transient=False)

    def _write(self, line: str, *, transient: bool) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line + ("" if transient else "\n"))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _run_job(make: Callable[[], Any]) -> Any:
    """Run a job coroutine; SIGTERM and SIGHUP stop it like Ctrl+C: journaled, resumable."""
    import signal

    from connector.errors import JobInterrupted

    async def runner() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, task.cancel)
        return await make()

    try:
        return asyncio.run(runner())
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise JobInterrupted(
            "Stopped part-way; everything done so far is recorded.",
            "Run the same command again to resume.",
        ) from None


class SyncRefused(ConnectorError):
    """The data folder's state forbids a sync now (a disconnect is unfinished): the command
    line was right, so it is no usage error."""

    exit_code = EXIT_FAILED


def cmd_sync(args: argparse.Namespace) -> int:
    from connector.engine import DataFolderBusy
    from connector.jobs import DataFolderGone, JobBusy
    from connector.services.sync import run_sync

    engine = _engine()
    progress = _ProgressLines(quiet=args.quiet)
    try:
        report = _run_job(lambda: run_sync(engine, on_event=progress))
    except UsageError as error:  # `sync` has no argument that could be wrong
        raise SyncRefused(error.message, error.hint, code=error.code) from error
    except (JobBusy, DataFolderBusy, DataFolderGone) as error:
        if not args.skip_if_busy:
            raise
        # A scheduled run that meets the previous one (or the app's) still going, or a
        # disconnect wiping the folder: the job running does what this run would, or the
        # connection is ending; nothing was touched.
        if args.json:
            _print_json({"kind": "sync", "skipped_busy": True})
        elif not args.quiet:
            print(f"{error.message} This sync is skipped.", file=sys.stderr)
        return EXIT_OK
    finally:
        progress.close()
        engine.close()
    if args.json:
        _print_json({"kind": "sync", **report.to_dict()})
    elif report.disabled:
        if args.quiet:  # the line the progress would have said, said once here instead
            print("Sync Product is off in Product Settings: nothing was pushed.")
    else:
        print(f"{report.done_line()} ({count_of(report.calls, 'call')}, {report.seconds:.1f}s).")
        for reason, count in report.skipped_reasons.items():
            print(f"  skipped {count:,}: {reason}")
    return EXIT_OK if report.failed == 0 else EXIT_FAILED


def cmd_disconnect(args: argparse.Namespace) -> int:
    from connector.services.disconnect import confirmation_ok, run_disconnect

    if not confirmation_ok(args.confirm):
        raise UsageError(
            "Confirmation refused: pass --confirm disconnect (the word, in lower case).",
            "Nothing was changed.",
        )
    engine = _engine()
    progress = _ProgressLines()
    try:
        receipt = _run_job(
            lambda: run_disconnect(
                engine, args.catalog, args.confirm, on_event=progress, verify=not args.no_verify
            )
        )
    finally:
        progress.close()
        engine.close()
    if args.json:
        _print_json({"kind": "disconnect", **receipt.to_dict()})
    else:
        print("\n".join(receipt.lines()))
    return EXIT_OK


def cmd_jobs(args: argparse.Namespace) -> int:
    from connector.services import background

    engine = _engine()
    try:
        if args.action == "show":
            job = background.open_job(engine)
            if args.json:
                _print_json(job)
            elif job is None:
                print("No job is running or unfinished.")
            else:
                where = "running now" if job["runner_active"] else job["state"]
                option = job["params"].get("option")
                print(
                    _clean(
                        f"{job['kind']}{f' ({option})' if option else ''}: {where}, "
                        f"{job['step'] or 'starting'}, {job['done']}/{job['total']}"
                        + (
                            f" — {job['error']}"
                            if job["error"] and not job["runner_active"]
                            else ""
                        )
                    )
                )
                if not job["runner_active"]:
                    print("Resume it with `mirakl-woo jobs resume`.")
            return EXIT_OK
        if args.action == "cancel":
            from connector.services.cancel import cancel_job

            cancelled = cancel_job(engine)
            if args.json:
                _print_json(cancelled.to_dict() if cancelled else None)
            elif cancelled is None:
                print("Nothing to cancel: no job is interrupted or unfinished.")
            else:
                print("\n".join(_clean(line) for line in cancelled.lines()))
            return EXIT_OK
        progress = _ProgressLines()
        try:
            result = _run_job(lambda: background.resume(engine, on_event=progress))
        except background.NothingToResume:
            if args.json:
                _print_json(None)
            else:
                print("Nothing to resume: no job is interrupted or unfinished.")
            return EXIT_OK
        finally:
            progress.close()
        if args.json:
            _print_json(result)
        else:
            print(f"{result['kind']} finished.")
        return EXIT_OK
    finally:
        engine.close()


def cmd_settings(args: argparse.Namespace) -> int:
    from connector.services import settings_commands

    engine = _engine()
    try:
        if args.settings_action == "set":
            options, changed = settings_commands.set_one(engine, args.name, args.value)
        else:
            options, changed = settings_commands.current(engine), False
    finally:
        engine.close()
    if args.json:
        _print_json(options.to_dict())
        return EXIT_OK
    rows = settings_commands.rows(options)
    if args.settings_action == "set":
        row = next(row for row in rows if row.name == args.name)
        said = "Saved" if changed else "Nothing changed"
        print(_clean(f"{said}: {row.label}: {row.shown}."))
        return EXIT_OK
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(_clean(f"{row.name:<{width}}  {row.label}: {row.shown}"))
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    from connector.services import schedule

    engine = _engine()
    try:
        if args.schedule_action == "install":
            installed = schedule.install(engine, args.every)
            state = schedule.state(engine)
            next_run = state["next_run"] if state and installed.kind == "systemd" else None
            if args.json:
                _print_json({**installed.to_dict(), "next_run": next_run})
            elif installed.kind == "cron":
                print(
                    "No systemd user instance here: nothing was installed. To sync every "
                    f"{installed.every}, add this line to your crontab (`crontab -e`):"
                )
                print(installed.cron_line)
            else:
                print(
                    _clean(
                        f"Scheduled: sync every {installed.every} by the systemd user timer "
                        f"{installed.unit}, next run {next_run or 'not planned yet'}."
                    )
                )
                print(_clean(f"Written: {', '.join(installed.files)}."))
                print("Undo with `mirakl-woo schedule remove`.")
            return EXIT_OK
        removed = schedule.remove(engine)
    finally:
        engine.close()
    if args.json:
        _print_json(removed.to_dict())
    elif removed.files:
        print(_clean(f"Schedule removed: timer disabled, {', '.join(removed.files)} deleted."))
    if not args.json and removed.cron_forgotten:
        print(
            "The cron line printed earlier was never installed by mirakl-woo: if you added it "
            "to your crontab, remove it there (`crontab -e`)."
        )
    if not args.json and not removed.files and not removed.cron_forgotten:
        print("No schedule to remove for this data folder.")
    return EXIT_OK


def sellers_own_products(servers: Any, count: int) -> list[dict[str, Any]]:
    """`count` products the seller made on Mirakl Connect: half with the SKU of a published
    store product (the connector must leave them alone), half with ids of their own."""
    clashing = []
    for product in servers.woo.catalog.iter_products(status="publish"):
        if len(clashing) >= count // 2:
            break
        if product.get("sku") and product.get("type") == "simple":
            clashing.append(product["sku"])
    ids = clashing + [f"seller-own-{n}" for n in range(count - len(clashing))]
    return [
        {"id": i, "title": {"en_US": "Made on Mirakl Connect"},
         "quantities": [{"available_quantity": 5}]}
        for i in ids
    ]  # fmt: skip


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connector.sandbox.faults import Faults
    from connector.sandbox.server import SandboxServers
    from connector.settings import Settings

    interval = args.interval if args.interval is not None else Settings.from_env().min_interval
    if args.woo_latency < 0:
        raise UsageError("--woo-latency must be 0 or more seconds.")
    if args.woo_fail_from is not None and args.woo_fail_from < 1:
        raise UsageError("--woo-fail-from must be 1 or more.")
    if args.woo_fail_status != 0 and not 400 <= args.woo_fail_status <= 599:
        raise UsageError("--woo-fail-status must be an HTTP error status (400-599), or 0.")
    if args.mirakl_hold_reply < 0 or args.seller_products < 0:
        raise UsageError("--mirakl-hold-reply and --seller-products must be 0 or more.")
    woo_faults = Faults(
        latency=args.woo_latency,
        fail_from=args.woo_fail_from,
        fail_status=args.woo_fail_status,
        only_paths=("/wp-json/wc/",),
    )
    servers = SandboxServers(
        catalog_size=args.catalog_size,
        interval=interval,
        mirakl_port=args.mirakl_port,
        woo_port=args.woo_port,
        woo_faults=woo_faults,
        mirakl_faults=Faults(hold_reply=args.mirakl_hold_reply, only_paths=("/api/products",)),
    )
    servers.mirakl.echo_token_form = args.mirakl_echo_token_form
    servers.mirakl.seed(sellers_own_products(servers, args.seller_products))

    import time

    servers.start()
    try:
        creds = servers.credentials()
        print("Sandbox servers are running (Ctrl+C stops them).", flush=True)
        print(f"  Mirakl Connect token URL  {servers.auth_url}")
        print(f"  Mirakl Connect API URL    {servers.api_url}")
        print(
            f"  client id / secret        {creds['mirakl_client_id']} / "
            f"{creds['mirakl_client_secret']}"
        )
        print(f"  WooCommerce store URL     {servers.woo_url}  ({args.catalog_size} products)")
        print(f"  consumer key              {creds['woo_consumer_key']}")
        print(f"  consumer secret           {creds['woo_consumer_secret']}")
        if args.seller_products:
            print(f"  seller's own products     {args.seller_products} on Mirakl Connect")
        print("Point the connector at them with:")
        for name, value in servers.env().items():
            print(f"  export {name}={value}")
        print(flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    finally:
        servers.stop()
    return EXIT_OK


#: A command that opens a face of the connector (the app, the demo): given by the entry point
#: above both faces (`tui.main`), so the engine never imports them.
Face = Callable[[Any], int]  # given the parsed arguments (None: no command)


class NoFace(UsageError):
    """`python -m connector.cli` was asked for the app, which only `mirakl-woo` opens."""


def _no_face(args: argparse.Namespace | None) -> int:
    raise NoFace(
        "This entry point runs headless commands only.",
        "Open the app with `mirakl-woo` (or `mirakl-woo demo`).",
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "sandbox": cmd_sandbox,
    "connect": cmd_connect,
    "status": cmd_status,
    "sync": cmd_sync,
    "disconnect": cmd_disconnect,
    "jobs": cmd_jobs,
    "settings": cmd_settings,
    "schedule": cmd_schedule,
}


def main(argv: Sequence[str] | None = None, faces: Mapping[str | None, Face] | None = None) -> int:
    """Run one command. `faces` opens the app (key None) and the demo (key "demo")."""
    from connector.redact import quiet_terminal

    quiet_terminal()  # before anything logs: no record of ours ever reaches the terminal
    _quiet_hooks()
    words = sys.argv[1:] if argv is None else list(argv)
    wants_json = "--json" in words
    try:
        faces = faces or {}
        if not words:  # the app: no parser needed on the path to its first frame
            return faces.get(None, _no_face)(None)
        args = build_parser(words).parse_args(words)
        wants_json = bool(getattr(args, "json", False))
        try:
            command = COMMANDS.get(args.command) or faces.get(args.command, _no_face)
            return command(args)
        finally:
            _say_warnings(args.command)
    except ConnectorError as error:
        log.info("command failed: %s", error.one_line(), exc_info=True)
        if wants_json:
            _print_error_json(error_code(error), error.message, error.hint)
        _fail(error.one_line())
        return error.exit_code
    except KeyboardInterrupt:
        _fail("interrupted.")
        return 130
    except BrokenPipeError:  # `mirakl-woo status | head -1`: the reader left, nothing to say
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as error:  # the last line of defence: one line, details in the log
        log.exception("command failed")
        line = describe_failure(error)
        if wants_json:
            _print_error_json(error_code(error), line, "")
        _fail(line)
        return EXIT_FAILED


def _fail(line: str) -> None:
    from connector.errors import clean

    with contextlib.suppress(OSError, ValueError):  # a closed or full stderr: nothing to do
        print(f"mirakl-woo: {clean(line)}", file=sys.stderr, flush=True)


def _quiet_hooks() -> None:
    """What Python prints on its own (an exception in a thread or a destructor, a warning)
    goes to our log, not the terminal."""
    import threading

    def unraisable(hook: Any) -> None:
        log.debug("ignored exception in %r: %r", hook.object, hook.exc_value)

    def thread_failed(hook: Any) -> None:
        log.error("thread %s failed: %r", getattr(hook.thread, "name", "?"), hook.exc_value)

    sys.unraisablehook = unraisable
    threading.excepthook = thread_failed
    logging.captureWarnings(True)


def _settings() -> Any:
    try:
        from connector.settings import Settings

        return Settings.from_env()
    except Exception:
        return None


def describe_failure(error: BaseException) -> str:
    """One line for an exception that is no ConnectorError: what broke, the file, what to do.
    (The state layer raises ConnectorErrors for these; this is the safety net.)"""
    import errno
    import sqlite3

    from connector.redact import file_logging

    settings = _settings()
    db = str(settings.db_path) if settings else "the database of the data folder"
    home = str(settings.home) if settings else "the data folder ($MIRAKL_WOO_HOME)"
    if isinstance(error, sqlite3.DatabaseError):
        text = str(error).lower()
        if "full" in text:
            return f"The disk holding the database {db} is full. Free some space, then try again."
        if "readonly" in text or "read-only" in text:
            return (
                f"The database {db} is read-only. Make the data folder {home} and its files "
                "writable by this user, then try again."
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return (
                f"The database {db} is damaged (not a readable SQLite database). Restore it "
                "from a backup, or move it aside to start over (the connector then forgets "
                "which products it pushed)."
            )
        if "locked" in text or "busy" in text:
            return (
                f"The database {db} is locked by another process. Wait for it to finish "
                "(`mirakl-woo jobs`), then try again."
            )
        if "unable to open" in text or "disk i/o" in text:
            return (
                f"Cannot open the database {db}. Check that the data folder {home} is a "
                "writable folder on a working disk."
            )
        return f"The database {db} failed ({str(error)[:200]}). Check the data folder {home}."
    if isinstance(error, OSError) and error.filename is None:
        reason = error.strerror or str(error) or type(error).__name__
        return f"The system refused an operation: {reason}. Check the data folder {home}."
    if isinstance(error, OSError):
        where = error.filename
        if error.filename2 is not None:
            where = f"{where} → {error.filename2}"
        reason = error.strerror or str(error) or type(error).__name__
        if error.errno == errno.ENOSPC:
            hint = "Free some space on that disk, then try again."
        elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "Make the data folder writable by this user, or set $MIRAKL_WOO_HOME."
        elif error.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
            hint = (
                "A file is where the connector expects a folder (or the reverse); move it "
                "aside, or set $MIRAKL_WOO_HOME to another folder."
            )
        else:
            hint = "Check the data folder, or set $MIRAKL_WOO_HOME to another folder."
        return f"Cannot use {where}: {reason}. {hint}"
    if isinstance(error, ValueError) and settings is not None:  # JSON, text encoding
        culprit = _unreadable_json(settings.secrets_path)
        if culprit:
            return (
                f"The secrets file {culprit} is not valid JSON. Move it aside and connect the "
                "accounts again (the secrets cannot be recovered from anywhere else)."
            )
    where = "; details are in the log file of the data folder" if file_logging() else ""
    return f"unexpected error ({type(error).__name__}: {str(error)[:200]}){where}."


def _unreadable_json(path: Any) -> str | None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return str(path)
    return None


if __name__ == "__main__":
    sys.exit(main())
