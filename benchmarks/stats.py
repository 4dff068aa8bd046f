"""Latency statistics: exact percentiles of a list, and a mergeable log histogram.

Worker processes send histograms (bucket -> count, 1 % wide buckets) rather than every
sample, so percentiles over hundreds of thousands of events stay cheap to ship and merge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

GROWTH = 1.01
"""Each histogram bucket is 1 % wider than the previous: percentiles within 1 %."""
_LOG_GROWTH = math.log(GROWTH)
_FLOOR_US = 1.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values (nearest rank); nan if empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(values_ms: Iterable[float]) -> dict[str, float]:
    """``n``, ``p50``, ``p90``, ``p99``, ``max`` and ``mean`` of latencies in ms."""
    s = sorted(values_ms)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p90": percentile(s, 90),
        "p99": percentile(s, 99),
        "max": s[-1],
        "mean": sum(s) / len(s),
    }


def bucket(latency_s: float) -> int:
    """The histogram bucket of a latency in seconds (values under 1 us share bucket 0)."""
    us = latency_s * 1e6
    if us <= _FLOOR_US:
        return 0
    return int(math.log(us) / _LOG_GROWTH) + 1


def bucket_ms(index: int) -> float:
    """Upper edge of a bucket, in ms."""
    if index <= 0:
        return _FLOOR_US / 1000
    return math.exp(index * _LOG_GROWTH) / 1000


def merge(hists: Iterable[Mapping[str, int] | Mapping[int, int]]) -> dict[int, int]:
    """Sum histograms (keys may be strings, as after a JSON round trip)."""
    out: dict[int, int] = {}
    for h in hists:
        for k, v in h.items():
            key = int(k)
            out[key] = out.get(key, 0) + v
    return out


def hist_summary(hist: Mapping[int, int]) -> dict[str, float]:
    """``n``, ``p50``, ``p90``, ``p99``, ``max`` (ms) of a histogram."""
    n = sum(hist.values())
    if not n:
        return {"n": 0}
    keys = sorted(hist)
    out: dict[str, float] = {"n": n}
    targets = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
    done: set[str] = set()
    seen = 0
    for k in keys:
        seen += hist[k]
        for name, q in targets.items():
            if name not in done and seen >= q * n:
                out[name] = bucket_ms(k)
                done.add(name)
    out["max"] = bucket_ms(keys[-1])
    return out
