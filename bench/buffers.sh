#!/usr/bin/env bash
# FlexibleBuffer throughput (configurations A and B of the buffers issue), medians of 5 runs,
# compared with Flexibuff v0.1.5 measured on this machine kind (Python 3.11, numpy 1.24).
# Writes bench/results/buffers.json and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bench_buffers
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
OUT=bench/results/buffers.json
mkdir -p bench/results
$BIN "${REPEAT:-5}" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
# Flexibuff v0.1.5 reference figures (calls/s, or ms for save/load)
ref = {"A": {"save_transition_per_s": 444e3, "sample_transitions_256_per_s": 849,
             "sample_transitions_256_as_tensors_per_s": 833, "weighted_sample_transitions_256_per_s": 958,
             "sample_transitions_256_given_indices_per_s": 95e3, "sample_episodes_1024_per_s": 12.3e3,
             "save_ms_fsync": 1.5, "load_into_ms": 1.7},
       "B": {"save_transition_per_s": 106e3, "sample_transitions_256_per_s": 553,
             "sample_transitions_256_as_tensors_per_s": 544, "weighted_sample_transitions_256_per_s": 581,
             "sample_transitions_256_given_indices_per_s": 4.8e3, "sample_episodes_1024_per_s": 1.6e3,
             "save_ms_fsync": 35, "load_into_ms": 44}}
for r in d["results"]:
    r["flexibuff_reference"] = ref[r["config"]]
    r["speedup"] = {}
    for k, v in ref[r["config"]].items():
        r["speedup"][k] = round(v / r[k], 2) if k.endswith("_ms") or k.endswith("_fsync") else round(r[k] / v, 1)
    print(f"config {r['config']}:")
    for k in ref[r["config"]]:
        print(f"  {k:45s} {r[k]:14.1f}   Flexibuff {ref[r['config']][k]:10.1f}   x{r['speedup'][k]}")
    print(f"  {'sample_episode_views_1024_per_s (zero-copy)':45s} {r['sample_episode_views_1024_per_s']:14.1f}")
    print(f"  {'record_gather_256_per_s (memory floor)':45s} {r['record_gather_256_per_s']:14.1f}")
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
echo "wrote $OUT"
