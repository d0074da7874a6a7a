#include "rlforge/algos/pebble/pebble.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"

namespace rlforge::algos::pebble {
namespace {

torch::Tensor Floats(const float* data, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat32);
}

}  // namespace

torch::Tensor KnnDistance(const torch::Tensor& obs, const torch::Tensor& reference, int k) {
  const int64_t kth = std::min<int64_t>(k + 1, reference.size(0));
  return std::get<0>(torch::cdist(obs, reference).kthvalue(kth, 1));
}

Pebble::Pebble(const PebbleConfig& config, const SacConfig& sac, const Space& observation_space,
               const Space& action_space, int num_envs, uint64_t seed,
               std::unique_ptr<Teacher> teacher)
    : config_(config),
      sac_(sac, observation_space, action_space, seed),
      obs_dim_(observation_space.size()),
      act_dim_(action_space.num_continuous()),
      reward_model_(obs_dim_, act_dim_, config.reward_model),
      teacher_(teacher ? std::move(teacher)
                       : std::make_unique<ScriptedTeacher>(config.teacher, seed + 1)),
      episodes_(num_envs, config.max_episodes, obs_dim_, act_dim_),
      reward_fit_(static_cast<size_t>(num_envs)),
      rng_(seed + 2),
      next_session_(config.unsupervised_steps) {
  ParseScheme(config.query_scheme);
  const int64_t H = config.segment_length;
  unlabeled_ = {torch::zeros({0, H, obs_dim_}), torch::zeros({0, H, act_dim_}),
                torch::zeros({0, H, obs_dim_}), torch::zeros({0, H, act_dim_}), torch::zeros({0})};
}

void Pebble::Collect(const float* obs, int64_t n, int64_t global_step, float* continuous) {
  if (global_step < config_.random_exploration_steps) {
    sac_.SampleRandom(n, continuous);
  } else {
    sac_.Act(obs, n, continuous, /*deterministic=*/false);
  }
}

void Pebble::ModelRewards(const float* obs, const float* actions, float* rewards) {
  c10::InferenceMode guard;
  const int64_t n = static_cast<int64_t>(reward_fit_.size());
  const torch::Tensor r =
      reward_model_.Reward(Floats(obs, {n, obs_dim_}), Floats(actions, {n, act_dim_})).contiguous();
  const float* raw = r.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) rewards[i] = static_cast<float>(raw[i] * reward_scale_);
}

void Correlation::Add(double x, double y) {
  const std::array<double, 6> terms = {x, y, x * x, y * y, x * y, 1.0};
  for (size_t k = 0; k < sums.size(); ++k) sums[k] += terms[k];
}

double Correlation::Value() const {
  const auto [sx, sy, sxx, syy, sxy, n] = sums;
  const double var_x = sxx / n - (sx / n) * (sx / n), var_y = syy / n - (sy / n) * (sy / n);
  if (!(var_x > 0 && var_y > 0)) return std::nan("");
  return std::clamp((sxy / n - (sx / n) * (sy / n)) / std::sqrt(var_x * var_y), -1.0, 1.0);
}

std::optional<Pebble::EpisodeFit> Pebble::Record(int env, int64_t global_step, const float* obs,
                                                 const float* action, float true_reward,
                                                 float model_reward, std::span<const double> state,
                                                 bool episode_end) {
  episodes_.Add(env, obs, action, true_reward, state);
  if (global_step <= config_.unsupervised_steps)
    reference_obs_.insert(reference_obs_.end(), obs, obs + obs_dim_);
  reward_fit_[env].Add(true_reward, model_reward);
  if (!episode_end) return std::nullopt;
  episodes_.EndEpisode(env);
  const Correlation fit = std::exchange(reward_fit_[env], {});
  return EpisodeFit{fit.sums[1], fit.Value()};
}

