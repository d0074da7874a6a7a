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

#include "rlforge/algos/agent.h"
#include "rlforge/algos/pebble/human_teacher.h"
#include "rlforge/algos/pebble/queries.h"
#include "rlforge/algos/pebble/reward_model.h"
#include "rlforge/algos/pebble/teacher.h"
#include "rlforge/algos/sac/sac.h"
#include "rlforge/buffers/preference_buffer.h"
#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/env/wrappers.h"

namespace rlforge::algos::pebble {

struct PebbleConfig {
  int64_t random_exploration_steps = 1000;  // uniform random actions first (BPref: 1000)
  int64_t unsupervised_steps = 10000;  // intrinsic-reward SAC until this step (BPref: 1000+9000)
  int64_t feedback_frequency = 20000;  // env steps between sessions (BPref walker, 1000: 20000)
  int64_t queries_per_session = 100;   // pairs asked per session (BPref walker, 1000: 100)
  int64_t max_feedback = 1000;         // query budget, skipped queries included (BPref: 1000)
  int64_t segment_length = 50;         // steps per segment (BPref: 50)
  std::string query_scheme = "disagreement";  // after the first (uniform) session (BPref: 1)
  int large_batch = 10;               // candidates per query for the scored schemes (BPref: 10)
  int reset_update = 100;             // SAC updates after the critic reset (BPref: 100)
  int knn_k = 5;                      // k of the state-entropy k-NN (BPref topK: 5)
  int max_episodes = 100;             // recent episodes queries come from (BPref: 100)
  int relabel_batch = 1024;           // transitions per relabeling forward pass
  bool normalize_reward = false;      // divide the learned reward by its std over the replay buffer
  bool true_reward_ablation = false;  // SAC learns from the env's reward; everything else runs
  RewardModelConfig reward_model;
  TeacherConfig teacher;
  HumanConfig human;  // teacher.preset: human

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("random_exploration_steps", random_exploration_steps,
      "env steps of uniform random actions (BPref num_seed_steps: 1000)", Range::NonNegative());
    v("unsupervised_steps", unsupervised_steps,
      "intrinsic-reward pre-training until this env step (BPref: 10000)", Range::NonNegative());
    v("feedback_frequency", feedback_frequency,
      "env steps between feedback sessions (BPref walker 1000 queries: 20000)",
      Range::Closed(1, 1e12));
    v("queries_per_session", queries_per_session, "pairs asked per session (BPref: 100)",
      Range::Closed(1, 1e9));
    v("max_feedback", max_feedback, "total query budget, skips included (BPref: 1000)",
      Range::Closed(1, 1e9));
    v("segment_length", segment_length, "steps per segment (BPref: 50)", Range::Closed(1, 1e6));
    v("query_scheme", query_scheme, "query selection after the first session (BPref: disagreement)",
      config::Choices{{"uniform", "disagreement", "entropy", "kcenter", "kcenter_disagreement",
                       "kcenter_entropy"}});
    v("large_batch", large_batch, "candidates per query for scored schemes (BPref: 10)",
      Range::Closed(1, 1000));
    v("reset_update", reset_update, "SAC updates after the critic reset (BPref: 100)",
      Range::Closed(0, 1e7));
    v("knn_k", knn_k, "k of the k-NN state entropy (BPref: 5)", Range::Closed(1, 1000));
    v("max_episodes", max_episodes, "recent episodes queries are drawn from (BPref: 100)",
      Range::Closed(1, 1e6));
    v("relabel_batch", relabel_batch, "transitions per relabeling pass", Range::Closed(1, 1e7));
    v("normalize_reward", normalize_reward,
      "divide the learned reward by its std over the replay buffer at each relabeling (its scale "
      "is arbitrary and SAC is sensitive to it; BPref: off)");
    v("true_reward_ablation", true_reward_ablation,
      "ablation: SAC trains on the environment's reward while every PEBBLE phase (pre-training, "
      "critic reset, queries, reward model) still runs, which separates the schedule's cost from "
      "the learned reward's");
    v.Section("reward_model", reward_model, "the learned reward");
    v.Section("teacher", teacher, "who answers the queries");
    v.Section("human", human, "the labeling app, for teacher.preset: human");
  }
  // Clear errors for settings that cannot work (budget below a session, a segment longer than
  // the env's episodes, phases out of order).
  void Validate(int64_t max_episode_steps) const;
};

// r_int(s) for each row of `obs` (B x d): the distance to its k-th nearest neighbour among
// `reference` (T x d), not counting itself when it is one of them (the (k+1)-th smallest).
torch::Tensor KnnDistance(const torch::Tensor& obs, const torch::Tensor& reference, int k);

// The Pearson correlation of two series, from running sums.
struct Correlation {
  std::array<double, 6> sums{};  // x, y, x^2, y^2, x y, count
  void Add(double x, double y);
  double Value() const;  // NaN while either series is constant (or empty)
};

class Pebble final : public Agent {
 public:
  Pebble(const PebbleConfig& config, const SacConfig& sac, const Space& observation_space,
         const Space& action_space, int num_envs, uint64_t seed,
         std::unique_ptr<Teacher> teacher = nullptr);

  void Act(const torch::Tensor& obs, int64_t* discrete, float* continuous,
           bool deterministic) override {
    sac_.Act(obs, discrete, continuous, deterministic);
  }
  // Uniform random actions during random exploration, then samples from the policy.
  void Collect(const torch::Tensor& obs, int64_t global_step, float* continuous);
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
  // After each env step: a feedback session when one is due, then one SAC update (intrinsic
  // reward during pre-training). Returns metrics to log (empty most steps).
  std::map<std::string, double> Train(buffers::ReplayBuffer& replay, int64_t global_step,
                                      int64_t iteration);

  void Save(torch::serialize::OutputArchive& archive) const override;
  void Load(torch::serialize::InputArchive& archive) override;
  std::vector<torch::Tensor> parameters() const override { return sac_.parameters(); }

  int64_t queries_asked() const { return asked_; }
  int64_t labels_received() const { return labelled_; }
  RewardModel& reward_model() { return reward_model_; }
  Teacher& teacher() { return *teacher_; }
  int64_t max_feedback() const { return config_.max_feedback; }
  bool learns_from_true_reward() const { return config_.true_reward_ablation; }

 private:
  std::map<std::string, double> FeedbackSession(buffers::ReplayBuffer& replay, int64_t global_step);
  PairBatch LabelledPairs();
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
  std::vector<float> reference_obs_;     // every state seen before reward learning   (T x obs_dim)
  env::RunningMeanStd intrinsic_stats_;  // of r_int, for its running std
  double reward_scale_ = 1.0;  // the learned reward's multiplier: 1 / its std (normalize_reward)
  std::vector<Correlation> reward_fit_;  // per env, its episode so far: (true, learned) reward (N)
  Rng rng_;                              // segment sampling, reward-model shuffles
  int64_t asked_ = 0, labelled_ = 0, sessions_ = 0, next_session_ = 0;
  buffers::Batch batch_;  // SAC minibatch, reused
};

}  // namespace rlforge::algos::pebble
