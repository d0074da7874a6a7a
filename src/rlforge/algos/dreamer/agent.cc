#include "rlforge/algos/dreamer/agent.h"

#include <ATen/CPUGeneratorImpl.h>
#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/nn/dense.h"

namespace rlforge::dreamer {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

Named NamedParameters(const torch::nn::Module& m, const std::string& prefix) {
  Named out;
  for (const auto& p : m.named_parameters()) out.emplace_back(prefix + "." + p.key(), p.value());
  return out;
}

// `t` on `device`: to a GPU from pinned memory, so that the copy does not wait for the GPU
torch::Tensor MoveTo(const torch::Tensor& t, torch::Device device) {
  if (!t.defined() || t.device() == device) return t;
  if (device.is_cuda() && t.is_cpu()) return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device);
}

torch::Device DeviceOf(const algos::DreamerConfig& c) {
  if (c.device == "cuda" && !torch::cuda::is_available())
    throw Error("dreamer.device: cuda, but this LibTorch sees no CUDA device (use cpu)");
  return c.device == "cuda" ? torch::kCUDA : torch::kCPU;
}

// Scalars (0-dim tensors, any device) as doubles, in one copy to the host.
std::map<std::string, double> ToHost(const std::map<std::string, torch::Tensor>& scalars) {
  std::vector<torch::Tensor> values;
  for (const auto& [key, t] : scalars) values.push_back(t.detach().reshape({}).to(torch::kFloat64));
  const torch::Tensor host = torch::stack(values).cpu();
  std::map<std::string, double> out;
  size_t i = 0;
  for (const auto& [key, t] : scalars) out[key] = host.data_ptr<double>()[i++];
  return out;
}

}  // namespace

Sequences Sequences::To(torch::Device device) const {
  return {MoveTo(obs, device),      MoveTo(prev_action, device), MoveTo(reward, device),
          MoveTo(is_first, device), MoveTo(is_last, device),     MoveTo(is_terminal, device),
          MoveTo(image, device)};
}

void PutTensor(io::TensorDict& out, const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  out.PutBytes(name, DType::kFloat32, c.sizes().vec(), c.data_ptr(),
               static_cast<size_t>(c.numel()) * sizeof(float));
}

void GetTensor(const io::TensorDict& in, const std::string& name, torch::Tensor& t) {
  torch::Tensor host = torch::empty(t.sizes(), torch::kFloat32);
  in.Read<float>(name, std::span<float>(host.data_ptr<float>(), static_cast<size_t>(host.numel())),
                 t.sizes().vec());
  torch::NoGradGuard no_grad;
  t.copy_(host);
}

void SetComputeThreads(int n) {
  torch::set_num_threads(n);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(n);
}

void KeepFreedMemory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);  // glibc takes it as a size_t: SIZE_MAX, never trim
}

// ---- policy distribution ---------------------------------------------------------------------

Policy::Policy(const torch::Tensor& out, bool discrete, double unimix) : discrete_(discrete) {
  if (discrete_) {
    probs_ = Unimix(out, unimix);
  } else {
    const auto parts = out.chunk(2, -1);
    mean_ = torch::tanh(parts[0]);
    std_ = 0.9 * torch::sigmoid(parts[1] + 2.0) + 0.1;
  }
}

torch::Tensor Policy::Noise(int64_t n, int64_t action_dim, bool discrete, at::Generator& gen) {
  const auto on = torch::TensorOptions().device(gen.device());
  return discrete ? torch::rand({n}, gen, on) : torch::randn({n, action_dim}, gen, on);
}

torch::Tensor Policy::Sample(const torch::Tensor& noise) const {
  if (discrete_) return SampleOneHot(probs_, noise);
  return (mean_ + std_ * noise).detach();
}

torch::Tensor Policy::Sample(at::Generator& gen) const {
  const torch::Tensor& out = discrete_ ? probs_ : mean_;
  return Sample(MoveTo(Noise(out.size(0), out.size(-1), discrete_, gen), out.device()));
}

torch::Tensor Policy::Mode() const { return discrete_ ? OneHotMode(probs_) : mean_.detach(); }