std::map<std::string, double> Pebble::Train(buffers::ReplayBuffer& replay, int64_t global_step,
                                            int64_t iteration) {
  std::map<std::string, double> m;
  if (global_step <= config_.random_exploration_steps) return m;
  if (global_step >= next_session_ && asked_ < config_.max_feedback) {
    m = FeedbackSession(replay, global_step);
    next_session_ += config_.feedback_frequency;
  }
  replay.Sample(sac_.batch_size(), &batch_);
  if (sessions_ == 0) {  // pre-training: the critic's reward is the state entropy
    const int64_t b = batch_["obs"].shape[0];
    const torch::Tensor obs = Floats(batch_["obs"].as<float>(), {b, obs_dim_});
    const int64_t t = static_cast<int64_t>(reference_obs_.size()) / obs_dim_;
    torch::Tensor r_int;
    {
      c10::InferenceMode guard;
      r_int = KnnDistance(obs, Floats(reference_obs_.data(), {t, obs_dim_}), config_.knn_k)
                  .to(torch::kFloat64)
                  .contiguous();
    }
    const double mean = r_int.mean().item<double>();
    const double var = r_int.var(/*unbiased=*/false).item<double>();
    intrinsic_stats_.Update({&mean, 1}, {&var, 1}, static_cast<double>(b));
    const double std = std::sqrt(intrinsic_stats_.var[0]);
    float* rewards = batch_["rewards"].as<float>();
    const double* r = r_int.data_ptr<double>();
    for (int64_t i = 0; i < b; ++i) rewards[i] = static_cast<float>(r[i] / std);
    if (iteration % 100 == 0) {
      m["intrinsic/reward_mean"] = mean;
      m["intrinsic/running_std"] = std;
    }
  }
  auto losses = sac_.Update(batch_, iteration);
  if (iteration % 100 == 0) m.insert(losses.begin(), losses.end());
  return m;
}

