"""Runs beside a trading engine and puts it on NATS: events out, requests in."""
