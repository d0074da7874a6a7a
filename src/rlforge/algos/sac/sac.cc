#include "rlforge/algos/sac/sac.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"
#include "rlforge/dist/comm.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {
namespace {

constexpr double kLogStdMin = -5.0;
constexpr double kLogStdMax = 2.0;
constexpr double kLog2Pi = 1.8378770664093453;

std::vector<int64_t> Sizes(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  std::vector<int64_t> sizes = {in};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(out);
  return sizes;
}

}  // namespace

Sac::Sac(const SacConfig& config, const Space& observation_space, const Space& action_space,
         uint64_t seed)
    : config_(config), action_space_(action_space), rng_(seed), net_rng_(nn::StreamRng(seed, 1)) {
  if (action_space.kind() != Space::Kind::kBox) {
    throw Error("sac: needs a Box action space, got " + action_space.ToString() +
                " (use dqn or ppo)");
  }
  if (!action_space.is_bounded())
    throw Error("sac: the action space must be bounded, got " + action_space.ToString());
  act_dim_ = action_space.num_continuous();
  obs_dim_ = observation_space.size();
  // one lane per training thread; the actor's two heads (mean, log std) are one output layer
  const int threads = nn::TrainingThreads();
  lanes_ = nn::Lanes<Lane>(threads);
  const std::vector<int64_t> q_sizes = Sizes(obs_dim_ + act_dim_, config.hidden, 1);
  for (Lane& lane : lanes_) {
    lane.actor =
        nn::DenseMlp(Sizes(obs_dim_, config.hidden, 2 * act_dim_), nn::Activation::kRelu, 0);
    lane.q1 = nn::DenseMlp(q_sizes, nn::Activation::kRelu, 0);
    lane.q2 = nn::DenseMlp(q_sizes, nn::Activation::kRelu, lane.q1.num_parameters());
  }
  const nn::DenseMlp& actor = lanes_[0].actor;
  actor_params_.assign(static_cast<size_t>(actor.num_parameters()), 0.0f);
  // CleanRL's trunk and two heads (one output layer of 2|A| rows here), PyTorch's default init
  nn::InitLinearDefault(actor, actor_params_.data(), net_rng_);
  actor_adam_ = nn::FlatAdam(actor.num_parameters(), 1e-8);
  ResetCritic();
  for (Lane& lane : lanes_) lane.actor_grads.assign(actor_params_.size(), 0.0f);
  for (int64_t i = 0; i < act_dim_; ++i) {
    scale_.push_back(static_cast<float>((action_space.high()[i] - action_space.low()[i]) / 2.0));
    bias_.push_back(static_cast<float>((action_space.high()[i] + action_space.low()[i]) / 2.0));
  }
  target_entropy_ = -static_cast<double>(act_dim_);
  log_alpha_ = {0.0f};
  alpha_adam_ = nn::FlatAdam(1, 1e-8);
  alpha_ = config.autotune ? 1.0 : config.alpha;
}

void Sac::ResetCritic() {
  const Lane& first = lanes_[0];
  q_params_.assign(static_cast<size_t>(first.q1.num_parameters() + first.q2.num_parameters()),
                   0.0f);
  for (const nn::DenseMlp* q : {&first.q1, &first.q2})
    nn::InitLinearDefault(*q, q_params_.data(), net_rng_);
  q_target_ = q_params_;
  for (Lane& lane : lanes_) lane.q_grads.assign(q_params_.size(), 0.0f);
  q_adam_ = nn::FlatAdam(static_cast<int64_t>(q_params_.size()), 1e-8);
}

nn::NamedTensors Sac::AsTensors(const std::vector<float>& actor,
                                const std::vector<float>& q) const {
  const Lane& first = lanes_[0];
  nn::NamedTensors out;
  nn::ExportLayers(first.actor, actor.data(), "actor", &out);
  // the output layer holds both heads: rows [0, |A|) the mean, [|A|, 2|A|) the log std
  const nn::NamedTensor w = out[out.size() - 2], b = out.back();
  out.resize(out.size() - 2);
  const int64_t width = w.shape[1];
  for (const auto& [head, row] :
       {std::pair{"actor_mean", int64_t{0}}, {"actor_logstd", act_dim_}}) {
    const auto wb = w.values.begin() + row * width, bb = b.values.begin() + row;
    out.push_back({std::string(head) + ".weight", {act_dim_, width}, {wb, wb + act_dim_ * width}});
    out.push_back({std::string(head) + ".bias", {act_dim_}, {bb, bb + act_dim_}});
  }
  nn::ExportLayers(first.q1, q.data(), "qf1", &out);
  nn::ExportLayers(first.q2, q.data(), "qf2", &out);
  return out;
}

