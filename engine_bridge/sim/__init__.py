"""The embedded simulated exchange, the bridge's default engine."""

from engine_bridge.sim.engine import SimEngine

__all__ = ["SimEngine"]
