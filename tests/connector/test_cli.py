"""The CLI as scripts use it: a real process, real loopback HTTP, exit codes of the contract."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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
    assert data["sync_products"] is False and data["products"] == {"linked": 0}
    assert data["job"] is None
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

    resumed = run(env, "disconnect", "--catalog", "delete", "--confirm", "disconnect", "--json")
    assert resumed.returncode == 0, resumed.stderr
    receipt = json.loads(resumed.stdout)
    assert receipt["changed"] == pushed
    deletes = [c for c in servers.mirakl.calls_of("delete")[before:] if c.status == 202]
    assert sum(c.items for c in deletes) == pushed  # no batch sent twice
    assert not home.exists()


def test_jobs_on_a_fresh_machine(tmp_path: Path, servers) -> None:
    env = cli_env(tmp_path / "home", servers)
    shown = run(env, "jobs", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) is None
    resumed = run(env, "jobs", "resume")
    assert resumed.returncode == 1
    assert "no unfinished job" in resumed.stderr


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