nn::NamedTensors Sac::parameters() const {
  nn::NamedTensors p = AsTensors(actor_params_, q_params_);
  p.push_back({"log_alpha", {1}, log_alpha_});
  return p;
}

nn::NamedTensors Sac::gradients() const {
  return AsTensors(lanes_[0].actor_grads, lanes_[0].q_grads);
}

void Sac::DrawNoise(int64_t n, bool deterministic, std::span<Rng> streams) {
  noise_.assign(static_cast<size_t>(n * act_dim_), 0.0f);
  if (deterministic) return;
  for (int64_t k = 0; k < n * act_dim_; ++k) {
    Rng& rng = streams.empty() ? net_rng_ : streams[k / act_dim_];
    noise_[k] = static_cast<float>(rng.Normal(0.0, 1.0));
  }
}

const Sac::Lane& Sac::SumLanes(std::vector<float> Lane::*grads, int n_sums) {
  lanes_.Sum(grads);
  Lane& first = lanes_[0];
  for (size_t k = 1; k < lanes_.size(); ++k) {
    for (int j = 0; j < n_sums; ++j) first.sums[j] += lanes_[k].sums[j];
  }
  return first;
}

void Sac::Step(nn::FlatAdam& adam, std::vector<float>& params, std::vector<float> Lane::*grads,
               double lr) {
  adam.Begin(lr);
  const float* g = (lanes_[0].*grads).data();
  lanes_.ForElements(static_cast<int64_t>(params.size()),
                     [&](int64_t begin, int64_t end) { adam.Apply(params.data(), g, begin, end); });
}

void Sac::Sample(Lane& lane, const float* out, int64_t begin, int64_t end) {
  const int64_t A = act_dim_, stride = lane.actor.out_stride(), rows = end - begin;
  for (auto* v : {&lane.pi, &lane.std, &lane.y, &lane.t}) v->resize(static_cast<size_t>(rows * A));
  lane.log_pi.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double logp = 0.0;
    for (int64_t j = 0; j < A; ++j) {
      const size_t k = static_cast<size_t>(r * A + j);
      const double mean = out[r * stride + j];
      const double t = std::tanh(static_cast<double>(out[r * stride + A + j]));
      const double log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (t + 1.0);
      const double std = std::exp(log_std);
      const double eps = noise_[(begin + r) * A + j];
      const double y = std::tanh(mean + std * eps);  // squashed sample
      lane.pi[k] = static_cast<float>(y * scale_[j] + bias_[j]);
      // Normal log-density of the sample, minus the log-Jacobian of the squashing
      logp += -0.5 * eps * eps - log_std - 0.5 * kLog2Pi - std::log(scale_[j] * (1 - y * y) + 1e-6);
      lane.std[k] = static_cast<float>(std);
      lane.y[k] = static_cast<float>(y), lane.t[k] = static_cast<float>(t);
    }
    lane.log_pi[r] = static_cast<float>(logp);
  }
}

void Sac::QInput(Lane& lane, const float* obs, const float* actions, int64_t rows) {
  const int64_t in = obs_dim_ + act_dim_;
  lane.x.resize(static_cast<size_t>(rows * in));
  for (int64_t i = 0; i < rows; ++i) {
    std::memcpy(lane.x.data() + i * in, obs + i * obs_dim_, sizeof(float) * obs_dim_);
    std::memcpy(lane.x.data() + i * in + obs_dim_, actions + i * act_dim_,
                sizeof(float) * act_dim_);
  }
}

void Sac::Act(const float* x, int64_t n, float* continuous, bool deterministic,
              std::span<Rng> streams) {
  Lane& lane = lanes_[0];
  DrawNoise(n, deterministic, streams);
  Sample(lane, lane.actor.Forward(actor_params_.data(), x, obs_dim_, n), 0, n);
  std::memcpy(continuous, lane.pi.data(), sizeof(float) * n * act_dim_);
}

double Sac::QValue(const float* obs, const float* action) {
  Lane& lane = lanes_[0];  // its activations: the next update computes its own
  QInput(lane, obs, action, 1);
  const int64_t in = obs_dim_ + act_dim_;
  const double q1 = lane.q1.Forward(q_params_.data(), lane.x.data(), in, 1)[0];
  const double q2 = lane.q2.Forward(q_params_.data(), lane.x.data(), in, 1)[0];
  return std::min(q1, q2);
}

void Sac::SampleRandom(int64_t n, float* continuous, std::span<Rng> streams) {
  for (int64_t i = 0; i < n; ++i) {
    action_space_.Sample(
        streams.empty() ? rng_ : streams[i], {},
        std::span<float>(continuous + i * act_dim_, static_cast<size_t>(act_dim_)));
  }
}

