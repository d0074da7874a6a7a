#include "rlforge/algos/qmix/qmix.h"

#include <algorithm>
#include <cmath>

#include "rlforge/core/error.h"

namespace rlforge::algos {
namespace {

float Sign(float x) { return static_cast<float>((x > 0.0f) - (x < 0.0f)); }

// Flag i of optional flags (action masks, agents in the env): null means every flag is set.
bool On(const uint8_t* flags, int64_t i) { return flags == nullptr || flags[i] != 0; }

// argmax over the allowed actions of one row of Q values (n)
int64_t Argmax(const float* q, int64_t n, const uint8_t* mask) {
  int64_t best = -1;
  for (int64_t a = 0; a < n; ++a) {
    if (On(mask, a) && (best < 0 || q[a] > q[best])) best = a;
  }
  return best;
}

}  // namespace

Qmix::Qmix(const QmixConfig& config, int n_agents, int64_t in_dim, int64_t state_dim,
           int64_t n_actions, uint64_t seed)
    : config_(config),
      n_(n_agents),
      in_dim_(in_dim),
      state_dim_(state_dim),
      n_actions_(n_actions),
      action_space_(Space::Discrete(n_actions)),
      qmix_(config.mixer == "qmix"),
      rng_(nn::StreamRng(seed, 0)) {
  using nn::Activation;
  std::vector<int64_t> sizes = {in_dim};
  sizes.insert(sizes.end(), config.hidden.begin(), config.hidden.end());
  sizes.push_back(n_actions);
  agent_ = nn::DenseMlp(sizes, Activation::kRelu, 0);
  int64_t size = agent_.num_parameters();
  if (qmix_) {
    // pymarl's QMixer with hypernet_layers 2: |W1| and |w_final| from two-layer hypernets,
    // b1 from one layer, V(s) from Linear-ReLU-Linear
    const int64_t S = state_dim, E = config.mixing_embed_dim, H = config.hypernet_embed;
    auto add = [&size](std::vector<int64_t> layer_sizes) {
      nn::DenseMlp net(layer_sizes, Activation::kRelu, size);
      size += net.num_parameters();
      return net;
    };
    w1_ = add({S, H, E * n_agents});
    b1_ = add({S, E});
    w_final_ = add({S, H, E});
    v_ = add({S, E, 1});
  }
  agent_eval_ = agent_, w1_eval_ = w1_, b1_eval_ = b1_, w_final_eval_ = w_final_, v_eval_ = v_;
  params_.assign(static_cast<size_t>(size), 0.0f);
  // PyTorch's nn.Linear default initialization everywhere, as pymarl
  for (const nn::DenseMlp* net : {&agent_, &w1_, &b1_, &w_final_, &v_}) {
    if (net->num_parameters() > 0) nn::InitLinearDefault(*net, params_.data(), rng_);
  }
  target_ = params_;
  grads_.assign(params_.size(), 0.0f);
  adam_ = nn::FlatAdam(size, 1e-8);
}

nn::NamedTensors Qmix::AsTensors(const std::vector<float>& flat) const {
  nn::NamedTensors out;
  nn::ExportLayers(agent_, flat.data(), "agent", &out);
  if (qmix_) {
    nn::ExportLayers(w1_, flat.data(), "mixer.hyper_w_1", &out);
    nn::ExportLayers(b1_, flat.data(), "mixer.hyper_b_1", &out);
    nn::ExportLayers(w_final_, flat.data(), "mixer.hyper_w_final", &out);
    nn::ExportLayers(v_, flat.data(), "mixer.V", &out);
  }
  return out;
}

void Qmix::Act(const float* inputs, int64_t rows, double epsilon, int64_t* actions,
               const uint8_t* masks) {
  const float* q = agent_eval_.Forward(params_.data(), inputs, in_dim_, rows);
  const int64_t stride = agent_eval_.out_stride();
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* mask = masks != nullptr ? masks + r * n_actions_ : nullptr;
    if (epsilon > 0.0 && rng_.Random() < epsilon) {  // uniform over the allowed actions
      action_space_.SampleMasked(rng_, mask, {actions + r, 1}, {});
      continue;
    }
    actions[r] = Argmax(q + r * stride, n_actions_, mask);
  }
}

