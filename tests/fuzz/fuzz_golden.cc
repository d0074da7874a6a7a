// Golden trajectory JSON (../shared/golden format), as `rlforge env replay` reads it: the
// single-agent and the multi-agent (MPE) parsers, and a multi-agent file's replay (which
// reports problems, never throws).
#include "fuzz_util.h"
#include "rlforge/io/golden.h"

RLFORGE_FUZZ_TARGET(golden) {
  const std::string path = rlforge::fuzz::WriteScratch(
      "golden.json", std::string_view(reinterpret_cast<const char*>(data), size));
  rlforge::fuzz::ExpectCleanError([&] { rlforge::io::LoadGolden(path); });
  rlforge::fuzz::ExpectCleanError([&] {
    for (const auto& episode : rlforge::io::LoadMultiAgentGolden(path))
      rlforge::io::ReplayMultiAgentEpisode(episode, rlforge::io::ReplayMode::kReplay, 0.0);
  });
  return 0;
}
