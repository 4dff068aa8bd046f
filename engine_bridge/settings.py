"""Bridge settings: one frozen object, built once in ``main()`` from options and env."""

from __future__ import annotations

import argparse
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine_bridge.sim.contracts import select_specs
from schemas.config import add_option, parse_tick_rate
from schemas.logs import add_log_options, check_log_options
from schemas.natsauth import NatsAuth, NatsAuthError, add_nats_auth_options, pop_nats_auth
from schemas.streams import DEFAULT_EVENT_RETENTION, DEFAULT_IDEMPOTENCY_TTL
from schemas.subjects import check_engine_id

ENGINE_KINDS = ("sim", "vnpy")
"""Engines the bridge can run: the simulator, or a VeighNa ``MainEngine`` (the ``vnpy`` extra)."""

MAX_REPLICAS = 5
"""JetStream allows at most 5 replicas of a stream."""


class SettingsError(Exception):
    """The settings cannot run a bridge; the message says what to fix."""


def parse_seconds(text: str) -> float:
    """A duration in seconds: a finite number > 0.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0: {text!r}")
    return seconds


def parse_seed(text: str) -> int | None:
    """``--seed``: an integer, or empty for a random seed."""
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def parse_contracts(text: str) -> tuple[str, ...]:
    """``--contracts``: comma-separated ``vt_symbol``s; empty for every contract."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


