"""A VeighNa Trader without its window, as a user's ``run.py`` builds one, plus our app.

``python -m tests.support.vnpy_trader [--ui]``: a ``MainEngine`` with the test exchange
gateway, ``main_engine.add_app(NatsWebTraderApp)`` (settings from
``$HOME/.vntrader/nats_webtrader_setting.json``), the gateway connected the way VeighNa's
connect dialog does, then one two-sided quote sent through the ``MainEngine`` as a
market-making strategy would.  With ``--ui`` it also builds the app's window the way
VeighNa's ``MainWindow`` finds it (``{app_module}.ui`` / ``widget_name``), offscreen.
Prints ``trader ready <state>``; runs until SIGTERM, then closes the ``MainEngine``.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

from vnpy.event import EventEngine
from vnpy.trader.constant import Exchange
from vnpy.trader.engine import MainEngine
from vnpy.trader.object import QuoteRequest

from engine_bridge.vnpy import NatsWebTraderApp
from engine_bridge.vnpy.app import NatsBridgeEngine
from tests.vnpy_gateway import ExchangeGateway


def show_window(main_engine: MainEngine, event_engine: EventEngine) -> str:
    """Build the app's window as VeighNa's MainWindow would; its status text."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from vnpy.trader.ui import QtWidgets  # noqa: PLC0415 - Qt only with --ui

    qapp = QtWidgets.QApplication([])
    app = main_engine.get_all_apps()[0]
    widget_class = getattr(importlib.import_module(app.app_module + ".ui"), app.widget_name)
    widget = widget_class(main_engine, event_engine)
    widget.refresh()
    text = str(widget.status.text())
    widget.close()
    qapp.processEvents()
    return text


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before "ready": a test may stop us
    event_engine = EventEngine()
    main_engine = MainEngine(event_engine)
    main_engine.add_gateway(ExchangeGateway)
    bridge = main_engine.add_app(NatsWebTraderApp)
    assert isinstance(bridge, NatsBridgeEngine)
    main_engine.connect({"tick_rate": 10.0, "seed": 3}, "EXCH")
    thread = bridge.thread
    if thread is None or not thread.started_or_failed.wait(30):
        print("trader ready not-started", flush=True)
    else:
        quote = QuoteRequest(
            symbol="rb2601",
            exchange=Exchange.SHFE,
            bid_price=3400,
            bid_volume=2,
            ask_price=3600,
            ask_volume=2,
            reference="mm",
        )
        print("quote", main_engine.send_quote(quote, "EXCH"), flush=True)
        if "--ui" in sys.argv:
            print("window:", show_window(main_engine, event_engine).replace("\n", " | "))
        print("trader ready", thread.state, flush=True)
    stop.wait()
    main_engine.close()
    print("trader closed", bridge.status["state"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