torch::Tensor Policy::LogProb(const torch::Tensor& a) const {
  if (discrete_) return (a * probs_.log()).sum(-1);
  return (-0.5 * ((a - mean_) / std_).square() - std_.log() - 0.5 * kLog2Pi).sum(-1);
}

torch::Tensor Policy::Entropy() const {
  if (discrete_) return -(probs_ * probs_.log()).sum(-1);
  return (0.5 + 0.5 * kLog2Pi + std_.log()).sum(-1);
}

// ---- optimizer -------------------------------------------------------------------------------

Optimizer::Optimizer(Named params, Options options) : params_(std::move(params)), o_(options) {
  for (const auto& [name, p] : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

std::map<std::string, double> Optimizer::Step() {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double c1 = 1.0 - std::pow(o_.beta1, t), c2 = 1.0 - std::pow(o_.beta2, t);
  // the official schedule counts from 0: the first update has learning rate 0 under warmup
  const double lr =
      o_.warmup > 0 ? o_.lr * std::min(1.0, (t - 1.0) / static_cast<double>(o_.warmup)) : o_.lr;
  // per parameter tensor: sums of squares of the gradient (before clipping), update, parameter
  std::vector<torch::Tensor> grads, grad_sq, update_sq, param_sq;
  for (const auto& [name, p] : params_) {
    torch::Tensor g = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
    grad_sq.push_back(g.to(torch::kFloat64).square().sum());
    grads.push_back(g);
  }
  // the global norm is needed on the host only for the 2023 recipe's global clipping
  torch::Tensor global_scale = torch::ones({}, grads[0].options());
  if (!o_.laprop && o_.clip > 0) {
    const torch::Tensor norm = torch::stack(grad_sq).sum().sqrt();  // float64
    global_scale =
        torch::where(norm > o_.clip, o_.clip / norm, torch::ones_like(norm)).to(torch::kFloat32);
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i].second;
    torch::Tensor g = grads[i];
    torch::Tensor update;
    if (o_.laprop) {
      if (o_.agc > 0) {  // g / max(1, |g| / (agc max(1e-3, |p|)))
        const torch::Tensor limit = o_.agc * torch::clamp_min(p.norm(), 1e-3);
        g = g / torch::clamp_min(g.norm() / limit, 1.0);
      }
      v_[i].mul_(o_.beta2).add_(g.square(), 1.0 - o_.beta2);
      const torch::Tensor scaled = g / ((v_[i] / c2).sqrt() + o_.eps);
      m_[i].mul_(o_.beta1).add_(scaled, 1.0 - o_.beta1);
      update = m_[i] / c1 * lr;
    } else {
      g = g * global_scale;
      m_[i].mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
      v_[i].mul_(o_.beta2).add_(g.square(), 1.0 - o_.beta2);
      update = (m_[i] / c1) / ((v_[i] / c2).sqrt() + o_.eps) * lr;
    }
    p.sub_(update);
    update_sq.push_back(update.to(torch::kFloat64).square().sum());
    param_sq.push_back(p.to(torch::kFloat64).square().sum());
  }
  return Health(grad_sq, update_sq, param_sq);
}

std::map<std::string, double> Optimizer::Health(const std::vector<torch::Tensor>& grad_sq,
                                                const std::vector<torch::Tensor>& update_sq,
                                                const std::vector<torch::Tensor>& param_sq) const {
  // one copy to the host: the sums (3 x tensors), added up per network and over all
  const torch::Tensor sums =
      torch::stack({torch::stack(grad_sq), torch::stack(update_sq), torch::stack(param_sq)}).cpu();
  const auto s = sums.accessor<double, 2>();
  struct Sums {
    double grad = 0, update = 0, param = 0, count = 0;
  };
  std::map<std::string, Sums> nets;  // by the parameters' first name part: world_model, actor, ...
  Sums all;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    for (Sums* t : {&nets[name.substr(0, name.find('.'))], &all}) {
      t->grad += s[0][i], t->update += s[1][i], t->param += s[2][i];
      t->count += static_cast<double>(params_[i].second.numel());
    }
  }
  std::map<std::string, double> m = {{"grad_norm", std::sqrt(all.grad)},
                                     {"update_rms", std::sqrt(all.update / all.count)},
                                     {"param_rms", std::sqrt(all.param / all.count)}};
  for (const auto& [net, t] : nets) {
    nn::OptimizerHealth h{std::sqrt(t.grad), std::sqrt(t.param / t.count),
                          std::sqrt(t.update / t.count), 0.0};
    h.update_ratio = h.param_rms > 0 ? h.update_rms / h.param_rms : 0.0;
    nn::AddHealth(m, net, h);
  }
  return m;
}

