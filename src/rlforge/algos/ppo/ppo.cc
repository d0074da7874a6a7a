#include "rlforge/algos/ppo/ppo.h"

#include <c10/core/InferenceMode.h>

#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)

}  // namespace

Ppo::Ppo(const PpoConfig& config, const Space& observation_space, const Space& action_space)
    : config_(config), action_space_(action_space) {
  if (observation_space.kind() != Space::Kind::kBox ||
      observation_space.dtype() != DType::kFloat32) {
    throw Error("ppo: expected a float32 Box observation space, got " +
                observation_space.ToString());
  }
  if (action_space.kind() == Space::Kind::kDiscrete ||
      action_space.kind() == Space::Kind::kMultiDiscrete) {
    discrete_ = true;
    act_dim_ = 0;
    for (const int64_t n : action_space.nvec()) act_dim_ += n;
  } else if (action_space.kind() == Space::Kind::kBox) {
    discrete_ = false;
    act_dim_ = action_space.num_continuous();
  } else {
    throw Error("ppo: action space " + action_space.ToString() +
                " is not supported (expected Discrete, MultiDiscrete or Box)");
  }
  const int64_t obs_dim = observation_space.size();
  actor_ = nn::Mlp(obs_dim, config.hidden, act_dim_, config.activation, 0.01);
  critic_ = nn::Mlp(obs_dim, config.hidden, 1, config.activation, 1.0);
  std::vector<torch::Tensor> params = parameters();
  if (!discrete_) {
    log_std_ = torch::full({1, act_dim_}, config.init_log_std, torch::requires_grad());
    params.push_back(log_std_);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(config.learning_rate).eps(1e-5));
}

std::vector<torch::Tensor> Ppo::parameters() const {
  std::vector<torch::Tensor> params = actor_->parameters();
  for (const auto& p : critic_->parameters()) params.push_back(p);
  if (log_std_.defined()) params.push_back(log_std_);
  return params;
}

torch::Tensor Ppo::Value(const torch::Tensor& obs) {
  c10::InferenceMode guard;
  return critic_->forward(obs).squeeze(-1);
}

void Ppo::Act(const torch::Tensor& obs, int64_t* discrete, float* continuous, float* log_probs,
              float* values, bool deterministic) {
  c10::InferenceMode guard;
  const int64_t n = obs.size(0);
  const torch::Tensor out = actor_->forward(obs);
  const torch::Tensor value = critic_->forward(obs).squeeze(-1);
  torch::Tensor logp;
  if (discrete_) {
    // one categorical head per discrete component (MultiDiscrete); log-probs add up
    const auto& nvec = action_space_.nvec();
    const auto heads = static_cast<int64_t>(nvec.size());
    const int64_t start =
        action_space_.kind() == Space::Kind::kDiscrete ? action_space_.start() : 0;
    logp = torch::zeros({n});
    int64_t offset = 0;
    for (int64_t h = 0; h < heads; ++h) {
      const torch::Tensor log_pi = torch::log_softmax(out.narrow(1, offset, nvec[h]), -1);
      const torch::Tensor action =
          deterministic ? log_pi.argmax(-1)
                        : torch::multinomial(log_pi.exp(), 1, /*replacement=*/true).squeeze(-1);
      logp += log_pi.gather(-1, action.unsqueeze(-1)).squeeze(-1);
      const auto a = action.contiguous();
      for (int64_t i = 0; i < n; ++i) discrete[i * heads + h] = a.data_ptr<int64_t>()[i] + start;
      offset += nvec[h];
    }
  } else {
    const torch::Tensor std = log_std_.exp().expand_as(out);
    const torch::Tensor action = deterministic ? out : out + std * torch::randn_like(out);
    logp = (-0.5 * ((action - out) / std).pow(2) - log_std_ - 0.5 * kLog2Pi).sum(-1);
    std::memcpy(continuous, action.contiguous().data_ptr<float>(), sizeof(float) * n * act_dim_);
  }
  if (log_probs != nullptr)
    std::memcpy(log_probs, logp.contiguous().data_ptr<float>(), sizeof(float) * n);
  if (values != nullptr)
    std::memcpy(values, value.contiguous().data_ptr<float>(), sizeof(float) * n);
}

