"""Journal event names: what the router records for an order (the journal's `events.event`) and the risk controls'
audit rows, one spelling shared by the router, risk, the journal, metrics and the audit exports.

The state machine's inputs (`fixgw.model.state.OrderEvent`) are a subset: these names also cover steps that do
not change a status (route, resubmit) and what the gateway notes about an order (outcome_unknown, ...).
"""

from __future__ import annotations

from enum import StrEnum


class EventName(StrEnum):
    NEW = "new"                                          # an EMS order became an order of record
    ROUTE = "route"                                      # sent to a venue
    RESUBMIT = "resubmit"                                # sent again after a settle window (same outbound id)
    DENY = "deny"                                        # refused by our own validation or risk; nothing sent
    ACK = "ack"                                          # accepted by the venue
    REJECT = "reject"                                    # rejected by the venue
    FILL = "fill"
    TRADE_CANCEL = "trade_cancel"                        # a bust
    TRADE_CORRECT = "trade_correct"
    CANCEL_REQUESTED = "cancel_requested"                # by the EMS
    CANCEL_ON_DISCONNECT = "cancel_on_disconnect"        # by the gateway: the EMS logged out
    KILL_CANCEL = "kill_cancel"                          # by the gateway: a kill switch
    CANCELED = "canceled"
    CANCELED_UNSOLICITED = "canceled_unsolicited"        # by the venue, nobody asked
    CANCEL_REJECTED = "cancel_rejected"
    REPLACE_REQUESTED = "replace_requested"
    REPLACED = "replaced"
    REPLACE_REJECTED = "replace_rejected"
    EXPIRE = "expire"
    DONE_FOR_DAY = "done_for_day"
    OUTCOME_UNKNOWN = "outcome_unknown"                  # a command's outcome at the venue is not known
    OUTCOME_UNKNOWN_IGNORED = "outcome_unknown_ignored"  # the venue had settled it before the transport gave up
    STATUS_MISMATCH = "status_mismatch"                  # a status answer disagrees with our quantities
    VENUE_REPORT_IGNORED = "venue_report_ignored"        # a report that changes nothing (e.g. a status report)
    PROTOCOL_ERROR = "protocol_error"                    # a report the state machine refuses
    NOT_CARRIED = "not_carried"                          # the venue's dialect cannot carry a command: nothing left
    UNANSWERED = "unanswered"                            # the EMS heard nothing within max_unanswered (and alert)
    UNKNOWN_AT_VENUE = "unknown_at_venue"                # the venue forgot an order it had acknowledged (and alert)
    EMS_BUSINESS_REJECT = "ems_business_reject"          # the EMS refused one of our reports (35=j)
    FOUND_LATE = "found_late"                            # rejected "not placed", then found live at the venue (alert)
    NOT_PLACED = "not_placed"                            # the reject was "not placed" (a REST create of unknown
    #                                                      outcome, absent for its settle window): watched after it
    UNKNOWN_VENUE_ORDER = "unknown_venue_order"          # the venue holds an open order fixgw does not know (alert)
    # Risk-control audit rows (order id "risk"): who changed a control, when and why.
    KILL_SET = "kill_set"
    KILL_CLEARED = "kill_cleared"
    BREAKER_TRIPPED = "breaker_tripped"
    BREAKER_RESET = "breaker_reset"
    RAMP_LIFTED = "ramp_lifted"
    RAMP_RESTORED = "ramp_restored"
    RISK_RELOADED = "risk_reloaded"
    RELOAD_REQUESTED = "reload_requested"
    CONTROL_REFUSED = "control_refused"                  # an operator action refused (token, confirmation, CSRF)
