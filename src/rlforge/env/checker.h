// An env checker in the spirit of gymnasium.utils.env_checker.check_env.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rlforge/env/env.h"

namespace rlforge::env {

struct CheckReport {
  std::vector<std::string> passed;    // checks that held
  std::vector<std::string> warnings;  // suspicious but allowed
  std::vector<std::string> failures;  // contract violations
  bool ok() const { return failures.empty(); }
};

// Runs every check on fresh envs from `make`.
CheckReport CheckEnv(const std::function<std::unique_ptr<Env>()>& make, int steps = 300);

}  // namespace rlforge::env
