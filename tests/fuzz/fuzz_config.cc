// A run's config through the real LoadConfig path: the input's lines that start with "--set "
// are overrides, the rest is the YAML file. The algorithm's checks against the env run too.
#include <sstream>
#include <vector>

#include "fuzz_util.h"
#include "rlforge/train/config.h"

RLFORGE_FUZZ_TARGET(config) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string yaml;
  std::vector<std::string> overrides;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("--set ", 0) == 0) {
      overrides.push_back(line.substr(6));
    } else {
      yaml += line + "\n";
    }
  }
  const std::string path = rlforge::fuzz::WriteScratch("config.yaml", yaml);
  rlforge::fuzz::ExpectCleanError([&] { rlforge::train::LoadConfig(path, overrides); });
  return 0;
}
