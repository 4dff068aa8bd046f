"""The ``webtrader`` launcher, run as a user runs it: real nats-server, bridge and gateway.

Every test starts its own launcher on free ports with its own data directory (the session
fixtures' processes are not involved).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO, ManagedProcess, free_port
from webtrader.natsserver import new_passwords

RUNNING = r"webtrader demo is running: (http://\S+)"
STARTED = re.compile(r"webtrader: started (\S+) \(pid (\d+)\)")


def webtrader_script() -> str:
    """The ``webtrader`` console script installed with the project (``pip install -e .``)."""
    script = Path(sysconfig.get_path("scripts")) / "webtrader"
    assert script.is_file(), f"{script} missing: install the project (pip install -e '.[test]')"
    return str(script)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any WEBTRADER_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBTRADER_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``webtrader args`` to completion."""
    return subprocess.run(
        [webtrader_script(), *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=REPO,
        timeout=30,
        check=False,
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on ``host:port`` now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in {"Z", "X"}


def wait_until_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    """Wait for every pid to go; return those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(is_gone(p) for p in pids):
            return []
        time.sleep(0.1)
    return [p for p in pids if not is_gone(p)]


class Demo(ManagedProcess):
    """``webtrader demo`` on free ports with its own data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.nats_port = free_port()
        super().__init__(
            "webtrader demo",
            [
                webtrader_script(),
                "demo",
                "--port",
                str(self.port),
                "--nats-port",
                str(self.nats_port),
                "--data-dir",
                str(data_dir),
                "--tick-rate",
                "10",
            ],
            env=clean_env(),
        )
        self.url = ""

    def start_demo(self) -> None:
        """Start and wait for the printed URL."""
        self.url = self.start(RUNNING, timeout=45).group(1)

    def child_pids(self) -> dict[str, int]:
        """``{name: pid}`` of the children the launcher reported starting."""
        return {m.group(1): int(m.group(2)) for line in self.lines if (m := STARTED.search(line))}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """A running demo; killed (with its children) at teardown whatever the test did."""
    d = Demo(tmp_path / "data")
    d.start_demo()
    yield d
    d.stop(signal.SIGKILL)
    for pid in d.child_pids().values():
        if not is_gone(pid):
            os.kill(pid, signal.SIGKILL)


def login(url: str) -> str:
    r = httpx.post(f"{url}/token", data={"username": "vnpy", "password": "vnpy"}, timeout=10)
    r.raise_for_status()
    return str(r.json()["access_token"])


@pytest.mark.slow
def test_demo_serves_the_demo_login_and_contracts_then_stops_everything_on_sigterm(
    demo: Demo, tmp_path: Path
) -> None:
    pids = demo.child_pids()
    assert set(pids) == {"nats-server", "bridge", "gateway"}
    assert demo.url == f"http://127.0.0.1:{demo.port}"
    assert "vnpy / vnpy" in demo.output
    for pid in pids.values():
        assert not is_gone(pid)
        assert os.getpgid(pid) == pid, "each child leads its own process group"
    assert (tmp_path / "data" / "nats" / "jetstream").is_dir()

    token = login(demo.url)
    r = httpx.get(f"{demo.url}/contract", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    contracts = r.json()
    assert contracts
    assert all(c["vt_symbol"] == f"{c['symbol']}.{c['exchange']}" for c in contracts)

    assert demo.stop(signal.SIGTERM) == 0, demo.output
    assert wait_until_gone(list(pids.values()), timeout=5) == []
    assert port_is_free(demo.port)
    assert port_is_free(demo.nats_port)
    for name in pids:
        assert f"webtrader: {name} (pid {pids[name]}) exited (0)" in demo.output


def env_file(path: Path) -> dict[str, str]:
    """``VAR=value`` lines of ``path`` (comments skipped)."""
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.slow
def test_demo_gives_each_child_only_its_own_nats_password_and_never_on_a_command_line(
    demo: Demo, tmp_path: Path
) -> None:
    passwords_file = tmp_path / "data" / "nats-passwords.env"
    assert passwords_file.stat().st_mode & 0o777 == 0o600
    passwords = env_file(passwords_file)
    assert set(passwords) == set(new_passwords(REPO / "nats.conf"))
    assert len(set(passwords.values())) == len(passwords), "one password per user"
    pids = demo.child_pids()
    environ = {
        name: dict(
            item.split("=", 1)
            for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
            if "=" in item
        )
        for name, pid in pids.items()
    }
    for name, pid in pids.items():
        argv = Path(f"/proc/{pid}/cmdline").read_text()
        assert not any(p in argv for p in passwords.values()), f"a password in {name}'s argv"
    assert all(environ["nats-server"][var] == p for var, p in passwords.items())
    for name, user, var in (
        ("bridge", "bridge-sim", "WEBTRADER_NATS_BRIDGE_SIM_PASSWORD"),
        ("gateway", "gateway", "WEBTRADER_NATS_GATEWAY_PASSWORD"),
    ):
        env = environ[name]
        assert env["WEBTRADER_NATS_USER"] == user
        assert env["WEBTRADER_NATS_PASSWORD"] == passwords[var]
        assert not set(passwords) & set(env), f"{name} sees the server's password variables"
    # A second run makes new passwords.
    assert demo.stop(signal.SIGTERM) == 0
    again = Demo(tmp_path / "data")
    again.start_demo()
    try:
        assert not set(env_file(passwords_file).values()) & set(passwords.values())
    finally:
        again.stop()


@pytest.mark.slow
def test_demo_stops_the_others_and_fails_with_the_last_output_when_a_child_dies(
    demo: Demo,
) -> None:
    pids = demo.child_pids()
    os.kill(pids["bridge"], signal.SIGKILL)
    assert demo.proc is not None
    assert demo.proc.wait(30) == 1
    demo.wait_for("its last output", timeout=5)
    assert "bridge exited unexpectedly with code -9" in demo.output
    assert "bridge ready" in demo.output  # the bridge's own last lines are shown
    assert wait_until_gone(list(pids.values()), timeout=5) == []
    assert port_is_free(demo.port)
    assert port_is_free(demo.nats_port)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_stop_by_themselves_when_the_launcher_is_killed(demo: Demo) -> None:
    pids = demo.child_pids()
    demo.kill()  # SIGKILL: the launcher cannot clean up
    assert wait_until_gone(list(pids.values())) == []
    assert port_is_free(demo.port)
    assert port_is_free(demo.nats_port)


def test_demo_refuses_a_taken_port_before_starting_anything(tmp_path: Path) -> None:
    nats_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("demo", "--port", str(port), "--nats-port", str(nats_port),
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port or WEBTRADER_PORT" in result.stderr
    assert "started" not in result.stdout
    assert not (tmp_path / "nats").exists()


def test_environment_variable_sets_an_option_and_the_command_line_wins(tmp_path: Path) -> None:
    free = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        common = ["--nats-port", str(free_port()), "--data-dir", str(tmp_path)]
        from_env = run("demo", *common, env=clean_env(WEBTRADER_PORT=str(port)))
        overridden = run(
            "demo", "--port", str(port), *common, env=clean_env(WEBTRADER_PORT=str(free))
        )
    assert from_env.returncode == 2
    assert f"127.0.0.1:{port}" in from_env.stderr
    assert overridden.returncode == 2
    assert f"127.0.0.1:{port}" in overridden.stderr


def test_demo_help_shows_each_variable_and_its_effective_default() -> None:
    result = run("demo", "--help", env=clean_env(WEBTRADER_TICK_RATE="max"))
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for var in ("HOST", "PORT", "NATS_PORT", "DATA_DIR", "TICK_RATE", "SEED", "NATS_SERVER"):
        assert f"[WEBTRADER_{var};" in text
    assert "[WEBTRADER_TICK_RATE; default: 0.0]" in text


def test_bad_environment_value_is_a_usage_error_naming_the_variable() -> None:
    result = run("demo", env=clean_env(WEBTRADER_NATS_PORT="eighty"))
    assert result.returncode == 2
    assert "WEBTRADER_NATS_PORT='eighty'" in result.stderr


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "nats", "bridge", "gateway"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), result.stdout


def test_bridge_and_gateway_pass_their_arguments_through_to_the_real_programs() -> None:
    bridge = run("bridge", "--help")
    assert bridge.returncode == 0
    assert "--engine-id" in bridge.stdout
    assert "--tick-rate" in bridge.stdout
    gateway = run("gateway", "--help")
    assert gateway.returncode == 0
    assert "--default-engine" in gateway.stdout
    assert "--jwt-secret" in gateway.stdout
    bad = run("bridge", "--engine-id", "no.dots")
    assert bad.returncode == 2
    assert "--engine-id" in bad.stderr


def test_launcher_imports_neither_gateway_nor_engine_bridge() -> None:
    code = (
        "import sys, webtrader.cli, webtrader.demo, webtrader.processes;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gateway', 'engine_bridge')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


def test_nats_command_refuses_to_start_without_every_nats_password_and_names_them(
    tmp_path: Path,
) -> None:
    passwords = new_passwords(REPO / "nats.conf")
    unset = "WEBTRADER_NATS_OBSERVER_PASSWORD"
    del passwords[unset]
    args = ("nats", "--nats-port", str(free_port()), "--data-dir", str(tmp_path))
    missing = run(*args, env=clean_env(**passwords))
    assert missing.returncode == 2
    assert f"unset: {unset}" in missing.stderr
    assert "--new-passwords" in missing.stderr
    bad = run(*args, env=clean_env(**passwords, **{unset: "12345"}))
    assert bad.returncode == 2
    assert f"unusable NATS password in {unset}" in bad.stderr
    assert "12345" not in bad.stderr


def test_nats_new_passwords_prints_one_usable_line_per_user_of_the_config() -> None:
    result = run("nats", "--new-passwords")
    assert result.returncode == 0
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(lines) == set(new_passwords(REPO / "nats.conf"))
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{11,}", p) for p in lines.values())


def test_nats_command_runs_nats_server_with_the_project_config(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(
        "webtrader nats",
        [webtrader_script(), "nats", "--nats-port", str(port), "--data-dir", str(tmp_path)],
        env=clean_env(**new_passwords(REPO / "nats.conf")),
    )
    server.start(r"Server is ready")
    try:
        assert f"Using configuration file: {REPO / 'nats.conf'}" in server.output
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            info = conn.recv(4096).decode()
        assert info.startswith("INFO ")
        assert '"server_name":"webtrader"' in info  # from nats.conf
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0
    assert port_is_free(port)
