// The .npy reader (NumPy format 1.0-3.0 headers, dtypes, shapes, sizes).
#include "fuzz_util.h"
#include "rlforge/io/npy.h"

RLFORGE_FUZZ_TARGET(npy) {
  const std::string path = rlforge::fuzz::WriteScratch(
      "a.npy", std::string_view(reinterpret_cast<const char*>(data), size));
  rlforge::fuzz::ExpectCleanError([&] { rlforge::io::ReadNpy(path); });
  return 0;
}
