"""`mirakl-woo`: the scriptable face of the engine. Headless commands never import Textual."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from connector.errors import ConnectorError, UsageError
from connector.secret import Secret

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("connector.cli")

if TYPE_CHECKING:
    import argparse


def build_parser() -> argparse.ArgumentParser:
    import argparse  # only when there are arguments to parse: `mirakl-woo` alone skips it

    class _Parser(argparse.ArgumentParser):
        """argparse echoes unknown arguments; a secret pasted on the command line must not be."""

        def error(self, message: str) -> NoReturn:
            if message.startswith("unrecognized arguments:"):
                flags = [
                    word.split("=", 1)[0] for word in message.split()[2:] if word.startswith("-")
                ]
                message = "unrecognized arguments" + (f": {' '.join(flags)}" if flags else "")
                message += " (secrets are read from the environment or stdin, never from arguments)"
            self.print_usage(sys.stderr)
            self.exit(EXIT_USAGE, f"mirakl-woo: error: {message}\n")

    parser = _Parser(
        prog="mirakl-woo",
        description="Connect a WooCommerce store to Mirakl Connect. Without a command: the app.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser("demo", help="open the app against local sandbox servers")
    demo.add_argument("--connected", action="store_true", help="start with both accounts set up")
    demo.add_argument("--catalog-size", type=int, default=1500, metavar="N")
    demo.add_argument("--interval", type=float, default=2.0, metavar="SECONDS")

    sandbox = sub.add_parser("sandbox", help="run only the sandbox servers")
    sandbox.add_argument("--catalog-size", type=int, default=1500, metavar="N")
    sandbox.add_argument("--interval", type=float, default=None, metavar="SECONDS")
    sandbox.add_argument("--mirakl-port", type=int, default=0)
    sandbox.add_argument("--woo-port", type=int, default=0)
    sandbox.add_argument(
        "--woo-latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the store answers each request this much later, as a real host does",
    )

    connect = sub.add_parser("connect", help="authorize an account")
    which = connect.add_subparsers(dest="system", required=True, parser_class=_Parser)
    mirakl = which.add_parser(
        "mirakl", help="Mirakl Connect (secret from $MIRAKL_WOO_CLIENT_SECRET or stdin)"
    )
    mirakl.add_argument("--client-id", required=True)
    mirakl.add_argument("--company-id", default=None)
    woo = which.add_parser(
        "woocommerce", help="a WooCommerce store (secret from $MIRAKL_WOO_CONSUMER_SECRET or stdin)"
    )
    woo.add_argument("--url", required=True)
    woo.add_argument(
        "--consumer-key",
        default=None,
        help="the ck_ key; or set $MIRAKL_WOO_CONSUMER_KEY to keep it out of `ps`",
    )

    status = sub.add_parser("status", help="accounts, sync setting, ledger counts, running job")
    status.add_argument("--json", action="store_true")

    sync = sub.add_parser("sync", help="one full sync pass WooCommerce → Mirakl Connect")
    sync.add_argument("--json", action="store_true")

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
    disconnect.add_argument("--json", action="store_true")

    jobs = sub.add_parser("jobs", help="the running or interrupted job; `jobs resume` resumes it")
    jobs.add_argument("action", nargs="?", choices=("show", "resume"), default="show")
    jobs.add_argument("--json", action="store_true")
    return parser


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


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def _engine() -> Any:
    from connector.engine import Engine
    from connector.redact import setup_logging

    engine = Engine.from_env()
    if engine.exists:
        setup_logging(str(engine.settings.log_path))
    return engine


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
            name = account.details.get("company_name") or account.details["client_id"]
            print(f"Mirakl Connect connected: {name} (client {account.details['client_id']}).")
        else:
            from connector.clients.woocommerce import normalize_store_url

            key = Secret(args.consumer_key or os.environ.get("MIRAKL_WOO_CONSUMER_KEY", ""))
            if not key:
                raise UsageError(
                    "No consumer key given.",
                    "Pass --consumer-key or set $MIRAKL_WOO_CONSUMER_KEY.",
                )
            normalize_store_url(args.url)  # a bad URL is refused before the secret is asked
            onboarding.check_woo_key(key)
            secret = read_secret("MIRAKL_WOO_CONSUMER_SECRET", "WooCommerce consumer secret: ")
            account = asyncio.run(onboarding.connect_woocommerce(engine, args.url, key, secret))
            details = account.details
            print(
                f"WooCommerce connected: {details.get('store_name')} ({details['url']}), "
                f"WooCommerce {details.get('wc_version', '?')}, key …{details['key_last7']}."
            )
        setup_logging(str(engine.settings.log_path))
        return EXIT_OK
    finally:
        engine.close()


def cmd_status(args: argparse.Namespace) -> int:
    from connector.services.status import status

    engine = _engine()
    try:
        data = status(engine)
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
            f"since {mirakl['connected_since']}"
        )
    else:
        lines.append("Mirakl Connect  not connected")
    if woo:
        lines.append(
            f"WooCommerce     {woo.get('store_name')}  {woo['url']}  key …{woo['key_last7']}  "
            f"since {woo['connected_since']}"
        )
    else:
        lines.append("WooCommerce     not connected")
    lines.append(f"Sync products   {'on' if data['sync_products'] else 'off'}")
    products = data["products"]
    lines.append(
        "Products        "
        + "  ".join(f"{k} {v}" for k, v in sorted(products.items()) if k != "linked")
        + f"  (linked {products['linked']})"
    )
    job = data["job"]
    if job:
        lines.append(f"Job             {job['kind']} {job['state']} {job['done']}/{job['total']}")
    lines.append(f"Data folder     {data['data_folder']}")
    return "\n".join(lines)


class _ProgressLines:
    """Progress on stderr: one line a second, rewritten in place on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.dirty = False

    def __call__(self, event: Any) -> None:
        import time

        from connector.events import Activity, Progress, Waiting, format_duration

        now = time.monotonic()
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
            self._write(event.message, transient=False)

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


