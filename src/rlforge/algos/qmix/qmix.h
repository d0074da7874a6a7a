// Value decomposition for cooperative agents: independent DQN (no mixer), VDN (Sunehag et al.
// 2018: Q_tot = sum_i Q_i) and QMIX (Rashid et al. 2018: a monotonic mixing network whose
// weights come from hypernetworks on the global state), as pymarl's QMixer / VDNMixer with
// feed-forward agents. The Q networks and the mixer run on the dense kernels with the TD loss's
// gradient written out (checked against LibTorch autograd in tests/algos/qmix_test.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {

struct QmixConfig {
  std::string mixer = "qmix";              // qmix | vdn | none (independent DQN)
  double learning_rate = 5e-4;             // Adam step size (pymarl: 5e-4)
  int64_t buffer_size = 100'000;           // replay capacity in transitions (all envs)
  double gamma = 0.9;                      // discount (JaxMARL ql_mpe: 0.9)
  int batch_size = 256;                    // transitions per update
  int64_t target_update_interval = 200;    // updates between hard target copies (JaxMARL: 200)
  double start_e = 1.0;                    // initial exploration epsilon
  double end_e = 0.05;                     // final epsilon (JaxMARL: 0.05)
  double exploration_fraction = 0.1;       // share of the run to anneal epsilon (JaxMARL: 0.1)
  int64_t learning_starts = 10'000;        // env steps before learning
  int train_frequency = 1;                 // vector steps per update
  std::vector<int64_t> hidden = {64, 64};  // agent Q network hidden sizes
  int64_t mixing_embed_dim = 32;           // QMIX mixing layer width (pymarl: 32)
  int64_t hypernet_embed = 64;             // hidden width of the weight hypernets (pymarl: 64)
  bool double_q = true;                    // next actions from the online network (pymarl: true)
  double max_grad_norm = 10.0;             // global gradient clip (pymarl: 10)
  std::string team_reward = "sum";         // the mixers' reward: sum (EPyMARL) or mean of agents
  bool agent_id = true;                    // one-hot agent id appended to the agents' input

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("mixer", mixer, "qmix (monotonic hypernetwork mixer), vdn (sum) or none (independent DQN)",
      config::Choices{{"qmix", "vdn", "none"}});
    v("learning_rate", learning_rate, "Adam step size (pymarl: 5e-4)", Range::Positive());
    v("buffer_size", buffer_size, "replay capacity in transitions", Range::Closed(1, 1e9));
    v("gamma", gamma, "discount (JaxMARL ql_mpe: 0.9)", Range::Closed(0, 1));
    v("batch_size", batch_size, "transitions per update", Range::Closed(1, 1e6));
    v("target_update_interval", target_update_interval,
      "updates between hard target network copies (JaxMARL: 200)", Range::Positive());
    v("start_e", start_e, "initial exploration epsilon", Range::Closed(0, 1));
    v("end_e", end_e, "final exploration epsilon (JaxMARL: 0.05)", Range::Closed(0, 1));
    v("exploration_fraction", exploration_fraction,
      "share of total_timesteps to anneal epsilon over (JaxMARL: 0.1)", Range::OpenClosed(0, 1));
    v("learning_starts", learning_starts, "env steps before learning starts", Range::NonNegative());
    v("train_frequency", train_frequency, "vector env steps per update", Range::Closed(1, 1e6));
    v("hidden", hidden, "agent Q network hidden sizes");
    v("mixing_embed_dim", mixing_embed_dim, "QMIX mixing layer width (pymarl: 32)",
      Range::Closed(1, 4096));
    v("hypernet_embed", hypernet_embed, "hidden width of QMIX's weight hypernets (pymarl: 64)",
      Range::Closed(1, 4096));
    v("double_q", double_q, "Double Q targets: next actions chosen by the online agents");
    v("max_grad_norm", max_grad_norm, "global gradient norm clip, 0 = off (pymarl: 10)",
      Range::NonNegative());
    v("team_reward", team_reward,
      "the reward the mixed Q learns: sum over agents (EPyMARL) or their mean (none: each "
      "agent's own)",
      config::Choices{{"sum", "mean"}});
    v("agent_id", agent_id, "append the agent's one-hot id to its Q network's input");
  }
};

