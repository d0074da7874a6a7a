// Env kwargs as `-k key=value` and YAML `env.kwargs` give them: parsed, checked against the env's
// kwarg specs, the env made, reset and stepped. The first line picks the env id.
#include <sstream>
#include <vector>

#include "fuzz_util.h"
#include "rlforge/core/rng.h"
#include "rlforge/env/registry.h"

RLFORGE_FUZZ_TARGET(kwargs) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string id;
  std::getline(in, id);
  std::vector<std::string> items;
  for (std::string line; std::getline(in, line);) items.push_back(line);
  rlforge::fuzz::ExpectCleanError([&] {
    const auto kwargs = rlforge::env::ParseKwargs(items);
    auto env = rlforge::env::Make(id, kwargs);
    const rlforge::Space& act = env->action_space();
    std::vector<uint8_t> obs(env->observation_space().nbytes());
    std::vector<int64_t> discrete(static_cast<size_t>(act.num_discrete()));
    std::vector<float> continuous(static_cast<size_t>(act.num_continuous()));
    env->Reset(0, obs.data());
    rlforge::Rng rng(1);
    for (int t = 0; t < 3; ++t) {
      act.Sample(rng, discrete, continuous);
      env->Step({discrete, continuous}, obs.data());
    }
  });
  return 0;
}
