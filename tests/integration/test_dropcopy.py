"""Drop copies end to end on loopback: EMS FixClients -> fixgw -> broker simulator (and a REST venue), with
drop-copy FixClients (data-dictionary validation on) as compliance.

Expected copies are derived from what really crossed the wire: every ExecutionReport the EMS clients received
(copies with DeliverToCompID) and every ExecutionReport fixgw journaled as received from a venue (copies with
OnBehalfOfCompID), each in the order it happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import WAIT, EmsSpec, Stack, cancel, new_order, replace, report, status
from waiting import wait_until

from fixgw.config import GatewayConfig, parse_config
from fixgw.dropcopy.copies import DROPCOPY_SESSION
from fixgw.dropcopy.settings import DropCopySessionConfig
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.fix.wire import parse_fix
from fixgw.model.enums import OrdStatus
from fixgw.sim.fix_client import FixClient, ReceivedMessage
from fixgw.store.journal import Journal

pytestmark = pytest.mark.timeout(90)


def with_dropcopy(config: GatewayConfig, port: int, **sessions: dict[str, Any]) -> GatewayConfig:
    sections = {name: DropCopySessionConfig(port=port, **section) for name, section in sessions.items()}
    return config.model_copy(update={"dropcopy": sections})


def dropcopy_client(tmp: Path, port: int, comp_id: str = "COMPLIANCE", *, fresh: bool = False,
                    store: str | None = None) -> FixClient:
    """`fresh`: no store and ResetSeqNumFlag=Y on Logon (asks for today's copies)."""
    extra = {"ResetOnLogon": "Y"} if fresh else None
    return FixClient(port=port, begin_string="FIX.4.4", sender_comp_id=comp_id, target_comp_id="FIXGW",
                     store_dir=None if fresh else tmp / (store or f"dc-{comp_id}"), extra_settings=extra)


def copies(client: FixClient) -> list[ReceivedMessage]:
    return [m for m in client.received if m.msg_type == "8"]


def journal_copies(url: str, account: str | None = None) -> list[list[tuple[int, str]]]:
    with Journal(url) as journal:
        rows = [parse_fix(r.raw) for r in journal.iter_messages(session=DROPCOPY_SESSION)]
    return [fields for fields in rows if account is None or dict(fields).get(1) == account]


def venue_reports(url: str, venue: str) -> list[str]:
    """ExecIDs of the ExecutionReports fixgw journaled as received from a FIX venue, in order."""
    with Journal(url) as journal:
        return [dict(parse_fix(r.raw))[17]
                for r in journal.iter_messages(session=venue, direction="in", msg_types=["8"])]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Stack, int]]:
    port = free_port()
    stack = Stack(tmp_path, ems=[EmsSpec("ems-a", "EMS-A"), EmsSpec("ems-b", "EMS-B", "FIX.4.2")])
    stack.config = with_dropcopy(stack.config, port, compliance={"target_comp_id": "COMPLIANCE"},
                                 acc2={"target_comp_id": "ACC2-ONLY", "accounts": ["ACC2"]})
    stack.gateway = Gateway(stack.config)
    try:
        yield stack.start(), port
    finally:
        stack.close()


def order_flow(stack: Stack, prefix: str) -> None:
    """Fills in slices, a broker reject, our own denial, a cancel; returns when every report arrived."""
    ems, ems_b = stack.ems("ems-a"), stack.ems("ems-b")
    ems.send(new_order(f"{prefix}1", qty="500"))
    ems_b.send(new_order(f"{prefix}2", qty="200", account="ACC2", handl_inst=True))
    ems.send(new_order(f"{prefix}3", symbol="MSFT", qty="100"))           # the broker rejects MSFT
    ems.send(new_order(f"{prefix}4", account="NOPE"))                    # denied by us: account not allowed
    report(ems, f"{prefix}1", status("2"))
    report(ems_b, f"{prefix}2", status("2"))
    report(ems, f"{prefix}3", status("8"))
    report(ems, f"{prefix}4", status("8"))


def assert_every_report_copied(stack: Stack, received: list[ReceivedMessage], journal_url: str) -> None:
    """Every ER sent to an EMS and every ER received from the broker has one copy, in order, with 797=Y."""
    assert received and all(m.get(797) == "Y" for m in received)
    for name in ("ems-a", "ems-b"):
        sent = [m.get(17) for m in copies(stack.ems(name))]
        copied = [m.get(17) for m in received if m.get(128) == name]
        assert copied == sent, name
    from_broker = [f"equities:{exec_id}" for exec_id in venue_reports(journal_url, "equities")]
    assert [m.get(17) for m in received if m.get(115) == "equities"] == from_broker
    assert len(received) == len({m.get(17) for m in received})          # nothing twice


