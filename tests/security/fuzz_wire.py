"""Hostile bytes for a live FIX acceptor: frames (good, garbled, huge, binary) and a raw TCP driver.

The driver never waits unboundedly: it sends, then reads until the gateway closes the connection, goes quiet
for `idle` seconds or `limit` seconds have passed, and reports which of those happened."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import strategies as st

SOH = b"\x01"


def frame(begin: str, fields: list[tuple[int, str]], *, body_length: int | None = None,
          checksum_off_by: int = 0) -> bytes:
    """A FIX frame with correct BodyLength(9) unless given, and a CheckSum(10) that is `checksum_off_by` away
    from the true one (mod 1000, so a non-zero offset can never land on the true sum by chance)."""
    body = b"".join(f"{tag}=".encode() + value.encode("utf-8", "surrogatepass") + SOH for tag, value in fields)
    head = b"8=" + begin.encode() + SOH + b"9=" + str(len(body) if body_length is None else body_length).encode() + SOH
    total = (sum(head + body) % 256 + checksum_off_by) % 1000
    return head + body + b"10=" + f"{total:03d}".encode() + SOH


def sending_time() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def logon(comp_id: str, seq: int = 1, extra: list[tuple[int, str]] | None = None,
          begin: str = "FIX.4.4") -> list[tuple[int, str]]:
    return [(35, "A"), (34, str(seq)), (49, comp_id), (52, sending_time()), (56, "FIXGW"), (98, "0"), (108, "30"),
            (141, "Y"), *(extra or [])]


@dataclass(frozen=True)
class Outcome:
    closed: bool
    """The gateway closed the connection."""
    received: bytes
    elapsed: float


def exchange(port: int, payload: list[bytes], *, idle: float = 0.3, limit: float = 4.0,
             after_reply: bool = False) -> Outcome:
    """Send the chunks of `payload` on one connection, then read until closed, quiet for `idle`, or `limit`.

    `after_reply`: send the first chunk (a Logon), wait for the first whole message back, then the rest - as a
    client does. (QuickFIX's single-threaded acceptor reads only the first message of a new connection; what
    came with it waits for the next bytes.)"""
    started = time.monotonic()
    received = b""
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as connection:
        try:
            for index, chunk in enumerate(payload):
                connection.sendall(chunk)
                if index == 0 and after_reply and len(payload) > 1:
                    received, closed = _first_reply(connection, started + limit)
                    if closed or not received:
                        break
        except OSError:  # the gateway may hang up mid-way: that is an answer too
            closed = True
        connection.settimeout(idle)
        while not closed and time.monotonic() - started < limit:
            try:
                data = connection.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            received += data
    return Outcome(closed, received, time.monotonic() - started)


def _first_reply(connection: socket.socket, deadline: float) -> tuple[bytes, bool]:
    data = b""
    while b"\x0110=" not in data and time.monotonic() < deadline:
        connection.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


def messages_in(data: bytes) -> list[dict[int, str]]:
    """The FIX messages in `data` as {tag: value} (first occurrence), loosely split on 8=FIX."""
    found = []
    for chunk in data.split(b"8=FIX")[1:]:
        fields: dict[int, str] = {}
        for part in chunk.split(SOH):
            tag, _, value = part.partition(b"=")
            if tag.isdigit():
                fields.setdefault(int(tag), value.decode("utf-8", "replace"))
        found.append(fields)
    return found


# ------------------------------------------------------------------ strategies

MSG_TYPES = ["D", "F", "G", "H", "8", "9", "j", "3", "0", "1", "2", "4", "5", "A", "R", "V", "AE", "ZZ", "", "\x02"]
TAGS = st.one_of(st.sampled_from([1, 11, 21, 34, 35, 38, 40, 41, 43, 44, 49, 52, 54, 55, 56, 59, 60, 95, 96, 97, 122,
                                  141, 369, 453, 554, 789, 1128]),
                 st.integers(min_value=-3, max_value=2**31))
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["", "0", "-1", "999999999999999999999", "Y", "N", "1e9999",
                                                           "AAPL", "ACC1", "2", "1"]),
                   st.binary(max_size=20).map(lambda b: b.decode("latin-1")))


def app_fields(draw: st.DrawFn, seq: int, comp_id: str) -> list[tuple[int, str]]:
    msg_type = draw(st.sampled_from(MSG_TYPES))
    header = [(35, msg_type), (34, str(seq)), (49, comp_id), (52, sending_time()), (56, "FIXGW")]
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    body = draw(st.lists(st.tuples(TAGS, VALUES).map(lambda tv: (tv[0], tv[1].replace("\x01", ""))), max_size=12))
    return header + body


@st.composite
def garbled(draw: st.DrawFn, template: bytes, keep: int = 0) -> bytes:
    """A frame damaged at random: byte flips, cut short, bytes inserted, SOH removed or doubled.

    The first `keep` bytes are only ever cut, never altered (see `hostile_session`)."""
    data = bytearray(template)
    for _ in range(draw(st.integers(1, 4))):
        if len(data) <= keep:
            break
        action = draw(st.sampled_from(["flip", "cut", "insert", "soh"]))
        index = draw(st.integers(0 if action == "cut" else keep, len(data) - 1))
        if action == "flip":
            data[index] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[index:]
        elif action == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[index:index] = SOH
    return bytes(data)


@st.composite
def hostile_session(draw: st.DrawFn, comp_ids: tuple[str, ...], intact_header: bool = False) -> tuple[str, list[bytes]]:
    """(kind, chunks to send on one connection).

    `intact_header`: never damage the header (nor the first body field) of a connection's first frame - the one
    input that kills a process running unpatched QuickFIX 1.16 (fixgw.engine.security.quickfix_patched)."""
    comp_id = draw(st.sampled_from(comp_ids))
    kind = draw(st.sampled_from(["junk", "garbled-logon", "huge-length", "bad-checksum", "logon-then-hostile",
                                 "logon-then-garbled", "credentials", "wrong-version"]))
    good_logon = frame("FIX.4.4", logon(comp_id))
    if kind == "junk":
        return kind, [draw(st.binary(min_size=1, max_size=4096))]
    if kind == "garbled-logon":
        keep = good_logon.index(b"\x0198=0\x01") + 6 if intact_header else 0
        return kind, [draw(garbled(good_logon, keep))]
    if kind == "huge-length":
        length = draw(st.sampled_from([99_999_999, 2**31 - 1, 2**31, 2**63, -1, 0]))
        return kind, [frame("FIX.4.4", logon(comp_id), body_length=length)]
    if kind == "bad-checksum":
        return kind, [frame("FIX.4.4", logon(comp_id), checksum_off_by=draw(st.integers(1, 999)))]
    if kind == "wrong-version":
        begin = draw(st.sampled_from(["FIX.4.2", "FIX.4.0", "FIXT.1.1", "FIX.9.9", "", "FIX.4.4\x00"]))
        return kind, [frame(begin, logon(comp_id))]
    if kind == "credentials":
        extra = [(553, draw(VALUES).replace("\x01", "")), (554, draw(VALUES).replace("\x01", ""))]
        return kind, [frame("FIX.4.4", logon(comp_id, extra=extra))]
    chunks = [good_logon]
    for seq in range(2, 2 + draw(st.integers(1, 5))):
        message = frame("FIX.4.4", app_fields(draw, seq, comp_id))
        chunks.append(draw(garbled(message)) if kind == "logon-then-garbled" else message)
    return kind, chunks
