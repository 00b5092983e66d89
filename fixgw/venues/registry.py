"""Every venue kind the gateway knows, by `kind`: config validation, building and hooks all look here.

Adding a venue kind: a folder with its section model, builder and hooks exporting one `PLUGIN`
(see `bridge/binance/plugin.py`), and one line in `_BUILT_IN` below. Tests and extensions may `register` more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import PlainValidator, SerializeAsAny

from fixgw.venues.base import Venue
from fixgw.venues.bridge.binance.plugin import PLUGIN as BINANCE
from fixgw.venues.bridge.clear_street.plugin import PLUGIN as CLEAR_STREET
from fixgw.venues.bridge.coinbase_prime.plugin import PLUGIN as COINBASE_PRIME
from fixgw.venues.bridge.falconx.plugin import PLUGIN as FALCONX
from fixgw.venues.fix_broker.plugin import PLUGIN as FIX_BROKER
from fixgw.venues.plugin import BuildContext, VenuePlugin, VenueSection, VenueStats

_BUILT_IN: tuple[VenuePlugin, ...] = (
    FIX_BROKER,
    COINBASE_PRIME,
    FALCONX,
    BINANCE,
    CLEAR_STREET,
)
_PLUGINS: dict[str, VenuePlugin] = {plugin.kind: plugin for plugin in _BUILT_IN}


class UnknownVenueKind(ValueError):
    pass


def register(plugin: VenuePlugin) -> None:
    """Add a venue kind (an extension or a test); a kind already known is an error, not a silent override."""
    if plugin.kind in _PLUGINS:
        raise ValueError(f"venue kind {plugin.kind!r} is already registered")
    _PLUGINS[plugin.kind] = plugin


def unregister(kind: str) -> None:
    if any(plugin.kind == kind for plugin in _BUILT_IN):
        raise ValueError(f"venue kind {kind!r} is built in")
    _PLUGINS.pop(kind, None)


def plugins() -> Mapping[str, VenuePlugin]:
    return dict(_PLUGINS)


def plugin_for(kind: str) -> VenuePlugin:
    try:
        return _PLUGINS[kind]
    except KeyError:
        raise UnknownVenueKind(f"unknown venue kind {kind!r} (known: {', '.join(configurable_kinds())})") from None


def configurable_kinds() -> list[str]:
    """The kinds a `[venues.<name>]` section may name."""
    return sorted(kind for kind, plugin in _PLUGINS.items() if plugin.settings is not None)


def _validate_section(value: Any) -> VenueSection:
    if isinstance(value, VenueSection):
        return value
    kind = value.get("kind") if isinstance(value, Mapping) else None
    if not isinstance(kind, str):
        raise ValueError(f"give kind, one of: {', '.join(configurable_kinds())}")
    plugin = _PLUGINS.get(kind)
    if plugin is None or plugin.settings is None:
        raise ValueError(f"unknown venue kind {kind!r} (known: {', '.join(configurable_kinds())})")
    return plugin.settings.model_validate(value)


VenueSettings = Annotated[SerializeAsAny[VenueSection], PlainValidator(_validate_section)]
"""A `[venues.<name>]` section, validated by the model of the plugin its `kind` names (errors keep their keys)
and dumped whole (not as the base model)."""


def build_venue(kind: str, name: str, section: Any, context: BuildContext) -> Venue:
    """The venue a section of `kind` describes, marked with its kind for the hooks."""
    venue = plugin_for(kind).build(name, section, context)
    venue.kind = kind
    return venue


def venue_stats(venue: Venue) -> VenueStats | None:
    """The live statistics of a built venue, when its kind reports any."""
    plugin = _PLUGINS.get(venue.kind)
    return plugin.stats(venue) if plugin is not None and plugin.stats is not None else None