void Sac::Collect(const float* obs, int64_t n, int64_t global_step, float* continuous,
                  std::span<Rng> streams) {
  if (global_step < config_.learning_starts) {
    SampleRandom(n, continuous, streams);
    return;
  }
  Act(obs, n, continuous, false, streams);
}

void Sac::CriticRows(Lane& lane, buffers::Batch& batch, int64_t begin, int64_t end) {
  const int64_t rows = end - begin, in = obs_dim_ + act_dim_, q_stride = lane.q1.out_stride();
  const int64_t B = batch["obs"].shape[0];
  const float* obs = batch["obs"].as<float>() + begin * obs_dim_;
  const float* next_obs = batch["next_obs"].as<float>() + begin * obs_dim_;
  const float* actions = batch["continuous_actions"].as<float>() + begin * act_dim_;
  const float* rewards = batch["rewards"].as<float>() + begin;
  const float* discounts = batch["discounts"].as<float>() + begin;
  // y = r + discount * (min target Q(s', a') - alpha log pi(a'|s')), a' ~ pi(s')
  Sample(lane, lane.actor.Forward(actor_params_.data(), next_obs, obs_dim_, rows), begin, end);
  QInput(lane, next_obs, lane.pi.data(), rows);
  const float* t1 = lane.q1.Forward(q_target_.data(), lane.x.data(), in, rows);
  const float* t2 = lane.q2.Forward(q_target_.data(), lane.x.data(), in, rows);
  std::vector<float>& target = lane.target;
  target.resize(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const double min_q = std::min(t1[i * q_stride], t2[i * q_stride]);
    target[i] = static_cast<float>(rewards[i] + discounts[i] * (min_q - alpha_ * lane.log_pi[i]));
  }
  // loss = mean (q1 - y)^2 + mean (q2 - y)^2
  QInput(lane, obs, actions, rows);
  const float* q1 = lane.q1.Forward(q_params_.data(), lane.x.data(), in, rows);
  const float* q2 = lane.q2.Forward(q_params_.data(), lane.x.data(), in, rows);
  lane.dq1.assign(static_cast<size_t>(rows * q_stride), 0.0f);
  lane.dq2.assign(static_cast<size_t>(rows * q_stride), 0.0f);
  double* sums = lane.sums;  // q1 loss, q2 loss, mean q1
  std::fill(sums, sums + 4, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const double e1 = q1[i * q_stride] - target[i], e2 = q2[i * q_stride] - target[i];
    sums[0] += e1 * e1 / B, sums[1] += e2 * e2 / B, sums[2] += q1[i * q_stride] / B;
    lane.dq1[i * q_stride] = static_cast<float>(2.0 * e1 / B);
    lane.dq2[i * q_stride] = static_cast<float>(2.0 * e2 / B);
  }
  std::fill(lane.q_grads.begin(), lane.q_grads.end(), 0.0f);
  lane.q1.Backward(q_params_.data(), lane.dq1.data(), lane.q_grads.data());
  lane.q2.Backward(q_params_.data(), lane.dq2.data(), lane.q_grads.data());
}

std::map<std::string, double> Sac::CriticGradient(buffers::Batch& batch) {
  const int64_t B = batch["obs"].shape[0];
  DrawNoise(B, false);
  lanes_.ForRows(
      B, [&](Lane& lane, int64_t begin, int64_t end) { CriticRows(lane, batch, begin, end); });
  const Lane& first = SumLanes(&Lane::q_grads, 3);
  return {{"losses/qf1_values", first.sums[2]},
          {"losses/qf1_loss", first.sums[0]},
          {"losses/qf2_loss", first.sums[1]},
          {"losses/qf_loss", (first.sums[0] + first.sums[1]) / 2.0}};
}