void Optimizer::Save(io::TensorDict& out, const std::string& prefix) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    PutTensor(out, prefix + ".m." + params_[i].first, m_[i]);
    PutTensor(out, prefix + ".v." + params_[i].first, v_[i]);
  }
  out.Put<int64_t>(prefix + ".step", std::vector<int64_t>{steps_});
}

void Optimizer::Load(const io::TensorDict& in, const std::string& prefix) {
  for (size_t i = 0; i < params_.size(); ++i) {
    GetTensor(in, prefix + ".m." + params_[i].first, m_[i]);
    GetTensor(in, prefix + ".v." + params_[i].first, v_[i]);
  }
  steps_ = in.Scalar<int64_t>(prefix + ".step");
}

// ---- agent -----------------------------------------------------------------------------------

Agent::Agent(const algos::DreamerConfig& c, const ObsLayout& obs, int64_t action_dim, bool discrete,
             uint64_t seed)
    : c_(c),
      discrete_(discrete),
      action_dim_(action_dim),
      device_(DeviceOf(c)),
      gen_(at::detail::createCPUGenerator(seed)),
      twohot_(255, c.twohot, device_),
      retnorm_(c.retnorm_decay, c.retnorm_limit, device_) {
  const algos::DreamerSize s = c.Size();
  wm_ = WorldModel(obs, action_dim, c, gen_);
  const int64_t F = wm_->rssm->feature_dim();
  actor_ = Mlp(F, s.units, 3, discrete ? action_dim : 2 * action_dim, 0.01, gen_);
  critic_ = Mlp(F, s.units, 3, 255, 0.0, gen_);
  slow_critic_ = Mlp(F, s.units, 3, 255, 0.0, gen_);
  wm_->to(device_);
  actor_->to(device_);
  critic_->to(device_);
  slow_critic_->to(device_);
  {
    torch::NoGradGuard no_grad;
    const auto fast = critic_->parameters(), slow = slow_critic_->parameters();
    for (size_t i = 0; i < fast.size(); ++i) slow[i].copy_(fast[i]);
  }
  for (auto& p : slow_critic_->parameters()) p.set_requires_grad(false);
  const Named wm = NamedParameters(*wm_, "world_model"), actor = NamedParameters(*actor_, "actor"),
              critic = NamedParameters(*critic_, "critic");
  if (c.optimizer == "laprop") {
    Named all = wm;
    all.insert(all.end(), actor.begin(), actor.end());
    all.insert(all.end(), critic.begin(), critic.end());
    optimizers_.emplace_back(all, Optimizer::Options{true, c.lr, c.eps, c.agc, 0.0, c.warmup});
  } else {  // the 2023 recipe
    const double critic_lr = c.critic_lr > 0 ? c.critic_lr : c.ac_lr;
    optimizers_.emplace_back(wm, Optimizer::Options{false, c.model_lr, 1e-8, 0.0, c.model_clip, 0});
    optimizers_.emplace_back(actor, Optimizer::Options{false, c.ac_lr, 1e-5, 0.0, c.ac_clip, 0});
    optimizers_.emplace_back(critic, Optimizer::Options{false, critic_lr, 1e-5, 0.0, c.ac_clip, 0});
  }
}

torch::Tensor Agent::Uniform(at::IntArrayRef shape) { return ToDevice(torch::rand(shape, gen_)); }

