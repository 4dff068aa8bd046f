"""Workload 3: ``POST /token`` (the OAuth2 password form vnpy_webtrader's clients send).

Sequential, one keep-alive client, ``login_requests`` logins.  The gateway verifies the
password against its scrypt hash (by design ~50-90 ms of CPU, in a worker thread) and
signs an access and a refresh token.  Successful logins do not count against the login
rate limit, so the run is never throttled.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Stack
from benchmarks.load import DEMO_LOGIN, http_load
from benchmarks.scale import Scale


async def run(st: Stack, scale: Scale) -> dict[str, Any]:
    print("  POST /token sequential", flush=True)
    return await http_load(
        st.http,
        "/token",
        method="POST",
        bodies=[{"form": DEMO_LOGIN}],
        requests=scale.login_requests,
        warmup=3,
    )
