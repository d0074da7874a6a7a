"""A PPO checkpoint read with NumPy alone (Debian's python3-numpy): the header parses as the
safetensors format says, every tensor lies where its offsets say, and a tensor's values equal the
ones the C++ side prints (`rlforge checkpoint show --values`).

usage: safetensors_interop.py RLFORGE_BIN WORK_DIR
"""
import json
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def load(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert (8 + n) % 8 == 0, "data must start 8-byte aligned"
    data = raw[8 + n:]
    meta = header.pop("__metadata__")
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        assert begin == end, f"{name}: a gap or overlap before it"
        dtype = DTYPES[entry["dtype"]]
        tensors[name] = np.frombuffer(data[begin:stop], dtype=dtype).reshape(entry["shape"])
        end = stop
    assert end == len(data), "bytes after the last tensor"
    return tensors, meta


def main():
    rlforge, work = sys.argv[1], pathlib.Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run([rlforge, "train", "--set", "total_timesteps=2048", "--set", "progress=false",
                    "--run-dir", str(work)], check=True, capture_output=True)
    tensors, meta = load(work / "checkpoints/latest.safetensors")
    # CleanRL's Agent: actor and critic as torch.nn.Sequential(Linear, Tanh, Linear, Tanh, Linear)
    assert tensors["actor.0.weight"].shape == (64, 4), tensors["actor.0.weight"].shape
    assert tensors["actor.4.weight"].shape == (2, 64)
    assert tensors["critic.4.bias"].shape == (1,)
    assert "algo: ppo" in meta["rlforge.config"]
    for name in ["actor.0.weight", "critic.4.weight", "actor.4.bias"]:
        printed = subprocess.run([rlforge, "checkpoint", "show", str(work), "--values", name],
                                 check=True, capture_output=True, text=True).stdout.split()
        expected = np.array([np.float32(v) for v in printed], dtype=np.float32)
        assert np.array_equal(tensors[name].ravel(), expected), name
    # a forward pass of the saved policy in NumPy gives finite logits
    obs = np.array([[0.01, -0.02, 0.03, 0.04]], dtype=np.float32)
    h = np.tanh(obs @ tensors["actor.0.weight"].T + tensors["actor.0.bias"])
    h = np.tanh(h @ tensors["actor.2.weight"].T + tensors["actor.2.bias"])
    logits = h @ tensors["actor.4.weight"].T + tensors["actor.4.bias"]
    assert logits.shape == (1, 2) and np.all(np.isfinite(logits))
    print(f"safetensors interop ok: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
