#include "rlforge/algos/dreamer/config.h"

#include <map>

#include "rlforge/core/error.h"

namespace rlforge::algos {

DreamerSize DreamerConfig::Size() const {
  // official configs.yaml (2024): deter, hidden, classes, units, CNN depth
  static const std::map<std::string, DreamerSize> presets = {
      {"size1m", {512, 64, 4, 64, 4}},
      {"size12m", {2048, 256, 16, 256, 16}},
      {"size25m", {3072, 384, 24, 384, 24}},
      {"size50m", {4096, 512, 32, 512, 32}},
  };
  const auto it = presets.find(size);
  if (it == presets.end()) {
    throw Error("dreamer.size: unknown preset \"" + size +
                "\" (expected size1m, size12m, size25m or size50m)");
  }
  DreamerSize s = it->second;
  if (deter > 0) s.deter = deter;
  if (hidden > 0) s.hidden = hidden;
  if (classes > 0) s.classes = classes;
  if (units > 0) s.units = units;
  if (depth > 0) s.depth = depth;
  return s;
}

void DreamerConfig::Validate() const {
  const DreamerSize s = Size();
  if (s.deter % blocks != 0) {
    throw Error("dreamer.blocks: the GRU state (" + std::to_string(s.deter) +
                ") must split into dreamer.blocks = " + std::to_string(blocks) + " equal blocks");
  }
  if (imag_last > batch_length) {
    throw Error("dreamer.imag_last: expected at most dreamer.batch_length (" +
                std::to_string(batch_length) + "), got " + std::to_string(imag_last));
  }
}

}  // namespace rlforge::algos