void Qmix::Mix(const float* params, const float* q, const float* state, int64_t B, bool online,
               float* tot) {
  const int64_t E = config_.mixing_embed_dim;
  nn::DenseMlp& w1 = online ? w1_ : w1_eval_;
  nn::DenseMlp& b1 = online ? b1_ : b1_eval_;
  nn::DenseMlp& wf = online ? w_final_ : w_final_eval_;
  nn::DenseMlp& v = online ? v_ : v_eval_;
  const float* W1 = w1.Forward(params, state, state_dim_, B);
  const float* bias1 = b1.Forward(params, state, state_dim_, B);
  const float* Wf = wf.Forward(params, state, state_dim_, B);
  const float* V = v.Forward(params, state, state_dim_, B);
  if (online) {
    z_.resize(static_cast<size_t>(B * E));
    w1_out_ = W1;
    w_final_out_ = Wf;
  }
  for (int64_t b = 0; b < B; ++b) {
    // tot = elu(q . |W1| + b1) . |w_final| + V(s)
    double sum = V[b * v.out_stride()];
    for (int64_t k = 0; k < E; ++k) {
      float z = bias1[b * b1.out_stride() + k];
      for (int i = 0; i < n_; ++i)
        z += q[i * B + b] * std::fabs(W1[b * w1.out_stride() + i * E + k]);
      if (online) z_[static_cast<size_t>(b * E + k)] = z;
      const float h = z > 0.0f ? z : std::expm1(z);
      sum += h * std::fabs(Wf[b * wf.out_stride() + k]);
    }
    tot[b] = static_cast<float>(sum);
  }
}

void Qmix::MixBackward(const float* q, const float* d_tot, int64_t B, float* d_q) {
  const int64_t E = config_.mixing_embed_dim;
  const int64_t s1 = w1_.out_stride(), sb = b1_.out_stride(), sf = w_final_.out_stride(),
                sv = v_.out_stride();
  d_w1_.assign(static_cast<size_t>(B * s1), 0.0f);
  d_b1_.assign(static_cast<size_t>(B * sb), 0.0f);
  d_w_final_.assign(static_cast<size_t>(B * sf), 0.0f);
  d_v_.assign(static_cast<size_t>(B * sv), 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const float g = d_tot[b];
    d_v_[b * sv] = g;
    for (int64_t k = 0; k < E; ++k) {
      const float z = z_[static_cast<size_t>(b * E + k)];
      const float h = z > 0.0f ? z : std::expm1(z);
      const float wf = w_final_out_[b * sf + k];
      d_w_final_[b * sf + k] = g * h * Sign(wf);
      const float dz = g * std::fabs(wf) * (z > 0.0f ? 1.0f : std::exp(z));
      d_b1_[b * sb + k] = dz;
      for (int i = 0; i < n_; ++i) {
        const float w = w1_out_[b * s1 + i * E + k];
        d_w1_[b * s1 + i * E + k] = dz * q[i * B + b] * Sign(w);
        d_q[i * B + b] += dz * std::fabs(w);
      }
    }
  }
  w1_.Backward(params_.data(), d_w1_.data(), grads_.data());
  b1_.Backward(params_.data(), d_b1_.data(), grads_.data());
  w_final_.Backward(params_.data(), d_w_final_.data(), grads_.data());
  v_.Backward(params_.data(), d_v_.data(), grads_.data());
}

