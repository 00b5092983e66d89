"""`fixgw venues status`: each venue of a running gateway - up or down, its health probe, and the endpoints the
venue answered with Deprecation (RFC 9745), Sunset (RFC 8594) or Warning headers - read from its admin API
(`/api/venues`). Exit 0 when every venue is up and no endpoint is past its sunset, 1 otherwise or unreachable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from fixgw.cli.common import EXIT_FAILURE, EXIT_OK, app, ask_admin

venues_app = typer.Typer(help="Venues: up or down, health probes, deprecated and sunsetting endpoints.",
                         no_args_is_help=True)
app.add_typer(venues_app, name="venues")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The running gateway's configuration.")]


@venues_app.command("status")
def status(config_path: ConfigOption,
           as_json: Annotated[bool, typer.Option("--json", help="Print the admin API's JSON as it is.")] = False,
           ) -> None:
    """Each venue: up or down, last probe round trip, and every endpoint the venue said is deprecated,
    sunsetting or warned about (with the dates it gave)."""
    body = ask_admin(config_path, "/api/venues")
    now = datetime.now(UTC)
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(status_lines(body, now)))
    healthy = all(venue["up"] for venue in body) and not any(
        _past(endpoint.get("sunset_at"), now) for venue in body for endpoint in venue["endpoints"])
    raise typer.Exit(EXIT_OK if healthy else EXIT_FAILURE)


def status_lines(body: list[dict[str, Any]], now: datetime) -> list[str]:
    if not body:
        return ["no venues"]
    lines = []
    for venue in body:
        rtt = venue.get("probe_rtt_s")
        probe = f", probe {rtt * 1000:.1f} ms" if isinstance(rtt, int | float) else ""
        lines.append(f"{venue['venue']} ({venue['kind']}): {'up' if venue['up'] else 'DOWN'}{probe}")
        for endpoint in venue["endpoints"]:
            said = []
            if endpoint.get("deprecated"):
                said.append(f"deprecated since {endpoint['deprecated_at']}" if endpoint.get("deprecated_at")
                            else "deprecated")
            if endpoint.get("sunset_at"):
                past = " (PAST)" if _past(endpoint["sunset_at"], now) else ""
                said.append(f"sunset {endpoint['sunset_at']}{past}")
            said.extend(f"warning {text}" for text in endpoint.get("warnings", []))
            lines.append(f"  {endpoint['endpoint']}: {'; '.join(said)} (last seen {endpoint['last_seen']})")
    return lines


def _past(at: str | None, now: datetime) -> bool:
    return at is not None and datetime.fromisoformat(at) <= now
