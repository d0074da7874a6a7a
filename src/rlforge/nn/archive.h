// Checkpoint helpers over LibTorch archives: modules and optimizers as named sub-archives, and
// text (RNG states, configs, snapshots) as uint8 tensors.
#pragma once

#include <torch/torch.h>

#include <string>

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

void WriteText(torch::serialize::OutputArchive& archive, const char* name, const std::string& text);
std::string ReadText(torch::serialize::InputArchive& archive, const char* name);

}  // namespace rlforge::nn
