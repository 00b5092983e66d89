"""The FIX broker venue built for its plugin (`fixgw/venues/fix_broker/plugin.py`): the session's id, its translator
and the gateway's tap. Imports no config module, so the plugin can call it without an import circle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import quickfix as qf

from fixgw.engine.broker import FixBrokerVenue
from fixgw.venues.plugin import BuildContext

if TYPE_CHECKING:
    from fixgw.config import BrokerSessionConfig


def build_fix_broker(name: str, section: BrokerSessionConfig, context: BuildContext) -> FixBrokerVenue:
    if context.translator_factory is None:
        raise ValueError(f"brokers.{name}: a FIX broker needs the gateway's translator factory")
    translator: Any = context.translator_factory(section.dialect, section.begin_string, context.symbols,
                                                 context.specs_dir)
    password = section.password.get_secret_value() if section.password else None
    return FixBrokerVenue(name, qf.SessionID(section.begin_string, section.sender_comp_id, section.target_comp_id),
                          translator, tap=context.tap, username=section.username, password=password)
