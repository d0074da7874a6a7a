#include "rlforge/algos/pebble/queries.h"

#include <algorithm>

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

void EpisodeStore::Save(torch::serialize::OutputArchive& archive) const {
  const auto put = [&](const std::string& name, const auto& values, auto dtype) {
    std::vector<int64_t> shape{static_cast<int64_t>(values.size())};
    archive.write(
        name,
        torch::from_blob(const_cast<void*>(static_cast<const void*>(values.data())), shape, dtype)
            .clone(),
        /*is_buffer=*/true);
  };
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
    put(prefix + "_obs", obs, torch::kFloat32);
    put(prefix + "_actions", actions, torch::kFloat32);
    put(prefix + "_rewards", rewards, torch::kFloat32);
    put(prefix + "_states", states, torch::kFloat64);
    put(prefix + "_lengths", lengths, torch::kInt64);
  };
  save_all("episodes_done", done_);
  save_all("episodes_current", current_);
  put("episodes_state_dim", std::vector<int64_t>{state_dim_}, torch::kInt64);
}

void EpisodeStore::Load(torch::serialize::InputArchive& archive) {
  const auto get = [&](const std::string& name) {
    torch::Tensor t;
    archive.read(name, t, /*is_buffer=*/true);
    return t.contiguous();
  };
  state_dim_ = get("episodes_state_dim").item<int64_t>();
  const int64_t state_dim = std::max<int64_t>(0, state_dim_);
  const auto load_all = [&](const std::string& prefix, auto& episodes) {
    const torch::Tensor obs = get(prefix + "_obs"), actions = get(prefix + "_actions"),
                        rewards = get(prefix + "_rewards"), states = get(prefix + "_states"),
                        lengths = get(prefix + "_lengths");
    std::vector<Episode> loaded;
    int64_t offset = 0;
    for (int64_t i = 0; i < lengths.size(0); ++i) {
      const int64_t T = lengths[i].item<int64_t>();
      if (offset + T > rewards.size(0)) throw Error("pebble checkpoint: bad episode store");
      Episode e;
      const float* o = obs.data_ptr<float>() + offset * obs_dim_;
      e.obs.assign(o, o + T * obs_dim_);
      const float* a = actions.data_ptr<float>() + offset * act_dim_;
      e.actions.assign(a, a + T * act_dim_);
      const float* r = rewards.data_ptr<float>() + offset;
      e.rewards.assign(r, r + T);
      const double* s = states.data_ptr<double>() + offset * state_dim;
      e.states.assign(s, s + T * state_dim);
      loaded.push_back(std::move(e));
      offset += T;
    }
    episodes.assign(loaded.begin(), loaded.end());
  };
  load_all("episodes_done", done_);
  const size_t envs = current_.size();
  load_all("episodes_current", current_);
  if (current_.size() != envs)
    throw Error("pebble checkpoint: made with " + std::to_string(current_.size()) +
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

torch::Tensor Disagreement(const torch::Tensor& prefer_one) {
  return prefer_one.std(0, /*unbiased=*/false);
}

torch::Tensor MeanEntropy(const torch::Tensor& p) {
  const torch::Tensor q = 1 - p;
  return (-(p * torch::log(p + 1e-12) + q * torch::log(q + 1e-12))).mean(0);
}

std::vector<int64_t> KCenter(const torch::Tensor& features, const torch::Tensor& labelled,
                             int64_t count) {
  const int64_t c = features.size(0);
  // distance of each candidate to its nearest centre so far
  torch::Tensor nearest = torch::full({c}, INFINITY, torch::kFloat64);
  const torch::Tensor f = features.to(torch::kFloat64);
  if (labelled.defined() && labelled.numel() > 0)
    nearest = torch::cdist(f, labelled.to(torch::kFloat64)).amin(1);
  std::vector<int64_t> picks;
  for (int64_t k = 0; k < std::min(count, c); ++k) {
    const int64_t pick = nearest.argmax().item<int64_t>();
    picks.push_back(pick);
    nearest = torch::minimum(nearest, (f - f[pick]).pow(2).sum(1).sqrt());
    nearest[pick] = -1.0;  // never picked twice
  }
  return picks;
}

namespace {

std::vector<int64_t> TopK(const torch::Tensor& score, int64_t k) {
  const torch::Tensor idx = std::get<1>(score.topk(std::min(k, score.size(0)))).contiguous();
  return {idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel()};
}

}  // namespace

std::vector<int64_t> SelectQueries(Scheme scheme, const torch::Tensor& prefer_one,
                                   const torch::Tensor& features, const torch::Tensor& labelled,
                                   int64_t count) {
  if (scheme == Scheme::kUniform) {  // candidates are already uniform draws: the first ones
    std::vector<int64_t> first(static_cast<size_t>(count));
    std::iota(first.begin(), first.end(), 0);
    return first;
  }
  const int64_t c = features.size(0);
  switch (scheme) {
    case Scheme::kUniform: {
      std::vector<int64_t> first(static_cast<size_t>(std::min(count, c)));
      std::iota(first.begin(), first.end(), 0);
      return first;
    }
    case Scheme::kDisagreement:
      return TopK(Disagreement(prefer_one), count);
    case Scheme::kEntropy:
      return TopK(MeanEntropy(prefer_one), count);
    case Scheme::kKCenter:
      return KCenter(features, labelled, count);
    case Scheme::kKCenterDisagreement:
    case Scheme::kKCenterEntropy: {  // the top half by score, then k-center among them
      const torch::Tensor score = scheme == Scheme::kKCenterDisagreement ? Disagreement(prefer_one)
                                                                         : MeanEntropy(prefer_one);
      const std::vector<int64_t> top = TopK(score, std::max<int64_t>(count, c / 2));
      const torch::Tensor keep = torch::tensor(top);
      std::vector<int64_t> picks = KCenter(features.index({keep}), labelled, count);
      for (auto& p : picks) p = top[static_cast<size_t>(p)];
      return picks;
    }
  }
  return {};
}

}  // namespace rlforge::algos::pebble
