"""The suite's results as Markdown tables, and the targets of issue 5 judged against them.

Every target is a ratio: to the floor measured in the same run where the target is
relative, else to the target's own limit (``measured / limit``).  ``PASS``/``MISS`` only;
nothing here raises.
"""

from __future__ import annotations

import math
from typing import Any

Target = dict[str, Any]


def _get(node: Any, *path: str | int) -> Any:
    """``node[p0][p1]...`` with integer keys looked up as strings (JSON); None if absent."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(str(key))
    return node


def _target(
    name: str,
    measured: float | None,
    reference: float | None,
    limit: float,
    *,
    at_most: bool,
    against: str = "floor",
    unit: str = "",
) -> Target:
    """``measured / reference`` judged against ``limit`` (``against`` names the reference)."""
    if measured is None or not reference or math.isnan(measured):
        return {"target": name, "measured": measured, "unit": unit, "verdict": "n/a"}
    ratio = measured / reference
    ok = ratio <= limit if at_most else ratio >= limit
    return {
        "target": name,
        "measured": measured,
        "unit": unit,
        "reference": reference,
        "against": against,
        "ratio": ratio,
        "limit": f"{'<=' if at_most else '>='} {limit:g}",
        "verdict": "PASS" if ok else "MISS",
    }


def _rest_targets(r: dict[str, Any]) -> list[Target]:
    out: list[Target] = []
    seq, fseq = _get(r, "orders", "sequential"), _get(r, "floor", "rr_sequential")
    if seq and fseq:
        for q, limit in (("p50", 1.5), ("p99", 2.0)):
            out.append(
                _target(
                    f"order submit {q} <= {limit:g}x floor request-reply {q}",
                    seq["latency_ms"][q],
                    fseq["latency_ms"][q],
                    limit,
                    at_most=True,
                    unit="ms",
                )
            )
    conc, fconc = _get(r, "orders", "concurrent"), _get(r, "floor", "rr_concurrent")
    if conc and fconc:
        out.append(
            _target(
                f"{conc['clients']}-client order throughput >= 0.6x floor",
                conc["throughput"],
                fconc["throughput"],
                0.6,
                at_most=False,
                unit="req/s",
            )
        )
    login = _get(r, "login", "latency_ms", "p50")
    if login is not None:
        out.append(_absolute("login p50 <= 100 ms", login, 100, at_most=True, unit="ms"))
    return out


def _absolute(
    name: str, measured: float | None, limit: float, *, at_most: bool, unit: str = ""
) -> Target:
    """An absolute target as a ratio to its own limit (PASS at <= 1, or >= 1)."""
    return _target(name, measured, limit, 1, at_most=at_most, against="limit", unit=unit)


def _tick_targets(r: dict[str, Any]) -> list[Target]:
    out: list[Target] = []
    ceil = _get(r, "ticks", "ceilings") or {}
    counts = sorted(int(k) for k in ceil.get("stream", {}))
    judged = [c for c in counts if c in (10, 100)] or [c for c in counts if c > 1]
    for clients in judged:
        out.append(
            _target(
                f"/stream fan-out ceiling at {clients} clients >= 0.7x batched floor",
                _get(ceil, "stream", clients),
                _get(ceil, "floor", clients),
                0.7,
                at_most=False,
                unit="ev/s",
            )
        )
    for f in _get(r, "ticks", "fixed") or []:
        if f["endpoint"] not in ("stream", "ws"):  # "+deflate": for information
            continue
        where = "/stream" if f["endpoint"] == "stream" else "/ws/"
        label = f"{where} {f['clients']} clients x {f['rate']:g} ticks/s"
        out.append(
            _absolute(
                f"{label}: delivered >= 99 %", f["delivered_pct"], 99, at_most=False, unit="%"
            )
        )
        out.append(_absolute(f"{label}: p99 <= 100 ms", f["p99_ms"], 100, at_most=True, unit="ms"))
    return out


def _ws_targets(r: dict[str, Any]) -> list[Target]:
    out: list[Target] = []
    idle = _get(r, "idle_ws")
    if idle:
        name = f"{idle['clients']} idle WebSockets: gateway RSS < 250 MB"
        out.append(_absolute(name, idle["rss_max_mb"], 250, at_most=True, unit="MB"))
    for ep, where in (("stream", "/stream"), ("ws", "/ws/")):
        s = _get(r, "slow_client", ep)
        if not s:
            continue
        out.append(
            _target(
                f"slow client ({where}): healthy rate unchanged (>= 0.98x alone)",
                s["with_slow"]["per_client_eps"],
                s["alone"]["per_client_eps"],
                0.98,
                at_most=False,
                against="alone",
                unit="ev/s",
            )
        )
        out.append(
            _target(
                f"slow client ({where}): healthy p99 <= 2x alone",
                s["with_slow"]["p99_ms"],
                s["alone"]["p99_ms"],
                2,
                at_most=True,
                against="alone",
                unit="ms",
            )
        )
        out.append(
            _absolute(
                f"slow client ({where}): gateway memory growth < 50 MB",
                s["rss_growth_mb"],
                50,
                at_most=True,
                unit="MB",
            )
        )
    cold = _get(r, "coldstart", "to_first_tick_s", "median")
    if cold is not None:
        out.append(
            _absolute("demo cold start to first tick < 3 s", cold, 3, at_most=True, unit="s")
        )
    return out


def targets(r: dict[str, Any]) -> list[Target]:
    """Every target of issue 5 that the results allow judging."""
    return _rest_targets(r) + _tick_targets(r) + _ws_targets(r)


def _n(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [
        "| " + " | ".join(_n(c) if not isinstance(c, str) else c for c in row) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def _http(r: dict[str, Any]) -> str:
    runs = [
        ("floor POST /rr", _get(r, "floor", "rr_sequential")),
        ("floor POST /rr", _get(r, "floor", "rr_concurrent")),
        ("POST /order", _get(r, "orders", "sequential")),
        ("POST /order", _get(r, "orders", "concurrent")),
        (
            f"GET /order ({_get(r, 'order_list', 'orders', 'held')} held)",
            _get(r, "order_list", "all"),
        ),
        ("GET /order?vt_symbol=", _get(r, "order_list", "filtered")),
        (
            f"POST /order ({_get(r, 'order_list', 'orders', 'held')} held)",
            _get(r, "order_list", "submit_when_held"),
        ),
        ("POST /token", _get(r, "login")),
    ]
    rows = []
    for label, x in runs:
        if x and "clients" in x:
            lat = x["latency_ms"]
            ok = f"{x['statuses'].get('200', 0)}/{x['requests']}"
            rows.append(
                [label, x["clients"], x["requests"], lat.get("p50"), lat.get("p90"),
                 lat.get("p99"), lat.get("max"), x["throughput"], x["bytes_per_response"], ok]
            )  # fmt: skip
    head = "request,clients,n,p50 ms,p90 ms,p99 ms,max ms,req/s,bytes,200s"
    nats_runs = [
        ("trivial responder (the floor's)", _get(r, "floor", "nats_rr")),
        ("bridge `submit` (sim engine)", _get(r, "orders", "nats_submit")),
    ]
    nats_rows = [
        [label, x["requests"], x["latency_ms"].get("p50"), x["latency_ms"].get("p99")]
        for label, x in nats_runs
        if x
    ]
    nats = _section("NATS request-reply without HTTP (sequential)", "to,n,p50 ms,p99 ms", nats_rows)
    cpu_rows = [
        [label, x["clients"], ", ".join(f"{k} {v:.2f}" for k, v in x["cpu_ms_per_request"].items())]
        for label, x in runs
        if x and x.get("cpu_ms_per_request")
    ]
    cpu = _section("Server CPU per request (ms)", "request,clients,CPU ms per request", cpu_rows)
    return "\n\n".join(filter(None, [_section("HTTP", head, rows), nats, cpu]))


def _section(title: str, head: str, rows: list[list[Any]]) -> str:
    return f"### {title}\n\n{_table(head.split(','), rows)}" if rows else ""


def _sweeps(r: dict[str, Any]) -> str:
    rows = [
        [ep, x["clients"], x["rate"], x["source_rate"], x["delivered_eps"], x["per_client_eps"],
         x["delivered_pct"], x["lost"], x["p50_ms"], x["p99_ms"], x["frames_per_s"],
         f"{x['server_cpu']:.0%}"]
        for ep, lst in (_get(r, "ticks", "sweeps") or {}).items()
        for x in lst
    ]  # fmt: skip
    head = "endpoint,clients,ticks/s,source/s,delivered ev/s,per client,delivered %,lost,"
    head += "p50 ms,p99 ms,frames/s,server CPU"
    out = _section("Fan-out sweeps (synthetic tick source)", head, rows)
    ceil = _get(r, "ticks", "ceilings") or {}
    counts = sorted({int(c) for v in ceil.values() for c in v})
    rows = [[ep, *[_get(ceil, ep, c) for c in counts]] for ep in ceil]
    head = ",".join(["ceiling ev/s", *[f"{c} clients" for c in counts]])
    return "\n\n".join(
        filter(None, [out, _section("Fan-out ceilings (most events/s delivered)", head, rows)])
    )


def _fixed(r: dict[str, Any]) -> str:
    rows = [
        [x["endpoint"], x["clients"], x["rate"], x["source_rate"], x["delivered_pct"], x["lost"],
         x["p50_ms"], x["p99_ms"], f"{x['server_cpu']:.0%}"]
        for x in _get(r, "ticks", "fixed") or []
    ]  # fmt: skip
    head = "endpoint,clients,ticks/s,source/s,delivered %,lost,p50 ms,p99 ms,gateway CPU"
    return _section("Fixed rates (sim engine as the source)", head, rows)


def _idle(r: dict[str, Any]) -> str:
    idle = _get(r, "idle_ws") or {}
    rows = [
        [
            f"{ep} x {idle['clients']}",
            x["open"],
            x["rss_before_mb"],
            x["rss_mb"],
            x["per_connection_kb"],
        ]
        for ep in ("stream", "ws")
        if (x := idle.get(ep))
    ]
    return _section("Idle WebSockets", "idle,open,RSS before MB,RSS MB,KB/connection", rows)


def _slow(r: dict[str, Any]) -> str:
    slow = _get(r, "slow_client") or {}
    rows = [
        [f"{ep} ({slow['healthy']} healthy, {slow['rate']:g}/s)", s["alone"]["per_client_eps"],
         s["with_slow"]["per_client_eps"], s["with_slow"]["delivered_pct"], s["alone"]["p99_ms"],
         s["with_slow"]["p99_ms"], s["rss_growth_mb"], f"open {s['slow_client']['open']}"]
        for ep in ("stream", "ws")
        if (s := slow.get(ep))
    ]  # fmt: skip
    head = "slow client,per client alone,beside stalled,delivered %,p99 alone ms,p99 beside ms,"
    head += "RSS growth MB,stalled client"
    return _section("Slow client", head, rows)


def _cold(r: dict[str, Any]) -> str:
    cold = _get(r, "coldstart")
    if not cold:
        return ""
    rows = [
        [label, _n(cold[key]["median"], 2), _n(cold[key]["max"], 2)]
        for label, key in (
            ("spawn -> login", "to_login_s"),
            ("spawn -> first tick", "to_first_tick_s"),
        )
    ]
    return _section(f"Cold start ({cold['rounds']} rounds)", "cold start,median s,max s", rows)


def _targets(results: dict[str, Any]) -> str:
    rows = [
        [t["target"], _n(t.get("measured"), 2) + (f" {t['unit']}" if t.get("unit") else ""),
         f"{_n(t.get('reference'), 2)} ({t.get('against', '-')})", _n(t.get("ratio"), 2),
         t.get("limit", "-"), t["verdict"]]
        for t in results.get("targets") or []
    ]  # fmt: skip
    return _section("Targets", "target,measured,reference,ratio,limit,verdict", rows)


def render(results: dict[str, Any]) -> str:
    """Every table, Markdown."""
    r = results["results"]
    parts = [_http(r), _sweeps(r), _fixed(r), _idle(r), _slow(r), _cold(r), _targets(results)]
    return "\n\n".join(p for p in parts if p) + "\n"
