#include "rlforge/algos/dreamer/math.h"

#include <torch/torch.h>

#include <algorithm>

namespace rlforge::dreamer {

torch::Tensor Symlog(const torch::Tensor& x) { return torch::sign(x) * torch::log1p(x.abs()); }
torch::Tensor Symexp(const torch::Tensor& x) { return torch::sign(x) * torch::expm1(x.abs()); }

TwoHot::TwoHot(int64_t bins, const std::string& kind, torch::Device device)
    : symlog_(kind == "symlog") {
  // symmetric by construction: the upper half is the lower half negated, bin (K-1)/2 is 0
  const int64_t half = (bins - 1) / 2 + 1;
  torch::Tensor lower = torch::linspace(-20.0, 0.0, half, torch::kFloat64);
  if (!symlog_) lower = Symexp(lower);
  bins_ = torch::cat({lower, -lower.slice(0, 0, half - 1).flip(0)}).to(torch::kFloat32).to(device);
}

TwoHot::Weights TwoHot::Neighbours(const torch::Tensor& y_raw) const {
  const torch::Tensor y = (symlog_ ? Symlog(y_raw) : y_raw).unsqueeze(-1);
  const int64_t K = bins_.size(0);
  const torch::Tensor below = ((bins_ <= y).sum(-1) - 1).clamp(0, K - 1);
  const torch::Tensor above = (K - (bins_ > y).sum(-1)).clamp(0, K - 1);
  const torch::Tensor equal = below == above;
  const torch::Tensor yv = y.squeeze(-1);
  const torch::Tensor to_below =
      torch::where(equal, torch::ones_like(yv), (bins_.index({below}) - yv).abs());
  const torch::Tensor to_above =
      torch::where(equal, torch::ones_like(yv), (bins_.index({above}) - yv).abs());
  const torch::Tensor total = to_below + to_above;
  return {below, above, to_above / total, to_below / total};
}

torch::Tensor TwoHot::Encode(const torch::Tensor& y) const {
  const Weights w = Neighbours(y);
  const int64_t K = bins_.size(0);
  return torch::one_hot(w.below, K).to(y.scalar_type()) * w.below_weight.unsqueeze(-1) +
         torch::one_hot(w.above, K).to(y.scalar_type()) * w.above_weight.unsqueeze(-1);
}

torch::Tensor TwoHot::Decode(const torch::Tensor& logits) const {
  // symmetric sum: bin m-1-i pairs with bin m+1+i, so a uniform distribution gives exactly 0
  const torch::Tensor p = torch::softmax(logits, -1);
  const int64_t m = (bins_.size(0) - 1) / 2;
  const torch::Tensor lower = (p.slice(-1, 0, m) * bins_.slice(0, 0, m)).flip(-1);
  const torch::Tensor upper = p.slice(-1, m + 1) * bins_.slice(0, m + 1);
  const torch::Tensor mid = p.select(-1, m) * bins_[m];
  const torch::Tensor value = mid + (lower + upper).sum(-1);
  return symlog_ ? Symexp(value) : value;
}

torch::Tensor TwoHot::Loss(const torch::Tensor& logits, const torch::Tensor& y) const {
  // -sum_k Encode(y)_k log p_k, reading only the two bins Encode(y) is not zero at
  const Weights w = Neighbours(y);
  const torch::Tensor logp = torch::log_softmax(logits, -1);
  const auto at = [&](const torch::Tensor& bin) {
    return logp.gather(-1, bin.unsqueeze(-1)).squeeze(-1);
  };
  return -(w.below_weight * at(w.below) + w.above_weight * at(w.above));
}

torch::Tensor Unimix(const torch::Tensor& logits, double mix) {
  const double K = static_cast<double>(logits.size(-1));
  return (1.0 - mix) * torch::softmax(logits, -1) + mix / K;
}

torch::Tensor SampleOneHot(const torch::Tensor& probs, const torch::Tensor& u) {
  torch::NoGradGuard no_grad;
  const torch::Tensor index = (probs.cumsum(-1) < u.unsqueeze(-1)).sum(-1);
  return torch::one_hot(index.clamp_max(probs.size(-1) - 1), probs.size(-1))
      .to(probs.scalar_type());
}

torch::Tensor SampleStraightThrough(const torch::Tensor& probs, const torch::Tensor& u) {
  return SampleOneHot(probs, u) + probs - probs.detach();
}

torch::Tensor OneHotMode(const torch::Tensor& probs) {
  return torch::one_hot(probs.argmax(-1), probs.size(-1)).to(probs.scalar_type());
}

torch::Tensor CategoricalKl(const torch::Tensor& p, const torch::Tensor& q) {
  return (p * (p.log() - q.log())).sum({-2, -1});
}

torch::Tensor FreeBits(const torch::Tensor& kl, double free_nats) {
  return torch::clamp_min(kl, free_nats);
}

torch::Tensor LambdaReturn(const torch::Tensor& last, const torch::Tensor& term,
                           const torch::Tensor& reward, const torch::Tensor& boot, double disc,
                           double lambda) {
  const int64_t T = reward.size(1) - 1;
  const torch::Tensor live = (1 - term.slice(1, 1)) * disc;    // (B x T)
  const torch::Tensor cont = (1 - last.slice(1, 1)) * lambda;  // (B x T)
  const torch::Tensor interm = reward.slice(1, 1) + (1 - cont) * live * boot.slice(1, 1);
  std::vector<torch::Tensor> returns(static_cast<size_t>(T));
  torch::Tensor next = boot.select(1, T);
  for (int64_t t = T - 1; t >= 0; --t) {
    next = interm.select(1, t) + live.select(1, t) * cont.select(1, t) * next;
    returns[static_cast<size_t>(t)] = next;
  }
  return torch::stack(returns, 1);
}

ReturnNorm::ReturnNorm(double decay, double limit, torch::Device device)
    : decay_(decay),
      limit_(limit),
      ema_(torch::zeros({2}, torch::TensorOptions(torch::kFloat64).device(device))),
      levels_(torch::tensor({0.05f, 0.95f}).to(device)) {}

torch::Tensor ReturnNorm::Update(const torch::Tensor& returns) {
  const torch::Tensor flat = returns.detach().flatten().to(torch::kFloat32);
  const torch::Tensor q = torch::quantile(flat, levels_).to(torch::kFloat64);
  ema_ = decay_ * ema_ + (1.0 - decay_) * q;
  return scale();
}

torch::Tensor ReturnNorm::scale() const { return torch::clamp_min(ema_[1] - ema_[0], limit_); }

double ReturnNorm::lo() const { return ema_[0].item<double>(); }

double ReturnNorm::hi() const { return ema_[1].item<double>(); }

void ReturnNorm::Set(double lo, double hi) {
  ema_ = torch::tensor({lo, hi}, torch::kFloat64).to(ema_.device());
}

}  // namespace rlforge::dreamer
