"""The benchmark suite's statistics: exact percentiles and the mergeable latency histogram."""

from __future__ import annotations

import json

import pytest

from benchmarks.stats import bucket, hist_summary, merge, percentile, summary


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0


def test_summary_of_nothing_says_so() -> None:
    assert summary([]) == {"n": 0}
    assert hist_summary({}) == {"n": 0}


def test_histogram_percentiles_are_within_one_percent_of_exact() -> None:
    latencies_s = [(i % 1000 + 1) / 10_000 for i in range(10_000)]  # 0.1 .. 100 ms
    hist: dict[int, int] = {}
    for x in latencies_s:
        hist[bucket(x)] = hist.get(bucket(x), 0) + 1
    exact = summary(x * 1000 for x in latencies_s)
    approx = hist_summary(hist)
    assert approx["n"] == exact["n"]
    for q in ("p50", "p90", "p99", "max"):
        assert approx[q] == pytest.approx(exact[q], rel=0.011)


def test_histograms_merge_after_a_json_round_trip() -> None:
    a = {bucket(0.001): 3}
    b = json.loads(json.dumps({bucket(0.001): 2, bucket(0.1): 1}))  # keys become strings
    merged = merge([a, b])
    assert merged == {bucket(0.001): 5, bucket(0.1): 1}
    assert hist_summary(merged)["max"] == pytest.approx(100, rel=0.011)
