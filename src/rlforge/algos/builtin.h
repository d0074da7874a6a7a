// The runs of the built-in algorithms, as registry.cc makes them (one loop per folder).
#pragma once

#include <memory>
#include <string>

#include "rlforge/train/algorithm.h"
#include "rlforge/train/config.h"

namespace rlforge::algos {

std::unique_ptr<train::Algorithm> MakePpo(const train::TrainConfig& config,
                                          const std::string& run_dir);
std::unique_ptr<train::Algorithm> MakeDqn(const train::TrainConfig& config,
                                          const std::string& run_dir);
std::unique_ptr<train::Algorithm> MakeSac(const train::TrainConfig& config,
                                          const std::string& run_dir);
std::unique_ptr<train::Algorithm> MakeMappo(const train::TrainConfig& config,
                                            const std::string& run_dir);
std::unique_ptr<train::Algorithm> MakeQmix(const train::TrainConfig& config,
                                           const std::string& run_dir);
std::unique_ptr<train::Algorithm> MakePebble(const train::TrainConfig& config,
                                             const std::string& run_dir);

}  // namespace rlforge::algos