std::map<std::string, double> Qmix::Gradient(const QmixBatch& batch) {
  const int64_t B = batch.size, R = n_ * B, stride = agent_.out_stride();
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  for (auto* v : {&q_taken_, &q_next_, &d_q_taken_}) v->assign(static_cast<size_t>(R), 0.0f);
  next_actions_.resize(static_cast<size_t>(R));
  // the next step's values: max_a' Q'(o', a'), or Q'(o', argmax_a' Q(o', a')) with double Q,
  // over the allowed a'; 0 for agents out of the env
  if (config_.double_q) Act(batch.next_obs, R, 0.0, next_actions_.data(), batch.next_masks);
  const float* qt = agent_eval_.Forward(target_.data(), batch.next_obs, in_dim_, R);
  for (int64_t r = 0; r < R; ++r) {
    const float* row = qt + r * stride;
    const uint8_t* mask = batch.next_masks ? batch.next_masks + r * n_actions_ : nullptr;
    const int64_t a = config_.double_q ? next_actions_[r] : Argmax(row, n_actions_, mask);
    q_next_[r] = On(batch.next_active, r) ? row[a] : 0.0f;
  }
  // Q(o, a) of the actions taken
  const float* q = agent_.Forward(params_.data(), batch.obs, in_dim_, R);
  for (int64_t r = 0; r < R; ++r)
    q_taken_[r] = On(batch.active, r) ? q[r * stride + batch.actions[r]] : 0.0f;
  // TD error of the mixed values (or of every agent's own, without a mixer): loss = mean td^2
  const bool mixed = config_.mixer != "none";
  const int64_t rows = mixed ? B : R;
  tot_.resize(static_cast<size_t>(rows)), target_tot_.resize(static_cast<size_t>(rows));
  d_tot_.resize(static_cast<size_t>(rows));
  if (qmix_) {
    Mix(target_.data(), q_next_.data(), batch.next_state, B, false, target_tot_.data());
    Mix(params_.data(), q_taken_.data(), batch.state, B, true, tot_.data());
  } else if (mixed) {  // VDN: the sum over agents
    std::fill(tot_.begin(), tot_.end(), 0.0f),
        std::fill(target_tot_.begin(), target_tot_.end(), 0.0f);
    for (int i = 0; i < n_; ++i) {
      for (int64_t b = 0; b < B; ++b)
        tot_[b] += q_taken_[i * B + b], target_tot_[b] += q_next_[i * B + b];
    }
  } else {
    tot_ = q_taken_, target_tot_ = q_next_;
  }
  // the mean over rows: transitions, or without a mixer the (agent, transition) pairs in the env
  int64_t count = rows;
  if (!mixed && batch.active != nullptr) count = std::count(batch.active, batch.active + R, 1);
  const auto n = static_cast<double>(std::max<int64_t>(count, 1));
  double loss = 0.0, taken = 0.0, target = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float y = batch.rewards[r] + batch.discounts[r % B] * target_tot_[r];
    const float td = mixed || On(batch.active, r) ? tot_[r] - y : 0.0f;
    loss += static_cast<double>(td) * td / n;
    taken += tot_[r] / n, target += y / n;
    d_tot_[r] = 2.0f * td / static_cast<float>(n);
  }
  if (qmix_) {
    MixBackward(q_taken_.data(), d_tot_.data(), B, d_q_taken_.data());
  } else if (mixed) {
    for (int64_t r = 0; r < R; ++r) d_q_taken_[r] = d_tot_[r % B];
  } else {
    d_q_taken_ = d_tot_;
  }
  // into the agent network through the chosen actions' outputs
  d_agent_.assign(static_cast<size_t>(R * stride), 0.0f);
  for (int64_t r = 0; r < R; ++r)
    d_agent_[r * stride + batch.actions[r]] = On(batch.active, r) ? d_q_taken_[r] : 0.0f;
  agent_.Backward(params_.data(), d_agent_.data(), grads_.data());
  return {{"losses/td_loss", loss}, {"losses/q_taken_mean", taken}, {"losses/target_mean", target}};
}

std::map<std::string, double> Qmix::Update(const QmixBatch& batch) {
  std::map<std::string, double> m = Gradient(batch);
  double norm = 0.0;
  const auto size = static_cast<int64_t>(grads_.size());
  if (config_.max_grad_norm > 0)
    norm = nn::ClipGradNorm(grads_.data(), size, config_.max_grad_norm);
  adam_.Step(params_.data(), grads_.data(), config_.learning_rate);
  if (++updates_ % config_.target_update_interval == 0) target_ = params_;
  m["losses/grad_norm"] = norm;
  const double coef = nn::ClipCoef(norm, config_.max_grad_norm);
  const int64_t agent = agent_.num_parameters();
  nn::AddHealth(m, "agent", adam_.Health(params_.data(), grads_.data(), {{0, agent}}, coef));
  if (qmix_)
    nn::AddHealth(m, "mixer", adam_.Health(params_.data(), grads_.data(), {{agent, size}}, coef));
  return m;
}

void Qmix::Save(io::TensorDict& out) const {
  nn::Put(out, parameters());
  nn::NamedTensors target = AsTensors(target_);
  for (auto& t : target) t.name = "target." + t.name;
  nn::Put(out, target);
  nn::PutAdam(out, "optimizer", adam_);
  nn::PutRng(out, "rng.qmix", rng_);
  out.Put("qmix.updates", std::vector<int64_t>{updates_});
}

void Qmix::Load(const io::TensorDict& in) {
  for (auto [flat, prefix] : {std::pair{params_.data(), std::string()},
                              std::pair{target_.data(), std::string("target.")}}) {
    nn::ImportLayers(agent_, flat, prefix + "agent", in);
    if (!qmix_) continue;
    nn::ImportLayers(w1_, flat, prefix + "mixer.hyper_w_1", in);
    nn::ImportLayers(b1_, flat, prefix + "mixer.hyper_b_1", in);
    nn::ImportLayers(w_final_, flat, prefix + "mixer.hyper_w_final", in);
    nn::ImportLayers(v_, flat, prefix + "mixer.V", in);
  }
  nn::GetAdam(in, "optimizer", adam_);
  nn::GetRng(in, "rng.qmix", rng_);
  updates_ = in.Scalar<int64_t>("qmix.updates");
}

}  // namespace rlforge::algos
