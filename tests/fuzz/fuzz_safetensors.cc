// The checkpoint reader: safetensors header JSON, offsets, dtypes, metadata and its CRC.
#include "fuzz_util.h"
#include "rlforge/io/safetensors.h"

RLFORGE_FUZZ_TARGET(safetensors) {
  rlforge::fuzz::ExpectCleanError([&] {
    const auto dict = rlforge::io::DecodeSafetensors(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    for (const auto& [name, t] : dict.tensors()) (void)t.numel();
  });
  return 0;
}
