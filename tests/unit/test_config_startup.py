"""What a new user meets first (issue 24): the journal URL as a secret reference, check-config's state-dir,
statement-folder and summary checks, environment overrides named in errors, `ops health` needing only the admin
token, and the broker simulator's default port."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixgw.cli import main
from fixgw.config import AcceptorConfig, ConfigError, load_config, parse_config

DB_PASSWORD = "db-pa55-7c1e"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check-config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# ---------------------------------------------------------------- journal.url is a secret reference


def test_journal_url_resolves_from_a_secret_reference_and_never_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql+psycopg://fixgw:{DB_PASSWORD}@127.0.0.1:5432/fixgw"
    monkeypatch.setenv("FIXGW_TEST_DB_URL", url)
    path = write(tmp_path / "gw.toml", '[journal]\nurl = "env:FIXGW_TEST_DB_URL"\n')
    config = load_config(path)
    assert config.journal_url == url
    assert DB_PASSWORD not in repr(config) and DB_PASSWORD not in config.model_dump_json()
    code, out = check_config(path, capsys)
    assert code == 0, out
    assert "journal postgresql+psycopg://fixgw:***@127.0.0.1:5432/fixgw" in out
    assert DB_PASSWORD not in out


def test_journal_url_from_a_file_reference(tmp_path: Path) -> None:
    (tmp_path / "db-url").write_text(f"sqlite:///{tmp_path / 'j.db'}\n")
    config = parse_config({"journal": {"url": f"file:{tmp_path / 'db-url'}"}})
    assert config.journal_url == f"sqlite:///{tmp_path / 'j.db'}"


def test_missing_journal_url_variable_is_named_by_check_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FIXGW_TEST_DB_URL", raising=False)
    code, out = check_config(write(tmp_path / "gw.toml", '[journal]\nurl = "env:FIXGW_TEST_DB_URL"\n'), capsys)
    assert code == 1
    assert "journal.url" in out and "FIXGW_TEST_DB_URL is not set" in out


def test_a_journal_url_that_is_not_one_is_named_without_its_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIXGW_TEST_DB_URL", f"fixgw:{DB_PASSWORD}@db")  # a URL missing its scheme
    code, out = check_config(write(tmp_path / "gw.toml", '[journal]\nurl = "env:FIXGW_TEST_DB_URL"\n'), capsys)
    assert code == 1 and "journal.url: not a database URL" in out
    assert DB_PASSWORD not in out


# ---------------------------------------------------------------- state_dir writable


def test_check_config_names_a_state_dir_that_cannot_be_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    state = tmp_path / "plain-file" / "state"
    code, out = check_config(write(tmp_path / "gw.toml", f'state_dir = "{state}"\n'), capsys)
    assert code == 1
    assert "state_dir" in out and str(state) in out and "not a directory" in out


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """A folder nobody may write in, root included (root ignores mode bits, not the immutable flag)."""
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_check_config_names_an_unwritable_state_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    with immutable(locked):
        code, out = check_config(write(tmp_path / "gw.toml", f'state_dir = "{locked / "state"}"\n'), capsys)
        assert code == 1 and f"{locked / 'state'}: cannot be created, {locked} is not writable" in out
        code, out = check_config(write(tmp_path / "gw.toml", f'state_dir = "{locked}"\n'), capsys)
        assert code == 1 and f"{locked} is not writable" in out


# ---------------------------------------------------------------- recon statement folders


def recon_config(tmp_path: Path, enabled: bool, statement_dir: str | None) -> Path:
    folder = f'statement_dir = "{statement_dir}"' if statement_dir is not None else 'source = "statement"'
    return write(tmp_path / "gw.toml", f"""
state_dir = "{tmp_path / 'state'}"
[brokers.equities]
target_comp_id = "BROKER"
port = 9100
[recon]
enabled = {str(enabled).lower()}
timezone = "UTC"
[recon.venues.equities]
{folder}
""")


def test_scheduled_recon_needs_an_existing_statement_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "drop"
    code, out = check_config(recon_config(tmp_path, True, str(missing)), capsys)
    assert code == 1 and f"recon.venues.equities.statement_dir: {missing} does not exist" in out
    code, out = check_config(recon_config(tmp_path, True, None), capsys)
    assert code == 1 and "recon.venues.equities.statement_dir" in out
    code, out = check_config(recon_config(tmp_path, False, str(missing)), capsys)
    assert code == 0, out  # on demand only: `fixgw recon --statement FILE` needs no folder
    missing.mkdir()
    code, out = check_config(recon_config(tmp_path, True, str(missing)), capsys)
    assert code == 0, out


# ---------------------------------------------------------------- the summary


def test_summary_has_a_line_for_risk_admin_alerts_and_recon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIXGW_TEST_TOKEN", "t0k3n")
    monkeypatch.setenv("FIXGW_TEST_HOOK", "https://hooks.example.com/services/T0/B0/hookkey?apikey=hookkey")
    (tmp_path / "drop").mkdir()
    path = write(tmp_path / "gw.toml", f"""
