// DreamerV3's numerical pieces, each a short function that reads like the paper's equation
// (../shared/reference/notes_dreamerv3.md section 1). Tensors are float32 on any device.
#pragma once

#include <torch/types.h>

#include <string>

namespace rlforge::dreamer {

// symlog(x) = sign(x) ln(1 + |x|); symexp is its inverse.
torch::Tensor Symlog(const torch::Tensor& x);
torch::Tensor Symexp(const torch::Tensor& x);

// Discrete regression over K bins: two-hot targets and the expected value of a softmax.
//   symexp (2024): bins symexp(linspace(-20, 20, K)), interpolation in raw space, decoded with a
//                  symmetric sum so that a uniform distribution decodes to exactly 0.
//   symlog (2023): bins linspace(-20, 20, K) in symlog space, targets symlog(y), decoded symexp.
class TwoHot {
 public:
  TwoHot(int64_t bins, const std::string& kind, torch::Device device);
  // The two-hot weights of targets y (...) -> (... x K); values outside the bins clamp to an end.
  torch::Tensor Encode(const torch::Tensor& y) const;
  // The two bins around y (equal when y is on a bin or outside the range) and their weights.
  struct Weights {
    torch::Tensor below, above;                // bin indices   (...)
    torch::Tensor below_weight, above_weight;  // summing to 1  (...)
  };
  Weights Neighbours(const torch::Tensor& y) const;
  // The predicted value of logits (... x K) -> (...).
  torch::Tensor Decode(const torch::Tensor& logits) const;
  // Cross-entropy of logits (... x K) against two-hot(y) -> (...).
  torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& y) const;
  const torch::Tensor& bins() const { return bins_; }

 private:
  bool symlog_;         // bins live in symlog space (2023)
  torch::Tensor bins_;  // bin positions, ascending   (K)
};

// Categorical probabilities of logits (... x K) with a uniform mix: (1 - mix) softmax + mix / K.
torch::Tensor Unimix(const torch::Tensor& logits, double mix);
// One-hot samples of probs (... x K) from uniforms u (...) by the inverse CDF, with the
// straight-through gradient: onehot + probs - sg(probs).
torch::Tensor SampleStraightThrough(const torch::Tensor& probs, const torch::Tensor& u);
// The same samples without a gradient (acting, imagination).
torch::Tensor SampleOneHot(const torch::Tensor& probs, const torch::Tensor& u);
// The most likely class as a one-hot (... x K).
torch::Tensor OneHotMode(const torch::Tensor& probs);
// KL(p || q) of categoricals (... x latents x K), summed over latents and classes -> (...).
torch::Tensor CategoricalKl(const torch::Tensor& p, const torch::Tensor& q);
// Free bits: max(free, kl) per element (the gradient is zero where clipped).
torch::Tensor FreeBits(const torch::Tensor& kl, double free_nats);

// lambda-returns over T+1 steps (B x T+1 each): R_t = r_{t+1} + live_{t+1} ((1 - c_{t+1}) v_{t+1}
// + c_{t+1} R_{t+1}) with live = (1 - term) disc and c = (1 - last) lambda; R_T = v_T.
// Returns (B x T): R_0 .. R_{T-1}. (official agent.py lambda_return)
torch::Tensor LambdaReturn(const torch::Tensor& last, const torch::Tensor& term,
                           const torch::Tensor& reward, const torch::Tensor& boot, double disc,
                           double lambda);

// Return normalization: EMAs of the 5th and 95th percentiles; advantages are divided by
// max(limit, hi - lo). (official retnorm: perc, rate 0.01, limit 1, no debiasing)
// The state stays on the device, so an update never waits for the host.
class ReturnNorm {
 public:
  ReturnNorm(double decay, double limit, torch::Device device = torch::kCPU);
  // Updates the EMAs with a batch of returns; returns the scale max(limit, hi - lo) (0-dim,
  // float64, on the returns' device).
  torch::Tensor Update(const torch::Tensor& returns);
  torch::Tensor scale() const;
  const torch::Tensor& ema() const { return ema_; }
  double lo() const;  // host copies of the EMAs (a device sync)
  double hi() const;
  void Set(double lo, double hi);

 private:
  double decay_, limit_;
  torch::Tensor ema_;     // EMAs of the 5th and 95th percentiles, from 0  (2, float64)
  torch::Tensor levels_;  // the quantile levels 0.05, 0.95                (2, float32)
};

}  // namespace rlforge::dreamer
