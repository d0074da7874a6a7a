// PEBBLE's run, as BPref's train_PEBBLE.py reads: SAC's loop (algos/sac/loop.cc) where every
// step also records the segments queries come from, the replay buffer stores the learned reward
// (the true one goes to the teacher), and Pebble::Train runs the phases and feedback sessions.
#include <deque>

#include "rlforge/algos/builtin.h"
#include "rlforge/algos/pebble/pebble.h"
#include "rlforge/algos/run.h"

namespace rlforge::algos::pebble {
namespace {

class PebbleRun final : public OffPolicyRun<Pebble> {
 public:
  PebbleRun(const train::TrainConfig& config, const std::string& run_dir)
      : OffPolicyRun(config, config.sac.gamma, config.sac.buffer_size, config.sac.batch_size,
                     "sac.batch_size"),
        model_rewards_(n_),
        states_(n_) {
    std::unique_ptr<Teacher> teacher;  // null: the scripted one
    if (config.pebble.teacher.preset == "human") {
      human_ = new HumanTeacher(config.pebble.human,
                                env::Make(config.env.id, train::EnvKwargs(config.env)), run_dir,
                                [] { return train::Context::Interrupted(); });
      teacher.reset(human_);
    }
    // the bounds before ClipAction: actions are rescaled from tanh to them
    agent_ = std::make_unique<Pebble>(config.pebble, config.sac, envs_->single_observation_space(),
                                      envs_->env(0).Unwrapped()->action_space(), n_,
                                      static_cast<uint64_t>(config.seed), std::move(teacher));
  }

  void Iterate(train::Context& ctx) override {
    if (human_ != nullptr && !started_) human_->Start();
    started_ = true;
    if (deferred_ >= 0 && !Learn(ctx, deferred_)) return;  // the last iteration's session
    step_.Observe();
    agent_->Collect(step_.obs.data(), n_, ctx.global_step, envs_->continuous_actions());
    for (int i = 0; i < n_; ++i) states_[i] = envs_->env(i).GetState();  // where obs was taken
    envs_->Step();
    step_.Record(ctx);
    // the replay buffer holds the learned reward; the true one goes to queries
    const float* actions = envs_->continuous_actions();
    const int64_t obs_dim = envs_->single_observation_space().size();
    const int64_t act_dim = envs_->single_action_space().num_continuous();
    agent_->ModelRewards(step_.obs.data(), actions, model_rewards_.data());
    for (int i = 0; i < n_; ++i) {
      const auto fit =
          agent_->Record(i, ctx.global_step, step_.obs.data() + i * obs_dim, actions + i * act_dim,
                         step_.rewards[i], model_rewards_[i], states_[i], envs_->has_final()[i]);
      if (!fit) continue;
      ctx.Log("charts/episodic_model_return", fit->model_return);
      if (!std::isnan(fit->reward_correlation))
        ctx.Log("charts/episodic_reward_correlation", fit->reward_correlation);
      if (human_ != nullptr) {  // the labeling app's chart
        shown_returns_.push_back(envs_->final_returns()[i]);
        shown_model_returns_.push_back(fit->model_return);
        if (shown_returns_.size() > 100)
          shown_returns_.pop_front(), shown_model_returns_.pop_front();
      }
    }
    if (human_ != nullptr && ctx.iteration % 50 == 0) {
      human_->SetStatus({"training",
                         ctx.global_step,
                         config_.total_timesteps,
                         ctx.sps(),
                         agent_->queries_asked(),
                         agent_->max_feedback(),
                         {shown_returns_.begin(), shown_returns_.end()},
                         {shown_model_returns_.begin(), shown_model_returns_.end()}});
    }
    step_.AddTo(replay_, agent_->learns_from_true_reward() ? step_.rewards : model_rewards_);
    if (agent_->SessionDue(ctx.global_step) && ctx.global_step < total_steps()) {
      // the session (and this step's update) open the next iteration: a stop while a person
      // answers then leaves the checkpoint from before it, which asks the same pairs again
      deferred_ = ctx.iteration;
      return;
    }
    Learn(ctx, ctx.iteration);
    if (ctx.iteration % 100 == 0) ctx.Log("charts/SPS", ctx.sps());
  }

  void Save(io::TensorDict& out) const override {
    OffPolicyRun::Save(out);
    out.Put("pebble.deferred_iteration", std::vector<int64_t>{deferred_}, {});
  }
  void Load(const io::TensorDict& in) override {
    OffPolicyRun::Load(in);
    deferred_ = in.Scalar<int64_t>("pebble.deferred_iteration");
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes(
        [&](const float* obs, int64_t n, int64_t*, float* a, bool det) {
          agent_->Act(obs, n, a, det);
        },
        config_.env, envs_.get(), req, nullptr,
        [&](const float* obs, const int64_t*, const float* a) { return agent_->QValue(obs, a); });
  }

 private:
  // A due feedback session, then the SAC update of `iteration`; false when a person's answers
  // were interrupted (nothing changed: the run stops with a checkpoint from before the session).
  bool Learn(train::Context& ctx, int64_t iteration) {
    if (agent_->SessionDue(ctx.global_step)) {
      try {
        for (const auto& [tag, value] : agent_->Session(replay_, ctx.global_step))
          ctx.Log(tag, value);
      } catch (const TeacherInterrupted&) {
        deferred_ = iteration;
        ctx.RequestStop("by signal " + std::to_string(train::Context::InterruptSignal()) +
                        " while waiting for labels (answer them with `rlforge feedback serve`)");
        return false;
      }
    }
    for (const auto& [tag, value] : agent_->Update(replay_, ctx.global_step, iteration))
      ctx.Log(tag, value);
    deferred_ = -1;
    return true;
  }

  int64_t deferred_ = -1;  // the iteration whose session and update open the next one, or -1
  HumanTeacher* human_ = nullptr;            // the agent's teacher when it is a person
  bool started_ = false;                     // the labeling app serves
  std::vector<float> model_rewards_;         // learned reward of this step        (N)
  std::vector<std::vector<double>> states_;  // simulator state per env             (N)
  std::deque<double> shown_returns_, shown_model_returns_;  // the labeling app's chart (<= 100)
};

}  // namespace
}  // namespace rlforge::algos::pebble

namespace rlforge::algos {

std::unique_ptr<train::Algorithm> MakePebble(const train::TrainConfig& config,
                                             const std::string& run_dir) {
  return std::make_unique<pebble::PebbleRun>(config, run_dir);
}

}  // namespace rlforge::algos
