#include "rlforge/algos/dreamer/networks.h"

#include <torch/torch.h>

#include <cmath>

#include "rlforge/algos/dreamer/math.h"

namespace rlforge::dreamer {
namespace {

// Truncated standard normal on [-2, 2] by the inverse CDF, times std.
torch::Tensor TruncNormal(at::IntArrayRef shape, double std, at::Generator& gen) {
  const double lo = 0.5 * std::erfc(2.0 / std::sqrt(2.0));  // Phi(-2)
  const torch::Tensor u = torch::rand(shape, gen, torch::kFloat64) * (1.0 - 2.0 * lo) + lo;
  // std of the normal truncated at +-2 is 0.8796; divided out as the official initializer does
  return (std::sqrt(2.0) * torch::erfinv(2.0 * u - 1.0) * (std / 0.87962566103423978))
      .to(torch::kFloat32);
}

torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& scale) {
  return x * torch::rsqrt(x.square().mean(-1, true) + 1e-4) * scale;
}

}  // namespace

torch::nn::Linear MakeLinear(int64_t in, int64_t out, double scale, at::Generator& gen) {
  torch::nn::Linear linear(in, out);
  torch::NoGradGuard no_grad;
  linear->weight.copy_(TruncNormal({out, in}, std::sqrt(scale / static_cast<double>(in)), gen));
  linear->bias.zero_();
  return linear;
}

NormLayerImpl::NormLayerImpl(int64_t in, int64_t out, at::Generator& gen) {
  linear_ = register_module("linear", MakeLinear(in, out, 1.0, gen));
  scale_ = register_parameter("norm", torch::ones({out}));
}

torch::Tensor NormLayerImpl::forward(const torch::Tensor& x) {
  return torch::silu(RmsNorm(linear_(x), scale_));
}

MlpImpl::MlpImpl(int64_t in, int64_t units, int64_t layers, int64_t out, double outscale,
                 at::Generator& gen) {
  for (int64_t i = 0; i < layers; ++i) {
    layers_.push_back(
        register_module(std::to_string(i), NormLayer(i == 0 ? in : units, units, gen)));
  }
  if (out > 0) {
    out_ = register_module("out", MakeLinear(layers > 0 ? units : in, out, 1.0, gen));
    torch::NoGradGuard no_grad;
    out_->weight.mul_(std::sqrt(outscale));  // variance scale outscale: std sqrt(outscale)
  }
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  for (auto& layer : layers_) x = layer(x);
  return out_ ? out_(x) : x;
}

BlockLinearImpl::BlockLinearImpl(int64_t in, int64_t out, int64_t groups, at::Generator& gen)
    : groups_(groups) {
  // fan-in of the whole layer (the official initializer's receptive field), not of one block
  weight_ = register_parameter(
      "weight", TruncNormal({groups, in / groups, out / groups}, std::sqrt(1.0 / in), gen));
  bias_ = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor BlockLinearImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0);
  const torch::Tensor grouped = x.reshape({n, groups_, -1}).transpose(0, 1);  // (G x N x in/G)
  return torch::bmm(grouped, weight_).transpose(0, 1).reshape({n, -1}) + bias_;
}

torch::Tensor BlockLinearImpl::ForwardShared(const torch::Tensor& own,
                                             const torch::Tensor& shared) {
  const int64_t n = own.size(0), a = own.size(1) / groups_, out = bias_.size(0);
  const torch::Tensor w_own = weight_.slice(1, 0, a);  // (G x a x out/G)
  const torch::Tensor w_shared = weight_.slice(1, a).permute({1, 0, 2}).reshape({-1, out});
  const torch::Tensor y_own =
      torch::bmm(own.reshape({n, groups_, a}).transpose(0, 1), w_own).transpose(0, 1);
  return torch::addmm(bias_, shared, w_shared) + y_own.reshape({n, out});
}