torch::Tensor Agent::ToDevice(const torch::Tensor& host) const { return MoveTo(host, device_); }

RolloutNoise Agent::DrawRolloutNoise(int64_t n) {
  std::vector<torch::Tensor> action, latent;
  for (int64_t t = 0; t < c_.imag_horizon; ++t) {
    action.push_back(Policy::Noise(n, action_dim_, discrete_, gen_));
    latent.push_back(torch::rand({n, wm_->rssm->stoch()}, gen_));
  }
  return {ToDevice(torch::stack(action)), ToDevice(torch::stack(latent))};
}

Agent::Carry Agent::Initial(int64_t n) const {
  const auto& rssm = wm_->rssm;
  const auto f = torch::TensorOptions().device(device_);
  return {torch::zeros({n, rssm->deter_dim()}, f),
          torch::zeros({n, rssm->stoch(), rssm->classes()}, f), torch::zeros({n, action_dim_}, f)};
}

torch::Tensor Agent::Act(const torch::Tensor& obs, const torch::Tensor& image,
                         const torch::Tensor& is_first, Carry& carry, bool sample,
                         at::Generator& gen) {
  torch::NoGradGuard no_grad;
  auto& rssm = wm_->rssm;
  const torch::Tensor keep = (1 - is_first.to(device_, torch::kFloat32)).unsqueeze(-1);
  const torch::Tensor embed = wm_->Embed(obs.defined() ? obs.to(device_) : obs,
                                         image.defined() ? image.to(device_) : image);
  const torch::Tensor deter =
      rssm->Core(carry.deter * keep, carry.stoch * keep.unsqueeze(-1), carry.action * keep);
  const torch::Tensor post = rssm->Posterior(deter, embed);
  const torch::Tensor u = torch::rand({post.size(0), post.size(1)}, gen).to(device_);
  const torch::Tensor stoch = SampleOneHot(post, u);
  const Policy policy(actor_(RssmImpl::Features(deter, stoch)), discrete_, c_.unimix);
  torch::Tensor action = sample ? policy.Sample(gen) : policy.Mode();
  if (!discrete_) action = action.clamp(-1.0, 1.0);
  carry = {deter, stoch, action};
  return action.cpu();
}

Agent::Predicted Agent::OpenLoop(const Sequences& data, int64_t context) {
  torch::NoGradGuard no_grad;
  const Sequences d = data.To(device_);
  auto& rssm = wm_->rssm;
  const int64_t B = d.prev_action.size(0), T = d.prev_action.size(1);
  const torch::Tensor embed = wm_->Embed(d.obs, d.image);  // (B x T x E)
  const torch::Tensor first = d.is_first.to(torch::kFloat32);
  Carry carry = Initial(B);
  std::vector<torch::Tensor> feats;
  for (int64_t t = 0; t < T; ++t) {
    const torch::Tensor keep = (1 - first.select(1, t)).unsqueeze(-1);
    const torch::Tensor deter = rssm->Core(carry.deter * keep, carry.stoch * keep.unsqueeze(-1),
                                           d.prev_action.select(1, t) * keep);
    const torch::Tensor probs =
        t < context ? rssm->Posterior(deter, embed.select(1, t)) : rssm->Prior(deter);
    carry = {deter, OneHotMode(probs), carry.action};
    feats.push_back(RssmImpl::Features(carry.deter, carry.stoch));
  }
  const torch::Tensor feat = torch::stack(feats, 1);  // (B x T x F)
  Predicted out;
  if (wm_->image_decoder) out.image = wm_->PredictImage(feat).cpu();
  if (wm_->decoder) out.vector = wm_->PredictVector(feat).cpu();
  return out;
}

