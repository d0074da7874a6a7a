// PEBBLE's knobs (the `pebble:` section of a config), apart from its LibTorch implementation so
// that configs load and print without it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rlforge/algos/pebble/human_teacher.h"
#include "rlforge/algos/pebble/teacher.h"
#include "rlforge/core/config.h"

namespace rlforge::algos::pebble {

// SURF (Park et al. 2022; alinlab/SURF): unlabeled segment pairs the model is confident about
// (>= threshold) train it with their predicted label, and segments are cropped in time.
struct SurfConfig {
  bool enabled = false;
  double threshold = 0.99;   // pseudo-label confidence (SURF threshold_u: 0.99)
  int unlabeled_ratio = 10;  // unlabeled pairs drawn per query asked (SURF inv_label_ratio)
  int mu = 4;                // unlabeled pairs per labelled pair in a batch (SURF mu: 4)
  double loss_weight = 1.0;  // weight of the pseudo-label loss (SURF lambda_u: 1)
  int crop = 5;              // temporal crop range in steps, 0 = off (SURF crop_range: 5)
  int64_t capacity = 10000;  // unlabeled pairs kept, oldest dropped first

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("enabled", enabled, "train on confident pseudo-labels and cropped segments (SURF)");
    v("threshold", threshold, "pseudo-label confidence threshold (SURF: 0.99)",
      Range::OpenClosed(0.5, 1));
    v("unlabeled_ratio", unlabeled_ratio,
      "unlabeled pairs drawn per query asked (SURF inv_label_ratio: 10 Meta-World, 100 walker)",
      Range::Closed(1, 1e4));
    v("mu", mu, "unlabeled pairs per labelled pair in a batch (SURF: 4)", Range::Closed(1, 1e3));
    v("loss_weight", loss_weight, "weight of the pseudo-label loss (SURF lambda_u: 1)",
      Range::NonNegative());
    v("crop", crop, "temporal crop: segments shortened by up to this many steps (SURF: 5)",
      Range::Closed(0, 1e6));
    v("capacity", capacity, "unlabeled pairs kept, oldest dropped first", Range::Closed(1, 1e8));
  }
};

struct RewardModelConfig {
  int ensemble_size = 3;                          // members (BPref: 3)
  std::vector<int64_t> hidden = {256, 256, 256};  // hidden layers, LeakyReLU (BPref: 3 x 256)
  std::string output = "tanh";       // tanh: r in (-1, 1) (BPref); linear: unbounded (RLHF-Gym)
  bool actions = true;               // the nets see [obs, action] (BPref); false: obs only
  bool normalize_inputs = false;     // standardize inputs by the labelled segments' statistics
  double lr = 3e-4;                  // one Adam over all members (BPref: 3e-4)
  int batch_size = 128;              // pairs per gradient step (BPref: 128)
  int max_epochs = 50;               // passes per session (BPref reward_update: 50)
  double stop_accuracy = 0.97;       // stop a session's training above this accuracy (BPref: 0.97)
  double l2 = 0.0;                   // Adam weight decay (BPref: 0; RLHF-Gym: 0.01)
  bool adaptive_l2 = false;          // RLHF-Gym: tune l2 from the validation/train loss ratio
  double validation_fraction = 0.2;  // newest labelled pairs held out when adaptive_l2
  SurfConfig surf;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("ensemble_size", ensemble_size, "reward model ensemble members (BPref: 3)",
      Range::Closed(1, 64));
    v("hidden", hidden, "reward model hidden sizes, LeakyReLU (BPref: [256]*3)");
    v("output", output,
      "last activation: tanh bounds r to (-1, 1) (BPref), linear does not "
      "(RLHF-Gym)",
      config::Choices{{"tanh", "linear"}});
    v("actions", actions,
      "the reward nets see [obs, action] (BPref); false: obs only, so the actor cannot raise the "
      "learned reward through the action alone");
    v("normalize_inputs", normalize_inputs,
      "standardize each input by the mean and std over every step of the labelled segments, "
      "recomputed each session (as imitation's RunningNorm), so large-scale inputs such as joint "
      "velocities do not drown the small ones the reward depends on");
    v("lr", lr, "reward model Adam learning rate (BPref: 3e-4)", Range::Positive());
    v("batch_size", batch_size, "labelled pairs per reward model step (BPref: 128)",
      Range::Closed(1, 1e6));
    v("max_epochs", max_epochs, "passes over the labels per feedback session (BPref: 50)",
      Range::Closed(1, 1e6));
    v("stop_accuracy", stop_accuracy, "stop training above this mean accuracy (BPref: 0.97)",
      Range::OpenClosed(0, 1));
    v("l2", l2, "Adam weight decay on the members (BPref: 0; RLHF-Gym: 0.01)",
      Range::NonNegative());
    v("adaptive_l2", adaptive_l2,
      "after each session scale l2 by 0.95 if validation/train loss < 1.1, by 1.05 if > 1.5 "
      "(RLHF-Gym)");
    v("validation_fraction", validation_fraction,
      "newest labelled pairs held out of training for adaptive_l2's validation loss",
      Range{0, 1, true, true});
    v.Section("surf", surf, "SURF: pseudo-labels and temporal cropping");
  }
};

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

}  // namespace rlforge::algos::pebble