std::map<std::string, double> Pebble::FeedbackSession(buffers::ReplayBuffer& replay,
                                                      int64_t global_step) {
  std::map<std::string, double> m;
  const int64_t H = config_.segment_length;
  const int64_t count = std::min(config_.queries_per_session, config_.max_feedback - asked_);
  // candidates: segment pairs from recent episodes; the first session is uniform
  const Scheme scheme = sessions_ == 0 ? Scheme::kUniform : ParseScheme(config_.query_scheme);
  const int64_t candidates = scheme == Scheme::kUniform ? count : count * config_.large_batch;
  const Segments s = episodes_.Sample(2 * candidates, H, rng_);
  const auto side = [&](const std::vector<float>& v, int64_t width, int which) {
    return Floats(v.data(), {candidates, 2, H, width}).select(1, which);
  };
  PairBatch pairs{side(s.obs, obs_dim_, 0),
                  side(s.actions, act_dim_, 0),
                  side(s.obs, obs_dim_, 1),
                  side(s.actions, act_dim_, 1),
                  {}};
  torch::Tensor prefer_one, features, labelled;
  if (scheme != Scheme::kUniform) {
    prefer_one = reward_model_.PreferOne(pairs);
    features =
        torch::cat({pairs.obs0.reshape({candidates, -1}), pairs.obs1.reshape({candidates, -1})}, 1);
    if (preferences_ && preferences_->num_labelled() > 0) {
      const PairBatch done = LabelledPairs();
      labelled = torch::cat(
          {done.obs0.reshape({done.obs0.size(0), -1}), done.obs1.reshape({done.obs1.size(0), -1})},
          1);
    }
  }
  const std::vector<int64_t> picks = SelectQueries(scheme, prefer_one, features, labelled, count);

  // ask the teacher, thresholds scaled by the mean true return of a segment
  QueryRewards q{static_cast<int64_t>(picks.size()), H, {}, {}, s.state_dim, {}, {}};
  const int64_t sw = H * s.state_dim;  // state values per segment
  for (int64_t p : picks) {
    const float* r0 = s.rewards.data() + (2 * p) * H;
    const float* r1 = s.rewards.data() + (2 * p + 1) * H;
    q.reward0.insert(q.reward0.end(), r0, r0 + H);
    q.reward1.insert(q.reward1.end(), r1, r1 + H);
    q.states0.insert(q.states0.end(), s.states.begin() + (2 * p) * sw,
                     s.states.begin() + (2 * p + 1) * sw);
    q.states1.insert(q.states1.end(), s.states.begin() + (2 * p + 1) * sw,
                     s.states.begin() + (2 * p + 2) * sw);
  }
  teacher_->SetMargin(episodes_.MeanReturn() * static_cast<double>(H) /
                      std::max(1.0, episodes_.MeanLength()));
  const std::vector<float> labels = teacher_->Label(q);
  if (!preferences_) {
    preferences_ = std::make_unique<buffers::PreferenceBuffer>(
        config_.max_feedback, buffers::SegmentSpec{H, obs_dim_, act_dim_, s.state_dim});
  }
  int64_t agree = 0, strict = 0, got = 0;
  for (size_t i = 0; i < picks.size(); ++i) {
    if (labels[i] == kSkip) continue;
    ++got;
    const int64_t p = picks[i];
    const auto pair_of = [&](const auto& v, int64_t width) {
      return std::span(v.data() + 2 * p * H * width, static_cast<size_t>(2 * H * width));
    };
    preferences_->Add(pair_of(s.obs, obs_dim_), pair_of(s.actions, act_dim_),
                      pair_of(s.states, s.state_dim), labels[i]);
    if (labels[i] != 0.5f) {  // agreement with the true return, where the label is strict
      double ret0 = 0, ret1 = 0;
      for (int64_t t = 0; t < H; ++t) {
        ret0 += q.reward0[i * H + t];
        ret1 += q.reward1[i * H + t];
      }
      ++strict;
      agree += (labels[i] == 1.0f) == (ret1 > ret0);
    }
  }
  asked_ += static_cast<int64_t>(picks.size());
  labelled_ += got;
  m["feedback/queries_asked"] = static_cast<double>(asked_);
  m["feedback/labels"] = static_cast<double>(labelled_);
  if (strict > 0) m["feedback/teacher_agreement"] = static_cast<double>(agree) / strict;

  if (config_.reward_model.surf.enabled)
    AddUnlabeled(count * config_.reward_model.surf.unlabeled_ratio);
  if (preferences_->num_labelled() > 0) {
    const auto stats = reward_model_.Train(LabelledPairs(), unlabeled_, rng_);
    for (int k = 0; k < reward_model_.ensemble_size(); ++k) {
      m["reward_model/loss_" + std::to_string(k)] = stats.loss[k];
      m["reward_model/accuracy_" + std::to_string(k)] = stats.accuracy[k];
    }
    m["reward_model/epochs"] = stats.epochs;
    if (config_.reward_model.surf.enabled)
      m["reward_model/pseudo_labelled"] = stats.pseudo_labelled;
    if (config_.reward_model.adaptive_l2) {
      m["reward_model/train_loss"] = stats.train_loss;
      m["reward_model/validation_loss"] = stats.validation_loss;
      m["reward_model/l2"] = stats.l2;
    }
    Relabel(replay);
    if (config_.normalize_reward) m["reward_model/reward_scale"] = reward_scale_;
  }
  if (sessions_ == 0) {  // leaving pre-training: a fresh critic, then catch up
    sac_.ResetCritic();
    for (int k = 0; k < config_.reset_update; ++k) {
      replay.Sample(sac_.batch_size(), &batch_);
      sac_.Update(batch_, k);
    }
  }
  ++sessions_;
  (void)global_step;
  return m;
}

void Pebble::AddUnlabeled(int64_t count) {
  const int64_t H = config_.segment_length;
  const Segments s = episodes_.Sample(2 * count, H, rng_);
  const auto side = [&](const std::vector<float>& v, int64_t width, int which) {
    return Floats(v.data(), {count, 2, H, width}).select(1, which).clone();
  };
  PairBatch fresh{side(s.obs, obs_dim_, 0), side(s.actions, act_dim_, 0), side(s.obs, obs_dim_, 1),
                  side(s.actions, act_dim_, 1), torch::full({count}, 0.5)};
  const auto join = [&](const torch::Tensor& old, const torch::Tensor& add) {
    const torch::Tensor all = torch::cat({old, add});  // the newest `capacity` pairs
    return all.slice(0, std::max<int64_t>(0, all.size(0) - config_.reward_model.surf.capacity));
  };
  unlabeled_ = {join(unlabeled_.obs0, fresh.obs0), join(unlabeled_.act0, fresh.act0),
                join(unlabeled_.obs1, fresh.obs1), join(unlabeled_.act1, fresh.act1),
                join(unlabeled_.labels, fresh.labels)};
}

