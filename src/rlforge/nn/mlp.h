// What the learners share around the dense kernels: initial weights (CleanRL's orthogonal and
// PyTorch's Linear default, drawn from the project's own generators), PyTorch-named copies of the
// layers for checkpoints and tests, Adam and RNG state in checkpoints, and the training threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rlforge/core/rng.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"

namespace rlforge::nn {

// The compute threads training uses: the dense kernels' row lanes (and LibTorch's, for a plugin
// whose math runs there). 1 by default. A given count is deterministic; another count may change
// the last bits of results.
void SetTrainingThreads(int n);
int TrainingThreads();

// A generator for one purpose of a run (initial weights, action noise, ...): `stream` keeps it
// apart from the envs' generators, which are seeded with seed + i.
Rng StreamRng(uint64_t seed, uint32_t stream);

// A (rows x cols) matrix, row-major, with orthonormal rows or columns (whichever are fewer),
// times `gain`: torch.nn.init.orthogonal_'s definition (QR of a Gaussian matrix, signs fixed so
// that R has a positive diagonal), by Householder reflections in double precision.
std::vector<float> Orthogonal(int64_t rows, int64_t cols, double gain, Rng& rng);

// CleanRL's layer_init: orthogonal weights with `hidden_gain` (the last layer with `out_gain`),
// zero biases.
void InitOrthogonal(const DenseMlp& net, float* params, double hidden_gain, double out_gain,
                    Rng& rng);
// PyTorch's nn.Linear default: weight and bias uniform in +-1/sqrt(in).
void InitLinearDefault(const DenseMlp& net, float* params, Rng& rng);
// PyTorch's default for layer l only.
void InitLinearDefault(const DenseMlp& net, float* params, size_t l, Rng& rng);

// A float tensor by name, as PyTorch would name it.
struct NamedTensor {
  std::string name;            // "actor.0.weight"
  std::vector<int64_t> shape;  // PyTorch's: weight (out x in), bias (out)
  std::vector<float> values;   // row-major
};
using NamedTensors = std::vector<NamedTensor>;

// Layer l of `net` as `prefix.{2l}.weight` and `prefix.{2l}.bias`: the names of a
// torch.nn.Sequential(Linear, activation, Linear, ...).
void ExportLayers(const DenseMlp& net, const float* params, const std::string& prefix,
                  NamedTensors* out);
void ImportLayers(const DenseMlp& net, float* params, const std::string& prefix,
                  const io::TensorDict& in);
void Put(io::TensorDict& out, const NamedTensors& tensors);

// FlatAdam's moments and step as `prefix.exp_avg`, `prefix.exp_avg_sq`, `prefix.step`.
void PutAdam(io::TensorDict& out, const std::string& prefix, const FlatAdam& adam);
void GetAdam(const io::TensorDict& in, const std::string& prefix, FlatAdam& adam);
// A generator's exact state as a U8 tensor `name`.
void PutRng(io::TensorDict& out, const std::string& name, const Rng& rng);
void GetRng(const io::TensorDict& in, const std::string& name, Rng& rng);

}  // namespace rlforge::nn
