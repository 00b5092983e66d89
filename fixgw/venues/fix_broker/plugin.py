"""The FIX broker as a venue kind. Its sessions are configured in `[brokers.<name>]` (`BrokerSessionConfig`)
and run by the engine's broker session code (`fixgw/engine/broker.py`), which this builder delegates to.

The engine imports quickfix, and this folder sits below the engine: the builder imports it when called, so
importing the registry loads no quickfix. (The broker code moves into this folder in a later pass.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fixgw.venues.base import Venue
from fixgw.venues.plugin import BuildContext, VenuePlugin

if TYPE_CHECKING:
    from fixgw.config import BrokerSessionConfig

KIND = "fix"


def build(name: str, section: BrokerSessionConfig, context: BuildContext) -> Venue:
    from fixgw.engine.broker import FixBrokerVenue
    from fixgw.engine.sessions import session_id

    if context.codec_factory is None:
        raise ValueError(f"brokers.{name}: a FIX broker needs the gateway's codec factory")
    codec: Any = context.codec_factory(section.dialect, section.begin_string, context.symbols, context.specs_dir)
    password = section.password.get_secret_value() if section.password else None
    return FixBrokerVenue(name, session_id(section.begin_string, section.sender_comp_id, section.target_comp_id),
                          codec, tap=context.tap, username=section.username, password=password)


PLUGIN = VenuePlugin(KIND, settings=None, build=build)
"""No recon reader (a broker's side comes from its statements or the session's FIX history) and no statistics
beyond the session's own (sequence numbers, logon state: `fixgw.ops.view`)."""
