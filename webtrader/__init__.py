"""The ``webtrader`` launcher: starts nats-server, bridges and gateways as processes."""
