// DreamerV3's networks (2024 version, official rssm.py / heads.py): every layer is Linear ->
// RMSNorm -> SiLU, weights truncated-normal with fan-in scaling, reward and value outputs zero,
// the policy's scaled by 0.01. Vector observations only (symlog MLP encoder, symlog-MSE decoder).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "rlforge/algos/dreamer/config.h"

namespace rlforge::dreamer {

using algos::DreamerSize;

// A Linear layer initialized as the official code does: truncated normal (+-2 sd) with variance
// scale / fan_in, zero bias; scale 0 gives zeros (the reward and value outputs).
torch::nn::Linear MakeLinear(int64_t in, int64_t out, double scale, at::Generator& gen);

// Linear -> RMSNorm (learned scale, eps 1e-4) -> SiLU.
class NormLayerImpl : public torch::nn::Module {
 public:
  NormLayerImpl(int64_t in, int64_t out, at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear_{nullptr};
  torch::Tensor scale_;  // RMSNorm gain   (out)
};
TORCH_MODULE(NormLayer);

// `layers` NormLayers of width `units`, then an optional Linear output (out = 0: none).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in, int64_t units, int64_t layers, int64_t out, double outscale,
          at::Generator& gen);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<NormLayer> layers_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Mlp);

// A block-diagonal Linear: `groups` blocks, each mapping in/groups inputs to out/groups outputs.
class BlockLinearImpl : public torch::nn::Module {
 public:
  BlockLinearImpl(int64_t in, int64_t out, int64_t groups, at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& x);  // (N x in) -> (N x out)
  // forward() of the input whose block g is [own_g, shared]: own (N x G a), shared (N x b), with
  // the shared part's products done as one dense GEMM instead of G copies of it
  torch::Tensor ForwardShared(const torch::Tensor& own, const torch::Tensor& shared);

 private:
  int64_t groups_;
  torch::Tensor weight_;  // blocks   (groups x in/groups x out/groups)
  torch::Tensor bias_;    // (out)
};
TORCH_MODULE(BlockLinear);

// The recurrent state-space model. State: deter h (N x D) and stoch z (N x S x K, one-hot).
class RssmImpl : public torch::nn::Module {
 public:
  RssmImpl(int64_t action_dim, int64_t embed_dim, const DreamerSize& size, int64_t stoch,
           int64_t blocks, double unimix, at::Generator& gen);

  // h_t = f(h_{t-1}, z_{t-1}, a_{t-1}): the block GRU.
  torch::Tensor Core(const torch::Tensor& deter, const torch::Tensor& stoch,
                     const torch::Tensor& action);
  // Latent probabilities (N x S x K), 1% unimix: prior p(z | h) and posterior q(z | h, x).
  torch::Tensor Prior(const torch::Tensor& deter);
  torch::Tensor Posterior(const torch::Tensor& deter, const torch::Tensor& embed);
  // The features every head reads: [h, flatten(z)]   (N x D + S K).
  static torch::Tensor Features(const torch::Tensor& deter, const torch::Tensor& stoch);

  int64_t deter_dim() const { return deter_; }
  int64_t stoch() const { return stoch_; }
  int64_t classes() const { return classes_; }
  int64_t feature_dim() const { return deter_ + stoch_ * classes_; }

 private:
  torch::Tensor Logits(const torch::Tensor& x) const;  // (N x S K) -> probs (N x S x K)
  int64_t deter_, stoch_, classes_, blocks_;
  double unimix_;
  NormLayer in_deter_{nullptr}, in_stoch_{nullptr}, in_action_{nullptr};  // input projections
  BlockLinear dyn_hidden_{nullptr}, dyn_gru_{nullptr};                    // the block GRU
  torch::Tensor dyn_norm_;                                                // RMSNorm gain (D)
  Mlp prior_{nullptr}, posterior_{nullptr};                               // -> S x K logits
};
TORCH_MODULE(Rssm);

// The world model: encoder, RSSM, decoder, reward and continue heads.
class WorldModelImpl : public torch::nn::Module {
 public:
  WorldModelImpl(int64_t obs_dim, int64_t action_dim, const algos::DreamerConfig& c,
                 at::Generator& gen);
  Mlp encoder{nullptr};  // symlog(obs) -> tokens   (units)
  Rssm rssm{nullptr};
  Mlp decoder{nullptr};  // features -> symlog(obs)
  Mlp reward{nullptr};   // features -> 255 two-hot logits
  Mlp cont{nullptr};     // features -> continue logit
};
TORCH_MODULE(WorldModel);

}  // namespace rlforge::dreamer