state_dir = "{tmp_path / 'state'}"
[brokers.equities]
target_comp_id = "BROKER"
port = 9100
[risk.defaults]
max_order_notional = "1000000"
[risk.venues.equities]
ramp_notional_cap = "50000"
[admin]
enabled = true
port = 9881
token = "env:FIXGW_TEST_TOKEN"
[alerts.sinks.ops]
kind = "slack"
url = "env:FIXGW_TEST_HOOK"
[recon]
enabled = true
timezone = "UTC"
[recon.venues.equities]
statement_dir = "{tmp_path / 'drop'}"
""")
    code, out = check_config(path, capsys)
    assert code == 0, out
    lines = {line.split(":", 1)[0].strip(): line for line in out.splitlines()}
    assert "max_order_notional 1000000" in lines["risk"] and "1 venue(s)" in lines["risk"]
    assert "127.0.0.1:9881" in lines["admin"]
    assert "ops (slack to hooks.example.com)" in lines["alerts"]
    assert "equities (statement)" in lines["recon"] and "30 17 * * 1-5" in lines["recon"]
    assert "hookkey" not in out and "t0k3n" not in out


def test_summary_says_when_sections_are_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check_config(write(tmp_path / "gw.toml", "[risk]\nenabled = false\n"), capsys)
    assert code == 0, out
    for line in ("risk: disabled", "admin: disabled", "alerts: no sink", "recon: not scheduled"):
        assert line in out


# ---------------------------------------------------------------- environment overrides


def test_a_bad_environment_override_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_ACCEPTOR__PORT", "ninety")
    monkeypatch.setenv("FIXGW_LOG__FORMAT", "xml")
    with pytest.raises(ConfigError) as info:
        parse_config({"log": {"level": "INFO"}})
    problems = dict(info.value.problems)
    assert "FIXGW_ACCEPTOR__PORT" in problems["acceptor.port"]
    assert "FIXGW_LOG__FORMAT" in problems["log.format"]


def test_a_file_error_names_no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"acceptor": {"port": "ninety"}})
    assert "environment" not in dict(info.value.problems)["acceptor.port"]


# ---------------------------------------------------------------- ops health


@contextmanager
def readyz_server(token: str) -> Iterator[int]:
    """A stand-in admin server: /readyz answers ready to the right bearer token."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/readyz" and self.headers.get("Authorization") == f"Bearer {token}"
            body = json.dumps({"ready": True} if ok else {"detail": "no"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_ops_health_needs_only_the_admin_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIXGW_TEST_TOKEN", "health-token")
    for name in ("FIXGW_TEST_BROKER_PW", "FIXGW_TEST_DB_URL"):
        monkeypatch.delenv(name, raising=False)  # the gateway's other secrets: not this tool's business
    with readyz_server("health-token") as port:
        path = write(tmp_path / "gw.toml", f"""
name = "desk-a"
[journal]
url = "env:FIXGW_TEST_DB_URL"
[brokers.equities]
target_comp_id = "BROKER"
port = 9100
password = "env:FIXGW_TEST_BROKER_PW"
[admin]
enabled = true
port = {port}
token = "env:FIXGW_TEST_TOKEN"
""")
        assert main(["ops", "health", "--config", str(path)]) == 0
        assert "desk-a: ready" in capsys.readouterr().out
        monkeypatch.delenv("FIXGW_TEST_TOKEN")
        assert main(["ops", "health", "--config", str(path)]) == 1  # the one secret it needs
        assert "admin.token" in capsys.readouterr().err


# ---------------------------------------------------------------- the broker simulator


def test_broker_simulator_does_not_default_to_the_gateways_port() -> None:
    import inspect
    import tomllib

    from fixgw.config import DEFAULT_SPECS_DIR
    from fixgw.sim.cli import fix_broker

    port = inspect.signature(fix_broker).parameters["port"].default
    assert port != AcceptorConfig().port
    demo = tomllib.loads((DEFAULT_SPECS_DIR.parent / "sessions" / "demo.toml").read_text())
    assert port == demo["brokers"]["equities"]["port"]  # the annotated example and README agree