// One update's batch, agent-major: row i * B + b is agent i in transition b.
struct QmixBatch {
  int64_t size = 0;                   // B
  const float* obs = nullptr;         // agents' inputs          (N x B x in_dim)
  const float* next_obs = nullptr;    // next inputs             (N x B x in_dim)
  const float* state = nullptr;       // global state            (B x state_dim)
  const float* next_state = nullptr;  // next global state       (B x state_dim)
  const int64_t* actions = nullptr;   // chosen actions          (N x B)
  const float* rewards = nullptr;     // team (B), or each agent's with mixer none (N x B)
  const float* discounts = nullptr;   // gamma, 0 where terminated   (B)
  // optional: allowed actions (1) now and at the next step   (N x B x n_actions each)
  const uint8_t* masks = nullptr;
  const uint8_t* next_masks = nullptr;
  // optional: the agent was in the env when acting, and is still in it (not terminated) after
  // the step   (N x B each); an agent out of the env adds Q = 0 to the mix
  const uint8_t* active = nullptr;
  const uint8_t* next_active = nullptr;
};

class Qmix {
 public:
  Qmix(const QmixConfig& config, int n_agents, int64_t in_dim, int64_t state_dim, int64_t n_actions,
       uint64_t seed);

  // Greedy (epsilon 0) or epsilon-greedy actions for `rows` agent inputs (rows x in_dim), among
  // the allowed ones if `masks` (rows x n_actions, 1 = allowed) is given.
  void Act(const float* inputs, int64_t rows, double epsilon, int64_t* actions,
           const uint8_t* masks = nullptr);
  // The TD loss's gradient on one batch into gradients(); returns losses/td_loss, q_taken_mean,
  // target_mean.
  std::map<std::string, double> Gradient(const QmixBatch& batch);
  // Gradient, clipping and one Adam step; the target copy every target_update_interval updates.
  std::map<std::string, double> Update(const QmixBatch& batch);

  const QmixConfig& config() const { return config_; }
  int64_t updates() const { return updates_; }
  // The agent network (`agent.0.weight`, ...) and the mixer (`mixer.hyper_w_1.0.weight`, ...).
  nn::NamedTensors parameters() const { return AsTensors(params_); }
  nn::NamedTensors gradients() const { return AsTensors(grads_); }
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);

 private:
  // Q_tot of agent values q (N x B) on states (B x state_dim) into tot (B); keeps what the
  // backward pass needs when `online`.
  void Mix(const float* params, const float* q, const float* state, int64_t B, bool online,
           float* tot);
  // d loss / d q (N x B) and the mixer's gradients, given d loss / d tot (B).
  void MixBackward(const float* q, const float* d_tot, int64_t B, float* d_q);
  nn::NamedTensors AsTensors(const std::vector<float>& flat) const;

  QmixConfig config_;
  int n_;  // agents
  int64_t in_dim_, state_dim_, n_actions_;
  Space action_space_;                  // Discrete(n_actions): exploration draws
  bool qmix_;                           // the hypernetwork mixer (else a sum, or none)
  nn::DenseMlp agent_, agent_eval_;     // Q network: with backward, and for other passes
  nn::DenseMlp w1_, b1_, w_final_, v_;  // QMIX hypernets on the state (with backward)
  nn::DenseMlp w1_eval_, b1_eval_, w_final_eval_, v_eval_;  // the same for target passes
  std::vector<float> params_;                               // agent net then mixer        (P)
  std::vector<float> target_;                               // target copy                  (P)
  std::vector<float> grads_;                                // d loss / d params_           (P)
  nn::FlatAdam adam_;                                       // Adam moments over params_    (2 x P)
  int64_t updates_ = 0;
  Rng rng_;  // exploration draws
  // scratch of one update
  std::vector<float> q_taken_, q_next_;   // chosen Q, target Q of the next step   (N x B)
  std::vector<int64_t> next_actions_;     // argmax of the next step's Q         (N x B)
  std::vector<float> tot_, target_tot_;   // Q_tot(s, a), Q_tot'(s', a')          (B)
  std::vector<float> d_tot_, d_q_taken_;  // d loss / d Q_tot (B), d loss / d q (N x B)
  std::vector<float> d_agent_;            // d loss / d agent outputs   (N*B x out_pad)
  std::vector<float> z_;                  // mixer pre-activations          (B x E)
  // the online hypernets' last outputs (valid until their next Forward, after MixBackward)
  const float* w1_out_ = nullptr;       // W1 before abs        (B x w1 out_stride)
  const float* w_final_out_ = nullptr;  // w_final before abs   (B x w_final out_stride)
  std::vector<float> d_w1_, d_b1_, d_w_final_, d_v_;  // d loss / d hypernet outputs
};

}  // namespace rlforge::algos