Agent::Observed Agent::Observe(const Sequences& data, torch::Tensor u) {
  auto& rssm = wm_->rssm;
  const Sequences d = data.To(device_);
  const int64_t B = d.reward.size(0), T = d.reward.size(1);
  if (!u.defined()) u = Uniform({B, T, rssm->stoch()});
  const torch::Tensor embed = wm_->Embed(d.obs, d.image);  // (B x T x E)
  const torch::Tensor first = d.is_first.to(torch::kFloat32);
  Carry carry = Initial(B);
  std::vector<torch::Tensor> deters, stochs, posts;
  for (int64_t t = 0; t < T; ++t) {
    // an episode start zeroes the state and the previous action
    const torch::Tensor keep = (1 - first.select(1, t)).unsqueeze(-1);
    const torch::Tensor deter = rssm->Core(carry.deter * keep, carry.stoch * keep.unsqueeze(-1),
                                           d.prev_action.select(1, t) * keep);
    const torch::Tensor post = rssm->Posterior(deter, embed.select(1, t));
    const torch::Tensor stoch = SampleStraightThrough(post, u.select(1, t));
    carry = {deter, stoch, carry.action};
    deters.push_back(deter);
    stochs.push_back(stoch);
    posts.push_back(post);
  }
  Observed o;
  o.deter = torch::stack(deters, 1);
  o.stoch = torch::stack(stochs, 1);
  o.post = torch::stack(posts, 1);
  o.prior = rssm->Prior(o.deter.reshape({B * T, -1})).reshape(o.post.sizes());
  const torch::Tensor feat = RssmImpl::Features(o.deter, o.stoch);  // (B x T x F)
  // per (b, t): reconstruction summed over dimensions and pixels, two-hot reward, continue
  const torch::Tensor dec = wm_->DecoderLoss(feat, d.obs, d.image);
  const torch::Tensor rew = twohot_.Loss(wm_->reward(feat), d.reward);
  torch::Tensor con_target = 1 - d.is_terminal.to(torch::kFloat32);
  if (c_.contdisc) con_target = con_target * c_.gamma();
  const torch::Tensor con = torch::binary_cross_entropy_with_logits(
      wm_->cont(feat).squeeze(-1), con_target, {}, {}, at::Reduction::None);
  // KL summed over latents, then free bits per (b, t)
  const torch::Tensor dyn = FreeBits(CategoricalKl(o.post.detach(), o.prior), c_.free_nats);
  const torch::Tensor rep = FreeBits(CategoricalKl(o.post, o.prior.detach()), c_.free_nats);
  o.parts = {{"loss/dec", dec.mean()},
             {"loss/rew", rew.mean()},
             {"loss/con", con.mean()},
             {"loss/dyn", dyn.mean()},
             {"loss/rep", rep.mean()}};
  o.loss = o.parts["loss/dec"] + o.parts["loss/rew"] + o.parts["loss/con"] +
           c_.dyn_scale * o.parts["loss/dyn"] + c_.rep_scale * o.parts["loss/rep"];
  return o;
}

