"""Child-process supervision for the launcher: start, await readiness, watch, stop.

One thread does everything: the children's output pipes and a signal wake-up pipe are
multiplexed with :mod:`selectors`, so there are no reader threads, and ``preexec_fn``
(which is unsafe once threads exist) is safe to use.

Guarantees:

* each child runs in its own session (process group), so a terminal's Ctrl-C reaches only
  the launcher, which then stops the children itself, in reverse start order;
* a stop is SIGTERM to the child's process group, a wait of ``stop_timeout`` seconds while
  its output keeps being drained, then SIGKILL; every child is reaped;
* on Linux each child gets ``PR_SET_PDEATHSIG = SIGTERM`` (via ``prctl`` in ``preexec_fn``):
  if the launcher itself is killed with SIGKILL, the kernel sends the children SIGTERM, so
  none is orphaned.  Elsewhere this last guarantee does not hold (best effort).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
TAIL_LINES = 30


class StopRequestedError(Exception):
    """The launcher was asked to stop (SIGINT, SIGTERM or SIGHUP)."""


class ChildFailedError(Exception):
    """A child exited when it should not have, or never became ready."""

    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(f"{child.name} {reason}")
        self.child = child


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to SIGTERM the child when the launcher dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0)
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)

    return preexec


class Child:
    """One supervised process; its output is echoed and its last lines are kept."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.proc: subprocess.Popen[bytes] | None = None
        self._partial = b""

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        """The running (or exited) process.

        Raises:
            RuntimeError: not spawned yet.
        """
        if self.proc is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.proc

    @property
    def pid(self) -> int:
        """The child's PID (also its process group id)."""
        return self.popen.pid

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        """The exit code once it has exited (negative: killed by that signal)."""
        return None if self.proc is None else self.proc.poll()

    def feed(self, data: bytes) -> list[str]:
        """Split output bytes into complete lines (``b""`` flushes the last partial one)."""
        chunk = self._partial + data
        if not data:
            self._partial = b""
            parts = [chunk] if chunk else []
        else:
            *parts, self._partial = chunk.split(b"\n")
        lines = [p.decode("utf-8", "replace").rstrip("\r") for p in parts]
        self.tail.extend(lines)
        return lines

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's process group (no error if it is gone)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)


class Supervisor:
    """Starts children one after another and watches them from a single thread."""

    def __init__(self, echo: TextIO | None = None, stop_timeout: float = 10.0) -> None:
        self.children: list[Child] = []
        self.echo = echo
        self.stop_timeout = stop_timeout
        self.stop_signal: int | None = None
        self._selector = selectors.DefaultSelector()
        self._preexec = _pdeathsig_preexec()

    @contextlib.contextmanager
    def handling_signals(self) -> Iterator[None]:
        """Turn SIGINT/SIGTERM/SIGHUP into a stop request for the duration of the block."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self._selector.register(wake_r, selectors.EVENT_READ, None)
        old_wakeup = signal.set_wakeup_fd(wake_w)
        old = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_wakeup)
            self._selector.unregister(wake_r)
            os.close(wake_r)
            os.close(wake_w)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def spawn(self, child: Child) -> None:
        """Start ``child`` in its own session; its output is read from now on.

        Raises:
            StopRequestedError: a stop signal arrived before.
            OSError: the program could not be executed.
        """
        if self.stop_signal is not None:
            raise StopRequestedError
        child.proc = subprocess.Popen(  # noqa: S603 - argv built by the launcher
            child.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child.env,
            start_new_session=True,
            preexec_fn=self._preexec,  # noqa: PLW1509 - single-threaded, see module doc
        )
        self.children.append(child)
        stdout = child.proc.stdout
        if stdout is None:  # pragma: no cover - stdout=PIPE always gives one
            raise RuntimeError("no stdout pipe")
        os.set_blocking(stdout.fileno(), False)
        self._selector.register(stdout, selectors.EVENT_READ, child)

    def wait_ready(self, child: Child, ready: str, timeout: float) -> re.Match[str]:
        """Pump output until a line of ``child`` matches ``ready``; return the match.

        Raises:
            ChildFailedError: a child exited, or ``child`` printed no such line in ``timeout``.
            StopRequestedError: a stop signal arrived meanwhile.
        """
        regex = re.compile(ready)
        deadline = time.monotonic() + timeout
        while True:
            for c, line in self._pump(min(0.2, max(deadline - time.monotonic(), 0))):
                if c is child and (m := regex.search(line)):
                    return m
            self._check()
            if time.monotonic() >= deadline:
                raise ChildFailedError(child, f"printed no line matching {ready!r} in {timeout}s")

    def watch(self) -> None:
        """Pump output until a stop is requested or a child exits.

        Raises:
            ChildFailedError: a child exited on its own.
            StopRequestedError: a stop signal arrived.
        """
        while True:
            for _ in self._pump(1.0):
                pass
            self._check()

    def stop_all(self) -> list[Child]:
        """Stop every running child, last started first; return those that needed SIGKILL."""
        killed = []
        for child in reversed(self.children):
            if self._stop(child):
                killed.append(child)
        self._drain_all()
        return killed

    def _stop(self, child: Child) -> bool:
        child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while child.running() and time.monotonic() < deadline:
            for _ in self._pump(0.1):
                pass
        killed = child.running()
        if killed:
            child.signal_group(signal.SIGKILL)
        child.popen.wait()
        return killed

    def _check(self) -> None:
        if self.stop_signal is not None:
            raise StopRequestedError
        for child in self.children:
            code = child.returncode()
            if code is not None:
                self._drain(child)
                raise ChildFailedError(child, f"exited unexpectedly with code {code}")

    def _pump(self, timeout: float) -> Iterator[tuple[Child, str]]:
        """Read whatever output is ready within ``timeout``; yield (child, line), echoing."""
        for key, _ in self._selector.select(timeout):
            if key.data is None:  # signal wake-up pipe: just empty it
                with contextlib.suppress(BlockingIOError):
                    os.read(key.fd, 512)
                continue
            child: Child = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                self._selector.unregister(key.fileobj)
            for line in child.feed(data):
                self._echo(child, line)
                yield child, line

    def _drain(self, child: Child) -> None:
        """Read a dead child's remaining output (it can no longer block)."""
        stdout = child.popen.stdout
        if stdout is None or stdout.closed:
            return
        with contextlib.suppress(KeyError):
            self._selector.unregister(stdout)
        # Non-blocking: a grandchild that escaped the group could still hold the pipe open.
        with contextlib.suppress(BlockingIOError):
            while data := os.read(stdout.fileno(), 65536):
                for line in child.feed(data):
                    self._echo(child, line)
        for line in child.feed(b""):
            self._echo(child, line)
        stdout.close()

    def _drain_all(self) -> None:
        for child in self.children:
            if not child.running():
                self._drain(child)

    def _echo(self, child: Child, line: str) -> None:
        if self.echo is None:
            return
        try:
            self.echo.write(f"{child.name:<11}| {line}\n")
            self.echo.flush()
        except (OSError, ValueError):  # our stdout is gone (closed pipe): keep supervising
            self.echo = None
