// Scalar draws from LibTorch's default CPU generator, for code that samples without tensors: the
// checkpointed torch RNG state covers them as it covers torch::randn.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/DistributionsHelper.h>

#include <mutex>

namespace rlforge::nn {

// Holds the generator's lock while alive: make one per batch of draws.
class TorchRandom {
 public:
  TorchRandom()
      : generator_(at::detail::getDefaultCPUGenerator()),
        lock_(generator_.mutex()),
        cpu_(at::check_generator<at::CPUGeneratorImpl>(generator_)) {}
  double Uniform() { return at::uniform_real_distribution<double>(0.0, 1.0)(cpu_); }
  double Normal() { return at::normal_distribution<double>(0.0, 1.0)(cpu_); }

 private:
  at::Generator generator_;
  std::lock_guard<std::mutex> lock_;
  at::CPUGeneratorImpl* cpu_;
};

}  // namespace rlforge::nn