PairBatch Pebble::LabelledPairs() {
  const std::vector<int64_t> rows = preferences_->Rows(buffers::PreferenceBuffer::Split::kAll);
  buffers::Batch b;
  preferences_->Gather(rows, &b);
  const int64_t n = static_cast<int64_t>(rows.size()), H = config_.segment_length;
  const auto side = [&](const char* name, int64_t width, int which) {
    return Floats(b[name].as<float>(), {2, n, H, width}).select(0, which).clone();
  };
  return {side("obs", obs_dim_, 0), side("actions", act_dim_, 0), side("obs", obs_dim_, 1),
          side("actions", act_dim_, 1), Floats(b["label"].as<float>(), {n}).clone()};
}

void Pebble::Relabel(buffers::ReplayBuffer& replay) {
  if (config_.true_reward_ablation) return;  // the buffer keeps the env's reward
  double sum = 0.0, sum_sq = 0.0;
  replay.Relabel(config_.relabel_batch, [&](const float* obs, const float* actions, int64_t rows,
                                            float* rewards) {
    c10::InferenceMode guard;
    const torch::Tensor r =
        reward_model_.Reward(Floats(obs, {rows, obs_dim_}), Floats(actions, {rows, act_dim_}))
            .contiguous();
    std::memcpy(rewards, r.data_ptr<float>(), sizeof(float) * rows);
    for (int64_t i = 0; i < rows; ++i) sum += rewards[i], sum_sq += rewards[i] * rewards[i];
  });
  if (!config_.normalize_reward || replay.size() < 2) return;
  const double n = static_cast<double>(replay.size()), mean = sum / n;
  const double std = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  reward_scale_ = std > 1e-8 ? 1.0 / std : 1.0;
  replay.ScaleRewards(static_cast<float>(reward_scale_));
}

void Pebble::Save(io::TensorDict& out) const {
  sac_.Save(out);
  // the rest is LibTorch's until the reward model moves to the dense kernels: one archive
  torch::serialize::OutputArchive archive;
  SaveArchive(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  out.PutText("pebble.state", bytes.str());
}

void Pebble::Load(const io::TensorDict& in) {
  sac_.Load(in);
  std::istringstream bytes(in.Text("pebble.state"));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes);
    LoadArchive(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(in.source() + ": pebble.state: not a readable PEBBLE state (" +
                std::string(e.what()).substr(0, 160) + ")");
  }
}

void Pebble::SaveArchive(torch::serialize::OutputArchive& archive) const {
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
  reward_model_.Save(archive);
  episodes_.Save(archive);
  nn::WriteText(archive, "pebble_teacher", teacher_->SaveState());
  nn::WriteText(archive, "pebble_rng", rng_.Serialize());
  ByteWriter stats;
  intrinsic_stats_.Save(stats);
  nn::WriteText(archive, "pebble_intrinsic_stats", stats.bytes());
  const std::vector<int64_t> counters = {asked_, labelled_, sessions_, next_session_};
  archive.write("pebble_counters", torch::tensor(counters), /*is_buffer=*/true);
  archive.write("pebble_reward_scale", torch::tensor({reward_scale_}, torch::kFloat64),
                /*is_buffer=*/true);
  std::vector<double> sums;
  for (const auto& fit : reward_fit_) sums.insert(sums.end(), fit.sums.begin(), fit.sums.end());
  archive.write("pebble_episode_sums", torch::tensor(sums, torch::kFloat64), /*is_buffer=*/true);
  archive.write("pebble_reference_obs", torch::tensor(reference_obs_, torch::kFloat32),
                /*is_buffer=*/true);
  // labelled pairs, with their simulator states
  std::vector<float> labels;
  torch::Tensor obs, actions, states;
  if (preferences_ && preferences_->num_labelled() > 0) {
    const auto rows = preferences_->Rows(buffers::PreferenceBuffer::Split::kAll);
    buffers::Batch b;
    preferences_->Gather(rows, &b);
    const auto as_tensor = [&](const char* name, torch::ScalarType type) {
      const auto& f = b[name];
      return torch::from_blob(const_cast<uint8_t*>(f.data.data()), f.shape, type).clone();
    };
    obs = as_tensor("obs", torch::kFloat32);
    actions = as_tensor("actions", torch::kFloat32);
    states = b.fields.size() > 3 ? as_tensor("states", torch::kFloat64) : torch::zeros({0});
    const float* l = b["label"].as<float>();
    labels.assign(l, l + rows.size());
  }
  archive.write("pebble_unlabeled_obs0", unlabeled_.obs0, true);
  archive.write("pebble_unlabeled_act0", unlabeled_.act0, true);
  archive.write("pebble_unlabeled_obs1", unlabeled_.obs1, true);
  archive.write("pebble_unlabeled_act1", unlabeled_.act1, true);
  archive.write("pebble_labels", torch::tensor(labels, torch::kFloat32), /*is_buffer=*/true);
  if (!labels.empty()) {
    archive.write("pebble_pair_obs", obs, true);
    archive.write("pebble_pair_actions", actions, true);
    archive.write("pebble_pair_states", states, true);
  }
}

