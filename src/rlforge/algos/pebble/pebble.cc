#include "rlforge/algos/pebble/pebble.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "rlforge/core/bytes.h"
#include "rlforge/core/error.h"

namespace rlforge::algos::pebble {

void KnnDistance(const float* obs, int64_t n, const float* reference, int64_t t, int64_t d, int k,
                 double* out) {
  const int64_t kth = std::min<int64_t>(k + 1, t);  // 1-based: itself, then k neighbours
  std::vector<double> dist(static_cast<size_t>(t));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < t; ++j) {
      double sum = 0;
      for (int64_t c = 0; c < d; ++c) {
        const double diff = double{obs[i * d + c]} - reference[j * d + c];
        sum += diff * diff;
      }
      dist[j] = sum;
    }
    std::nth_element(dist.begin(), dist.begin() + (kth - 1), dist.end());
    out[i] = std::sqrt(dist[kth - 1]);
  }
}

Pebble::Pebble(const PebbleConfig& config, const SacConfig& sac, const Space& observation_space,
               const Space& action_space, int num_envs, uint64_t seed,
               std::unique_ptr<Teacher> teacher)
    : config_(config),
      sac_(sac, observation_space, action_space, seed),
      obs_dim_(observation_space.size()),
      act_dim_(action_space.num_continuous()),
      reward_model_(obs_dim_, act_dim_, config.reward_model, seed + 3),
      teacher_(teacher ? std::move(teacher)
                       : std::make_unique<ScriptedTeacher>(config.teacher, seed + 1)),
      episodes_(num_envs, config.max_episodes, obs_dim_, act_dim_),
      reward_fit_(static_cast<size_t>(num_envs)),
      rng_(seed + 2),
      next_session_(config.unsupervised_steps) {
  ParseScheme(config.query_scheme);
  unlabeled_ = PairBatch(0, config.segment_length, obs_dim_, act_dim_);
}

void Pebble::Collect(const float* obs, int64_t n, int64_t global_step, float* continuous) {
  if (global_step < config_.random_exploration_steps) {
    sac_.SampleRandom(n, continuous);
  } else {
    sac_.Act(obs, n, continuous, /*deterministic=*/false);
  }
}

