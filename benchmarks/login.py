"""Workload 3: ``POST /token`` (the OAuth2 password form vnpy_webtrader's clients send).

Sequential, one keep-alive client, ``login_requests`` logins.  The gateway checks the
login with a constant-time comparison against its configured password (it keeps no
password hash: the one login comes from its settings) and signs an HS256 JWT.
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
