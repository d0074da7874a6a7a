// Image files.
#pragma once

#include <string>

#include "rlforge/env/env.h"

namespace rlforge::io {

// Writes an RGB image as PNG, atomically (temp file + fsync + rename).
void WritePng(const env::Image& image, const std::string& path);

}  // namespace rlforge::io
