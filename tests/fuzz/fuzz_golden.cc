// Golden trajectory JSON (../shared/golden format), as `rlforge env replay` reads it.
#include "fuzz_util.h"
#include "rlforge/io/golden.h"

RLFORGE_FUZZ_TARGET(golden) {
  const std::string path = rlforge::fuzz::WriteScratch(
      "golden.json", std::string_view(reinterpret_cast<const char*>(data), size));
  rlforge::fuzz::ExpectCleanError([&] { rlforge::io::LoadGolden(path); });
  return 0;
}