Agent::Imagined Agent::ImagineLoss(const torch::Tensor& start_deter,
                                   const torch::Tensor& start_stoch, RolloutNoise noise) {
  auto& rssm = wm_->rssm;
  const int64_t H = c_.imag_horizon, N = start_deter.size(0);
  if (!noise.action.defined()) noise = DrawRolloutNoise(N);
  // imagine H steps with the prior and the policy; no gradient flows into the world model, the
  // actor's outputs keep theirs (REINFORCE needs them, not the sampled path)
  std::vector<torch::Tensor> feats, actions, outs;
  torch::Tensor deter = start_deter.detach(), stoch = start_stoch.detach();
  for (int64_t t = 0;; ++t) {
    feats.push_back(RssmImpl::Features(deter, stoch));
    if (t == H) break;
    outs.push_back(actor_(feats.back()));
    actions.push_back(Policy(outs.back().detach(), discrete_, c_.unimix).Sample(noise.action[t]));
    torch::NoGradGuard no_grad;
    deter = rssm->Core(deter, stoch, actions.back());
    stoch = SampleOneHot(rssm->Prior(deter), noise.latent[t]);
  }
  const torch::Tensor feat = torch::stack(feats, 1);  // (N x H+1 x F)
  const torch::Tensor logits = critic_(feat);         // (N x H+1 x 255)
  torch::Tensor reward, con, value, slow;
  {
    torch::NoGradGuard no_grad;
    reward = twohot_.Decode(wm_->reward(feat));
    con = torch::sigmoid(wm_->cont(feat).squeeze(-1));
    value = twohot_.Decode(logits.detach());
    slow = twohot_.Decode(slow_critic_(feat));
  }
  // lambda-returns and weights: with contdisc the continue head already holds gamma
  const double disc = c_.contdisc ? 1.0 : c_.gamma();
  const torch::Tensor returns =
      LambdaReturn(torch::zeros_like(con), 1 - con, reward, value, disc, c_.lambda);  // (N x H)
  const torch::Tensor weight = (torch::cumprod(disc * con, 1) / disc).slice(1, 0, H);
  const torch::Tensor scale = retnorm_.Update(returns);  // 0-dim, on the device
  const torch::Tensor adv = (returns - value.slice(1, 0, H)) / scale;
  // actor: REINFORCE with entropy bonus
  const Policy policy(torch::stack(outs, 1), discrete_, c_.unimix);
  const torch::Tensor logp = policy.LogProb(torch::stack(actions, 1));
  const torch::Tensor entropy = policy.Entropy();
  Imagined out;
  out.policy_loss = (-weight * (logp * adv + c_.actent * entropy)).mean();
  // critic: two-hot cross-entropy to the returns, regularized toward the slow critic
  const torch::Tensor head = logits.slice(1, 0, H);
  out.value_loss = (weight * (twohot_.Loss(head, returns) +
                              c_.slowreg * twohot_.Loss(head, slow.slice(1, 0, H))))
                       .mean();
  out.returns = returns;
  out.stats = {{"ret/mean", returns.mean()},      {"ret/scale", scale},
               {"ret/lo", retnorm_.ema()[0]},     {"ret/hi", retnorm_.ema()[1]},
               {"adv/mean", adv.mean()},          {"adv/std", adv.std()},
               {"policy_entropy", entropy.mean()}};
  return out;
}

std::map<std::string, double> Agent::Train(const Sequences& data) {
  // the batch and every sample of the update go to the device before the first kernel, and the
  // metrics come back in one copy at the end: no host round trip inside the update
  const Sequences d = data.To(device_);
  const int64_t B = d.reward.size(0), T = d.reward.size(1);
  const int64_t K = c_.imag_last > 0 ? c_.imag_last : T;  // imagination starts per sequence
  const torch::Tensor u = Uniform({B, T, wm_->rssm->stoch()});
  const RolloutNoise noise = DrawRolloutNoise(B * K);
  Observed o = Observe(d, u);
  const torch::Tensor start_deter = o.deter.slice(1, T - K).reshape({B * K, -1});
  const torch::Tensor start_stoch =
      o.stoch.slice(1, T - K).reshape({B * K, o.stoch.size(2), o.stoch.size(3)});
  Imagined im = ImagineLoss(start_deter, start_stoch, noise);
  // replay value loss: lambda-returns of real rewards, bootstrapped with the imagined returns
  torch::Tensor repval = torch::zeros({}, d.reward.options());
  if (c_.repval_scale > 0 && K > 1) {
    const torch::Tensor feat = RssmImpl::Features(o.deter, o.stoch).slice(1, T - K).detach();
    const torch::Tensor last = d.is_last.slice(1, T - K).to(torch::kFloat32);
    const torch::Tensor term = d.is_terminal.slice(1, T - K).to(torch::kFloat32);
    const torch::Tensor boot = im.returns.select(1, 0).detach().reshape({B, K});
    const torch::Tensor ret = LambdaReturn(last, term, d.reward.slice(1, T - K), boot, c_.gamma(),
                                           c_.lambda);  // (B x K-1)
    torch::Tensor slow;
    {
      torch::NoGradGuard no_grad;
      slow = twohot_.Decode(slow_critic_(feat.slice(1, 0, K - 1)));
    }
    const torch::Tensor logits = critic_(feat.slice(1, 0, K - 1));
    repval = ((1 - last.slice(1, 0, K - 1)) *
              (twohot_.Loss(logits, ret) + c_.slowreg * twohot_.Loss(logits, slow)))
                 .mean();
  }
  const torch::Tensor loss = o.loss + im.policy_loss + im.value_loss + c_.repval_scale * repval;
  wm_->zero_grad();
  actor_->zero_grad();
  critic_->zero_grad();
  loss.backward();
  std::map<std::string, torch::Tensor> stats = im.stats;
  stats.insert(o.parts.begin(), o.parts.end());
  stats["loss/policy"] = im.policy_loss;
  stats["loss/value"] = im.value_loss;
  stats["loss/repval"] = repval;
  std::map<std::string, double> metrics;
  const char* groups[] = {"model/", "actor/", "critic/"};  // the 2023 recipe's optimizers
  for (size_t i = 0; i < optimizers_.size(); ++i) {
    const std::string group = optimizers_.size() == 1 ? "" : groups[i];
    for (const auto& [key, value] : optimizers_[i].Step()) metrics["opt/" + group + key] = value;
  }
  UpdateSlowCritic();
  metrics.merge(ToHost(stats));
  return metrics;
}

