#include "rlforge/algos/pebble/queries.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rlforge/core/error.h"

namespace rlforge::algos::pebble {

EpisodeStore::EpisodeStore(int num_envs, int max_episodes, int64_t obs_dim, int64_t act_dim)
    : max_episodes_(max_episodes), obs_dim_(obs_dim), act_dim_(act_dim), current_(num_envs) {}

void EpisodeStore::Add(int env, const float* obs, const float* action, float reward,
                       std::span<const double> state) {
  if (state_dim_ < 0) state_dim_ = static_cast<int64_t>(state.size());
  Episode& e = current_[static_cast<size_t>(env)];
  e.obs.insert(e.obs.end(), obs, obs + obs_dim_);
  e.actions.insert(e.actions.end(), action, action + act_dim_);
  e.rewards.push_back(reward);
  e.states.insert(e.states.end(), state.begin(), state.end());
}

void EpisodeStore::EndEpisode(int env) {
  Episode& e = current_[static_cast<size_t>(env)];
  if (e.length() > 0) done_.push_back(std::move(e));
  e = Episode{};
  while (static_cast<int>(done_.size()) > max_episodes_) done_.pop_front();
}

int64_t EpisodeStore::longest() const {
  int64_t longest = 0;
  for (const auto& e : done_) longest = std::max(longest, e.length());
  return longest;
}

double EpisodeStore::MeanReturn() const {
  double sum = 0.0;
  for (const auto& e : done_)
    for (float r : e.rewards) sum += r;
  return done_.empty() ? 0.0 : sum / static_cast<double>(done_.size());
}

double EpisodeStore::MeanLength() const {
  double sum = 0.0;
  for (const auto& e : done_) sum += static_cast<double>(e.length());
  return done_.empty() ? 0.0 : sum / static_cast<double>(done_.size());
}

Segments EpisodeStore::Sample(int64_t count, int64_t length, Rng& rng) const {
  std::vector<int64_t> starts_before;  // cumulative count of valid starts per episode
  int64_t total = 0;
  for (const auto& e : done_) {
    total += std::max<int64_t>(0, e.length() - length + 1);
    starts_before.push_back(total);
  }
  if (done_.empty()) {
    throw Error(
        "pebble: no episode has ended before this feedback session; start feedback "
        "later (pebble.unsupervised_steps) or run fewer envs (env.num_envs)");
  }
  if (total == 0) {
    throw Error("pebble.segment_length: " + std::to_string(length) +
                " steps is longer than every stored episode (longest " + std::to_string(longest()) +
                " steps)");
  }
  Segments s;
  s.count = count;
  s.length = length;
  s.obs_dim = obs_dim_;
  s.act_dim = act_dim_;
  s.state_dim = std::max<int64_t>(0, state_dim_);
  s.obs.reserve(static_cast<size_t>(count * length * obs_dim_));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = rng.Integers(total);
    const size_t ep =
        std::upper_bound(starts_before.begin(), starts_before.end(), k) - starts_before.begin();
    const int64_t start = k - (ep == 0 ? 0 : starts_before[ep - 1]);
    const Episode& e = done_[ep];
    const auto copy = [&](const auto& from, auto& to, int64_t width) {
      to.insert(to.end(), from.begin() + start * width, from.begin() + (start + length) * width);
    };
    copy(e.obs, s.obs, obs_dim_);
    copy(e.actions, s.actions, act_dim_);
    copy(e.rewards, s.rewards, 1);
    copy(e.states, s.states, s.state_dim);
  }
  return s;
}

