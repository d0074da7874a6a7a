// A run copied to a remote, brought back: its files, then the checkpoint LATEST.json names,
// checked against the manifest (sizes, CRC32C) before it takes the name latest.safetensors.
#pragma once

#include <cstdint>
#include <string>

#include "rlforge/cloud/rclone.h"

namespace rlforge::cloud {

// Downloads the run at `remote` into `dir` (made if missing); returns the checkpoint's step.
// Errors name the remote file and what was wrong; nothing partial takes a final name.
int64_t Pull(const Rclone& rclone, const std::string& remote, const std::string& dir);

}  // namespace rlforge::cloud
