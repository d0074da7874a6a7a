#!/usr/bin/python3
"""FlexibleBuffer <-> NumPy: a saved buffer loads with numpy.load (no pickle), field by field,
and .npy files written by NumPy load into a FlexibleBuffer. Usage: npy_interop.py TOOL WORKDIR"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

tool, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


# ---- C++ writes, NumPy reads ----
saved = os.path.join(work, "from_cpp")
subprocess.run([tool, "write", saved], check=True)
meta = json.load(open(os.path.join(saved, "buffer.json")))
expect(meta["num_steps"] == 6 and meta["n_agents"] == 3 and meta["total_steps"] == 9, "buffer.json counters")
expect(meta["idx"] == 3 and meta["steps_recorded"] == 6, "buffer.json idx/steps_recorded")
want_dtypes = {"obs": np.float32, "discrete_actions": np.int64, "global_rewards": np.float32, "q": np.float64,
               "img": np.uint8, "counts": np.int32, "memory_weights": np.float32, "terminated": np.bool_,
               "truncated": np.bool_}
arrays = {}
for field in meta["fields"]:
    a = np.load(os.path.join(saved, field["name"] + ".npy"), allow_pickle=False)
    arrays[field["name"]] = a
    expect(a.dtype == want_dtypes[field["name"]], f"{field['name']}: dtype {a.dtype}")
    lead = [3, 6] if field["scope"] == "per_agent" else [6]
    expect(list(a.shape) == lead + field["shape"], f"{field['name']}: shape {a.shape}")
steps = [6, 7, 8, 3, 4, 5]  # step held by each ring row after 9 writes into 6 rows
for row, t in enumerate(steps):
    for agent in range(3):
        expect(np.array_equal(arrays["obs"][agent, row], np.array([agent * 10 + t, t * 0.5], np.float32)), f"obs {agent} {row}")
        expect(list(arrays["discrete_actions"][agent, row]) == [t % 3, agent], f"actions {agent} {row}")
        expect(arrays["q"][agent, row] == t / 3.0 + agent, f"q {agent} {row}")
    expect(arrays["global_rewards"][row] == np.float32(t * 1.5), f"reward {row}")
    expect(list(arrays["img"][row].ravel()) == [t * 4 + k for k in range(4)], f"img {row}")
    expect(arrays["counts"][row] == -t, f"counts {row}")
    expect(arrays["memory_weights"][row] == t + 1, f"weights {row}")
    expect(bool(arrays["terminated"][row]) == (t % 4 == 3), f"terminated {row}")
    expect(bool(arrays["truncated"][row]) == (t == 5), f"truncated {row}")

# ---- NumPy writes, C++ reads ----
mine = os.path.join(work, "from_numpy")
os.makedirs(mine)
T, N = 6, 3
data = {
    "obs": np.zeros((N, T, 2), np.float32), "discrete_actions": np.zeros((N, T, 2), np.int64),
    "global_rewards": np.zeros(T, np.float32), "q": np.zeros((N, T), np.float64), "img": np.zeros((T, 2, 2), np.uint8),
    "counts": np.zeros(T, np.int32), "memory_weights": np.ones(T, np.float32), "terminated": np.zeros(T, np.bool_),
    "truncated": np.zeros(T, np.bool_),
}
for t in range(4):
    for agent in range(N):
        data["obs"][agent, t] = [agent * 10 + t, t * 0.5]
        data["discrete_actions"][agent, t] = [t % 3, agent]
        data["q"][agent, t] = t / 3.0 + agent
    data["global_rewards"][t] = t * 1.5
    data["img"][t] = np.arange(t * 4, t * 4 + 4, dtype=np.uint8).reshape(2, 2)
    data["counts"][t] = -t
    data["terminated"][t] = t == 3
for name, array in data.items():
    np.save(os.path.join(mine, name + ".npy"), array)
meta_out = {"format": "rlforge.FlexibleBuffer", "version": 1, "num_steps": T, "n_agents": N, "total_steps": 4,
            "current_episode_start": 4, "rng": "12345 6789 0 0", "episodes": [[0, 4]], "fields": meta["fields"]}
# the schema copied from a saved buffer still holds its files' checksums: they no longer match
json.dump(meta_out, open(os.path.join(mine, "buffer.json"), "w"))
result = subprocess.run([tool, "check", mine], capture_output=True, text=True)
expect(result.returncode != 0 and "data do not match their checksum" in result.stderr
       and "delete field 'obs''s \"crc32c\"" in result.stderr, "stale checksum refused: " + result.stderr)
for field in meta_out["fields"]:  # files written by hand carry none
    del field["crc32c"]
json.dump(meta_out, open(os.path.join(mine, "buffer.json"), "w"))
result = subprocess.run([tool, "check", mine], capture_output=True, text=True)
expect(result.returncode == 0, "C++ check of NumPy files: " + result.stdout + result.stderr)

# a file NumPy wrote with the wrong dtype is refused, naming the file
np.save(os.path.join(mine, "counts.npy"), np.zeros(T, np.int64))
result = subprocess.run([tool, "check", mine], capture_output=True, text=True)
expect(result.returncode != 0 and "counts.npy: expected (6,) int32, found (6,) int64" in result.stderr,
       "wrong dtype refused: " + result.stderr)

shutil.rmtree(work, ignore_errors=True)
checks = "C++ -> NumPy field checks, stale checksum refusal, NumPy -> C++ load, dtype refusal"
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    print(f"npy interop: 0 passed, {len(failures)} failed")
    sys.exit(1)
print(f"npy interop ok ({checks})")