void EpisodeStore::Save(io::TensorDict& out) const {
  const auto save_all = [&](const std::string& prefix, const auto& episodes) {
    std::vector<float> obs, actions, rewards;
    std::vector<double> states;
    std::vector<int64_t> lengths;
    for (const auto& e : episodes) {
      obs.insert(obs.end(), e.obs.begin(), e.obs.end());
      actions.insert(actions.end(), e.actions.begin(), e.actions.end());
      rewards.insert(rewards.end(), e.rewards.begin(), e.rewards.end());
      states.insert(states.end(), e.states.begin(), e.states.end());
      lengths.push_back(e.length());
    }
    out.Put(prefix + ".obs", obs);
    out.Put(prefix + ".actions", actions);
    out.Put(prefix + ".rewards", rewards);
    out.Put(prefix + ".states", states);
    out.Put(prefix + ".lengths", lengths);
  };
  save_all("pebble.episodes_done", done_);
  save_all("pebble.episodes_current", current_);
  out.Put("pebble.episodes_state_dim", std::vector<int64_t>{state_dim_}, {});
}

void EpisodeStore::Load(const io::TensorDict& in) {
  state_dim_ = in.Scalar<int64_t>("pebble.episodes_state_dim");
  const int64_t state_dim = std::max<int64_t>(0, state_dim_);
  const auto load_all = [&](const std::string& prefix, auto& episodes) {
    const io::Tensor& lengths = in.Get(prefix + ".lengths");
    const io::Tensor &obs = in.Get(prefix + ".obs"), &actions = in.Get(prefix + ".actions"),
                     &rewards = in.Get(prefix + ".rewards"), &states = in.Get(prefix + ".states");
    if (lengths.dtype != DType::kInt64 || obs.dtype != DType::kFloat32 ||
        actions.dtype != DType::kFloat32 || rewards.dtype != DType::kFloat32 ||
        states.dtype != DType::kFloat64)
      throw Error(in.source() + ": " + prefix + ": unexpected dtypes (corrupt)");
    std::vector<Episode> loaded;
    int64_t offset = 0;
    for (int64_t i = 0; i < lengths.numel(); ++i) {
      const int64_t T = lengths.as<int64_t>()[i];
      if (T < 0 || offset + T > rewards.numel() || (offset + T) * obs_dim_ > obs.numel() ||
          (offset + T) * act_dim_ > actions.numel() || (offset + T) * state_dim > states.numel())
        throw Error(in.source() + ": " + prefix + ": episode lengths exceed the stored steps");
      Episode e;
      const float* o = obs.as<float>() + offset * obs_dim_;
      e.obs.assign(o, o + T * obs_dim_);
      const float* a = actions.as<float>() + offset * act_dim_;
      e.actions.assign(a, a + T * act_dim_);
      const float* r = rewards.as<float>() + offset;
      e.rewards.assign(r, r + T);
      const double* s = states.as<double>() + offset * state_dim;
      e.states.assign(s, s + T * state_dim);
      loaded.push_back(std::move(e));
      offset += T;
    }
    episodes.assign(loaded.begin(), loaded.end());
  };
  load_all("pebble.episodes_done", done_);
  const size_t envs = current_.size();
  load_all("pebble.episodes_current", current_);
  if (current_.size() != envs)
    throw Error(in.source() + ": a PEBBLE checkpoint made with " + std::to_string(current_.size()) +
                " envs, this run has " + std::to_string(envs) + " (env.num_envs)");
}

Scheme ParseScheme(const std::string& name) {
  if (name == "uniform") return Scheme::kUniform;
  if (name == "disagreement") return Scheme::kDisagreement;
  if (name == "entropy") return Scheme::kEntropy;
  if (name == "kcenter") return Scheme::kKCenter;
  if (name == "kcenter_disagreement") return Scheme::kKCenterDisagreement;
  if (name == "kcenter_entropy") return Scheme::kKCenterEntropy;
  throw Error(
      "pebble.query_scheme: expected uniform|disagreement|entropy|kcenter|"
      "kcenter_disagreement|kcenter_entropy, got \"" +
      name + "\"");
}

std::vector<double> Disagreement(std::span<const double> p, int64_t members) {
  const auto c = static_cast<int64_t>(p.size()) / members;
  std::vector<double> score(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    double mean = 0, var = 0;
    for (int64_t m = 0; m < members; ++m) mean += p[m * c + j] / static_cast<double>(members);
    for (int64_t m = 0; m < members; ++m)
      var += (p[m * c + j] - mean) * (p[m * c + j] - mean) / static_cast<double>(members);
    score[j] = std::sqrt(var);
  }
  return score;
}

