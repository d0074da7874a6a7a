// N copies of one env stepped together. Every per-env quantity lives in one contiguous block
// (N x ...), so a batch of observations is one tensor (see tensor_view.h) with no copying.
//
// Autoreset happens in the same Step: when env i ends (terminated or truncated), its final
// observation is copied to final_observations() (has_final()[i] = 1) for bootstrapping, and the
// observation block holds the first observation of its next episode.
#pragma once

#include <exception>
#include <memory>
#include <vector>

#include "rlforge/core/thread_pool.h"
#include "rlforge/env/env.h"

namespace rlforge::env {

class VectorEnv {
 public:
  // num_threads = 1: step in the caller's thread (sync); > 1: a thread pool over env chunks.
  // Both give identical results for one seed.
  VectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads = 1);

  int num_envs() const { return static_cast<int>(envs_.size()); }
  int num_threads() const { return pool_ ? pool_->num_threads() : 1; }
  const Space& single_observation_space() const { return envs_[0]->observation_space(); }
  const Space& single_action_space() const { return envs_[0]->action_space(); }
  Env& env(int i) { return *envs_[static_cast<size_t>(i)]; }

  // Resets env i with seed + first + i (Gymnasium's vector reset; `first` is the global index of
  // env 0 when other processes hold the envs before it); its action sampler is keyed by the
  // seed and that global index too.
  void Reset(uint64_t seed, int64_t first = 0);
  // Steps every env with the actions in the action blocks.
  void Step();
  // Fills the action blocks with uniform random actions (per-env generators).
  void SampleActions();
  // The per-env generators (N), for a policy that samples each env's actions from its own stream.
  std::span<Rng> action_rngs() { return action_rngs_; }

  // Blocks, row i belongs to env i.
  void* observations() { return obs_.data(); }                      // (N x obs bytes)
  void* final_observations() { return final_obs_.data(); }          // (N x obs bytes)
  const double* rewards() const { return rewards_.data(); }         // (N)
  const uint8_t* terminated() const { return terminated_.data(); }  // (N)
  const uint8_t* truncated() const { return truncated_.data(); }    // (N)
  const uint8_t* has_final() const { return has_final_.data(); }    // (N)
  // (N) where has_final: the env's info "episode.r" if it reports one (RecordEpisodeStatistics,
  // i.e. the return before reward wrappers), else the sum of the rewards it returned
  const double* final_returns() const { return final_returns_.data(); }
  const int64_t* final_lengths() const { return final_lengths_.data(); }  // (N) where has_final
  int64_t* discrete_actions() { return discrete_actions_.data(); }        // (N x num_discrete)
  float* continuous_actions() { return continuous_actions_.data(); }      // (N x num_continuous)

  size_t obs_bytes() const { return obs_bytes_; }

  // Every env's snapshot plus the blocks and samplers, so training can resume bit-exactly.
  void SaveSnapshot(ByteWriter& out) const;
  void LoadSnapshot(ByteReader& in);

 private:
  void StepRange(int begin, int end);
  Action ActionOf(int i) const;
  void* ObsRow(std::vector<uint8_t>& block, int i) {
    return block.data() + static_cast<size_t>(i) * obs_bytes_;
  }

  std::vector<std::unique_ptr<Env>> envs_;
  std::unique_ptr<ThreadPool> pool_;
  size_t obs_bytes_ = 0;
  int64_t num_discrete_ = 0, num_continuous_ = 0;
  std::vector<uint8_t> obs_;                // current observations         (N x obs_bytes)
  std::vector<uint8_t> final_obs_;          // last obs of ended episodes   (N x obs_bytes)
  std::vector<double> rewards_;             // reward of the last step      (N)
  std::vector<uint8_t> terminated_;         // terminal flag of last step   (N)
  std::vector<uint8_t> truncated_;          // truncation flag of last step (N)
  std::vector<uint8_t> has_final_;          // env ended on the last step   (N)
  std::vector<double> episode_returns_;     // running episode return      (N)
  std::vector<int64_t> episode_lengths_;    // running episode length      (N)
  std::vector<double> final_returns_;       // return of the ended episode  (N)
  std::vector<int64_t> final_lengths_;      // length of the ended episode  (N)
  std::vector<int64_t> discrete_actions_;   // actions, discrete part       (N x num_discrete)
  std::vector<float> continuous_actions_;   // actions, continuous part     (N x num_continuous)
  std::vector<Rng> action_rngs_;            // per-env action samplers      (N)
  std::vector<std::exception_ptr> errors_;  // error of the chunk starting at i (N)
};

}  // namespace rlforge::env