void Sac::ActorRows(Lane& lane, const float* obs_all, int64_t begin, int64_t end) {
  const int64_t A = act_dim_, in = obs_dim_ + A, in_pad = nn::PadTo8(in);
  const int64_t rows = end - begin, B = static_cast<int64_t>(noise_.size()) / A;
  const int64_t q_stride = lane.q1.out_stride(), out_stride = lane.actor.out_stride();
  const float* obs = obs_all + begin * obs_dim_;
  Sample(lane, lane.actor.Forward(actor_params_.data(), obs, obs_dim_, rows), begin, end);
  QInput(lane, obs, lane.pi.data(), rows);
  const float* q1 = lane.q1.Forward(q_params_.data(), lane.x.data(), in, rows);
  const float* q2 = lane.q2.Forward(q_params_.data(), lane.x.data(), in, rows);
  // loss = mean(alpha log pi - min(q1, q2)): the smaller Q takes the gradient (ties split it)
  lane.dq1.assign(static_cast<size_t>(rows * q_stride), 0.0f);
  lane.dq2.assign(static_cast<size_t>(rows * q_stride), 0.0f);
  lane.sums[0] = 0.0;
  for (int64_t i = 0; i < rows; ++i) {
    const float a = q1[i * q_stride], b = q2[i * q_stride];
    lane.sums[0] += (alpha_ * lane.log_pi[i] - std::min(a, b)) / B;
    lane.dq1[i * q_stride] = static_cast<float>((a < b ? -1.0 : a == b ? -0.5 : 0.0) / B);
    lane.dq2[i * q_stride] = static_cast<float>((b < a ? -1.0 : a == b ? -0.5 : 0.0) / B);
  }
  lane.dx1.resize(static_cast<size_t>(rows * in_pad));
  lane.dx2.resize(static_cast<size_t>(rows * in_pad));
  lane.q1.Backward(q_params_.data(), lane.dq1.data(), nullptr, lane.dx1.data());
  lane.q2.Backward(q_params_.data(), lane.dq2.data(), nullptr, lane.dx2.data());
  // back through a = tanh(x) scale + bias, x = mean + std eps, log std = squash(raw), and
  // log pi = sum(-eps^2/2 - log std - log(2 pi)/2 - log(scale (1 - y^2) + 1e-6))
  const double d_logp = alpha_ / B;
  lane.d_out.assign(static_cast<size_t>(rows * out_stride), 0.0f);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < A; ++j) {
      const size_t k = static_cast<size_t>(i * A + j);
      const double y = lane.y[k], s = scale_[j];
      const double d_pi = lane.dx1[i * in_pad + obs_dim_ + j] + lane.dx2[i * in_pad + obs_dim_ + j];
      const double d_jacobian = 2.0 * y * (1 - y * y) * s / (s * (1 - y * y) + 1e-6);
      const double d_x = d_pi * s * (1 - y * y) + d_logp * d_jacobian;
      const double d_log_std = -d_logp + d_x * lane.std[k] * noise_[(begin + i) * A + j];
      lane.d_out[i * out_stride + j] = static_cast<float>(d_x);
      lane.d_out[i * out_stride + A + j] = static_cast<float>(
          d_log_std * 0.5 * (kLogStdMax - kLogStdMin) * (1 - lane.t[k] * lane.t[k]));
    }
  }
  std::fill(lane.actor_grads.begin(), lane.actor_grads.end(), 0.0f);
  lane.actor.Backward(actor_params_.data(), lane.d_out.data(), lane.actor_grads.data());
}

double Sac::ActorGradient(const float* obs, int64_t B) {
  DrawNoise(B, false);
  lanes_.ForRows(B,
                 [&](Lane& lane, int64_t begin, int64_t end) { ActorRows(lane, obs, begin, end); });
  return SumLanes(&Lane::actor_grads, 1).sums[0];
}

std::map<std::string, double> Sac::Update(buffers::Batch& batch, int64_t global_step) {
  // under mpirun each gradient is averaged across the ranks (dist/comm.h) before its step
  std::map<std::string, double> m = CriticGradient(batch);
  dist::AverageInRankOrder(lanes_[0].q_grads);
  Step(q_adam_, q_params_, &Lane::q_grads, config_.q_lr);
  // delayed policy updates, compensated by doing policy_frequency of them at once
  if (global_step % config_.policy_frequency == 0) {
    const float* obs = batch["obs"].as<float>();
    const int64_t B = batch["obs"].shape[0];
    for (int k = 0; k < config_.policy_frequency; ++k) {
      m["losses/actor_loss"] = ActorGradient(obs, B);
      dist::AverageInRankOrder(lanes_[0].actor_grads);
      Step(actor_adam_, actor_params_, &Lane::actor_grads, config_.policy_lr);
      if (config_.autotune) {  // alpha loss = mean(-alpha (log pi + target entropy)), fresh pi
        DrawNoise(B, false);
        lanes_.ForRows(B, [&](Lane& lane, int64_t begin, int64_t end) {
          const int64_t rows = end - begin;
          Sample(lane,
                 lane.actor.Forward(actor_params_.data(), obs + begin * obs_dim_, obs_dim_, rows),
                 begin, end);
          lane.sums[3] = 0.0;
          for (int64_t i = 0; i < rows; ++i) lane.sums[3] += (lane.log_pi[i] + target_entropy_) / B;
        });
        double mean = 0.0;
        for (const Lane& lane : lanes_) mean += lane.sums[3];
        float grad = static_cast<float>(-std::exp(log_alpha_[0]) * mean);
        dist::AverageInRankOrder({&grad, 1});
        m["losses/alpha_loss"] = grad;
        alpha_adam_.Step(log_alpha_.data(), &grad, config_.q_lr);
        alpha_ = std::exp(static_cast<double>(log_alpha_[0]));
      }
    }
  }
  if (global_step % config_.target_network_frequency == 0) {
    const auto tau = static_cast<float>(config_.tau);
    lanes_.ForElements(static_cast<int64_t>(q_target_.size()), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        q_target_[i] = q_target_[i] * (1.0f - tau) + q_params_[i] * tau;
    });
  }
  m["losses/alpha"] = alpha_;
  return m;
}

