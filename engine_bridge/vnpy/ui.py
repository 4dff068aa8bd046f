"""The app's window in VeighNa Trader: the bridge's status, Start and Stop.

VeighNa's ``MainWindow`` imports this module (``{app_module}.ui``) to list the app in its
menu; nothing else does, so Qt is needed only where VeighNa Trader already runs it.
"""

from __future__ import annotations

from typing import cast

from vnpy.event import EventEngine
from vnpy.trader.engine import MainEngine
from vnpy.trader.ui import QtCore, QtWidgets

from engine_bridge.vnpy.app import APP_NAME, NatsBridgeEngine

REFRESH_MS = 1000


class BridgeMonitor(QtWidgets.QWidget):
    """Status of the NATS bridge, refreshed every second, with Start and Stop buttons."""

    def __init__(self, main_engine: MainEngine, event_engine: EventEngine) -> None:
        super().__init__()
        self.bridge_engine = cast("NatsBridgeEngine", main_engine.get_engine(APP_NAME))
        self.setWindowTitle("NATS WebTrader")
        self.status = QtWidgets.QLabel()
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        start = QtWidgets.QPushButton("Start")
        start.clicked.connect(self.bridge_engine.start_bridge)
        stop = QtWidgets.QPushButton("Stop")
        stop.clicked.connect(self.bridge_engine.stop_bridge)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(start)
        buttons.addWidget(stop)
        layout = QtWidgets.QVBoxLayout()
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.setLayout(layout)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        self.refresh()

    def refresh(self) -> None:
        """Show the bridge's current status."""
        status = self.bridge_engine.status
        self.status.setText("\n".join(f"{key}: {value}" for key, value in status.items()))
