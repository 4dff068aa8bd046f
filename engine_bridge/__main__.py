"""``python -m engine_bridge``: run one engine and put it on NATS until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from engine_bridge.engines import create_engine
from engine_bridge.service import Bridge, connect
from engine_bridge.settings import BridgeSettings, SettingsError, load_settings
from schemas.config import redact_url

logger = logging.getLogger("engine_bridge")


async def run_bridge(settings: BridgeSettings) -> int:
    """Run the bridge until SIGTERM or SIGINT; return the exit code."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    connecting = asyncio.create_task(connect(settings))
    stop_wait = asyncio.create_task(stopping.wait())
    await asyncio.wait({connecting, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        logger.info("stopped before NATS was reached")
        return 0
    try:
        nc = connecting.result()
    except Exception as exc:  # noqa: BLE001 - any failure to connect ends the process
        logger.error("cannot connect to NATS at %s: %s", settings.nats_url, exc)
        return 1
    bridge = Bridge(nc, create_engine(settings), settings.engine_id)
    try:
        await bridge.start()
        sys.stdout.write(
            f"bridge ready engine_id={settings.engine_id} nats={redact_url(settings.nats_url)}\n"
        )
        sys.stdout.flush()
        logger.info("serving engine %s (%s)", settings.engine_id, settings.engine)
        await stop_wait
        logger.info("stopping")
    finally:
        await bridge.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, configure stderr logging, run the bridge; return the exit code."""
    try:
        settings = load_settings(argv)
    except SettingsError as exc:
        sys.stderr.write(f"engine_bridge: {exc}\n")
        return 2
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.log_level_number,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(run_bridge(settings))


if __name__ == "__main__":
    sys.exit(main())
