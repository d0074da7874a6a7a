// Helpers shared by the tests.
#pragma once

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

}  // namespace rlforge::testing