void Agent::UpdateSlowCritic() {
  torch::NoGradGuard no_grad;
  const auto fast = critic_->parameters(), slow = slow_critic_->parameters();
  for (size_t i = 0; i < fast.size(); ++i) slow[i].lerp_(fast[i], c_.slow_rate);
}

io::TensorDict Agent::Parameters() const {
  io::TensorDict d;
  for (const auto& [name, t] : NamedParameters(*wm_, "world_model")) PutTensor(d, name, t);
  for (const auto& [name, t] : NamedParameters(*actor_, "actor")) PutTensor(d, name, t);
  for (const auto& [name, t] : NamedParameters(*critic_, "critic")) PutTensor(d, name, t);
  for (const auto& [name, t] : NamedParameters(*slow_critic_, "slow_critic")) PutTensor(d, name, t);
  return d;
}

io::TensorDict Agent::Gradients() const {
  io::TensorDict d;
  const std::pair<const char*, const torch::nn::Module*> nets[] = {
      {"world_model", wm_.get()}, {"actor", actor_.get()}, {"critic", critic_.get()}};
  for (const auto& [prefix, net] : nets) {
    for (const auto& [name, t] : NamedParameters(*net, prefix))
      if (t.grad().defined()) PutTensor(d, name, t.grad());
  }
  return d;
}

void Agent::Save(io::TensorDict& out) const {
  const io::TensorDict params = Parameters();
  for (const auto& [name, t] : params.tensors())
    out.PutBytes(name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
  for (size_t i = 0; i < optimizers_.size(); ++i)
    optimizers_[i].Save(out, "optimizer." + std::to_string(i));
  out.Put<double>("retnorm", std::vector<double>{retnorm_.lo(), retnorm_.hi()});
  const torch::Tensor state = gen_.get_state();
  out.PutBytes("rng.dreamer", DType::kUInt8, {state.numel()}, state.data_ptr(),
               static_cast<size_t>(state.numel()));
}

void Agent::Load(const io::TensorDict& in) {
  for (auto [name, t] : NamedParameters(*wm_, "world_model")) GetTensor(in, name, t);
  for (auto [name, t] : NamedParameters(*actor_, "actor")) GetTensor(in, name, t);
  for (auto [name, t] : NamedParameters(*critic_, "critic")) GetTensor(in, name, t);
  for (auto [name, t] : NamedParameters(*slow_critic_, "slow_critic")) GetTensor(in, name, t);
  for (size_t i = 0; i < optimizers_.size(); ++i)
    optimizers_[i].Load(in, "optimizer." + std::to_string(i));
  std::vector<double> rn(2);
  in.Read<double>("retnorm", rn);
  retnorm_.Set(rn[0], rn[1]);
  const io::Tensor& rng = in.Get("rng.dreamer");
  torch::Tensor state = torch::empty({static_cast<int64_t>(rng.bytes.size())}, torch::kUInt8);
  std::memcpy(state.data_ptr(), rng.bytes.data(), rng.bytes.size());
  gen_.set_state(state);
}

}  // namespace rlforge::dreamer
