// Multi-layer perceptrons with CleanRL's orthogonal initialization.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlforge/nn/dense.h"

namespace rlforge::nn {

// in -> hidden[0] -> ... -> out, `activation` ("tanh" or "relu") between layers. Weights are
// orthogonal with gain sqrt(2), the last layer's with `out_gain`; biases are 0.
torch::nn::Sequential Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
                          const std::string& activation, double out_gain);

// The compute threads training uses: the dense kernels' row lanes and, for math done in LibTorch,
// LibTorch's and OpenBLAS's threads. 1 by default (idle OpenBLAS pthreads spin on sched_yield and
// take the second core from the envs). More LibTorch threads need a process started with
// OMP_WAIT_POLICY=PASSIVE (`rlforge train --threads` sees to it). A given count is deterministic;
// another count may change the last bits of results.
void SetTrainingThreads(int n);
int TrainingThreads();
// Applies that setting to LibTorch and OpenBLAS when `libtorch_math`, else keeps them at one
// thread; safe to call more than once.
void UseTrainingThreads(bool libtorch_math);

// The rows of a batch of observations (N x width, contiguous float32), or an Error naming `who`.
const float* ObservationRows(const torch::Tensor& obs, int64_t width, const char* who);

// Loads (weight, bias) pairs, e.g. a Sequential's parameters(), into a DenseMlp's parameters.
void ImportLayers(const DenseMlp& net, float* params, const std::vector<torch::Tensor>& layers);
// Each layer's weight and bias in LibTorch's Linear layout, copied out of a DenseMlp's parameters.
std::vector<torch::Tensor> LayerTensors(const DenseMlp& net, const float* params);

}  // namespace rlforge::nn
