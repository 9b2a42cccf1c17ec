"""The CLI as scripts use it: a real process, real loopback HTTP, exit codes of the contract."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.server import SandboxServers
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

INTERVAL = 0.3


@pytest.fixture(scope="module")
def servers() -> Iterator[SandboxServers]:
    with SandboxServers(catalog_size=1600, interval=INTERVAL) as running:
        yield running


@pytest.fixture(scope="module")
def html_url() -> Iterator[str]:
    """A server that answers every request with a web page, like a captive portal or CDN."""

    class Page(BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<!doctype html><html><body>Just a moment...</body></html>"
            self.send_response(403)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def cli_env(home: Path, servers: SandboxServers, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
    env.update(servers.env())
    env["MIRAKL_WOO_HOME"] = str(home)
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def connect_both(env: dict[str, str], servers: SandboxServers) -> None:
    mirakl = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert mirakl.returncode == 0, mirakl.stderr
    woo = run(
        env | {"MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET},
        "connect", "woocommerce", "--url", servers.woo_url, "--consumer-key", DEMO_CONSUMER_KEY,
    )
    assert woo.returncode == 0, woo.stderr


def connected_and_synced(home: Path, servers: SandboxServers) -> tuple[dict[str, str], int]:
    """Both accounts connected and one sync done through the CLI; returns the env and the
    number of products pushed."""
    env = cli_env(home, servers)
    connect_both(env, servers)
    with sqlite3.connect(home / "mirakl-woo.sqlite3") as db:
        db.execute(
            "INSERT OR REPLACE INTO settings VALUES ('product_options', ?)",
            (json.dumps({"sync_products": True}),),
        )
    synced = run(env, "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    return env, json.loads(synced.stdout)["pushed"]


def test_a_product_gone_from_the_store_is_set_to_0_in_the_same_words_everywhere(
    tmp_path: Path,
) -> None:
    """What the app calls "set to 0" the JSON calls `set_to_0`; counts carry separators."""
    with SandboxServers(catalog_size=1200, interval=0.05) as servers:
        env, pushed = connected_and_synced(tmp_path / "home", servers)
        assert pushed > 1000

        def a_simple_product() -> dict[str, object]:
            return next(
                p for p in servers.woo.catalog.iter_products()
                if p["type"] == "simple" and p["sku"] and p["status"] == "publish"
            )  # fmt: skip

        servers.woo.catalog.delete_product(a_simple_product()["id"])
        again = run(env, "sync", "--json")
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert report["set_to_0"] == 1 and "zeroed" not in report
        status = json.loads(run(env, "status", "--json").stdout)
        assert status["products"]["set_to_0"] == 1 and "zeroed" not in status["products"]
        assert status["last_sync"]["set_to_0"] == 1
        servers.woo.catalog.delete_product(a_simple_product()["id"])
        said = run(env, "sync").stdout
        assert "1 set to 0" in said and f"{report['unchanged'] - 1:,} unchanged" in said, said
        assert f"{report['unchanged'] - 1:,}" != str(report["unchanged"] - 1)  # 1,000 and more


def start_disconnect(env: dict[str, str], option: str) -> subprocess.Popen[str]:
    """A disconnect in another process, returned once its journal holds the first batch."""
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "disconnect", "--catalog", option,
         "--confirm", "disconnect"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    db = sqlite3.connect(Path(env["MIRAKL_WOO_HOME"]) / "mirakl-woo.sqlite3")
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            row = db.execute("SELECT done FROM jobs WHERE kind = 'disconnect'").fetchone()
            if row and row[0] >= 1000:
                return process
            time.sleep(0.01)
    finally:
        db.close()
    process.kill()
    raise AssertionError("the disconnect never recorded its first batch")


def all_text(home: Path, *results: subprocess.CompletedProcess[str]) -> str:
    """Everything the CLI printed and everything it wrote, except the secrets file itself."""
    parts = [r.stdout + r.stderr for r in results]
    if home.exists():
        for path in home.rglob("*"):
            if path.is_file() and path.name != "secrets.json":
                parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_status_of_a_fresh_machine_creates_nothing(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    result = run(cli_env(home, servers), "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mirakl"] is None and data["woocommerce"] is None
    assert data["sync_products"] is False
    assert data["products"] == {
        "linked": 0,
        "taken_over": 0,
        "already_on_mirakl": 0,
        "woo_products": 0,
        "changed_by_disconnect": 0,
    }
    assert data["job"] is None and data["last_sync"] is None
    assert not home.exists()


def test_connect_then_status_over_loopback(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    env = cli_env(home, servers)
    connect_both(env, servers)
    data = json.loads(run(env, "status", "--json").stdout)
    assert data["mirakl"]["client_id"] == DEMO_CLIENT_ID
    assert data["woocommerce"]["url"] == servers.woo_url
    assert data["woocommerce"]["key_last7"] == DEMO_CONSUMER_KEY[-7:]
    assert data["woocommerce"]["auth_mode"] == "oauth1"  # http:// store
    text = run(env, "status")
    assert "Demo Seller Co." in text.stdout and "Demo Store" in text.stdout


def test_secrets_never_printed_nor_written_outside_the_secrets_file(
    tmp_path: Path, servers
) -> None:
    home = tmp_path / "home"
    env = cli_env(home, servers)
    good = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    woo = run(
        env | {"MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET},
        "connect", "woocommerce", "--url", servers.woo_url, "--consumer-key", DEMO_CONSUMER_KEY,
    )
    bad = run(
        env | {"MIRAKL_WOO_CONSUMER_SECRET": "cs_" + "1" * 40},
        "connect", "woocommerce", "--url", servers.woo_url, "--consumer-key", DEMO_CONSUMER_KEY,
    )
    status = run(env, "status", "--json")
    assert good.returncode == 0 and woo.returncode == 0 and bad.returncode == 3
    text = all_text(home, good, woo, bad, status)
    for secret in (DEMO_CLIENT_SECRET, DEMO_CONSUMER_SECRET, DEMO_CONSUMER_KEY, "cs_" + "1" * 40):
        assert secret not in text
    assert (home / "secrets.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "words", [["--client-secret", "hunter2-secret"], ["--client-secret=hunter2-secret"]]
)
def test_a_secret_in_argv_is_refused_without_echoing_it(
    tmp_path: Path, servers, words: list[str]
) -> None:
    result = run(
        cli_env(tmp_path / "home", servers), "connect", "mirakl", "--client-id", DEMO_CLIENT_ID,
        *words,
    )  # fmt: skip
    assert result.returncode == 2
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "--client-secret" in result.stderr


def test_the_consumer_key_can_stay_out_of_argv(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    env = cli_env(
        home,
        servers,
        MIRAKL_WOO_CONSUMER_KEY=DEMO_CONSUMER_KEY,
        MIRAKL_WOO_CONSUMER_SECRET=DEMO_CONSUMER_SECRET,
    )
    result = run(env, "connect", "woocommerce", "--url", servers.woo_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(run(env, "status", "--json").stdout)["woocommerce"]["key_last7"] == CK[-7:]


WOO = ["connect", "woocommerce", "--consumer-key"]
CK = DEMO_CONSUMER_KEY
CS = DEMO_CONSUMER_SECRET


@pytest.mark.parametrize(
    ("args", "secret", "code"),
    [
        pytest.param([*WOO, CK, "--url", ""], CS, 2, id="empty-url"),
        pytest.param([*WOO, CK, "--url", "http://"], CS, 2, id="malformed-url"),
        pytest.param([*WOO, CK, "--url", "{mirakl}"], CS, 4, id="not-wordpress"),
        pytest.param([*WOO, CK, "--url", "{html}"], CS, 4, id="html-firewall"),
        pytest.param([*WOO, CK, "--url", "http://127.0.0.1:9"], CS, 4, id="unreachable"),
        pytest.param([*WOO, "ck_" + "a" * 40, "--url", "{woo}"], CS, 3, id="unknown-key"),
        pytest.param([*WOO, CK, "--url", "{woo}"], "cs_" + "b" * 40, 3, id="wrong-secret"),
        pytest.param([*WOO, CK, "--url", "{woo}"], "", 2, id="no-secret"),
        pytest.param(["connect", "mirakl", "--client-id", "nobody"], DEMO_CLIENT_SECRET, 3,
                     id="unknown-client"),
        pytest.param(["connect", "mirakl", "--client-id", DEMO_CLIENT_ID], "not-the-secret", 3,
                     id="wrong-client-secret"),
        pytest.param(["connect", "mirakl", "--client-id", DEMO_CLIENT_ID], "", 2, id="no-secret"),
    ],
)  # fmt: skip
def test_bad_input_one_line_exit_code_and_nothing_written(
    tmp_path: Path, servers, html_url: str, args: list[str], secret: str, code: int
) -> None:
    home = tmp_path / "home"
    urls = {"{woo}": servers.woo_url, "{mirakl}": servers.mirakl_url, "{html}": html_url}
    args = [urls.get(a, a) for a in args]
    result = run(cli_env(home, servers), *args, stdin=secret)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirakl-woo:")
    for secret in (CK, CS, DEMO_CLIENT_SECRET):
        assert secret not in result.stdout + result.stderr
    assert not home.exists()


def test_a_token_url_answering_html_is_unavailable(tmp_path: Path, servers, html_url) -> None:
    home = tmp_path / "home"
    env = cli_env(home, servers, MIRAKL_WOO_AUTH_URL=f"{html_url}/oauth/token")
    result = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert result.returncode == 4, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not home.exists()


def test_disconnect_needs_the_exact_word(tmp_path: Path, servers) -> None:
    env = cli_env(tmp_path / "home", servers)
    for word in ("Disconnect", "yes"):
        result = run(env, "disconnect", "--catalog", "keep", "--confirm", word)
        assert result.returncode == 2
    assert run(env, "disconnect", "--catalog", "keep").returncode == 2
    assert run(env, "disconnect", "--catalog", "all", "--confirm", "disconnect").returncode == 2


def test_sync_then_disconnect_killed_mid_job_resumes(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    env, pushed = connected_and_synced(home, servers)
    assert pushed > 1000
    before = len(servers.mirakl.calls_of("delete"))
    process = start_disconnect(env, "delete")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert home.exists()

    status = json.loads(run(env, "status", "--json").stdout)
    assert status["job"]["kind"] == "disconnect" and status["job"]["state"] == "interrupted"
    assert status["mirakl"] is not None

    # The command line is right; the data folder's state refuses it: 1, not 2 (usage).
    refused = run(env, "sync", "--json")
    assert refused.returncode == 1, refused.stderr
    assert "disconnect is unfinished" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(refused.stdout)["error"]["code"] == "sync_refused"

    resumed = run(env, "disconnect", "--catalog", "delete", "--confirm", "disconnect", "--json")
    assert resumed.returncode == 0, resumed.stderr
    receipt = json.loads(resumed.stdout)
    assert receipt["kind"] == "disconnect"
    assert receipt["changed"] == pushed
    deletes = [c for c in servers.mirakl.calls_of("delete")[before:] if c.status == 202]
    assert sum(c.items for c in deletes) == pushed  # no batch sent twice
    assert not home.exists()


def test_jobs_on_a_fresh_machine(tmp_path: Path, servers) -> None:
    env = cli_env(tmp_path / "home", servers)
    shown = run(env, "jobs", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) is None
    resumed = run(env, "jobs", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Nothing to resume") and resumed.stderr == ""
    as_json = run(env, "jobs", "resume", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) is None


def test_interrupted_disconnect_resumed_by_a_detached_runner(tmp_path: Path, servers) -> None:
    """`Continue in background`: a runner in its own session finishes the journaled job."""
    from connector.engine import Engine
    from connector.services.background import spawn_runner
    from connector.settings import Settings

    home = tmp_path / "home"
    env, _ = connected_and_synced(home, servers)
    process = start_disconnect(env, "deactivate")
    process.send_signal(signal.SIGHUP)  # the SSH session dropped
    assert process.wait(10) == 5, process.stderr.read() if process.stderr else ""

    shown = json.loads(run(env, "jobs", "--json").stdout)
    assert shown["kind"] == "disconnect" and shown["state"] == "interrupted"
    assert shown["params"] == {"option": "deactivate"} and not shown["runner_active"]

    linked = [
        r[0]
        for r in sqlite3.connect(home / "mirakl-woo.sqlite3").execute(
            "SELECT mirakl_id FROM ledger WHERE on_mirakl = 1"
        )
    ]
    pid = spawn_runner(Engine(Settings.from_env(env)))
    assert os.getsid(pid) != os.getsid(0)  # its own session: a closed terminal does not reach it
    deadline = time.monotonic() + 30
    while home.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not home.exists()
    for mirakl_id in linked:
        quantities = servers.mirakl.products[mirakl_id]["quantities"]
        assert all(q["available_quantity"] == 0 for q in quantities)


def test_the_sandbox_refuses_a_negative_store_latency(tmp_path: Path, servers) -> None:
    result = run(cli_env(tmp_path / "home", servers), "sandbox", "--woo-latency", "-1")
    assert result.returncode == 2
    assert "--woo-latency" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "bad",
    [["--woo-fail-status", "200"], ["--woo-fail-from", "0"], ["--mirakl-hold-reply", "-2"],
     ["--seller-products", "-1"]],
)  # fmt: skip
def test_the_sandbox_refuses_a_bad_fault(tmp_path: Path, servers, bad: list[str]) -> None:
    result = run(cli_env(tmp_path / "home", servers), "sandbox", *bad)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert bad[0] in result.stderr


def test_the_sandbox_command_serves_a_seller_with_products_of_their_own(tmp_path: Path) -> None:
    """`mirakl-woo sandbox` as a person trying the ownership rule by hand would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
    env["MIRAKL_WOO_HOME"] = str(tmp_path / "home")
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--catalog-size", "60",
         "--interval", "0.05", "--seller-products", "6"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sandbox.stdout is not None
        printed: list[str] = []
        while not any("MIRAKL_WOO_MIN_INTERVAL" in line for line in printed):
            line = sandbox.stdout.readline()
            assert line, sandbox.stderr.read() if sandbox.stderr else "sandbox ended"
            printed.append(line)
        for line in printed:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                env[name] = value
        woo_url = next(line.split()[3] for line in printed if "WooCommerce store URL" in line)
        assert any("seller's own products     6" in line for line in printed)
        env["MIRAKL_WOO_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
        env["MIRAKL_WOO_CONSUMER_SECRET"] = DEMO_CONSUMER_SECRET
        for args in (
            ("connect", "mirakl", "--client-id", DEMO_CLIENT_ID),
            ("connect", "woocommerce", "--url", woo_url, "--consumer-key", DEMO_CONSUMER_KEY),
        ):
            done = run(env, *args)
            assert done.returncode == 0, done.stderr
        with sqlite3.connect(tmp_path / "home" / "mirakl-woo.sqlite3") as db:
            db.execute(
                "INSERT OR REPLACE INTO settings VALUES ('product_options', ?)",
                (json.dumps({"sync_products": True}),),
            )
        synced = run(env, "sync", "--json")
        assert synced.returncode == 0, synced.stderr
        report = json.loads(synced.stdout)
        not_ours = "already on Mirakl Connect, not created by the connector"
        assert report["skipped_reasons"][not_ours] == 3
        shown = run(env, "status")
        assert "3 already on Mirakl Connect, not created by the connector: left alone" in (
            " ".join(shown.stdout.split())
        )
    finally:
        sandbox.terminate()
        sandbox.wait(10)


# --- argparse never repeats a value (issue 9, item 5) -------------------------------------

SECRETS = [
    "Sx9hunter2Q",
    "pass word with spaces",
    "a'b\"c\\d-quote-secret",
    "ünïcödé-sécret",
    "status,--json",
    "x=Sx9hunter2Q=y",
]


def _bad_command_lines() -> list[list[str]]:
    lines: list[list[str]] = []
    for s in SECRETS:
        lines += [
            [s],
            [s, "status"],
            ["connect", s],
            ["connect", "mirakl", "--client-id", "x", s],
            ["connect", "mirakl", "--client-id", "x", "--client-secret", s],
            ["connect", "mirakl", "--client-id", "x", f"--client-secret={s}"],
            ["connect", "mirakl", "--client-id", "x", f"--c={s}"],
            ["connect", "mirakl", f"-s{s}"],
            ["connect", "mirakl", "--client-id", f"-{s}"],
            ["disconnect", "--catalog", s, "--confirm", "disconnect"],
            ["sandbox", "--catalog-size", s],
            ["jobs", s],
        ]
    s = SECRETS[0]
    lines += [
        ["status", s],
        ["status", f"--json={s}"],
        ["status", "--js", s],
        ["status", f"-j{s}"],
        [f"-h{s}"],
        [f"--help={s}"],
        [f"--version={s}"],
        [f"--{s}"],
        [f"-{s}"],
        ["--", s],
        ["connect", "mirakl", s],
        ["connect", "mirakl", "--client", s],
        ["connect", "mirakl", "--cl", s],
        ["connect", "mirakl", f"--client={s}"],
        ["connect", "mirakl", "--client-id", "x", f"-s{s}"],
        ["connect", "mirakl", "--client-id", f"--{s}"],
        ["connect", "mirakl", "--company-id", f"-{s}", "--client-id", "x"],
        ["connect", "mirakl", "--client-id", "x", "--company", s],
        ["connect", "woocommerce", "--url", f"-{s}"],
        ["connect", "woocommerce", "--url", "x", "--consumer-key", f"-{s}"],
        ["connect", "woocommerce", "--url", "x", "--consumer-secret", s],
        ["connect", "woocommerce", "--url", "x", f"--consumer-s={s}"],
        ["connect", "woocommerce", f"--consumer={s}"],
        ["connect", "woocommerce", f"--url={s}"],
        ["sync", s],
        ["sync", "--json", s],
        ["sync", f"--json={s}"],
        ["disconnect", f"--catalog={s}"],
        ["disconnect", "--catalog", "keep", "--confirm", f"-{s}"],
        ["disconnect", "--cat", "keep", "--confirm", s],
        ["disconnect", "--catalog", "keep", "--confirm", s],
        ["jobs", "resume", s],
        ["jobs", f"--json={s}"],
        ["sandbox", "--interval", s],
        ["sandbox", "--mirakl-port", s],
        ["sandbox", "--woo-latency", s],
        ["sandbox", f"--woo-port={s}"],
        ["demo", "--catalog-size", s],
        ["demo", f"--interval={s}"],
        ["demo", f"--connected={s}"],
    ]
    return lines


BAD_LINES = _bad_command_lines()


@pytest.mark.parametrize("words", BAD_LINES, ids=[str(i) for i in range(len(BAD_LINES))])
def test_argparse_never_repeats_a_value(tmp_path: Path, words: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
    env["MIRAKL_WOO_HOME"] = str(tmp_path / "home")
    result = run(env, *words)
    secret = next(s for s in SECRETS if any(s in w for w in words))
    assert result.returncode == 2, result.stderr
    shown = result.stdout + result.stderr
    for part in {secret, repr(secret), *secret.split()} - {"status", "--json", "x", "y"}:
        if len(part) >= 4:
            assert part not in shown, shown
    if "--json" in words:  # a script asked for JSON: the failure is JSON too
        assert json.loads(result.stdout)["error"]["code"] == "usage_error"
    else:
        assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirakl-woo"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()


def test_argparse_messages_stay_helpful(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
    env["MIRAKL_WOO_HOME"] = str(tmp_path / "home")
    missing = run(env, "connect", "mirakl")
    assert "--client-id" in missing.stderr and "mirakl-woo connect mirakl" in missing.stderr
    command = run(env, "stauts")
    assert "invalid choice" in command.stderr and "'status'" in command.stderr
    option = run(env, "disconnect", "--catalog", "all", "--confirm", "disconnect")
    assert "--catalog" in option.stderr and "deactivate" in option.stderr
    secret = run(env, "connect", "mirakl", "--client-id", "x", "--client-secret=abc123456")
    assert "--client-secret" in secret.stderr and "stdin" in secret.stderr
    version = run(env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("mirakl-woo ")


# --- remote text is scrubbed before it is shown or stored (issue 9, item 5) ----------------


def _every_byte(home: Path) -> bytes:
    """The database (and its -wal, -shm), the log files, the cache: everything but the
    secrets file."""
    return b"\n".join(
        path.read_bytes()
        for path in sorted(home.rglob("*"))
        if path.is_file() and path.name != "secrets.json"
    )


def test_a_token_endpoint_echoing_the_form_never_repeats_the_secret(
    tmp_path: Path, servers
) -> None:
    from urllib.parse import quote, quote_plus

    home = tmp_path / "home"
    env = cli_env(home, servers)
    first = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert first.returncode == 0, first.stderr
    new_secret = "n3w/S3cret+with&form=chars-" + os.urandom(6).hex()
    servers.mirakl.echo_token_form = True
    try:
        refused = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=new_secret)
        reversed_ = run(
            env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=new_secret[::-1]
        )
    finally:
        servers.mirakl.echo_token_form = False
    assert refused.returncode == 1, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "token endpoint refused the request (400)" in refused.stderr
    assert servers.mirakl.calls_of("token")[-1].status == 400, "the form was echoed"
    status = run(env, "status", "--json")
    jobs = run(env, "jobs")
    shown = "".join(r.stdout + r.stderr for r in (refused, reversed_, status, jobs))
    stored = _every_byte(home)
    assert stored, "the database and the log file exist"
    for secret in (new_secret, new_secret[::-1]):
        for form in (secret, quote_plus(secret), quote(secret, safe=""), quote(secret)):
            assert form not in shown
            assert form.encode() not in stored
    assert DEMO_CLIENT_SECRET not in shown and DEMO_CLIENT_SECRET.encode() not in stored


def _in_process(monkeypatch: pytest.MonkeyPatch, home: Path, transport: object) -> None:
    """`main()` in this process, its Engine talking to an in-process sandbox (https://)."""
    import logging

    from connector.engine import Engine

    for name in [k for k in os.environ if k.startswith("MIRAKL_WOO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MIRAKL_WOO_HOME", str(home))
    real = Engine.from_env
    monkeypatch.setattr(
        Engine, "from_env", classmethod(lambda cls, **kw: real(woo_transport=transport, **kw))
    )
    # what main() sets for the whole process
    monkeypatch.setattr(logging, "lastResort", logging.lastResort)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)


@pytest.mark.parametrize("strip", [False, True], ids=["header-arrives", "header-stripped"])
def test_an_unknown_key_over_https_exits_3_without_the_secret_in_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    strip: bool,
) -> None:  # fmt: skip
    import httpx

    from connector.cli import main
    from connector.redact import setup_logging
    from connector.sandbox.woocommerce import WooSandbox

    sandbox = WooSandbox(strip_authorization=strip)
    _in_process(monkeypatch, tmp_path / "home", httpx.ASGITransport(app=sandbox.app))
    monkeypatch.setenv("MIRAKL_WOO_CONSUMER_SECRET", CS)
    try:
        code = main(["connect", "woocommerce", "--url", "https://shop.test",
                     "--consumer-key", "ck_" + "7" * 40])  # fmt: skip
    finally:
        setup_logging(None)
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.strip() == "mirakl-woo: WooCommerce does not know this consumer key. " \
        "Check the key (it starts with ck_) in WordPress admin › WooCommerce › Settings › " \
        "Advanced › REST API; it may have been revoked."  # fmt: skip
    assert sandbox.query_credentials, "the probe went out"
    assert CS not in [secret for _key, secret in sandbox.query_credentials]
    assert CS not in captured.out + captured.err


def test_a_host_stripping_the_header_connects_in_query_mode_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import httpx

    from connector.cli import main
    from connector.redact import setup_logging
    from connector.sandbox.woocommerce import WooSandbox

    home = tmp_path / "home"
    sandbox = WooSandbox(strip_authorization=True)
    _in_process(monkeypatch, home, httpx.ASGITransport(app=sandbox.app))
    monkeypatch.setenv("MIRAKL_WOO_CONSUMER_SECRET", CS)
    try:
        code = main(["connect", "woocommerce", "--url", "https://shop.test",
                     "--consumer-key", CK])  # fmt: skip
        connected = capsys.readouterr()
        assert main(["status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert main(["status"]) == 0
        text = capsys.readouterr().out
    finally:
        setup_logging(None)
    assert code == 0, connected.err
    assert connected.out.startswith("WooCommerce connected: Demo Store")
    warning = connected.err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("mirakl-woo: warning: ")
    assert "strips the Authorization header" in warning[0] and "URL" in warning[0]
    assert status["woocommerce"]["auth_mode"] == "query"
    assert "strips the Authorization header" in text
    assert CS not in connected.out + connected.err + text
    assert CS.encode() not in _every_byte(home)


# --- environment faults: one line, exit 1, nothing else (issue 9, item 6) -----------------


def _assert_one_line_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirakl-woo: "), result.stderr
    assert "Traceback" not in result.stderr
    if "--json" in result.args:  # the same failure for a script: JSON on stdout
        assert json.loads(result.stdout)["error"]["message"] in lines[0]
    else:
        assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _connected_mirakl(home: Path, servers: SandboxServers) -> dict[str, str]:
    env = cli_env(home, servers)
    result = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert result.returncode == 0, result.stderr
    return env


@pytest.mark.parametrize(
    "command",
    [["status"], ["status", "--json"], ["jobs"], ["jobs", "resume"], ["sync"],
     ["disconnect", "--catalog", "keep", "--confirm", "disconnect"],
     ["connect", "mirakl", "--client-id", DEMO_CLIENT_ID]],
)  # fmt: skip
def test_a_corrupt_database_is_one_line(tmp_path: Path, servers, command: list[str]) -> None:
    home = tmp_path / "home"
    env = _connected_mirakl(home, servers)
    for suffix in ("-wal", "-shm"):
        (home / f"mirakl-woo.sqlite3{suffix}").unlink(missing_ok=True)
    (home / "mirakl-woo.sqlite3").write_bytes(b"this is not a database " * 300)
    result = run(env, *command, stdin=DEMO_CLIENT_SECRET)
    _assert_one_line_failure(result, str(home / "mirakl-woo.sqlite3"))


def test_a_file_where_the_logs_folder_should_be_is_one_line(tmp_path: Path, servers) -> None:
    import shutil

    home = tmp_path / "home"
    env = _connected_mirakl(home, servers)
    shutil.rmtree(home / "logs")
    (home / "logs").write_text("not a folder")
    for command in (["status"], ["jobs"], ["sync"]):
        _assert_one_line_failure(run(env, *command), str(home / "logs"))


def test_a_data_folder_inside_a_file_is_one_line(tmp_path: Path, servers) -> None:
    """What a read-only data folder looks like to a root user: the folder cannot be made."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    home = blocker / "home"
    env = cli_env(home, servers)
    result = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    _assert_one_line_failure(result, str(blocker))
    assert DEMO_CLIENT_SECRET not in result.stderr


def test_a_read_only_data_folder_is_one_line(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    env = _connected_mirakl(home, servers)
    if os.geteuid() == 0:  # root writes through any mode: a file where the cache folder goes
        import shutil

        shutil.rmtree(home / "cache")
        (home / "cache").write_text("")
        expected = str(home / "cache")
    else:
        home.chmod(0o500)
        expected = str(home)
    try:
        result = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID,
                     stdin=DEMO_CLIENT_SECRET)  # fmt: skip
    finally:
        home.chmod(0o700)
    _assert_one_line_failure(result, expected)


def test_an_invalid_secrets_file_is_one_line(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    env = cli_env(home, servers)
    connect_both(env, servers)
    with sqlite3.connect(home / "mirakl-woo.sqlite3") as db:
        db.execute(
            "INSERT OR REPLACE INTO settings VALUES ('product_options', ?)",
            (json.dumps({"sync_products": True}),),
        )
    (home / "secrets.json").write_text("{not json")
    _assert_one_line_failure(run(env, "sync"), str(home / "secrets.json"))
    _assert_one_line_failure(run(env, "sync", "--json"), str(home / "secrets.json"))


def test_a_full_disk_is_one_line(tmp_path: Path, servers) -> None:
    """RLIMIT_FSIZE 0: every write that grows a file fails, as on a full disk (for root too)."""
    import resource

    home = tmp_path / "home"
    env = _connected_mirakl(home, servers)

    def no_room() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    for command in (["connect", "mirakl", "--client-id", DEMO_CLIENT_ID], ["status"]):
        result = subprocess.run(
            [sys.executable, "-m", "connector.cli", *command],
            input=DEMO_CLIENT_SECRET, capture_output=True, text=True, env=env, timeout=60,
            preexec_fn=no_room,
        )  # fmt: skip
        _assert_one_line_failure(result, str(home / "mirakl-woo.sqlite3"))


def test_a_log_file_that_cannot_be_opened_is_no_log_and_no_noise(
    tmp_path: Path, servers
) -> None:
    home = tmp_path / "home"
    env = _connected_mirakl(home, servers)
    (home / "logs" / "mirakl-woo.log").unlink()
    (home / "logs" / "mirakl-woo.log").mkdir()  # a folder where the file should be
    status = run(env, "status")
    assert status.returncode == 0 and status.stderr == "", status.stderr
    assert "Demo Seller Co." in status.stdout
    sync = run(env, "sync")  # WooCommerce is not connected: a ConnectorError
    assert sync.returncode == 1 and len(sync.stderr.splitlines()) == 1, sync.stderr


def test_a_fresh_data_folder_prints_no_warning(tmp_path: Path, servers) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)  # a folder others may write: the engine logs a WARNING about it
    env = cli_env(home, servers)
    result = run(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


RAW_FAULTS = {
    "full": ("sqlite3.OperationalError('database or disk is full')", "is full"),
    "readonly": ("sqlite3.OperationalError('attempt to write a readonly database')", "read-only"),
    "not-a-db": ("sqlite3.DatabaseError('file is not a database')", "damaged"),
    "malformed": ("sqlite3.DatabaseError('database disk image is malformed')", "damaged"),
    "locked": ("sqlite3.OperationalError('database is locked')", "locked"),
    "cannot-open": ("sqlite3.OperationalError('unable to open database file')", "Cannot open"),
    "permission": ("PermissionError(13, 'Permission denied', '/srv/x/secrets.json')",
                   "/srv/x/secrets.json: Permission denied"),
    "no-space": ("OSError(28, 'No space left on device', '/srv/x/logs/mirakl-woo.log')",
                 "Free some space"),
    "not-a-dir": ("NotADirectoryError(20, 'Not a directory', '/srv/x/cache')", "/srv/x/cache"),
    "json": ("json.JSONDecodeError('Expecting value', '{not json', 1)", "secrets.json"),
    "other": ("RuntimeError('client_secret=Sx9hunter2Qzz\\nsecond line')", "RuntimeError"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RAW_FAULTS))
def test_a_raw_exception_reaching_main_is_one_line(tmp_path: Path, name: str) -> None:
    """The safety net: what the state layer did not turn into a ConnectorError, main does,
    in a real process: a WARNING, an asyncio task never awaited, then the fault."""
    raised, fragment = RAW_FAULTS[name]
    home = tmp_path / "home"
    home.mkdir()
    (home / "secrets.json").write_text("{not json")
    script = f"""
import asyncio, gc, json, logging, sqlite3, sys
import connector.cli as cli
import connector.services.status as status

async def broken():
    raise ValueError("client_secret=Sx9hunter2Qzz in a task nobody awaited")

async def forgotten():
    asyncio.get_running_loop().create_task(broken())
    await asyncio.sleep(0.01)

def fail(engine, **options):
    logging.getLogger("connector.state").warning("a warning before the fault")
    asyncio.run(forgotten())
    gc.collect()
    raise {raised}

status.status = fail
sys.exit(cli.main(["status"]))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
    env["MIRAKL_WOO_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    _assert_one_line_failure(result, fragment)
    assert "Sx9hunter2Qzz" not in result.stderr


def test_a_secrets_file_others_could_read_is_closed_and_said_once(
    tmp_path: Path, servers
) -> None:
    home = tmp_path / "home"
    env, _ = connected_and_synced(home, servers)
    secrets = home / "secrets.json"
    secrets.chmod(0o644)  # restored from a backup, say
    first = run(env, "sync")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    warning = [line for line in first.stderr.splitlines() if "warning:" in line]
    assert len(warning) == 1 and "0600" in warning[0], first.stderr
    again = run(env, "sync")
    assert "warning" not in again.stderr  # closed now: nothing more to say
