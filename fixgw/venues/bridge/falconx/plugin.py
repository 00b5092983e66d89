"""FalconX as a venue kind: `[venues.<name>] kind = "falconx"`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fixgw.logs import get_logger
from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.secretref import Secret
from fixgw.venues.bridge.common.plugin import rest_plugin, rest_summary
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.mapping import SYMBOL_SCHEME
from fixgw.venues.plugin import ListedOrder, VenueBalances, VenueSection

if TYPE_CHECKING:
    from fixgw.venues.bridge.common.execution import RestExecutionClient
    from fixgw.venues.bridge.falconx.execution import FalconXAdapter

log = get_logger("fixgw.bridge.falconx")
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}


class FalconXSection(FalconXConfig, VenueSection):
    kind: Literal["falconx"]
    api_key: Secret
    passphrase: Secret
    secret: Secret


async def _listed_orders(adapter: FalconXAdapter, symbols: SymbolMaster, start: datetime,
                         end: datetime) -> list[ListedOrder]:
    listed: list[ListedOrder] = []
    for answer in await adapter.http.list_orders(start, end):
        pair = answer.token_pair
        side = _SIDES.get(answer.side_executed or "")
        if pair is None or side is None or not answer.fx_quote_id or not answer.is_filled:
            continue
        try:
            instrument = symbols.resolve(SYMBOL_SCHEME, f"{pair.base_token}/{pair.quote_token}")
        except UnknownSymbolError:
            continue
        listed.append(ListedOrder(answer.fx_quote_id, answer.client_order_id or "", instrument, side))
    return listed


async def _balances(adapter: FalconXAdapter) -> VenueBalances:
    total: dict[str, Decimal] = {}
    for row in await adapter.http.balances():
        total[row.token.upper()] = total.get(row.token.upper(), Decimal(0)) + row.balance
    return VenueBalances(total, {})


def _client(section: Any, symbols: SymbolMaster) -> RestExecutionClient:
    from fixgw.venues.bridge.falconx.execution import falconx_venue  # the HTTP stack loads when a venue is built

    if section.order_api is not None:
        log.warning("bridge_config_deprecated", venue=section.name, key=f"venues.{section.name}.order_api",
                    instead=_versions_toml(section.venue_api_versions))
    return falconx_venue(section, symbols)


def _versions_toml(versions: tuple[str, ...]) -> str:
    return "api_versions = [" + ", ".join(f'"{v}"' for v in versions) + "]"


def _summary(section: Any) -> str:
    """The REST line, the API versions (venue-wide, then per account), and the deprecated key if used."""
    line = f"{rest_summary(section)}, API versions {' > '.join(section.venue_api_versions)}"
    accounts = [f"{name}: {' > '.join(account.api_versions)}" for name, account in sorted(section.accounts.items())]
    line += f" (accounts {'; '.join(accounts)})" if accounts else ""
    if section.order_api is not None:
        line += (f"\n    warning: venues.{section.name}.order_api is deprecated: write "
                 f"{_versions_toml(section.venue_api_versions)}")
    return line


def _account(section: Any, symbols: SymbolMaster) -> Any:
    from fixgw.venues.bridge.falconx.account import account_reader  # the HTTP stack loads when [margin] runs

    return account_reader(section, symbols)


PLUGIN = replace(rest_plugin("falconx", FalconXSection, _client, http_client=lambda adapter: adapter.http.client,
                             balances=_balances, listed_orders=_listed_orders), account=_account, summary=_summary)