def test_a_drop_copy_client_gets_every_execution_report_in_order(stack: tuple[Stack, int]) -> None:
    running, port = stack
    with dropcopy_client(running.tmp, port) as compliance, \
            dropcopy_client(running.tmp, port, "ACC2-ONLY") as acc2_only:
        assert compliance.wait_logged_on(WAIT) and acc2_only.wait_logged_on(WAIT)
        order_flow(running, "F")
        url = running.config.journal_url
        expected = journal_copies(url)
        assert wait_until(lambda: len(copies(compliance)) == len(expected))
        received = copies(compliance)
        assert_every_report_copied(running, received, url)
        # Our ids, the venue's, the account and the venue on a fill sent to the EMS.
        fill = next(m for m in received if m.get(11) == "F1" and m.get(150) == "F")
        assert fill.get(37) and fill.get(37) != "NONE" and fill.get(198) and fill.get(526) and fill.get(527)
        assert (fill.get(1), fill.get(30)) == ("ACC1", "equities")
        ems_fill = next(m for m in copies(running.ems()) if m.get(17) == fill.get(17))
        assert fill.get(60) == ems_fill.get(60) and fill.get(37) == ems_fill.get(37)
        # The broker's copy of the same fill: its ExecID in 527, our order id in 37, the parent ClOrdID in 526.
        venue_fill = next(m for m in received if m.get(115) == "equities" and m.get(527) == fill.get(527))
        assert venue_fill.get(37) == fill.get(37) and venue_fill.get(526) == "F1"
        # The filtered session: only ACC2's copies.
        acc2 = journal_copies(url, "ACC2")
        assert acc2 and wait_until(lambda: len(copies(acc2_only)) == len(acc2))
        assert {m.get(1) for m in copies(acc2_only)} == {"ACC2"}


def test_a_client_offline_gets_what_it_missed_by_resend(stack: tuple[Stack, int]) -> None:
    running, port = stack
    first = dropcopy_client(running.tmp, port)
    first.start()
    assert first.wait_logged_on(WAIT)
    order_flow(running, "A")
    url = running.config.journal_url
    assert wait_until(lambda: len(copies(first)) == len(journal_copies(url)))
    before = copies(first)
    first.stop()
    order_flow(running, "B")                                 # stored by QuickFIX while nobody is logged on
    running.ems().send(cancel("A1-X", "A1", qty="500"))       # too late: a reject, copied too
    report(running.ems(), "A1-X", msg_type="9")
    again = dropcopy_client(running.tmp, port)               # same FileStore: its sequence numbers go on
    with again:
        assert again.wait_logged_on(WAIT)
        expected = journal_copies(url)
        assert wait_until(lambda: len(before) + len(copies(again)) >= len(expected))
        resent = copies(again)
        assert resent and all(m.get(43) == "Y" for m in resent)   # PossDup: QuickFIX's resend from its store
        assert_every_report_copied(running, before + resent, url)


def test_a_fresh_logon_with_reset_gets_todays_copies_from_the_journal(stack: tuple[Stack, int]) -> None:
    running, port = stack
    order_flow(running, "R")                                 # nobody connected
    url = running.config.journal_url
    expected = journal_copies(url)
    with dropcopy_client(running.tmp, port, fresh=True) as fresh:
        assert fresh.wait_logged_on(WAIT)
        assert wait_until(lambda: len(copies(fresh)) >= len(expected))
        replayed = copies(fresh)
        assert all(m.get(97) == "Y" for m in replayed)
        assert [m.get(17) for m in replayed] == [dict(f)[17] for f in expected]
        order_flow(running, "S")                             # then live copies follow, without PossResend
        assert wait_until(lambda: len(copies(fresh)) == len(journal_copies(url)))
        live = copies(fresh)[len(replayed):]
        assert live and not any(m.get(97) == "Y" for m in live)
        assert_every_report_copied(running, copies(fresh), url)


def test_an_application_message_from_a_drop_copy_client_is_refused(stack: tuple[Stack, int]) -> None:
    running, port = stack
    with dropcopy_client(running.tmp, port) as compliance:
        assert compliance.wait_logged_on(WAIT)
        compliance.send(new_order("DC-1"))
        refusal = compliance.wait_for(lambda m: m.msg_type == "j", WAIT)
        assert refusal.get(372) == "D"
        assert running.gateway.core is not None and not list(running.gateway.core.book)


# ------------------------------------------------------------------------------------------ REST venue