RssmImpl::RssmImpl(int64_t action_dim, int64_t embed_dim, const DreamerSize& s, int64_t stoch,
                   int64_t blocks, double unimix, at::Generator& gen)
    : deter_(s.deter), stoch_(stoch), classes_(s.classes), blocks_(blocks), unimix_(unimix) {
  const int64_t H = s.hidden, D = s.deter, SK = stoch * s.classes;
  in_deter_ = register_module("in_deter", NormLayer(D, H, gen));
  in_stoch_ = register_module("in_stoch", NormLayer(SK, H, gen));
  in_action_ = register_module("in_action", NormLayer(action_dim, H, gen));
  dyn_hidden_ =
      register_module("dyn_hidden", BlockLinear(blocks * (3 * H + D / blocks), D, blocks, gen));
  dyn_norm_ = register_parameter("dyn_norm", torch::ones({D}));
  dyn_gru_ = register_module("dyn_gru", BlockLinear(D, 3 * D, blocks, gen));
  prior_ = register_module("prior", Mlp(D, H, 2, SK, 1.0, gen));
  posterior_ = register_module("posterior", Mlp(D + embed_dim, H, 1, SK, 1.0, gen));
}

torch::Tensor RssmImpl::Core(const torch::Tensor& deter, const torch::Tensor& stoch,
                             const torch::Tensor& action) {
  const int64_t n = deter.size(0), G = blocks_;
  // actions are clipped into [-1, 1] inside the model: a / sg(max(1, |a|))
  const torch::Tensor a = action / torch::clamp_min(action.abs(), 1.0).detach();
  const torch::Tensor x = torch::cat(
      {in_deter_(deter), in_stoch_(stoch.reshape({n, -1})), in_action_(a)}, -1);  // (N x 3H)
  // every block sees its own slice of h and all projected inputs
  torch::Tensor y = torch::silu(RmsNorm(dyn_hidden_->ForwardShared(deter, x), dyn_norm_));
  const auto gates = dyn_gru_(y).reshape({n, G, -1}).chunk(3, -1);  // reset, candidate, update
  const torch::Tensor reset = torch::sigmoid(gates[0].reshape({n, -1}));
  const torch::Tensor cand = torch::tanh(reset * gates[1].reshape({n, -1}));
  const torch::Tensor update = torch::sigmoid(gates[2].reshape({n, -1}) - 1.0);
  return update * cand + (1 - update) * deter;
}

torch::Tensor RssmImpl::Logits(const torch::Tensor& x) const {
  return Unimix(x.reshape({x.size(0), stoch_, classes_}), unimix_);
}

torch::Tensor RssmImpl::Prior(const torch::Tensor& deter) { return Logits(prior_(deter)); }

torch::Tensor RssmImpl::Posterior(const torch::Tensor& deter, const torch::Tensor& embed) {
  return Logits(posterior_(torch::cat({deter, embed}, -1)));
}

torch::Tensor RssmImpl::Features(const torch::Tensor& deter, const torch::Tensor& stoch) {
  return torch::cat({deter, stoch.flatten(-2)}, -1);
}

WorldModelImpl::WorldModelImpl(int64_t obs_dim, int64_t action_dim, const algos::DreamerConfig& c,
                               at::Generator& gen) {
  const DreamerSize s = c.Size();
  encoder = register_module("encoder", Mlp(obs_dim, s.units, 3, 0, 1.0, gen));
  rssm = register_module("rssm", Rssm(action_dim, s.units, s, c.stoch, c.blocks, c.unimix, gen));
  const int64_t F = rssm->feature_dim();
  decoder = register_module("decoder", Mlp(F, s.units, 3, obs_dim, 1.0, gen));
  reward = register_module("reward", Mlp(F, s.units, 1, 255, 0.0, gen));
  cont = register_module("cont", Mlp(F, s.units, 1, 1, 1.0, gen));
}

}  // namespace rlforge::dreamer
