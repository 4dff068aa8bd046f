"""Which subject the bridge publishes each engine event on."""

from __future__ import annotations

from datetime import UTC, datetime

from engine_bridge.publisher import subject_of
from schemas.enums import Direction, Exchange
from schemas.objects import AccountData, LogData, OrderData, PositionData, TickData
from schemas.subjects import EventKind, parse_event_subject

NOW = datetime(2025, 1, 2, tzinfo=UTC)


def test_symbol_events_go_to_the_escaped_symbol_subject() -> None:
    tick = TickData(gateway_name="SIM", symbol="BRK.B", exchange=Exchange.SMART, datetime=NOW)
    assert subject_of("sim", EventKind.TICK, tick) == "wt.sim.evt.tick.SMART.BRK%2EB"
    order = OrderData(
        gateway_name="SIM",
        symbol="rb2601",
        exchange=Exchange.SHFE,
        orderid="1",
        direction=Direction.LONG,
    )
    subject = subject_of("desk-1", EventKind.ORDER, order)
    assert subject == "wt.desk-1.evt.order.SHFE.rb2601.1"
    parsed = parse_event_subject(subject)
    assert (parsed.key, parsed.ident) == ("rb2601", "1")


def test_positions_carry_their_direction_as_last_token() -> None:
    pos = PositionData(
        gateway_name="SIM", symbol="BRK.B", exchange=Exchange.SMART, direction=Direction.SHORT
    )
    subject = subject_of("sim", EventKind.POSITION, pos)
    assert subject == "wt.sim.evt.position.SMART.BRK%2EB.SHORT"
    assert parse_event_subject(subject).ident == "SHORT"


def test_accounts_go_to_their_escaped_id_and_logs_to_the_engine_log() -> None:
    account = AccountData(gateway_name="SIM", accountid="acc.1 x")
    assert subject_of("sim", EventKind.ACCOUNT, account) == "wt.sim.evt.account.acc%2E1%20x"
    log = LogData(gateway_name="SIM", msg="hello")
    assert subject_of("sim", EventKind.LOG, log) == "wt.sim.evt.log"
