// Multi-layer perceptrons with CleanRL's orthogonal initialization.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace rlforge::nn {

// in -> hidden[0] -> ... -> out, `activation` ("tanh" or "relu") between layers. Weights are
// orthogonal with gain sqrt(2), the last layer's with `out_gain`; biases are 0.
torch::nn::Sequential Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
                          const std::string& activation, double out_gain);

// The compute threads training uses, for LibTorch and for OpenBLAS: 1 by default (idle OpenBLAS
// pthreads spin on sched_yield and take the second core from the envs). More threads need a
// process started with OMP_WAIT_POLICY=PASSIVE (`rlforge train --threads` sees to it) and may
// change the last bits of results.
void SetTrainingThreads(int n);
int TrainingThreads();
// Applies that setting; safe to call more than once.
void UseTrainingThreads();

// The rows of a batch of observations (N x width, contiguous float32), or an Error naming `who`.
const float* ObservationRows(const torch::Tensor& obs, int64_t width, const char* who);

// Gradient clipping by global L2 norm; returns the norm before clipping.
double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace rlforge::nn
