// Shared by the libFuzzer targets: a scratch folder on tmpfs, and the rule every target checks —
// bad input is an rlforge::Error (a clear message naming what was wrong); any other exception,
// a crash, a leak or undefined behaviour (ASan + UBSan) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "rlforge/core/error.h"

// A target's entry point: libFuzzer's in the fuzz build; a named function in the replay test
// (tests/fuzz/replay_test.cc), which runs every seed and every past crash in `make test`.
#ifdef RLFORGE_FUZZ_REPLAY
#define RLFORGE_FUZZ_TARGET(name) int FuzzOne_##name(const uint8_t* data, size_t size)
#else
#define RLFORGE_FUZZ_TARGET(name) \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

namespace rlforge::fuzz {

inline const std::filesystem::path& Scratch() {
  static const std::filesystem::path dir = [] {
    const char* shm = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    auto p = std::filesystem::path(shm) / ("rlforge_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    std::atexit([] { std::filesystem::remove_all(Scratch()); });
    return p;
  }();
  return dir;
}

inline std::string WriteScratch(const std::string& name, std::string_view bytes) {
  const auto path = Scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
  return path.string();
}

// Runs f; an rlforge::Error is the expected answer to bad input, anything else aborts.
template <class F>
void ExpectCleanError(F&& f) {
  try {
    f();
  } catch (const rlforge::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not an rlforge::Error: %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

}  // namespace rlforge::fuzz