void Pebble::ModelRewards(const float* obs, const float* actions, float* rewards) {
  const auto n = static_cast<int64_t>(reward_fit_.size());
  reward_model_.Reward(obs, actions, n, rewards);
  for (int64_t i = 0; i < n; ++i) rewards[i] = static_cast<float>(rewards[i] * reward_scale_);
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

bool Pebble::SessionDue(int64_t global_step) const {
  return global_step > config_.random_exploration_steps && global_step >= next_session_ &&
         asked_ < config_.max_feedback;
}

std::map<std::string, double> Pebble::Session(buffers::ReplayBuffer& replay, int64_t global_step) {
  std::map<std::string, double> m = FeedbackSession(replay, global_step);
  next_session_ += config_.feedback_frequency;
  return m;
}

std::map<std::string, double> Pebble::Update(buffers::ReplayBuffer& replay, int64_t global_step,
                                             int64_t iteration) {
  std::map<std::string, double> m;
  if (global_step <= config_.random_exploration_steps) return m;
  // a run resumed without its replay buffer refills it as far as random exploration did first
  if (replay.size() < std::max<int64_t>(1, config_.random_exploration_steps)) return m;
  if (std::exchange(catch_up_, 0) != 0) {  // the first session's fresh critic catches up
    for (int k = 0; k < config_.reset_update; ++k) {
      replay.Sample(sac_.batch_size(), &batch_);
      sac_.Update(batch_, k);
    }
  }
  replay.Sample(sac_.batch_size(), &batch_);
  if (sessions_ == 0) {  // pre-training: the critic's reward is the state entropy
    const int64_t b = batch_["obs"].shape[0];
    const int64_t t = static_cast<int64_t>(reference_obs_.size()) / obs_dim_;
    r_int_.resize(static_cast<size_t>(b));
    KnnDistance(batch_["obs"].as<float>(), b, reference_obs_.data(), t, obs_dim_, config_.knn_k,
                r_int_.data());
    double mean = 0, var = 0;
    for (const double r : r_int_) mean += r / static_cast<double>(b);
    for (const double r : r_int_) var += (r - mean) * (r - mean) / static_cast<double>(b);
    intrinsic_stats_.Update({&mean, 1}, {&var, 1}, static_cast<double>(b));
    const double std = std::sqrt(intrinsic_stats_.var[0]);
    float* rewards = batch_["rewards"].as<float>();
    for (int64_t i = 0; i < b; ++i) rewards[i] = static_cast<float>(r_int_[i] / std);
    if (iteration % 100 == 0) {
      m["intrinsic/reward_mean"] = mean;
      m["intrinsic/running_std"] = std;
    }
  }
  auto losses = sac_.Update(batch_, iteration);
  if (iteration % 100 == 0) {
    m.insert(losses.begin(), losses.end());
    for (const auto& [tag, value] : sac_.Health()) m[tag] = value;
  }
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
  const Rng rng_before = rng_;
  const std::string teacher_before = teacher_->SaveState();
  const Segments s = episodes_.Sample(2 * candidates, H, rng_);
  // k-center features of a pair: both sides' observations
  const auto features_of = [&](const PairBatch& p) {
    std::vector<float> f;
    for (int64_t i = 0; i < p.size; ++i) {
      for (int side = 0; side < 2; ++side)
        f.insert(f.end(), p.Obs(side, i), p.Obs(side, i) + H * obs_dim_);
    }
    return f;
  };
  std::vector<double> prefer_one;
  std::vector<float> features, labelled;
  if (scheme != Scheme::kUniform) {
    const PairBatch pairs = PairsOf(s);
    prefer_one = reward_model_.PreferOne(pairs);
    features = features_of(pairs);
    if (preferences_ && preferences_->num_labelled() > 0) labelled = features_of(LabelledPairs());
  }
  const std::vector<int64_t> picks =
      SelectQueries(scheme, prefer_one, reward_model_.ensemble_size(), features, labelled,
                    2 * H * obs_dim_, count);

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
  std::vector<float> labels;
  try {
    labels = teacher_->Label(q);
  } catch (const TeacherInterrupted&) {  // as if the session had not begun: it asks the same again
    rng_ = rng_before;
    teacher_->LoadState(teacher_before);
    throw;
  }
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
    nn::AddHealth(m, "reward_model", stats.health);
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
  if (sessions_ == 0) {  // leaving pre-training: a fresh critic, caught up by the next Update
    sac_.ResetCritic();
    catch_up_ = 1;
  }
  ++sessions_;
  (void)global_step;
  return m;
}

void Pebble::AddUnlabeled(int64_t count) {
  const Segments s = episodes_.Sample(2 * count, config_.segment_length, rng_);
  unlabeled_.Append(PairsOf(s), config_.reward_model.surf.capacity);
}

PairBatch Pebble::PairsOf(const Segments& s) const {
  const int64_t H = s.length, count = s.count / 2;
  PairBatch p(count, H, obs_dim_, act_dim_);
  for (int64_t i = 0; i < count; ++i) {
    for (int side = 0; side < 2; ++side) {
      const int64_t seg = 2 * i + side;
      std::copy_n(s.obs.begin() + seg * H * obs_dim_, H * obs_dim_,
                  p.obs[side].begin() + i * H * obs_dim_);
      std::copy_n(s.actions.begin() + seg * H * act_dim_, H * act_dim_,
                  p.act[side].begin() + i * H * act_dim_);
    }
  }
  return p;
}

PairBatch Pebble::LabelledPairs() {
  const std::vector<int64_t> rows = preferences_->Rows(buffers::PreferenceBuffer::Split::kAll);
  buffers::Batch b;
  preferences_->Gather(rows, &b);
  const auto n = static_cast<int64_t>(rows.size());
  const int64_t H = config_.segment_length;
  PairBatch p(n, H, obs_dim_, act_dim_);
  const float* obs = b["obs"].as<float>();  // (2 x n x H x width): side, pair, step
  const float* act = b["actions"].as<float>();
  for (int side = 0; side < 2; ++side) {
    std::copy_n(obs + side * n * H * obs_dim_, n * H * obs_dim_, p.obs[side].begin());
    std::copy_n(act + side * n * H * act_dim_, n * H * act_dim_, p.act[side].begin());
  }
  std::copy_n(b["label"].as<float>(), n, p.labels.begin());
  return p;
}

void Pebble::Relabel(buffers::ReplayBuffer& replay) {
  if (config_.true_reward_ablation) return;  // the buffer keeps the env's reward
  double sum = 0.0, sum_sq = 0.0;
  replay.Relabel(config_.relabel_batch,
                 [&](const float* obs, const float* actions, int64_t rows, float* rewards) {
                   reward_model_.Reward(obs, actions, rows, rewards);
                   for (int64_t i = 0; i < rows; ++i)
                     sum += rewards[i], sum_sq += rewards[i] * rewards[i];
                 });
  if (!config_.normalize_reward || replay.size() < 2) return;
  const double n = static_cast<double>(replay.size()), mean = sum / n;
  const double std = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  reward_scale_ = std > 1e-8 ? 1.0 / std : 1.0;
  replay.ScaleRewards(static_cast<float>(reward_scale_));
}

void Pebble::Save(io::TensorDict& out) const {
  sac_.Save(out);
  reward_model_.Save(out);
  episodes_.Save(out);
  out.PutText("pebble.teacher", teacher_->SaveState());
  nn::PutRng(out, "rng.pebble", rng_);
  ByteWriter stats;
  intrinsic_stats_.Save(stats);
  out.PutText("pebble.intrinsic_stats", stats.bytes());
  out.Put("pebble.counters",
          std::vector<int64_t>{asked_, labelled_, sessions_, next_session_, catch_up_});
  out.Put("pebble.reward_scale", std::vector<double>{reward_scale_}, {});
  std::vector<double> sums;
  for (const auto& fit : reward_fit_) sums.insert(sums.end(), fit.sums.begin(), fit.sums.end());
  out.Put("pebble.episode_sums", sums);
  out.Put("pebble.reference_obs", reference_obs_);
  const int64_t H = config_.segment_length;
  for (int side = 0; side < 2; ++side) {  // SURF's unlabeled pairs
    const std::string name = "pebble.unlabeled_" + std::to_string(side);
    out.Put(name + ".obs", unlabeled_.obs[side], {unlabeled_.size, H, obs_dim_});
    out.Put(name + ".actions", unlabeled_.act[side], {unlabeled_.size, H, act_dim_});
  }
  // labelled pairs, with their simulator states (side, pair, step)
  const auto n = static_cast<int64_t>(preferences_ ? preferences_->num_labelled() : 0);
  std::vector<float> labels, obs, actions;
  std::vector<double> states;
  int64_t state_dim = 0;
  if (n > 0) {
    buffers::Batch b;
    preferences_->Gather(preferences_->Rows(buffers::PreferenceBuffer::Split::kAll), &b);
    const auto copy = [&](const char* name, auto& to) {
      using T = typename std::decay_t<decltype(to)>::value_type;
      const auto& f = b[name];
      const T* v = reinterpret_cast<const T*>(f.data.data());
      to.assign(v, v + f.data.size() / sizeof(T));
    };
    copy("obs", obs);
    copy("actions", actions);
    copy("label", labels);
    if (b.fields.size() > 3) copy("states", states);
    state_dim = static_cast<int64_t>(states.size()) / (2 * n * H);
  }
  out.Put("pebble.labels", labels);
  out.Put("pebble.pair_obs", obs, {2, n, H, obs_dim_});
  out.Put("pebble.pair_actions", actions, {2, n, H, act_dim_});
  out.Put("pebble.pair_states", states, {2, n, H, state_dim});
}

void Pebble::Load(const io::TensorDict& in) {
  sac_.Load(in);
  reward_model_.Load(in);
  episodes_.Load(in);
  teacher_->LoadState(in.Text("pebble.teacher"));
  nn::GetRng(in, "rng.pebble", rng_);
  const std::string stats_bytes = in.Text("pebble.intrinsic_stats");
  ByteReader stats(stats_bytes, in.source() + ": pebble.intrinsic_stats");
  intrinsic_stats_.Load(stats);
  std::vector<int64_t> counters(5);
  in.Read("pebble.counters", counters);
  asked_ = counters[0], labelled_ = counters[1], sessions_ = counters[2];
  next_session_ = counters[3], catch_up_ = counters[4];
  reward_scale_ = in.Scalar<double>("pebble.reward_scale");
  std::vector<double> sums(6 * reward_fit_.size());
  in.Read("pebble.episode_sums", sums);  // 6 per env
  for (size_t i = 0; i < reward_fit_.size(); ++i)
    std::copy_n(sums.begin() + 6 * i, 6, reward_fit_[i].sums.begin());
  const io::Tensor& reference = in.Get("pebble.reference_obs");
  if (reference.dtype != DType::kFloat32 || reference.numel() % obs_dim_ != 0)
    throw Error(in.source() + ": pebble.reference_obs: expected F32 rows of obs_dim values");
  reference_obs_.assign(reference.as<float>(), reference.as<float>() + reference.numel());
  const int64_t H = config_.segment_length;
  const int64_t u = in.Get("pebble.unlabeled_0.obs").shape.empty()
                        ? 0
                        : in.Get("pebble.unlabeled_0.obs").shape[0];
  unlabeled_ = PairBatch(u, H, obs_dim_, act_dim_);
  for (int side = 0; side < 2; ++side) {
    const std::string name = "pebble.unlabeled_" + std::to_string(side);
    in.Read(name + ".obs", unlabeled_.obs[side], {u, H, obs_dim_});
    in.Read(name + ".actions", unlabeled_.act[side], {u, H, act_dim_});
  }
  const io::Tensor& labels = in.Get("pebble.labels");
  const int64_t n = labels.numel();
  preferences_.reset();
  if (n == 0) return;
  const io::Tensor& states = in.Get("pebble.pair_states");
  const int64_t state_dim = states.shape.size() == 4 ? states.shape[3] : 0;
  std::vector<float> obs(static_cast<size_t>(2 * n * H * obs_dim_)),
      actions(static_cast<size_t>(2 * n * H * act_dim_)), y(static_cast<size_t>(n));
  std::vector<double> st(static_cast<size_t>(2 * n * H * state_dim));
  in.Read("pebble.pair_obs", obs, {2, n, H, obs_dim_});
  in.Read("pebble.pair_actions", actions, {2, n, H, act_dim_});
  in.Read("pebble.pair_states", st, {2, n, H, state_dim});
  in.Read("pebble.labels", y);
  preferences_ = std::make_unique<buffers::PreferenceBuffer>(
      config_.max_feedback, buffers::SegmentSpec{H, obs_dim_, act_dim_, state_dim});
  // one pair's two sides, back to back, from the (side, pair, step) layout
  const auto pair = [&](const auto& v, int64_t i, int64_t width) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    std::vector<T> out;
    for (int side = 0; side < 2; ++side) {
      const auto from = v.begin() + (side * n + i) * H * width;
      out.insert(out.end(), from, from + H * width);
    }
    return out;
  };
  for (int64_t i = 0; i < n; ++i) {
    const auto o = pair(obs, i, obs_dim_), a = pair(actions, i, act_dim_);
    const auto s = pair(st, i, state_dim);
    preferences_->Add(o, a, s, y[i]);
  }
}

}  // namespace rlforge::algos::pebble