std::pair<torch::Tensor, torch::Tensor> Ppo::Evaluate(const torch::Tensor& obs,
                                                      const torch::Tensor& discrete,
                                                      const torch::Tensor& continuous) {
  const torch::Tensor out = actor_->forward(obs);
  if (discrete_) {
    const auto& nvec = action_space_.nvec();
    const int64_t start =
        action_space_.kind() == Space::Kind::kDiscrete ? action_space_.start() : 0;
    torch::Tensor logp, entropy;
    int64_t offset = 0;
    for (size_t h = 0; h < nvec.size(); ++h) {
      const torch::Tensor log_pi = torch::log_softmax(out.narrow(1, offset, nvec[h]), -1);
      const torch::Tensor index =
          (discrete.select(1, static_cast<int64_t>(h)) - start).unsqueeze(-1);
      const torch::Tensor lp = log_pi.gather(-1, index).squeeze(-1);
      const torch::Tensor ent = -(log_pi.exp() * log_pi).sum(-1);
      logp = logp.defined() ? logp + lp : lp;
      entropy = entropy.defined() ? entropy + ent : ent;
      offset += nvec[h];
    }
    return {logp, entropy};
  }
  const torch::Tensor std = log_std_.exp();
  const torch::Tensor logp =
      (-0.5 * ((continuous - out) / std).pow(2) - log_std_ - 0.5 * kLog2Pi).sum(-1);
  const torch::Tensor entropy = (0.5 + 0.5 * kLog2Pi + log_std_).sum(-1).expand({obs.size(0)});
  return {logp, entropy};
}

