#!/usr/bin/python3
"""Start-up cost of the CLI: wall-clock seconds and peak RSS of `rlforge envs` (and `--help`),
median of N runs, each a fresh process. Also which LibTorch libraries the binary maps (none is the
goal: LibTorch loads only in processes that need autograd).

usage: startup.py RLFORGE_BIN OUT_JSON [RUNS]
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

binary, out = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5


def measure(args):
    seconds, rss = [], []
    for _ in range(runs):
        pid_start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execv(binary, [binary] + args)
        _, status, usage = os.wait4(pid, 0)
        seconds.append(time.perf_counter() - pid_start)
        rss.append(usage.ru_maxrss / 1024)  # KiB -> MiB
        assert os.waitstatus_to_exitcode(status) == 0, args
    return {"median_seconds": round(statistics.median(seconds), 4),
            "min_seconds": round(min(seconds), 4), "max_seconds": round(max(seconds), 4),
            "median_max_rss_mib": round(statistics.median(rss), 1), "runs": runs}


ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
summary = {
    "benchmark": "cli_startup",
    "rlforge envs": measure(["envs"]),
    "rlforge --help": measure(["--help"]),
    "shared_libraries": len(ldd.splitlines()),
    "libtorch_linked": any(k in ldd for k in ("libtorch", "libc10")),
    "targets": {"seconds": 0.05, "max_rss_mib": 40},
    "before": {"seconds": 1.25, "max_rss_mib": 230, "note": "measured by the platform issue"},
}
json.dump(summary, open(out, "w"), indent=1)
print(json.dumps(summary, indent=1))
