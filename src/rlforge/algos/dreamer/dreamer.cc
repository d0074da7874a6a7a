// DreamerV3's run, the seed's loop (seed 004, NaturalDreamer's main.py, done as the official
// embodied/run/train.py does it): random-policy episodes fill the replay first; then every env
// step acts through the RSSM posterior (state and previous action zeroed at an episode start)
// and trains train_ratio / (B x T) updates on replayed sequences. Each env keeps its own stream
// of steps, so an episode's last observation is a step of its own (is_last, is_terminal) and the
// next episode starts with is_first; a time limit is not a termination.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "rlforge/algos/dreamer/agent.h"
#include "rlforge/algos/dreamer/openloop.h"
#include "rlforge/algos/registry.h"
#include "rlforge/buffers/sequence_buffer.h"
#include "rlforge/core/error.h"
#include "rlforge/nn/mlp.h"
#include "rlforge/train/envs.h"
#include "rlforge/train/trainer.h"

namespace rlforge::dreamer {
namespace {

using buffers::FieldSpec;
using buffers::Scope;

// The model's view of an observation space: uint8 (H x W [x C]) is an image, else a vector.
ObsLayout LayoutOf(const Space& space) {
  ObsLayout o;
  const auto& shape = space.shape();
  if (space.dtype() == DType::kUInt8) {
    o.height = shape[0], o.width = shape[1], o.channels = shape.size() == 3 ? shape[2] : 1;
  } else {
    o.vector = space.size();
  }
  return o;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class DreamerRun final : public train::Algorithm {
 public:
  explicit DreamerRun(const train::TrainConfig& config)
      : config_(config),
        c_(config.dreamer),
        envs_(train::MakeVectorEnv(config.env, c_.gamma(), static_cast<uint64_t>(config.seed))),
        n_(config.env.num_envs),
        layout_(LayoutOf(envs_->single_observation_space())),
        obs_bytes_(static_cast<int64_t>(envs_->single_observation_space().nbytes())),
        space_(envs_->env(0).Unwrapped()->action_space()),
        discrete_(space_.kind() == Space::Kind::kDiscrete),
        act_dim_(discrete_ ? space_.n() : space_.size()),
        sampler_(nn::StreamRng(static_cast<uint64_t>(config.seed), 41)) {
    agent_ = std::make_unique<Agent>(c_, layout_, act_dim_, discrete_,
                                     static_cast<uint64_t>(config.seed));
    carry_ = agent_->Initial(n_);
    const int64_t per_env = std::max<int64_t>(c_.batch_length, c_.buffer_size / n_);
    for (int i = 0; i < n_; ++i) {
      // observations as the env gives them: float vectors, or uint8 images (64 x 64 x 3 = 12 KB)
      const FieldSpec obs =
          layout_.has_image()
              ? FieldSpec{"image",
                          Scope::kPerAgent,
                          {layout_.height, layout_.width, layout_.channels},
                          DType::kUInt8}
              : FieldSpec{"obs", Scope::kPerAgent, {layout_.vector}, DType::kFloat32};
      replay_.emplace_back(
          per_env, 1,
          std::vector<FieldSpec>{obs,
                                 {"action", Scope::kPerAgent, {act_dim_}, DType::kFloat32},
                                 {"reward", Scope::kPerAgent, {}, DType::kFloat32},
                                 {"is_last", Scope::kPerAgent, {}, DType::kUInt8}},
          static_cast<uint64_t>(config.seed) + 1000 + static_cast<uint64_t>(i));
    }
    prev_action_.assign(static_cast<size_t>(n_ * act_dim_), 0.0f);
    action_.assign(static_cast<size_t>(n_ * act_dim_), 0.0f);
    prev_reward_.assign(static_cast<size_t>(n_), 0.0f);
    is_first_.assign(static_cast<size_t>(n_), 1);
    on_policy_.assign(static_cast<size_t>(n_), c_.prefill == 0 ? 1 : 0);
    iterations_ = std::max<int64_t>(1, config.total_timesteps / n_);
  }

  int64_t total_steps() const override { return iterations_ * n_; }

  void Iterate(train::Context& ctx) override {
    const auto* obs = static_cast<const uint8_t*>(envs_->observations());
    for (int i = 0; i < n_; ++i) AddStep(i, obs + i * obs_bytes_, 0, 0);
    const std::vector<float>& action = ChooseActions(obs);  // (N x A) as the model sees them
    envs_->Step();
    ctx.global_step += n_;
    ++ctx.iteration;
    const auto* final_obs = static_cast<const uint8_t*>(envs_->final_observations());
    for (int i = 0; i < n_; ++i) {
      const float* a = action.data() + i * act_dim_;
      const float reward = static_cast<float>(envs_->rewards()[i]);
      if (envs_->has_final()[i]) {  // the last observation is a step of its own
        std::copy(a, a + act_dim_, prev_action_.begin() + i * act_dim_);
        prev_reward_[i] = reward;
        AddStep(i, final_obs + i * obs_bytes_, 1, envs_->terminated()[i]);
        ctx.EndEpisode(envs_->final_returns()[i], envs_->final_lengths()[i]);
        std::fill_n(prev_action_.begin() + i * act_dim_, act_dim_, 0.0f);
        prev_reward_[i] = 0.0f;
        is_first_[i] = 1;
        on_policy_[i] = ctx.global_step >= c_.prefill;  // the policy takes whole episodes
      } else {
        std::copy(a, a + act_dim_, prev_action_.begin() + i * act_dim_);
        prev_reward_[i] = reward;
        is_first_[i] = 0;
      }
    }
    Learn(ctx);
    const int64_t every = config_.eval.every_steps;
    if (c_.openloop && every > 0 && Crossed(ctx, every)) {
      const std::string stem = ctx.run_dir + "/videos/openloop_" + std::to_string(ctx.global_step);
      std::filesystem::create_directories(ctx.run_dir + "/videos");
      const auto errors = WriteOpenLoop(stem + (layout_.has_image() ? ".mp4" : ".png"));
      if (errors) {  // over the official report's horizon: 15 imagined steps
        ctx.Log("openloop/mse", errors->prediction);
        ctx.Log("openloop/repeat_last_mse", errors->repeat_last);
      }
    }
  }

  // Open-loop predictions of replayed sequences (the first half observed, the rest imagined) to
  // `path`: a video (.mp4, .webm) or a still of two frames (.png) for images, a PNG plot for
  // vectors, of the first `openloop_sequences` sequences; returns the prediction's error over 15
  // imagined steps of the first `measured` (0: `openloop_error_sequences`) beside the baseline's,
  // or nothing (and writes nothing) while no env stream holds a whole sequence. Draws from its own
  // generator, so training goes on as without it.
  std::optional<OpenLoopErrors> WriteOpenLoop(const std::string& path, int64_t measured = 0) {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (layout_.has_image() && ext != ".mp4" && ext != ".webm" && ext != ".png") {
      throw Error(
          "--out: an image run's open-loop prediction is a video (.mp4 or .webm) or a "
          "still of its last observed and last imagined frames (.png)");
    }
    if (!layout_.has_image() && ext != ".png")
      throw Error("--out: a vector run's open-loop prediction is a plot: expected .png");
    Rng rng(nn::StreamRng(static_cast<uint64_t>(config_.seed), 43));
    const int64_t shown = c_.openloop_sequences;
    if (measured == 0) measured = c_.openloop_error_sequences;
    const std::optional<Sequences> batch = Sample(rng, std::max(shown, measured));
    if (!batch) return std::nullopt;
    const int64_t T = c_.batch_length, context = T / 2;
    const Agent::Predicted p = agent_->OpenLoop(*batch, context);
    OpenLoop o{measured, T, context};
    torch::Tensor truth, pred;
    if (layout_.has_image()) {
      truth = (batch->image.cpu().to(torch::kFloat32) / 255.0).contiguous();
      pred = p.image.contiguous();
      o.height = layout_.height, o.width = layout_.width, o.channels = layout_.channels;
    } else {
      truth = batch->obs.cpu().contiguous();
      pred = p.vector.contiguous();
      o.dims = layout_.vector;
    }
    o.truth = {truth.data_ptr<float>(), static_cast<size_t>(truth.numel())};
    o.prediction = {pred.data_ptr<float>(), static_cast<size_t>(pred.numel())};
    const OpenLoopErrors errors = OpenLoopError(o, 15);
    o.sequences = shown;  // the first `shown` sequences are drawn
    if (layout_.has_image() && ext == ".png") {
      WriteOpenLoopStill(o, path);
    } else if (layout_.has_image()) {
      WriteOpenLoopVideo(o, path, config_.eval.video_fps);
    } else {
      WriteOpenLoopPlot(o, path);
    }
    return errors;
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    at::Generator gen = at::detail::createCPUGenerator(req.seed + 7);
    Agent::Carry carry = agent_->Initial(1);
    float first = 1.0f;
    return train::RunEpisodes(
        [&](const float* obs, int64_t, int64_t* discrete, float* continuous, bool deterministic) {
          // `obs` holds the env's observation bytes (uint8 pixels for an image)
          const auto [o, image] = Observations(obs, 1);
          const torch::Tensor a =
              agent_->Act(o, image, torch::full({1}, first), carry, !deterministic, gen);
          first = 0.0f;
          ToEnv(a.data_ptr<float>(), discrete, continuous);
        },
        config_.env, envs_.get(), req,
        [&] {
          carry = agent_->Initial(1);
          first = 1.0f;
        });
  }

  void Save(io::TensorDict& out) const override {
    agent_->Save(out);
    train::SaveEnvs(out, *envs_);
    out.Put<float>("run.prev_action", prev_action_);
    out.Put<float>("run.prev_reward", prev_reward_);
    out.Put<uint8_t>("run.is_first", is_first_);
    out.Put<uint8_t>("run.on_policy", on_policy_);
    out.Put<double>("run.credit", std::vector<double>{credit_});
    for (const auto& [name, t] : CarryTensors()) PutTensor(out, "run.carry." + name, t);
    nn::PutRng(out, "rng.replay_sampler", sampler_);
  }

  void Load(const io::TensorDict& in) override {
    agent_->Load(in);
    train::LoadEnvs(in, *envs_);
    in.Read<float>("run.prev_action", prev_action_);
    in.Read<float>("run.prev_reward", prev_reward_);
    in.Read<uint8_t>("run.is_first", is_first_);
    in.Read<uint8_t>("run.on_policy", on_policy_);
    credit_ = in.Scalar<double>("run.credit");
    for (auto& [name, t] : CarryTensors()) GetTensor(in, "run.carry." + name, t);
    nn::GetRng(in, "rng.replay_sampler", sampler_);
  }

  bool HasFiles() const override { return config_.checkpoint.save_replay_buffer; }
  void SaveFiles(const std::string& dir) const override {
    for (int i = 0; i < n_; ++i) replay_[i].Save(dir + "/replay_" + std::to_string(i));
  }
  void LoadFiles(const std::string& dir) override {
    for (int i = 0; i < n_; ++i) replay_[i].LoadInto(dir + "/replay_" + std::to_string(i));
  }
  io::TensorDict Parameters() const override { return agent_->Parameters(); }
  io::TensorDict Gradients() const override { return agent_->Gradients(); }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> CarryTensors() const {
    return {{"deter", carry_.deter}, {"stoch", carry_.stoch}, {"action", carry_.action}};
  }

  // n observations (the env's bytes) as the model's (vectors, images): one of them undefined.
  std::pair<torch::Tensor, torch::Tensor> Observations(const void* obs, int64_t n) const {
    void* data = const_cast<void*>(obs);
    if (layout_.has_image()) {
      return {torch::Tensor(),
              torch::from_blob(data, {n, layout_.height, layout_.width, layout_.channels},
                               torch::kUInt8)};
    }
    return {torch::from_blob(data, {n, layout_.vector}), torch::Tensor()};
  }

  // Whether this iteration's env steps passed a multiple of `every`.
  bool Crossed(const train::Context& ctx, int64_t every) const {
    return ctx.global_step / every != (ctx.global_step - n_) / every;
  }

  // One replay row of env i: its observation, the action and reward that led there, the flags.
  void AddStep(int i, const uint8_t* obs, uint8_t is_last, uint8_t is_terminal) {
    auto& r = replay_[i];
    if (layout_.has_image()) {
      r.Set<uint8_t>("image", {obs, static_cast<size_t>(obs_bytes_)});
    } else {
      r.Set<float>("obs",
                   {reinterpret_cast<const float*>(obs), static_cast<size_t>(layout_.vector)});
    }
    r.Set<float>("action", {prev_action_.data() + i * act_dim_, static_cast<size_t>(act_dim_)});
    r.Set<float>("reward", {&prev_reward_[i], 1});
    r.Set<uint8_t>("is_last", {&is_last, 1});
    const uint8_t first = is_last ? 0 : is_first_[i];
    r.Add({&first, 1}, {&is_terminal, 1});
  }

  // Actions for every env: the policy's for envs past the prefill, uniform random otherwise.
  // Writes the env's action blocks; returns what the model sees (one-hot, or in [-1, 1]).
  const std::vector<float>& ChooseActions(const uint8_t* obs) {
    std::vector<float>& action = action_;
    std::fill(action.begin(), action.end(), 0.0f);
    envs_->SampleActions();
    torch::Tensor policy;
    if (std::any_of(on_policy_.begin(), on_policy_.end(), [](uint8_t x) { return x != 0; })) {
      const auto [o, image] = Observations(obs, n_);
      const torch::Tensor first =
          torch::tensor(std::vector<float>(is_first_.begin(), is_first_.end()));
      policy = agent_->Act(o, image, first, carry_, true, agent_->generator()).contiguous();
    }
    for (int i = 0; i < n_; ++i) {
      float* a = action.data() + i * act_dim_;
      int64_t* d = envs_->discrete_actions() + i * space_.num_discrete();
      float* c = envs_->continuous_actions() + i * space_.num_continuous();
      if (on_policy_[i]) {
        std::copy_n(policy.data_ptr<float>() + i * act_dim_, act_dim_, a);
        ToEnv(a, d, c);
      } else if (discrete_) {
        a[d[0] - space_.start()] = 1.0f;
      } else {
        for (int64_t k = 0; k < act_dim_; ++k) {
          const double lo = space_.low()[k], hi = space_.high()[k];
          a[k] = static_cast<float>(2.0 * (c[k] - lo) / (hi - lo) - 1.0);
        }
      }
    }
    return action;
  }

  // A model action (one-hot, or in [-1, 1]) as the env's: class index, or rescaled to the bounds.
  void ToEnv(const float* a, int64_t* discrete, float* continuous) const {
    if (discrete_) {
      discrete[0] = space_.start() + (std::max_element(a, a + act_dim_) - a);
      return;
    }
    for (int64_t k = 0; k < act_dim_; ++k) {
      const double lo = space_.low()[k], hi = space_.high()[k];
      continuous[k] = static_cast<float>(lo + (a[k] + 1.0) * 0.5 * (hi - lo));
    }
  }

  // train_ratio replayed steps per env step, once past the prefill.
  void Learn(train::Context& ctx) {
    if (ctx.global_step < c_.prefill) return;
    const double per_step = c_.train_ratio / static_cast<double>(c_.batch_size * c_.batch_length);
    credit_ += per_step * n_;
    const double start = Now();
    while (credit_ >= 1.0) {
      const std::optional<Sequences> batch = Sample(sampler_, c_.batch_size);
      if (!batch) {  // no stream holds T steps yet (resumed without the replay)
        credit_ = 0.0;
        break;
      }
      for (const auto& [key, value] : agent_->Train(*batch)) sums_[key] += value;
      ++updates_;
      credit_ -= 1.0;
    }
    train_seconds_ += Now() - start;
    if (Crossed(ctx, c_.log_every)) Flush(ctx);
  }

  // B sequences of T steps on the model's device, each from a uniformly chosen env stream that
  // holds T steps, streams and starts drawn with `rng` only; none while no stream does.
  std::optional<Sequences> Sample(Rng& rng, int64_t B) {
    std::vector<int> ready;
    for (int i = 0; i < n_; ++i) {
      if (replay_[i].steps_per_env() >= c_.batch_length) ready.push_back(i);
    }
    if (ready.empty()) return std::nullopt;
    const int64_t T = c_.batch_length;
    torch::Tensor obs = torch::empty({B, T, layout_.vector});
    torch::Tensor image =
        layout_.has_image()
            ? torch::empty({B, T, layout_.height, layout_.width, layout_.channels}, torch::kUInt8)
            : torch::Tensor();
    torch::Tensor act = torch::empty({B, T, act_dim_});
    torch::Tensor rew = torch::empty({B, T}), flags = torch::empty({3, B, T});
    buffers::Batch one;
    for (int64_t b = 0; b < B; ++b) {
      replay_[ready[rng.Integers(static_cast<int64_t>(ready.size()))]].Sample(1, T, &one, rng);
      for (const auto& f : one.fields) {
        const uint8_t* src = f.data.data();
        if (f.name == "obs") std::memcpy(obs[b].data_ptr(), src, f.data.size());
        if (f.name == "image") std::memcpy(image[b].data_ptr(), src, f.data.size());
        if (f.name == "action") std::memcpy(act[b].data_ptr(), src, f.data.size());
        if (f.name == "reward") std::memcpy(rew[b].data_ptr(), src, f.data.size());
        const int flag = f.name == "is_first"      ? 0
                         : f.name == "is_last"     ? 1
                         : f.name == "is_terminal" ? 2
                                                   : -1;
        if (flag >= 0) {
          float* dst = flags[flag][b].data_ptr<float>();
          for (int64_t t = 0; t < T; ++t) dst[t] = src[t];
        }
      }
    }
    const torch::Device dev = agent_->device();
    return Sequences{layout_.vector > 0 ? obs.to(dev) : torch::Tensor(),
                     act.to(dev),
                     rew.to(dev),
                     flags[0].to(dev),
                     flags[1].to(dev),
                     flags[2].to(dev),
                     image.defined() ? image.to(dev) : image};
  }

  // The averages of the update metrics since the last row, and the throughputs.
  void Flush(train::Context& ctx) {
    const double now = Now(), seconds = now - last_flush_;
    if (updates_ > 0) {
      for (const auto& [key, sum] : sums_) ctx.Log(key, sum / static_cast<double>(updates_));
      ctx.Log("fps/train", static_cast<double>(updates_ * c_.batch_size * c_.batch_length) /
                               std::max(train_seconds_, 1e-9));
    }
    ctx.Log("fps/policy", static_cast<double>(ctx.global_step - last_step_) /
                              std::max(seconds - train_seconds_, 1e-9));
    ctx.Log("charts/SPS", ctx.sps());
    ctx.Log("train/updates", static_cast<double>(agent_->updates()));
    sums_.clear();
    updates_ = 0;
    train_seconds_ = 0;
    last_flush_ = now;
    last_step_ = ctx.global_step;
  }

  const train::TrainConfig config_;
  const algos::DreamerConfig c_;
  std::unique_ptr<env::VectorEnv> envs_;
  int n_;
  ObsLayout layout_;   // what the model observes: an image or a vector
  int64_t obs_bytes_;  // one env's observation   (bytes)
  const Space space_;  // the env's action space before clipping
  bool discrete_;
  int64_t act_dim_;  // model action width: classes (discrete) or dimensions
  std::unique_ptr<Agent> agent_;
  Agent::Carry carry_;                           // the policy's state per env
  std::vector<buffers::SequenceBuffer> replay_;  // one stream per env
  Rng sampler_;                                  // which stream a sequence comes from
  std::vector<float> action_;       // this step's actions as the model sees them (N x A)
  std::vector<float> prev_action_;  // action that led to each env's observation  (N x A)
  std::vector<float> prev_reward_;  // reward received with it                    (N)
  std::vector<uint8_t> is_first_;   // each env's observation starts an episode   (N)
  std::vector<uint8_t> on_policy_;  // the policy acts in this env's episode      (N)
  double credit_ = 0.0;             // updates owed (train_ratio's fractional part)
  int64_t iterations_;
  // metric averages between log rows
  std::map<std::string, double> sums_;
  int64_t updates_ = 0;
  double train_seconds_ = 0.0, last_flush_ = Now();
  int64_t last_step_ = 0;
};

std::unique_ptr<train::Algorithm> MakeDreamer(const train::TrainConfig& config,
                                              const std::string&) {
  SetComputeThreads(nn::TrainingThreads());
  KeepFreedMemory();
  return std::make_unique<DreamerRun>(config);
}

}  // namespace
}  // namespace rlforge::dreamer

// `rlforge dreamer openloop RUN --out FILE`: the open-loop prediction of a saved run's replay;
// `mse` gets the prediction's and the repeat-last baseline's error over `sequences` replayed
// sequences (0: the run's openloop_error_sequences; see WriteOpenLoop).
extern "C" void rlforge_dreamer_openloop(const std::string& run, const std::string& out,
                                         int64_t sequences, double mse[2]) {
  auto [config, algo] = rlforge::train::RestoreAlgorithm(run);
  auto* dreamer = dynamic_cast<rlforge::dreamer::DreamerRun*>(algo.get());
  if (dreamer == nullptr)
    throw rlforge::Error(run + ": a run of algo " + config.algo + ", not dreamer");
  const auto errors = dreamer->WriteOpenLoop(out, sequences);
  if (!errors) {
    throw rlforge::Error(run +
                         ": its checkpoint kept no replay buffer to predict (train with "
                         "checkpoint.save_replay_buffer: true)");
  }
  mse[0] = errors->prediction;
  mse[1] = errors->repeat_last;
}

extern "C" void rlforge_register() {
  rlforge::algos::AlgorithmInfo info = rlforge::algos::Find("dreamer");
  info.make = rlforge::dreamer::MakeDreamer;
  rlforge::algos::Register(std::move(info));
}