def test_mixed_fix_and_rest_flow_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fixgw.sim.crypto_pb import CryptoPbSimulator
    from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator

    env = {"access_key": "FIXGW_TEST_DC_ACCESS_KEY", "passphrase": "FIXGW_TEST_DC_PASSPHRASE",
           "signing_key": "FIXGW_TEST_DC_SIGNING_KEY"}
    with CryptoPbSimulator() as crypto:
        crypto.configure(limit_slices=2, slice_interval_s="0.05")
        for key, variable in env.items():
            monkeypatch.setenv(variable, getattr(crypto.credentials, key))
        broker_port, port, dc_port = free_port(), free_port(), free_port()
        broker = FixBrokerSimulator(FixBrokerSimConfig(
            port=broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.2",),
            store_dir=tmp_path / "broker-store", fill_slices=1, fill_delay_ms=5))
        config = parse_config({
            "name": "dc-mixed", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
            "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
            "brokers": {"equities": {"begin_string": "FIX.4.2", "target_comp_id": "BROKER", "port": broker_port,
                                     "dialect": "fix42-broker", "quickfix": {"ReconnectInterval": 1}}},
            "venues": {"crypto": {"kind": "coinbase_prime", "base_url": crypto.coinbase_url,
                                  "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}", "day_orders": "as_gtc",
                                  **{key: f"env:{variable}" for key, variable in env.items()},
                                  "poll_interval_s": 0.1, "timeout_s": 2.0}},
            "routing": {"rules": [{"name": "crypto", "match": {"asset_class": ["crypto_spot"]},
                                   "destination": "crypto"}], "default": "equities"},
            "dropcopy": {"compliance": {"target_comp_id": "COMPLIANCE", "port": dc_port},
                         "crypto-only": {"target_comp_id": "CRYPTO-ONLY", "port": dc_port, "venues": ["crypto"]}},
        })
        gateway = Gateway(config)
        ems = FixClient(port=port, sender_comp_id="EMS-A", store_dir=tmp_path / "ems")
        compliance = dropcopy_client(tmp_path, dc_port)
        crypto_only = dropcopy_client(tmp_path, dc_port, "CRYPTO-ONLY")
        try:
            broker.start()
            gateway.start()
            for client in (ems, compliance, crypto_only):
                client.start()
                assert client.wait_logged_on(WAIT)
            assert wait_until(lambda: all(gateway.venues_connected().values()))
            ems.send(new_order("EQ-1", qty="100"))
            ems.send(new_order("CR-1", symbol="BTC/USD", qty="0.2", price="66000.00"))
            report(ems, "EQ-1", status("2"))
            report(ems, "CR-1", status("2"))
            url = config.journal_url
            assert wait_until(lambda: len(copies(compliance)) == len(journal_copies(url)))
            received = copies(compliance)
            assert all(m.get(797) == "Y" for m in received)
            assert [m.get(17) for m in received if m.get(128) == "ems-a"] == [m.get(17) for m in copies(ems)]
            rest = [m for m in received if m.get(115) == "crypto"]
            # The REST venue's synthetic reports: ack and two fill slices, with the venue's ids.
            assert [m.get(150) for m in rest] == ["0", "F", "F"]
            assert all(m.get(198) and m.get(30) == "crypto" and m.get(526) == "CR-1" for m in rest)
            assert [m.get(17) for m in received if m.get(115) == "equities"] == [
                f"equities:{exec_id}" for exec_id in venue_reports(url, "equities")]
            crypto_copies = [m for m in received if m.get(30) == "crypto"]
            assert wait_until(lambda: len(copies(crypto_only)) == len(crypto_copies))
            assert [m.get(17) for m in copies(crypto_only)] == [m.get(17) for m in crypto_copies]
        finally:
            for client in (ems, compliance, crypto_only):
                client.stop()
            gateway.stop()
            broker.stop()


# ------------------------------------------------------------------------------------------ audit export


def _fix_frame_is_valid(line: str) -> bool:
    """BodyLength(9) and CheckSum(10) as a FIX engine computes them, over the bytes."""
    data = line.encode()
    head_end = data.index(b"\x01", data.index(b"\x019=") + 1) + 1
    trailer = data.rindex(b"10=")
    length = int(data[data.index(b"\x019=") + 3:head_end - 1])
    return length == trailer - head_end and int(data[trailer + 3:-1]) == sum(data[:trailer]) % 256


