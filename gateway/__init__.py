"""The web process: Litestar app mapping REST and WebSockets onto NATS subjects."""
