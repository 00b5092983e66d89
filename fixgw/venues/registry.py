"""Every venue kind the gateway knows, by `kind`: config validation, building and hooks all look here.

Adding a venue kind: a folder with its section model, builder and hooks exporting one `PLUGIN`
(see `bridge/binance/plugin.py`), and one line in `_BUILT_IN` below. Tests and extensions may `register` more.

A built-in kind's module is imported the first time something asks for that kind (a config section naming it,
a builder, a recon reader), so a gateway loads only the adapters it is configured with (restart time);
`plugins()` and the error messages listing every kind load them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import PlainValidator, SerializeAsAny

from fixgw.venues.base import Venue
from fixgw.venues.fix_broker.plugin import PLUGIN as FIX_BROKER
from fixgw.venues.plugin import BuildContext, VenuePlugin, VenueSection, VenueStats

_BUILT_IN: dict[str, str] = {
    FIX_BROKER.kind: "fixgw.venues.fix_broker.plugin",
    "coinbase_prime": "fixgw.venues.bridge.coinbase_prime.plugin",
    "falconx": "fixgw.venues.bridge.falconx.plugin",
    "binance": "fixgw.venues.bridge.binance.plugin",
    "clear_street": "fixgw.venues.bridge.clear_street.plugin",
}
"""Built-in kind -> the module exporting its `PLUGIN`, imported on first use."""
_PLUGINS: dict[str, VenuePlugin] = {FIX_BROKER.kind: FIX_BROKER}


class UnknownVenueKind(ValueError):
    pass


def _known(kind: str) -> VenuePlugin | None:
    """The plugin of `kind`, importing a built-in kind's module the first time; None when no such kind."""
    plugin = _PLUGINS.get(kind)
    if plugin is None and kind in _BUILT_IN:
        loaded: VenuePlugin = importlib.import_module(_BUILT_IN[kind]).PLUGIN
        if loaded.kind != kind:
            raise RuntimeError(f"{_BUILT_IN[kind]} exports kind {loaded.kind!r}, listed as {kind!r}")
        plugin = _PLUGINS.setdefault(kind, loaded)
    return plugin


def register(plugin: VenuePlugin) -> None:
    """Add a venue kind (an extension or a test); a kind already known is an error, not a silent override."""
    if plugin.kind in _PLUGINS or plugin.kind in _BUILT_IN:
        raise ValueError(f"venue kind {plugin.kind!r} is already registered")
    _PLUGINS[plugin.kind] = plugin


def unregister(kind: str) -> None:
    if kind in _BUILT_IN:
        raise ValueError(f"venue kind {kind!r} is built in")
    _PLUGINS.pop(kind, None)


def plugins() -> Mapping[str, VenuePlugin]:
    """Every kind known, built-in ones loaded."""
    for kind in _BUILT_IN:
        _known(kind)
    return dict(_PLUGINS)


def plugin_for(kind: str) -> VenuePlugin:
    plugin = _known(kind)
    if plugin is None:
        raise UnknownVenueKind(f"unknown venue kind {kind!r} (known: {', '.join(configurable_kinds())})")
    return plugin


def configurable_kinds() -> list[str]:
    """The kinds a `[venues.<name>]` section may name."""
    return sorted(kind for kind, plugin in plugins().items() if plugin.settings is not None)


def _validate_section(value: Any) -> VenueSection:
    if isinstance(value, VenueSection):
        return value
    kind = value.get("kind") if isinstance(value, Mapping) else None
    if not isinstance(kind, str):
        raise ValueError(f"give kind, one of: {', '.join(configurable_kinds())}")
    plugin = _known(kind)
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
    plugin = _known(venue.kind) if venue.kind else None
    return plugin.stats(venue) if plugin is not None and plugin.stats is not None else None