def test_export_of_a_days_flow_round_trips_in_every_format(stack: tuple[Stack, int], tmp_path: Path) -> None:
    import csv
    import json
    from datetime import UTC, datetime

    import quickfix as qf
    import simplefix

    from fixgw.cli import main
    from fixgw.engine.quickfix_support import load_data_dictionary

    running, _port = stack
    order_flow(running, "X")
    ems = running.ems()
    ems.send(cancel("X1-C", "X1", qty="500"))
    report(ems, "X1-C", msg_type="9")
    running.broker.auto_fill = False
    ems.send(new_order("X5", qty="100"))
    report(ems, "X5", status("0"))
    ems.send(replace("X5-R", "X5", qty="200", price="190.00"))
    report(ems, "X5-R", lambda m: m.get(150) == "5")
    ems.send(cancel("X5-C", "X5-R", qty="200"))
    report(ems, "X5-C", status("4"))
    assert running.gateway.runner is not None and running.gateway.runner.drain()
    url = running.config.journal_url
    config = tmp_path / "audit.toml"
    config.write_text(f'[journal]\nurl = "{url}"\n[ems.ems-a]\ntarget_comp_id = "EMS-A"\n'
                      '[ems.ems-b]\nbegin_string = "FIX.4.2"\ntarget_comp_id = "EMS-B"\n'
                      '[brokers.equities]\nbegin_string = "FIX.4.2"\ntarget_comp_id = "BROKER"\nport = 1\n'
                      '[dropcopy.compliance]\ntarget_comp_id = "COMPLIANCE"\n')
    today = datetime.now(UTC).date().isoformat()
    with Journal(url) as journal:
        journaled = list(journal.iter_messages())
        events = list(journal.iter_events())
    assert {r.session for r in journaled} >= {"ems-a", "ems-b", "equities", DROPCOPY_SESSION}

    def export(fmt: str, *extra: str) -> Path:
        path = tmp_path / f"export-{fmt}-{len(extra)}.{fmt}"
        command = ["audit", "export", "--config", str(config), "--from", today, "--to", today, "--format", fmt]
        assert main([*command, "--output", str(path), *extra]) == 0
        return path

    with export("csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(journaled)
    assert sorted(r["raw"] for r in rows) == sorted(r.raw.replace("\x01", "|") for r in journaled)
    assert not any("\x01" in r["raw"] for r in rows)
    lines = export("jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [int(r["id"]) for r in rows]

    fix_lines = export("fix").read_text(encoding="utf-8").splitlines()
    assert len(fix_lines) == len(journaled)
    parser = simplefix.FixParser()
    samples: dict[tuple[str, str], str] = {}
    for line, row in zip(fix_lines, rows, strict=True):
        assert _fix_frame_is_valid(line), line
        parser.append_buffer(line.encode())
        message = parser.get_message()
        assert message is not None and message.get(35).decode() == row["msg_type"]
        samples.setdefault((row["session"], row["direction"]), line)
    # QuickFIX reads a sample of each session and direction and validates it against the standard dictionary.
    for (session, direction), line in samples.items():
        begin_string = line.split("\x01", 1)[0][2:]
        dictionary = load_data_dictionary(begin_string)
        message = qf.Message(line, dictionary, True)
        dictionary.validate(message)
        header = message.getHeader()
        ours = header.getField(49) if direction == "out" else header.getField(56)
        assert ours == "FIXGW", (session, direction)

    # Filters: one account's messages only (through the order of record), one order by any ClOrdID.
    acc2 = list(csv.DictReader(export("csv", "--account", "ACC2").open(newline="", encoding="utf-8")))
    assert acc2 and {r["account"] for r in acc2} == {"ACC2"}
    assert {r["session"] for r in acc2} >= {"ems-b", "equities", DROPCOPY_SESSION}
    by_cl_ord_id = list(csv.DictReader(export("csv", "--cl-ord-id", "X1").open(newline="", encoding="utf-8")))
    assert len({r["order_id"] for r in by_cl_ord_id}) == 1
    assert {r["session"] for r in by_cl_ord_id} == {"ems-a", "equities", DROPCOPY_SESSION}
    assert {"X1-C"} < {r["cl_ord_id"] for r in by_cl_ord_id}   # the refused cancel is linked to the order

    # The order-events report: one row per journaled event.
    report_path = tmp_path / "events.csv"
    assert main(["audit", "events", "--journal", url, "--from", today, "--to", today, "--format", "csv",
                 "--output", str(report_path)]) == 0
    event_rows = list(csv.DictReader(report_path.open(newline="", encoding="utf-8")))
    assert len(event_rows) == len(events)
    assert {r["status_name"] for r in event_rows} >= {"NEW", "FILLED"}
    assert all(r["status_name"] in OrdStatus.__members__ for r in event_rows if r["status"])
    assert {r["category"] for r in event_rows} == {"new", "route", "accept", "fill", "reject", "modify", "cancel"}
    fills = [r for r in event_rows if r["category"] == "fill"]
    assert all(r["exec_id"] and r["qty"] and r["price"] and r["venue"] == "equities" and r["child_cl_ord_id"]
               and r["parent_cl_ord_id"] and r["side"] == "BUY" for r in fills)
    assert all(r["at"].endswith("Z") and len(r["at"]) == len("2025-01-01T00:00:00.000000Z") for r in event_rows)