std::map<std::string, double> Ppo::Update(buffers::RolloutBuffer& rollout, double learning_rate) {
  const PpoConfig& c = config_;
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
  }
  const int64_t batch = rollout.num_steps() * rollout.num_envs();
  const int64_t minibatch = std::max<int64_t>(1, batch / c.num_minibatches);
  std::vector<double> clipfracs;
  double pg_loss_v = 0, v_loss_v = 0, entropy_v = 0, old_kl_v = 0, kl_v = 0, grad_norm = 0;
  buffers::Batch mb;
  std::vector<int64_t> rows(static_cast<size_t>(minibatch));
  bool stop = false;
  for (int epoch = 0; epoch < c.update_epochs && !stop; ++epoch) {
    const torch::Tensor perm = torch::randperm(batch, torch::kLong);
    for (int64_t start = 0; start + minibatch <= batch; start += minibatch) {
      std::memcpy(rows.data(), perm.data_ptr<int64_t>() + start, sizeof(int64_t) * minibatch);
      rollout.Minibatch(rows, &mb);
      auto view = [&](const char* name, torch::ScalarType type) {
        auto& f = mb[name];
        return torch::from_blob(f.data.data(), f.shape, type);
      };
      const torch::Tensor obs = view("obs", torch::kFloat32);
      const torch::Tensor old_logp = view("log_probs", torch::kFloat32);
      const torch::Tensor old_values = view("values", torch::kFloat32);
      torch::Tensor adv = view("advantages", torch::kFloat32);
      const torch::Tensor returns = view("returns", torch::kFloat32);
      const auto [logp, entropy] = Evaluate(obs, view("discrete_actions", torch::kInt64),
                                            view("continuous_actions", torch::kFloat32));
      const torch::Tensor log_ratio = logp - old_logp;
      const torch::Tensor ratio = log_ratio.exp();
      {
        torch::NoGradGuard no_grad;
        old_kl_v = (-log_ratio).mean().item<double>();
        kl_v = ((ratio - 1) - log_ratio).mean().item<double>();
        clipfracs.push_back(
            ((ratio - 1.0).abs() > c.clip_coef).to(torch::kFloat32).mean().item<double>());
      }
      if (c.norm_adv && minibatch > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
      torch::Tensor pg_loss;
      if (c.a2c) {
        pg_loss = -(adv * logp).mean();
      } else {
        const torch::Tensor pg1 = -adv * ratio;
        const torch::Tensor pg2 = -adv * torch::clamp(ratio, 1 - c.clip_coef, 1 + c.clip_coef);
        pg_loss = torch::max(pg1, pg2).mean();
      }
      const torch::Tensor new_values = critic_->forward(obs).squeeze(-1);
      torch::Tensor v_loss;
      if (c.clip_vloss && !c.a2c) {
        const torch::Tensor unclipped = (new_values - returns).pow(2);
        const torch::Tensor clipped_v =
            old_values + torch::clamp(new_values - old_values, -c.clip_coef, c.clip_coef);
        v_loss = 0.5 * torch::max(unclipped, (clipped_v - returns).pow(2)).mean();
      } else {
        v_loss = 0.5 * (new_values - returns).pow(2).mean();
      }
      const torch::Tensor entropy_loss = entropy.mean();
      const torch::Tensor loss = pg_loss - c.ent_coef * entropy_loss + v_loss * c.vf_coef;
      optimizer_->zero_grad();
      loss.backward();
      grad_norm = nn::ClipGradNorm(parameters(), c.max_grad_norm);
      optimizer_->step();
      pg_loss_v = pg_loss.item<double>();
      v_loss_v = v_loss.item<double>();
      entropy_v = entropy_loss.item<double>();
    }
    if (c.target_kl > 0.0 && kl_v > c.target_kl) stop = true;
  }
  // explained variance of the values against the returns
  const auto& values = rollout.values();
  const auto& returns = rollout.returns();
  double mean_r = 0, mean_d = 0;
  for (int64_t i = 0; i < batch; ++i) {
    mean_r += returns[i] / batch;
    mean_d += (returns[i] - values[i]) / batch;
  }
  double var_r = 0, var_d = 0;
  for (int64_t i = 0; i < batch; ++i) {
    var_r += (returns[i] - mean_r) * (returns[i] - mean_r) / batch;
    var_d += (returns[i] - values[i] - mean_d) * (returns[i] - values[i] - mean_d) / batch;
  }
  double clipfrac = 0;
  for (double f : clipfracs) clipfrac += f / static_cast<double>(clipfracs.size());
  return {{"losses/value_loss", v_loss_v},
          {"losses/policy_loss", pg_loss_v},
          {"losses/entropy", entropy_v},
          {"losses/old_approx_kl", old_kl_v},
          {"losses/approx_kl", kl_v},
          {"losses/clipfrac", clipfrac},
          {"losses/explained_variance", var_r == 0 ? NAN : 1 - var_d / var_r},
          {"losses/grad_norm", grad_norm},
          {"charts/learning_rate", learning_rate}};
}

void Ppo::Save(torch::serialize::OutputArchive& archive) const {
  nn::SaveTo(archive, "actor", actor_);
  nn::SaveTo(archive, "critic", critic_);
  nn::SaveTo(archive, "optimizer", *optimizer_);
  if (log_std_.defined()) archive.write("log_std", log_std_, /*is_buffer=*/true);
}

void Ppo::Load(torch::serialize::InputArchive& archive) {
  nn::LoadFrom(archive, "actor", actor_);
  nn::LoadFrom(archive, "critic", critic_);
  if (log_std_.defined()) {
    torch::Tensor saved;
    archive.read("log_std", saved, /*is_buffer=*/true);
    torch::NoGradGuard no_grad;
    log_std_.copy_(saved);
  }
  nn::LoadFrom(archive, "optimizer", *optimizer_);
}

}  // namespace rlforge::algos
