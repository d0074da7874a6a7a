// Checkpoint helpers over LibTorch archives: modules and optimizers as named sub-archives, and
// text (RNG states, configs, snapshots) as uint8 tensors.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlforge/nn/dense.h"

namespace rlforge::nn {

// Anything with save(OutputArchive&) / load(InputArchive&): modules (through ->) and optimizers.
template <typename T>
void SaveTo(torch::serialize::OutputArchive& archive, const char* name, const T& item) {
  torch::serialize::OutputArchive sub;
  if constexpr (requires { item->save(sub); }) {
    item->save(sub);
  } else {
    item.save(sub);
  }
  archive.write(name, sub);
}

template <typename T>
void LoadFrom(torch::serialize::InputArchive& archive, const char* name, T& item) {
  torch::serialize::InputArchive sub;
  archive.read(name, sub);
  if constexpr (requires { item->load(sub); }) {
    item->load(sub);
  } else {
    item.load(sub);
  }
}

// Reads a float32 tensor of exactly `shape`, or throws an Error naming `what`/`key`.
torch::Tensor ReadFloats(torch::serialize::InputArchive& archive, const std::string& what,
                         const std::string& key, const std::vector<int64_t>& shape);
// A float block (copied) as a 1-D tensor, and back into `out` (its size checked).
void WriteFloats(torch::serialize::OutputArchive& archive, const std::string& key,
                 const std::vector<float>& data);
void ReadFloats(torch::serialize::InputArchive& archive, const std::string& what,
                const std::string& key, std::vector<float>& out);

// FlatAdam's moments and step count as the sub-archive `name`.
void SaveAdam(torch::serialize::OutputArchive& archive, const char* name, const FlatAdam& adam);
void LoadAdam(torch::serialize::InputArchive& archive, const char* name, FlatAdam& adam);

void WriteText(torch::serialize::OutputArchive& archive, const char* name, const std::string& text);
std::string ReadText(torch::serialize::InputArchive& archive, const char* name);

}  // namespace rlforge::nn
