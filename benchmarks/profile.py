"""Profiles of the servers under load: py-spy attached by PID, and a summary of its output.

``python -m benchmarks.run --profile DIR`` sets ``WT_BENCH_PROFILE`` and every server the
suite starts (gateway, bridge, the floor's apps) is then sampled by ``py-spy record
--nonblocking --format raw`` (collapsed stacks, 200 Hz) from its start to its stop, into
``DIR/{name}-{pid}.txt``.  Idle samples are excluded (py-spy's default), so the profile is
where the process spent CPU.  Needs py-spy (the ``bench`` extra) and ptrace rights.

``python -m benchmarks.profile DIR/gateway-1234.txt [--top 25]`` prints the functions with
the most samples, by self time and inclusive (on the stack at all).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sysconfig
from collections import Counter
from pathlib import Path

ENV = "WT_BENCH_PROFILE"
PROFILED = ("gateway", "bridge", "floor-rr", "floor-fanout", "floor-responder")
RATE = 200
LINENO = re.compile(r":\d+\)$")


def start(name: str, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy on ``pid`` when profiling is on and ``name`` is a server; else None."""
    target = os.environ.get(ENV)
    local = Path(sysconfig.get_path("scripts")) / "py-spy"
    spy = str(local) if local.exists() else shutil.which("py-spy")
    if not target or name not in PROFILED or not spy:
        return None
    out = Path(target) / f"{name}-{pid}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [spy, "record", "-p", str(pid), "-o", str(out), "-f", "raw", "-r", str(RATE)]
    argv += ["--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(spy: subprocess.Popen[bytes] | None) -> None:
    """Let py-spy write its file (SIGINT), then reap it."""
    if spy is None:
        return
    with contextlib.suppress(ProcessLookupError):
        spy.send_signal(signal.SIGINT)
    try:
        spy.wait(20)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)


def summarize(path: Path, top: int) -> str:
    """Top functions by self and inclusive samples of a py-spy raw (collapsed) file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        if "_find_and_load" in stack:  # imports at start-up: not the workload
            continue
        n = int(count)
        total += n
        frames = [LINENO.sub(")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    lines = [f"{path.name}: {total} samples ({total / RATE:.1f} CPU s at {RATE} Hz)", "", "self:"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for f in args.files:
        print(summarize(f, args.top))
        print()


if __name__ == "__main__":
    main()
