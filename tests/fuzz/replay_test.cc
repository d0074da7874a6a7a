// Every fuzz target's seed corpus (tests/fuzz/corpus/<target>/) and every input that once crashed
// it (tests/fuzz/regressions/<target>/) replayed through the same harness in the normal build: a
// bad input must end in an rlforge::Error, so anything else aborts this test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_util.h"

RLFORGE_FUZZ_TARGET(safetensors);
RLFORGE_FUZZ_TARGET(npy);
RLFORGE_FUZZ_TARGET(golden);
RLFORGE_FUZZ_TARGET(config);
RLFORGE_FUZZ_TARGET(kwargs);
RLFORGE_FUZZ_TARGET(http);
RLFORGE_FUZZ_TARGET(feedback_store);
RLFORGE_FUZZ_TARGET(buffer);

namespace {

namespace fs = std::filesystem;
using Target = int (*)(const uint8_t*, size_t);

// Replays the target's inputs; returns how many there were.
size_t Replay(const std::string& name, Target target) {
  size_t n = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(RLFORGE_FUZZ_DIR) / kind / name;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::ifstream in(e.path(), std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), {}};
      SCOPED_TRACE(e.path().string());
      target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  return n;
}

TEST(FuzzReplay, EverySeedAndPastCrashEndsInAClearErrorOrSuccess) {
  const std::vector<std::pair<std::string, Target>> targets = {
      {"safetensors", FuzzOne_safetensors},
      {"npy", FuzzOne_npy},
      {"golden", FuzzOne_golden},
      {"config", FuzzOne_config},
      {"kwargs", FuzzOne_kwargs},
      {"http", FuzzOne_http},
      {"feedback_store", FuzzOne_feedback_store},
      {"buffer", FuzzOne_buffer}};
  for (const auto& [name, target] : targets) EXPECT_GT(Replay(name, target), 0u) << name;
}

}  // namespace