@dataclass(frozen=True, kw_only=True)
class BridgeSettings:
    """Everything the bridge process is configured with; immutable after start."""

    engine: str = "sim"
    """Kind of engine to run behind the bridge."""
    engine_id: str = "sim"
    """Engine id: the ``{engine}`` token of every subject this bridge publishes or serves."""
    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server(s) to connect to; comma-separated for a cluster."""
    nats_auth: NatsAuth = field(default_factory=NatsAuth)
    """How to authenticate to NATS (user/password, creds file, or the URL's user)."""
    tick_rate: float = 2.0
    """Ticks per second per subscribed contract (simulated engine); 0 = as fast as possible."""
    seed: int | None = None
    """Seed of the simulated market (same seed, same price paths); None = random."""
    contracts: tuple[str, ...] = ()
    """``vt_symbol``s the simulated engine trades; empty = all of its contracts."""
    log_level: str = "INFO"
    """Level of the log lines written to stderr."""
    log_format: str = "text"
    """``text`` or ``json`` (one object per line), see :mod:`schemas.logs`."""
    metrics_port: int = 0
    """Port of the Prometheus ``/metrics`` listener; 0: no listener."""
    metrics_host: str = "127.0.0.1"
    """Interface of the metrics listener."""
    js_replicas: int = 1
    """Replicas of the engine's streams and KV bucket (3 on a 3-node cluster)."""
    event_retention: float = DEFAULT_EVENT_RETENTION
    """Seconds an order/trade/position/account event is kept in the events stream."""
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL
    """Seconds a ``client_order_id`` keeps meaning the same order."""
    tick_snapshots: bool = True
    """Keep the latest tick of each contract in the engine's ticks stream."""
    gateway: str = ""
    """``--engine vnpy``: the VeighNa gateway class to run, ``module:GatewayClass``."""
    gateway_setting: str = ""
    """``--engine vnpy``: JSON file of the gateway's connect setting (none: no connect)."""
    gateway_name: str = ""
    """``--engine vnpy``: name of the gateway (default: the class's ``default_name``)."""

    def __post_init__(self) -> None:
        try:
            check_engine_id(self.engine_id)
        except ValueError as exc:
            raise SettingsError(f"--engine-id: {exc}") from None
        if self.engine not in ENGINE_KINDS:
            raise SettingsError(f"--engine: one of {', '.join(ENGINE_KINDS)}")
        if not math.isfinite(self.tick_rate) or self.tick_rate < 0:
            raise SettingsError("--tick-rate: a finite number >= 0 (or 'max')")
        if self.contracts:
            try:
                select_specs(self.contracts)
            except ValueError as exc:
                raise SettingsError(f"--contracts: {exc}") from None
        problem = check_log_options(self.log_level, self.log_format)
        if problem:
            raise SettingsError(problem)
        if not 0 <= self.metrics_port <= 65535:  # noqa: PLR2004
            raise SettingsError("--metrics-port: 0 (off) to 65535")
        if self.gateway and not re.fullmatch(r"[\w.]+:\w+", self.gateway):
            raise SettingsError("--gateway: module:GatewayClass, e.g. vnpy_ctp:CtpGateway")
        if not 1 <= self.js_replicas <= MAX_REPLICAS:
            raise SettingsError(f"--js-replicas: 1 to {MAX_REPLICAS}")
        for name in ("event_retention", "idempotency_ttl"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise SettingsError(f"--{name.replace('_', '-')}: seconds > 0")

    @property
    def log_level_number(self) -> int:
        """The ``logging`` level number of :attr:`log_level`."""
        return int(logging.getLevelName(self.log_level.upper()))

    @property
    def nats_servers(self) -> list[str]:
        """:attr:`nats_url` split into server URLs."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The bridge's options; each also read from its ``WEBTRADER_*`` variable."""
    p = argparse.ArgumentParser(
        prog="python -m engine_bridge",
        description="Run a trading engine and put it on NATS: events out, requests in.",
    )
    add_option(
        p, "--engine", help=f"engine to run ({', '.join(ENGINE_KINDS)})", default="sim", env=env
    )
    add_option(
        p,
        "--engine-id",
        help="engine id, the {engine} token of its subjects",
        default="sim",
        env=env,
    )
    add_option(
        p,
        "--nats-url",
        help="NATS server URL(s), comma-separated",
        default="nats://127.0.0.1:4222",
        env=env,
    )
    add_nats_auth_options(p, env)
    add_option(
        p,
        "--tick-rate",
        help="simulated ticks per second per subscribed contract; 'max' or 0 = unthrottled",
        default=2.0,
        type=parse_tick_rate,
        env=env,
    )
    add_option(
        p,
        "--seed",
        help="seed of the simulated market (deterministic price paths)",
        default=None,
        type=parse_seed,
        env=env,
    )
    add_option(
        p,
        "--contracts",
        help="comma-separated vt_symbols the simulated engine trades (default: all)",
        default=(),
        type=parse_contracts,
        env=env,
    )
    add_option(
        p,
        "--js-replicas",
        help="replicas of the engine's JetStream streams and KV bucket (1, or 3 on a cluster)",
        default=1,
        type=int,
        env=env,
    )
    add_option(
        p,
        "--event-retention",
        help="seconds order/trade/position/account events are kept in the events stream",
        default=DEFAULT_EVENT_RETENTION,
        type=parse_seconds,
        env=env,
    )
    add_option(
        p,
        "--idempotency-ttl",
        help="seconds a client_order_id keeps meaning the same order",
        default=DEFAULT_IDEMPOTENCY_TTL,
        type=parse_seconds,
        env=env,
    )
    add_option(
        p,
        "--tick-snapshots",
        help="keep the latest tick of each contract in the engine's ticks stream",
        default=True,
        flag=True,
        env=env,
    )
    add_option(
        p,
        "--gateway",
        help="--engine vnpy: VeighNa gateway class to run, module:GatewayClass",
        default="",
        env=env,
    )
    add_option(
        p,
        "--gateway-setting",
        help="--engine vnpy: JSON file with the gateway's connect setting "
        "(unset: the gateway waits for a 'connect' request)",
        default="",
        env=env,
    )
    add_option(
        p,
        "--gateway-name",
        help="--engine vnpy: gateway name (unset: the class's default_name)",
        default="",
        env=env,
    )
    add_log_options(p, env)
    add_option(
        p,
        "--metrics-port",
        help="serve Prometheus /metrics (and /healthz) on this port (0: off)",
        default=0,
        type=int,
        env=env,
    )
    add_option(
        p,
        "--metrics-host",
        help="interface of the --metrics-port listener",
        default="127.0.0.1",
        env=env,
    )
    return p


def load_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> BridgeSettings:
    """Parse ``argv`` (and the environment) into settings.

    Raises:
        SettingsError: the values cannot run a bridge (the message says which).
    """
    ns = vars(build_parser(env).parse_args(argv))
    try:
        auth = pop_nats_auth(ns)
    except NatsAuthError as exc:
        raise SettingsError(str(exc)) from None
    return BridgeSettings(**ns, nats_auth=auth)