std::map<std::string, double> Sac::Health() const {
  const Lane& first = lanes_[0];
  const int64_t q1 = first.q1.num_parameters(), q = q1 + first.q2.num_parameters();
  const int64_t actor = first.actor.num_parameters();
  std::map<std::string, double> m;
  nn::AddHealth(m, "actor",
                actor_adam_.Health(actor_params_.data(), first.actor_grads.data(), {{0, actor}}));
  nn::AddHealth(m, "qf1", q_adam_.Health(q_params_.data(), first.q_grads.data(), {{0, q1}}));
  nn::AddHealth(m, "qf2", q_adam_.Health(q_params_.data(), first.q_grads.data(), {{q1, q}}));
  return m;
}

void Sac::Save(io::TensorDict& out) const {
  nn::Put(out, parameters());
  nn::NamedTensors target;
  nn::ExportLayers(lanes_[0].q1, q_target_.data(), "qf1_target", &target);
  nn::ExportLayers(lanes_[0].q2, q_target_.data(), "qf2_target", &target);
  nn::Put(out, target);
  nn::PutAdam(out, "optimizer.actor", actor_adam_);
  nn::PutAdam(out, "optimizer.q", q_adam_);
  nn::PutAdam(out, "optimizer.alpha", alpha_adam_);
  nn::PutRng(out, "rng.sac", rng_);
  nn::PutRng(out, "rng.sac_nets", net_rng_);
}

void Sac::Load(const io::TensorDict& in) {
  const Lane& first = lanes_[0];
  // the trunk, then the two heads into the one output layer
  const size_t last = first.actor.layers().size() - 1;
  std::vector<float> w(static_cast<size_t>(2 * act_dim_ * first.actor.layers()[last].in));
  std::vector<float> b(static_cast<size_t>(2 * act_dim_));
  for (size_t l = 0; l < last; ++l) {
    const auto& L = first.actor.layers()[l];
    std::vector<float> lw(static_cast<size_t>(L.out * L.in)), lb(static_cast<size_t>(L.out));
    in.Read("actor." + std::to_string(2 * l) + ".weight", lw, {L.out, L.in});
    in.Read("actor." + std::to_string(2 * l) + ".bias", lb, {L.out});
    first.actor.Import(actor_params_.data(), l, lw.data(), lb.data());
  }
  const int64_t width = first.actor.layers()[last].in;
  for (const auto& [head, row] :
       {std::pair{"actor_mean", int64_t{0}}, {"actor_logstd", act_dim_}}) {
    in.Read(std::string(head) + ".weight",
            std::span<float>(w.data() + row * width, static_cast<size_t>(act_dim_ * width)),
            {act_dim_, width});
    in.Read(std::string(head) + ".bias", std::span<float>(b.data() + row, act_dim_), {act_dim_});
  }
  first.actor.Import(actor_params_.data(), last, w.data(), b.data());
  nn::ImportLayers(first.q1, q_params_.data(), "qf1", in);
  nn::ImportLayers(first.q2, q_params_.data(), "qf2", in);
  nn::ImportLayers(first.q1, q_target_.data(), "qf1_target", in);
  nn::ImportLayers(first.q2, q_target_.data(), "qf2_target", in);
  in.Read("log_alpha", log_alpha_, {1});
  nn::GetAdam(in, "optimizer.actor", actor_adam_);
  nn::GetAdam(in, "optimizer.q", q_adam_);
  nn::GetAdam(in, "optimizer.alpha", alpha_adam_);
  alpha_ = config_.autotune ? std::exp(static_cast<double>(log_alpha_[0])) : config_.alpha;
  nn::GetRng(in, "rng.sac", rng_);
  nn::GetRng(in, "rng.sac_nets", net_rng_);
}

}  // namespace rlforge::algos
