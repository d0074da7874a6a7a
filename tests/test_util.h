// Helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "rlforge/core/error.h"

namespace rlforge::testing {

// The message of the rlforge::Error that `fn` throws, or "" if it throws none.
inline std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A path in the temp folder for this process and the running test (removed if it exists), so
// tests in one binary and binaries run in parallel never share files.
inline std::filesystem::path TempPath(const std::string& name) {
  const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path p = std::filesystem::temp_directory_path() /
                                  ("rlforge_" + std::to_string(::getpid()) + "_" +
                                   t->test_suite_name() + "." + t->name() + "_" + name);
  std::filesystem::remove_all(p);
  return p;
}

}  // namespace rlforge::testing
