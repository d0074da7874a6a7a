// Where PEBBLE's queries come from: segments of the most recent complete episodes, and B-Pref's
// query selection schemes (BPref reward_model.py: uniform, disagreement, entropy, kcenter,
// kcenter_disagree, kcenter_entropy).
#pragma once

#include <deque>
#include <span>
#include <string>
#include <vector>

#include "rlforge/core/rng.h"
#include "rlforge/io/safetensors.h"

namespace rlforge::algos::pebble {

// S segments of H steps each.
struct Segments {
  int64_t count = 0, length = 0, obs_dim = 0, act_dim = 0, state_dim = 0;
  std::vector<float> obs;      // observations          (S x H x obs_dim)
  std::vector<float> actions;  // actions taken         (S x H x act_dim)
  std::vector<float> rewards;  // true rewards          (S x H)
  std::vector<double> states;  // simulator states      (S x H x state_dim), for re-rendering
};

// The last `max_episodes` complete episodes of every env (BPref keeps 100), step by step.
class EpisodeStore {
 public:
  EpisodeStore(int num_envs, int max_episodes, int64_t obs_dim, int64_t act_dim);

  void Add(int env, const float* obs, const float* action, float reward,
           std::span<const double> state);
  void EndEpisode(int env);  // the env's episode is complete; the oldest stored one may go

  int64_t num_episodes() const { return static_cast<int64_t>(done_.size()); }
  int64_t longest() const;
  double MeanReturn() const;  // over stored episodes
  double MeanLength() const;
  // `count` segments of `length` steps, uniform over every (episode, start) that fits, so
  // episodes of different lengths are weighted by how many segments they hold.
  Segments Sample(int64_t count, int64_t length, Rng& rng) const;

  // Every stored step, as pebble.episodes_{done,current}.{obs,actions,rewards,states,lengths}.
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);

 private:
  struct Episode {
    std::vector<float> obs, actions, rewards;  // (T x obs_dim), (T x act_dim), (T)
    std::vector<double> states;                // (T x state_dim)
    int64_t length() const { return static_cast<int64_t>(rewards.size()); }
  };
  int max_episodes_;
  int64_t obs_dim_, act_dim_, state_dim_ = -1;
  std::vector<Episode> current_;  // the episode each env is in   (num_envs)
  std::deque<Episode> done_;      // complete episodes, oldest first
};

enum class Scheme {
  kUniform,
  kDisagreement,
  kEntropy,
  kKCenter,
  kKCenterDisagreement,
  kKCenterEntropy
};
Scheme ParseScheme(const std::string& name);

// Picks `count` of C candidate pairs (uniform: the first `count`, which are uniform draws; the
// scores are not needed). prefer_one: per-member P[segment 1 preferred] (M x C); features:
// per-candidate k-center features (C x F); labelled: features of already-labelled pairs (L x F,
// may be empty). Returns candidate indices.
std::vector<int64_t> SelectQueries(Scheme scheme, std::span<const double> prefer_one,
                                   int64_t members, std::span<const float> features,
                                   std::span<const float> labelled, int64_t feature_dim,
                                   int64_t count);

// Scores behind the schemes, per candidate (C): std over members of P (ddof 0), and the mean
// over members of the 2-way entropy.
std::vector<double> Disagreement(std::span<const double> prefer_one, int64_t members);
std::vector<double> MeanEntropy(std::span<const double> prefer_one, int64_t members);
// Greedy k-center: repeatedly the candidate farthest (L2) from the labelled set and the picks.
std::vector<int64_t> KCenter(std::span<const float> features, std::span<const float> labelled,
                             int64_t feature_dim, int64_t count);

}  // namespace rlforge::algos::pebble
