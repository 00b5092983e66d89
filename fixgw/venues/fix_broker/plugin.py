"""The FIX broker as a venue kind. Its sessions are configured in `[brokers.<name>]` (`BrokerSessionConfig`)
and run by the engine's broker session code (`fixgw/engine/broker.py`), which this builder delegates to.

The engine imports quickfix, and this folder sits below the engine: the builder imports it when called, so
importing the registry loads no quickfix. (The broker code moves into this folder in a later pass.)
"""

from __future__ import annotations

from typing import Any

from fixgw.venues.base import Venue
from fixgw.venues.plugin import BuildContext, VenuePlugin

KIND = "fix"


def build(name: str, section: Any, context: BuildContext) -> Venue:
    from fixgw.engine.broker_venue import build_fix_broker

    return build_fix_broker(name, section, context)


PLUGIN = VenuePlugin(KIND, settings=None, build=build)
"""No recon reader (a broker's side comes from its statements or the session's FIX history) and no statistics
beyond the session's own (sequence numbers, logon state: `fixgw.ops.view`)."""