std::vector<double> MeanEntropy(std::span<const double> p, int64_t members) {
  const auto c = static_cast<int64_t>(p.size()) / members;
  std::vector<double> score(static_cast<size_t>(c), 0.0);
  for (int64_t m = 0; m < members; ++m) {
    for (int64_t j = 0; j < c; ++j) {
      const double a = p[m * c + j], b = 1 - a;
      score[j] -=
          (a * std::log(a + 1e-12) + b * std::log(b + 1e-12)) / static_cast<double>(members);
    }
  }
  return score;
}

std::vector<int64_t> KCenter(std::span<const float> features, std::span<const float> labelled,
                             int64_t dim, int64_t count) {
  const auto c = static_cast<int64_t>(features.size()) / dim;
  const auto l = static_cast<int64_t>(labelled.size()) / dim;
  const auto distance = [&](const float* a, const float* b) {
    double sum = 0;
    for (int64_t k = 0; k < dim; ++k) sum += (double{a[k]} - b[k]) * (double{a[k]} - b[k]);
    return std::sqrt(sum);
  };
  // distance of each candidate to its nearest centre so far
  std::vector<double> nearest(static_cast<size_t>(c), INFINITY);
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t j = 0; j < l; ++j)
      nearest[i] = std::min(nearest[i], distance(&features[i * dim], &labelled[j * dim]));
  }
  std::vector<int64_t> picks;
  for (int64_t k = 0; k < std::min(count, c); ++k) {
    const int64_t pick = std::max_element(nearest.begin(), nearest.end()) - nearest.begin();
    picks.push_back(pick);
    for (int64_t i = 0; i < c; ++i)
      nearest[i] = std::min(nearest[i], distance(&features[i * dim], &features[pick * dim]));
    nearest[pick] = -1.0;  // never picked twice
  }
  return picks;
}

namespace {

// Indices of the k largest scores, largest first (ties: the lower index first).
std::vector<int64_t> TopK(const std::vector<double>& score, int64_t k) {
  std::vector<int64_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  idx.resize(static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(idx.size()))));
  return idx;
}

}  // namespace

std::vector<int64_t> SelectQueries(Scheme scheme, std::span<const double> prefer_one,
                                   int64_t members, std::span<const float> features,
                                   std::span<const float> labelled, int64_t dim, int64_t count) {
  if (scheme == Scheme::kUniform) {  // candidates are already uniform draws: the first ones
    std::vector<int64_t> first(static_cast<size_t>(count));
    std::iota(first.begin(), first.end(), 0);
    return first;
  }
  const auto c = static_cast<int64_t>(features.size()) / dim;
  switch (scheme) {
    case Scheme::kUniform:
      return {};  // answered above
    case Scheme::kDisagreement:
      return TopK(Disagreement(prefer_one, members), count);
    case Scheme::kEntropy:
      return TopK(MeanEntropy(prefer_one, members), count);
    case Scheme::kKCenter:
      return KCenter(features, labelled, dim, count);
    case Scheme::kKCenterDisagreement:
    case Scheme::kKCenterEntropy: {  // the top half by score, then k-center among them
      const std::vector<double> score = scheme == Scheme::kKCenterDisagreement
                                            ? Disagreement(prefer_one, members)
                                            : MeanEntropy(prefer_one, members);
      const std::vector<int64_t> top = TopK(score, std::max<int64_t>(count, c / 2));
      std::vector<float> kept;
      for (const int64_t t : top)
        kept.insert(kept.end(), features.begin() + t * dim, features.begin() + (t + 1) * dim);
      std::vector<int64_t> picks = KCenter(kept, labelled, dim, count);
      for (auto& p : picks) p = top[static_cast<size_t>(p)];
      return picks;
    }
  }
  return {};
}

}  // namespace rlforge::algos::pebble
