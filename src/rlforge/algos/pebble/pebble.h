// PEBBLE (Lee, Smith, Abbeel 2021) on CleanRL-style SAC, as BPref's train_PEBBLE.py:
//   1. random exploration: uniform random actions for random_exploration_steps
//   2. unsupervised pre-training until unsupervised_steps: SAC on the intrinsic reward
//      r_int(s) = ||s - s_k||, the distance to the k-th nearest state in the replay buffer,
//      divided by its running std
//   3. reward learning: a feedback session every feedback_frequency steps until max_feedback
//      queries were asked — select segment pairs, ask the teacher, train the reward model,
//      relabel the whole replay buffer with the model; at the first session also reset the
//      critic and run reset_update SAC updates. SAC trains on the learned reward throughout.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>

#include "rlforge/algos/pebble/config.h"
#include "rlforge/algos/pebble/human_teacher.h"
#include "rlforge/algos/pebble/queries.h"
#include "rlforge/algos/pebble/reward_model.h"
#include "rlforge/algos/pebble/teacher.h"
#include "rlforge/algos/sac/sac.h"
#include "rlforge/buffers/preference_buffer.h"
#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/env/wrappers.h"

namespace rlforge::algos::pebble {

// r_int(s) for each row of `obs` (B x d): the distance to its k-th nearest neighbour among
// `reference` (T x d), not counting itself when it is one of them (the (k+1)-th smallest).
// r_int(s) for each of n rows of `obs` (n x d): the distance to its k-th nearest neighbour among
// the t rows of `reference` (t x d), not counting itself when it is one of them (the (k+1)-th
// smallest) -> out (n).
void KnnDistance(const float* obs, int64_t n, const float* reference, int64_t t, int64_t d, int k,
                 double* out);

// The Pearson correlation of two series, from running sums.
struct Correlation {
  std::array<double, 6> sums{};  // x, y, x^2, y^2, x y, count
  void Add(double x, double y);
  double Value() const;  // NaN while either series is constant (or empty)
};

class Pebble {
 public:
  Pebble(const PebbleConfig& config, const SacConfig& sac, const Space& observation_space,
         const Space& action_space, int num_envs, uint64_t seed,
         std::unique_ptr<Teacher> teacher = nullptr);

  double QValue(const float* obs, const float* action) { return sac_.QValue(obs, action); }
  void Act(const float* obs, int64_t n, float* continuous, bool deterministic) {
    sac_.Act(obs, n, continuous, deterministic);
  }
  // Uniform random actions during random exploration, then samples from the policy.
  void Collect(const float* obs, int64_t n, int64_t global_step, float* continuous);
  // The learned reward of each env's transition (N x obs_dim, N x act_dim) -> (N).
  void ModelRewards(const float* obs, const float* actions, float* rewards);
  // An ended episode's learned-reward return, and the Pearson correlation over its steps of the
  // learned with the true reward (NaN where either is constant).
  struct EpisodeFit {
    double model_return, reward_correlation;
  };
  // Records env i's step (the state its observation was taken in) for queries and the k-NN
  // reference; returns how the learned reward fit the episode when `episode_end`.
  std::optional<EpisodeFit> Record(int env, int64_t global_step, const float* obs,
                                   const float* action, float true_reward, float model_reward,
                                   std::span<const double> state, bool episode_end);
  // Whether a feedback session is due at this step.
  bool SessionDue(int64_t global_step) const;
  // The feedback session: queries, the teacher's labels, reward-model training, relabeling (and
  // the critic reset after pre-training). A TeacherInterrupted from the teacher leaves everything
  // as it was before the session, so a checkpoint then asks the same pairs again.
  std::map<std::string, double> Session(buffers::ReplayBuffer& replay, int64_t global_step);
  // After each env step: one SAC update (on the intrinsic reward during pre-training). Returns
  // metrics to log (empty most steps).
  std::map<std::string, double> Update(buffers::ReplayBuffer& replay, int64_t global_step,
                                       int64_t iteration);

  // SAC's state as SAC names it, the reward model's as reward_model.*, the rest as pebble.*.
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);
  nn::NamedTensors parameters() const { return sac_.parameters(); }
  nn::NamedTensors gradients() const { return sac_.gradients(); }

  int64_t queries_asked() const { return asked_; }
  int64_t labels_received() const { return labelled_; }
  RewardModel& reward_model() { return reward_model_; }
  Teacher& teacher() { return *teacher_; }
  int64_t max_feedback() const { return config_.max_feedback; }
  bool learns_from_true_reward() const { return config_.true_reward_ablation; }

 private:
  std::map<std::string, double> FeedbackSession(buffers::ReplayBuffer& replay, int64_t global_step);
  PairBatch LabelledPairs();
  PairBatch PairsOf(const Segments& s) const;  // side s of pair p: segment 2 p + s
  void AddUnlabeled(int64_t count);  // SURF: uniform pairs from recent episodes, no labels
  void Relabel(buffers::ReplayBuffer& replay);

  PebbleConfig config_;
  Sac sac_;
  int64_t obs_dim_, act_dim_;
  RewardModel reward_model_;
  std::unique_ptr<Teacher> teacher_;
  EpisodeStore episodes_;
  std::unique_ptr<buffers::PreferenceBuffer> preferences_;  // labelled pairs (made at first use)
  PairBatch unlabeled_;                  // SURF's unlabeled pairs, newest last   (U x H x dim)
  std::vector<double> r_int_;            // intrinsic rewards of a batch          (B)
  std::vector<float> reference_obs_;     // every state seen before reward learning   (T x obs_dim)
  env::RunningMeanStd intrinsic_stats_;  // of r_int, for its running std
  double reward_scale_ = 1.0;  // the learned reward's multiplier: 1 / its std (normalize_reward)
  std::vector<Correlation> reward_fit_;  // per env, its episode so far: (true, learned) reward (N)
  Rng rng_;                              // segment sampling, reward-model shuffles
  int64_t asked_ = 0, labelled_ = 0, sessions_ = 0, next_session_ = 0;
  int64_t catch_up_ = 0;  // 1: the critic was reset; the next Update first runs reset_update steps
  buffers::Batch batch_;  // SAC minibatch, reused
};

}  // namespace rlforge::algos::pebble