void Pebble::LoadArchive(torch::serialize::InputArchive& archive) {
  const auto read = [&](const char* name) {
    torch::Tensor t;
    archive.read(name, t, /*is_buffer=*/true);
    return t.contiguous();
  };
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(read("torch_rng"));
  reward_model_.Load(archive);
  episodes_.Load(archive);
  teacher_->LoadState(nn::ReadText(archive, "pebble_teacher"));
  rng_.Deserialize(nn::ReadText(archive, "pebble_rng"));
  const std::string stats_bytes = nn::ReadText(archive, "pebble_intrinsic_stats");
  ByteReader stats(stats_bytes);
  intrinsic_stats_.Load(stats);
  const torch::Tensor counters = read("pebble_counters");
  asked_ = counters[0].item<int64_t>();
  labelled_ = counters[1].item<int64_t>();
  sessions_ = counters[2].item<int64_t>();
  next_session_ = counters[3].item<int64_t>();
  reward_scale_ = read("pebble_reward_scale").item<double>();
  const torch::Tensor sums = read("pebble_episode_sums");
  if (sums.numel() != static_cast<int64_t>(6 * reward_fit_.size()))
    throw Error("checkpoint: pebble_episode_sums holds " + std::to_string(sums.numel()) +
                " values, expected 6 per env (" + std::to_string(reward_fit_.size()) + " envs)");
  for (size_t i = 0; i < reward_fit_.size(); ++i)
    std::copy_n(sums.data_ptr<double>() + 6 * i, 6, reward_fit_[i].sums.begin());
  const torch::Tensor reference = read("pebble_reference_obs");
  reference_obs_.assign(reference.data_ptr<float>(),
                        reference.data_ptr<float>() + reference.numel());
  unlabeled_ = {read("pebble_unlabeled_obs0"), read("pebble_unlabeled_act0"),
                read("pebble_unlabeled_obs1"), read("pebble_unlabeled_act1"), torch::Tensor()};
  unlabeled_.labels = torch::full({unlabeled_.obs0.size(0)}, 0.5);
  const torch::Tensor labels = read("pebble_labels");
  preferences_.reset();
  if (labels.numel() == 0) return;
  const torch::Tensor obs = read("pebble_pair_obs"), actions = read("pebble_pair_actions"),
                      states = read("pebble_pair_states");
  const int64_t n = labels.numel(), H = config_.segment_length;
  const int64_t state_dim = states.numel() / std::max<int64_t>(1, 2 * n * H);
  preferences_ = std::make_unique<buffers::PreferenceBuffer>(
      config_.max_feedback, buffers::SegmentSpec{H, obs_dim_, act_dim_, state_dim});
  for (int64_t i = 0; i < n; ++i) {  // stored as (2 x n x H x dim): side, pair, step
    const auto pair = [&](const torch::Tensor& t) { return t.select(1, i).contiguous(); };
    const torch::Tensor o = pair(obs), a = pair(actions);
    const torch::Tensor s = state_dim > 0 ? pair(states) : torch::zeros({0}, torch::kFloat64);
    preferences_->Add({o.data_ptr<float>(), static_cast<size_t>(o.numel())},
                      {a.data_ptr<float>(), static_cast<size_t>(a.numel())},
                      {s.data_ptr<double>(), static_cast<size_t>(s.numel())},
                      labels[i].item<float>());
  }
}

}  // namespace rlforge::algos::pebble
