"""The benchmark suite still runs end to end (``python -m benchmarks.run --quick``).

Only completion and the shape of its JSON are checked: every workload present, every
target judged.  Timings are never asserted here; they belong to the full run documented in
docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.run import WORKLOADS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_suite_completes_and_reports_every_workload(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    doc = json.loads(out.read_text())
    assert doc["mode"] == "quick"
    assert set(doc["results"]) == set(WORKLOADS)
    assert set(doc["results"]["ticks"]["sweeps"]) == {"stream", "floor", "ws", "floor_frame"}
    assert all(rows for rows in doc["results"]["ticks"]["sweeps"].values())
    assert doc["targets"]
    unjudged = [t["target"] for t in doc["targets"] if t["verdict"] not in ("PASS", "MISS")]
    assert not unjudged, f"targets without a measurement: {unjudged}"
    assert "### Targets" in proc.stdout