def cmd_sync(args: argparse.Namespace) -> int:
    from connector.services.sync import run_sync

    engine = _engine()
    progress = _ProgressLines()
    try:
        report = _run_job(lambda: run_sync(engine, on_event=progress))
    finally:
        progress.close()
        engine.close()
    if args.json:
        _print_json(report.to_dict())
    elif report.disabled:
        print("Sync Product is off in Product Settings: nothing was pushed.")
    else:
        print(
            f"Sync done: {report.pushed} pushed, {report.unchanged} unchanged, "
            f"{report.zeroed} set to 0, {report.failed} failed, {report.skipped} skipped "
            f"({report.calls} call(s), {report.seconds:.1f}s)."
        )
        for reason, count in report.skipped_reasons.items():
            print(f"  skipped {count}: {reason}")
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
            lambda: run_disconnect(engine, args.catalog, args.confirm, on_event=progress)
        )
    finally:
        progress.close()
        engine.close()
    if args.json:
        _print_json(receipt.to_dict())
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
                    f"{job['kind']}{f' ({option})' if option else ''}: {where}, "
                    f"{job['step'] or 'starting'}, {job['done']}/{job['total']}"
                    + (f" — {job['error']}" if job["error"] and not job["runner_active"] else "")
                )
                if not job["runner_active"]:
                    print("Resume it with `mirakl-woo jobs resume`.")
            return EXIT_OK
        progress = _ProgressLines()
        try:
            result = _run_job(lambda: background.resume(engine, on_event=progress))
        finally:
            progress.close()
        if args.json:
            _print_json(result)
        else:
            print(f"{result['kind']} finished.")
        return EXIT_OK
    finally:
        engine.close()


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connector.sandbox.faults import Faults
    from connector.sandbox.server import SandboxServers
    from connector.settings import Settings

    interval = args.interval if args.interval is not None else Settings.from_env().min_interval
    if args.woo_latency < 0:
        raise UsageError("--woo-latency must be 0 or more seconds.")
    servers = SandboxServers(
        catalog_size=args.catalog_size,
        interval=interval,
        mirakl_port=args.mirakl_port,
        woo_port=args.woo_port,
        woo_faults=Faults(latency=args.woo_latency) if args.woo_latency else None,
    )

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


def cmd_tui(args: argparse.Namespace | None) -> int:
    from tui.launch import run_app

    return run_app()


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.launch import run_demo

    return run_demo(
        connected=args.connected, catalog_size=args.catalog_size, interval=args.interval
    )


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_tui,
    "demo": cmd_demo,
    "sandbox": cmd_sandbox,
    "connect": cmd_connect,
    "status": cmd_status,
    "sync": cmd_sync,
    "disconnect": cmd_disconnect,
    "jobs": cmd_jobs,
}


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        if not words:  # the app: no parser needed on the path to its first frame
            return cmd_tui(None)
        args = build_parser().parse_args(words)
        return COMMANDS[args.command](args)
    except ConnectorError as error:
        log.info("command failed: %s", error.one_line(), exc_info=True)
        print(f"mirakl-woo: {error.one_line()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("mirakl-woo: interrupted.", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: one line, details in the log
        log.exception("unexpected error")
        print(
            f"mirakl-woo: unexpected error ({type(error).__name__}); "
            "details are in the log file of the data folder.",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
