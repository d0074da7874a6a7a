#include "rlforge/train/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "rlforge/io/metrics.h"
#include "rlforge/io/video.h"
#include "test_util.h"

namespace rlforge::train {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

const std::string kConfigs = RLFORGE_SOURCE_DIR "/configs";

TEST(Config, DefaultsAreCleanRLs) {
  const TrainConfig c = LoadConfig("", {});
  EXPECT_EQ(c.env.id, "CartPole-v1");
  EXPECT_EQ(c.env.num_envs, 4);
  EXPECT_EQ(c.ppo.num_steps, 128);
  EXPECT_EQ(c.ppo.learning_rate, 2.5e-4);
  EXPECT_EQ(c.total_timesteps, 500000);
  // the default preset says the same
  EXPECT_EQ(ToYaml(LoadConfig(kConfigs + "/ppo/cartpole.yaml", {})), ToYaml(c));
  const TrainConfig a2c = LoadConfig("", {"algo=a2c"});
  EXPECT_TRUE(a2c.ppo.a2c);
  EXPECT_EQ(a2c.ppo.num_steps, 5);
}

TEST(Config, ErrorsNameTheKeyPath) {
  EXPECT_EQ(ErrorOf([] { LoadConfig("", {"ppo.clip_coef=abc"}); }),
            "ppo.clip_coef: expected a number in (0.0, 1.0], got \"abc\"");
  EXPECT_EQ(ErrorOf([] { LoadConfig("", {"ppo.clip_coef=1.5"}); }),
            "ppo.clip_coef: expected a number in (0.0, 1.0], got 1.5");
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"ppo.clip_coeff=0.1"});
            }).find("unknown key 'ppo.clip_coeff'; did you mean 'ppo.clip_coef'?"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"ppo.num_steps=2.5"});
            }).find("ppo.num_steps: expected an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"ppo.hidden=64"});
            }).find("ppo.hidden: expected a list of integers"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"ppo.norm_adv=maybe"});
            }).find("ppo.norm_adv: expected true or false"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=td3"});
            }).find("algo: expected one of ppo, a2c, dqn, sac"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([] { LoadConfig("", {"env.id=CartPol-v1"}); }).find("did you mean 'CartPole-v1'"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf([] { LoadConfig("", {"env.kwargs.gravity=3"}); }).find("unknown kwarg 'gravity'"),
      std::string::npos);
  EXPECT_NE(ErrorOf([] { LoadConfig("", {"ppo=3"}); }).find("ppo: expected a mapping"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { LoadConfig("", {"novalue"}); }).find("expected key.path=value"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([] { LoadConfig("/nonexistent.yaml", {}); }).find("/nonexistent.yaml: cannot open"),
      std::string::npos);
  const fs::path bad = TempPath("bad.yaml");
  std::ofstream(bad) << "ppo:\n  clip_coef: [1, 2\n";
  EXPECT_NE(ErrorOf([&] { LoadConfig(bad.string(), {}); }).find("YAML syntax error at line"),
            std::string::npos);
  fs::remove(bad);
}

TEST(Config, IntegersThatDoNotFitAreErrorsNamingTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"total_timesteps=1e30", "total_timesteps: 1e30 is too large for an integer"},
      {"total_timesteps=1e19", "total_timesteps"},
      {"total_timesteps=9223372036854775807",
       "total_timesteps: expected an integer in [1.0, 1e+16]"},
      {"total_timesteps=99999999999999999999", "total_timesteps"},
      {"ppo.num_steps=1e18", "ppo.num_steps:"},
      {"ppo.num_steps=3000000000", "ppo.num_steps: 3000000000 is out of range for an integer"},
      // layer sizes whose parameters cannot fit are an error, not std::bad_alloc
      {"ppo.hidden=[100000000, 100000000]",
       "ppo.hidden: these layer sizes need 2e+16 parameters, more than the limit"},
      {"ppo.hidden=[1000000000]", "ppo.hidden:"},
  };
  for (const auto& [setting, error] : cases)
    EXPECT_NE(ErrorOf([&] { LoadConfig("", {setting}); }).find(error), std::string::npos)
        << setting;
  EXPECT_EQ(LoadConfig("", {"total_timesteps=2e5"}).total_timesteps, 200000);
}

TEST(Config, DuplicateKeysAreRefused) {
  const fs::path file = TempPath("dup.yaml");
  std::ofstream(file) << "seed: 1\nppo:\n  num_steps: 8\n  num_steps: 16\n";
  EXPECT_NE(ErrorOf([&] { LoadConfig(file.string(), {}); }).find("duplicate key 'ppo.num_steps'"),
            std::string::npos);
  std::ofstream(file) << "seed: 1\nseed: 2\n";
  EXPECT_NE(ErrorOf([&] { LoadConfig(file.string(), {}); }).find("duplicate key 'seed'"),
            std::string::npos);
  fs::remove(file);
}

TEST(Config, TheAlgorithmsDefaultsIncludeAnEnvItCanRun) {
  // what `config show sac` prints is what `train --set algo=sac` runs
  const TrainConfig sac = LoadConfig("", {"algo=sac"});
  EXPECT_EQ(sac.env.id, "Pendulum-v1");
  EXPECT_EQ(sac.env.num_envs, 1);
  EXPECT_EQ(LoadConfig("", {"algo=pebble"}).env.id, "Pendulum-v1");
  EXPECT_EQ(LoadConfig("", {"algo=sac", "env.id=HalfCheetah-v4"}).env.id, "HalfCheetah-v4");
  EXPECT_EQ(LoadConfig("", {"algo=dqn"}).env.id, "CartPole-v1");
}

TEST(Config, NumbersAreWrittenAsYamlAndPythonReadNumbers) {
  EXPECT_EQ(FormatNumber(10.0, DType::kFloat64), "10.0");  // Python: repr(10.0)
  EXPECT_EQ(FormatNumber(-10.0, DType::kFloat32), "-10.0");
  EXPECT_EQ(FormatNumber(2.5e-4, DType::kFloat64), "0.00025");
  EXPECT_EQ(FormatNumber(1e-5, DType::kFloat64), "1e-05");
  EXPECT_EQ(FormatNumber(1e16, DType::kFloat64), "1e+16");
  EXPECT_EQ(FormatNumber(3.4028234663852886e38, DType::kFloat32), "3.4028235e+38");
  EXPECT_EQ(config::YamlNumber(1e-5), "1.0e-05");  // YAML 1.1 (PyYAML) needs the dot
  EXPECT_EQ(config::YamlNumber(10.0), "10.0");
  // every float in a resolved config is a YAML 1.1 float, not a string
  TrainConfig c = LoadConfig("", {"ppo.learning_rate=1e-5", "env.clip_reward=10"});
  const std::string yaml = ToYaml(c);
  EXPECT_NE(yaml.find("learning_rate: 1.0e-05"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("clip_reward: 10.0"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("e+01"), std::string::npos) << yaml;
  EXPECT_EQ(LoadConfigText(yaml, "x").ppo.learning_rate, 1e-5);
}

TEST(Config, ResolvedYamlRoundTrips) {
  const TrainConfig c =
      LoadConfig(kConfigs + "/ppo/cartpole_fast.yaml", {"env.kwargs.sutton_barto_reward=true"});
  const fs::path p = TempPath("resolved.yaml");
  std::ofstream(p) << ToYaml(c);
  EXPECT_EQ(ToYaml(LoadConfig(p.string(), {})), ToYaml(c));
  EXPECT_EQ(LoadConfig(p.string(), {}).env.kwargs.at("sutton_barto_reward"), "true");
  fs::remove(p);
}

TrainConfig Small(int64_t steps) {
  TrainConfig c = LoadConfig(kConfigs + "/ppo/cartpole_fast.yaml", {"progress=false"});
  c.total_timesteps = steps;
  c.eval.every_steps = 2048;
  c.eval.episodes = 2;
  c.checkpoint.every_steps = 0;
  return c;
}

bool SameParameters(const std::string& a, const std::string& b) {
  const auto pa = CheckpointParameters(a), pb = CheckpointParameters(b);
  if (pa.tensors().size() != pb.tensors().size() || pa.tensors().empty()) return false;
  for (const auto& [name, t] : pa.tensors()) {
    if (!pb.Has(name) || pb.Get(name).bytes != t.bytes || pb.Get(name).shape != t.shape)
      return false;
  }
  return true;
}

TEST(Train, PpoLearnsCartPoleWithin30kSteps) {
  // A majority of 5 seeds, so that a last-bit change in the arithmetic (which moves every
  // trajectory) does not turn one unlucky seed into a failure: about 85% of seeds reach 195.
  int learned = 0;
  fs::path dir, best;
  double best_return = -1.0;
  for (int seed = 1; seed <= 5; ++seed) {
    dir = TempPath("smoke" + std::to_string(seed));
    const TrainResult r = Train(LoadConfig(kConfigs + "/ppo/cartpole_fast.yaml",
                                           {"progress=false", "seed=" + std::to_string(seed)}),
                                dir.string());
    EXPECT_LE(r.steps, 30000);
    learned += r.last_mean_return >= 195.0;
    if (r.last_mean_return > best_return) best_return = r.last_mean_return, best = dir;
  }
  EXPECT_GE(learned, 3) << "seeds 1-5 whose last-20 mean reached 195";
  for (const char* f : {"config.yaml", "metrics.csv", "checkpoints/latest.safetensors",
                        "checkpoints/best.safetensors"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  std::ifstream csv(dir / "metrics.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  for (const char* tag : {"charts/episodic_return", "charts/SPS", "losses/value_loss",
                          "losses/policy_loss", "losses/entropy", "losses/approx_kl",
                          "losses/clipfrac", "losses/explained_variance", "eval/episodic_return"}) {
    EXPECT_NE(text.find(std::string(",") + tag + ","), std::string::npos) << tag;
  }
  const auto [mean, std] = Evaluate(best.string(), 5, true, 123);
  EXPECT_GE(mean, 195.0);
  for (int seed = 1; seed <= 5; ++seed) fs::remove_all(TempPath("smoke" + std::to_string(seed)));
}

TEST(Train, EvaluationVideosWithAndWithoutOverlay) {
  const fs::path dir = TempPath("video");
  Train(LoadConfig("", {"progress=false", "total_timesteps=1024", "eval.every_steps=512",
                        "eval.episodes=2", "eval.video=true", "eval.video_format=webm"}),
        dir.string());
  for (const char* f : {"videos/step_512.webm", "videos/step_1024.webm"}) {
    ASSERT_TRUE(fs::exists(dir / f)) << f;
    const io::VideoInfo info = io::DecodeVideo((dir / f).string());
    EXPECT_EQ(info.codec, "vp9");
    EXPECT_EQ(info.width, 600);
    EXPECT_GT(info.frames, 5) << "one episode: its reset frame and every step";
  }
  // rlforge eval --video: the first 2 episodes, each its reset frame plus one frame per step
  const fs::path bare = dir / "bare.mp4", over = dir / "overlay.mp4";
  Recording rec{bare.string(), 2, false, 30};
  Evaluate(dir.string(), 3, true, 7, &rec);
  rec = {over.string(), 2, true, 30};
  Evaluate(dir.string(), 3, true, 7, &rec);
  const io::VideoInfo a = io::DecodeVideo(bare.string()), b = io::DecodeVideo(over.string());
  EXPECT_EQ(a.codec, "h264");
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_GT(a.frames, 4);
  EXPECT_NE(fs::file_size(bare), fs::file_size(over)) << "the overlay is in the pixels";
  fs::remove_all(dir);
}

TEST(Train, A2cImproves) {
  const fs::path dir = TempPath("a2c");
  const TrainResult r = Train(
      LoadConfig(kConfigs + "/a2c/cartpole.yaml", {"progress=false", "total_timesteps=30000"}),
      dir.string());
  EXPECT_GE(r.last_mean_return, 100.0);  // a random policy averages about 22
  fs::remove_all(dir);
}

// A bandit with two action heads: reward 1 when head 0 picks 1 and head 1 picks 2.
class TwoHeads final : public env::Env {
 public:
  TwoHeads() : obs_(Space::Box(-1.0, 1.0, {2})), act_(Space::MultiDiscrete({2, 3})) {}
  const Space& observation_space() const override { return obs_; }
  const Space& action_space() const override { return act_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override {
    SeedRng(seed);
    Observe(obs);
  }
  env::StepResult Step(const Action& a, void* obs) override {
    CheckAction(a);
    Observe(obs);
    return {a.discrete[0] == 1 && a.discrete[1] == 2 ? 1.0 : 0.0, false, false};
  }
  void Observe(void* obs) const override {
    static_cast<float*>(obs)[0] = 0.5f;
    static_cast<float*>(obs)[1] = -0.5f;
  }
  env::Image Render() const override { return {1, 1, {0, 0, 0}}; }
  std::vector<double> GetState() const override { return {}; }
  void SetState(std::span<const double>) override {}

 private:
  Space obs_, act_;
};

TEST(Train, PpoLearnsMultiDiscreteActions) {
  env::Register({{"TwoHeads-v0", 8, std::nullopt}, "test bandit", {}, [](const env::KwargReader&) {
                   return std::unique_ptr<env::Env>(std::make_unique<TwoHeads>());
                 }});
  const fs::path dir = TempPath("multidiscrete");
  const TrainResult r =
      Train(LoadConfig("", {"env.id=TwoHeads-v0", "total_timesteps=12000", "progress=false",
                            "ppo.learning_rate=0.003", "eval.every_steps=0"}),
            dir.string());
  EXPECT_GE(r.last_mean_return, 6.0);  // random play averages 8 * 1/6
  fs::remove_all(dir);
}

TEST(Train, SameSeedSameWeightsAndResumeEqualsUninterrupted) {
  const fs::path a = TempPath("det_a"), b = TempPath("det_b"), c = TempPath("det_c");
  Train(Small(10240), a.string());
  Train(Small(10240), b.string());
  EXPECT_TRUE(SameParameters((a / "checkpoints/latest.safetensors").string(),
                             (b / "checkpoints/latest.safetensors").string()));
  // 5k, stop, resume to 10k: the same weights bit for bit
  const TrainResult first = Train(Small(10240), c.string(), false, 5120);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.steps, 5120);
  EXPECT_FALSE(SameParameters((a / "checkpoints/latest.safetensors").string(),
                              (c / "checkpoints/latest.safetensors").string()));
  const TrainResult second = Train(TrainConfig{}, c.string(), /*resume=*/true);
  EXPECT_EQ(second.steps, 10240);
  EXPECT_TRUE(SameParameters((a / "checkpoints/latest.safetensors").string(),
                             (c / "checkpoints/latest.safetensors").string()));
  // a different seed gives different weights
  TrainConfig other = Small(10240);
  other.seed = 2;
  fs::remove_all(b);
  Train(other, b.string());
  EXPECT_FALSE(SameParameters((a / "checkpoints/latest.safetensors").string(),
                              (b / "checkpoints/latest.safetensors").string()));
  for (const auto& d : {a, b, c}) fs::remove_all(d);
}

namespace {
TrainConfig DqnCartPole(int64_t steps) {
  return LoadConfig(
      kConfigs + "/dqn/cartpole.yaml",
      {"progress=false", "total_timesteps=" + std::to_string(steps), "dqn.learning_starts=1000",
       "dqn.exploration_fraction=0.2", "eval.every_steps=0", "checkpoint.every_steps=0"});
}
}  // namespace

// The tests named *Learns* run in the plain build only: make test-asan skips them (the Makefile's
// ASAN_SKIP) and runs the resume tests beside them, which take the same code paths.
TEST(Train, DqnLearnsCartPole) {
  const fs::path a = TempPath("dqn_learns");
  const TrainResult full = Train(DqnCartPole(30000), a.string());
  EXPECT_GE(full.last_mean_return, 100.0);  // a random policy averages about 22
  fs::remove_all(a);
}

TEST(Train, DqnResumesExactlyWithItsReplayBuffer) {
  const fs::path a = TempPath("dqn_a"), b = TempPath("dqn_b");
  Train(DqnCartPole(4000), a.string());
  // stop at 2500, resume (replay buffer restored) to 4000: identical weights
  const TrainResult first = Train(DqnCartPole(4000), b.string(), false, 2500);
  EXPECT_TRUE(first.interrupted);
  EXPECT_TRUE(fs::exists(b / "checkpoints/files_2500/replay/buffer.json"));
  Train(TrainConfig{}, b.string(), /*resume=*/true);
  EXPECT_TRUE(SameParameters((a / "checkpoints/latest.safetensors").string(),
                             (b / "checkpoints/latest.safetensors").string()));
  // DQN needs discrete actions
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=dqn", "env.id=Pendulum-v1"});
            })
                .find("algo: dqn needs a Discrete action space, but env.id Pendulum-v1 has "
                      "Box(-2.0, 2.0, (1,), float32)"),
            std::string::npos);
  for (const auto& d : {a, b}) fs::remove_all(d);
}

TEST(Train, SacLearnsPendulum) {
  const fs::path a = TempPath("sac_a");
  const TrainResult r =
      Train(LoadConfig(kConfigs + "/sac/pendulum_fast.yaml",
                       {"progress=false", "total_timesteps=5000", "eval.every_steps=0"}),
            a.string());
  EXPECT_EQ(r.steps, 5000);
  const auto [mean, std] = Evaluate(a.string(), 3, true, 7);
  EXPECT_GT(mean, -700.0);  // random actions average about -1200
  fs::remove_all(a);
}

TEST(Train, SacResumesExactly) {
  const fs::path b = TempPath("sac_b"), c = TempPath("sac_c");
  auto small = [] {
    return LoadConfig(kConfigs + "/sac/pendulum_fast.yaml",
                      {"progress=false", "total_timesteps=1600", "sac.learning_starts=1000",
                       "eval.every_steps=0"});
  };
  Train(small(), b.string());
  Train(small(), c.string(), false, 1300);
  Train(TrainConfig{}, c.string(), /*resume=*/true);
  EXPECT_TRUE(SameParameters((b / "checkpoints/latest.safetensors").string(),
                             (c / "checkpoints/latest.safetensors").string()));
  EXPECT_NE(
      ErrorOf([] {
        LoadConfig("", {"algo=sac", "env.id=CartPole-v1"});
      }).find("algo: sac needs a bounded Box action space, but env.id CartPole-v1 has Discrete(2)"),
      std::string::npos);
  for (const auto& d : {b, c}) fs::remove_all(d);
}

TEST(Train, AResumeWithoutTheReplayBufferRefillsItBeforeLearning) {
  const fs::path d = TempPath("refill");
  const TrainConfig config =
      LoadConfig(kConfigs + "/sac/pendulum_fast.yaml",
                 {"progress=false", "total_timesteps=2600", "sac.learning_starts=500",
                  "eval.every_steps=0", "checkpoint.save_replay_buffer=false"});
  Train(config, d.string(), false, 1500);
  Train(TrainConfig{}, d.string(), /*resume=*/true);
  // critic losses are logged every 100 updates: before the stop, none while the 500 steps refill
  // the empty buffer, then again
  std::ifstream csv(d / "metrics.csv");
  std::vector<int64_t> steps;
  for (std::string line; std::getline(csv, line);)
    if (line.find(",losses/qf1_loss,") != std::string::npos)
      steps.push_back(std::stoll(line.substr(0, line.find(','))));
  const auto count = [&](int64_t lo, int64_t hi) {
    return std::count_if(steps.begin(), steps.end(), [&](int64_t s) { return s > lo && s < hi; });
  };
  EXPECT_GT(count(500, 1501), 5);
  EXPECT_EQ(count(1500, 2000), 0);
  EXPECT_GT(count(2000, 2601), 3);
  fs::remove_all(d);
}

TEST(Train, BadCheckpointsAreClearErrors) {
  const fs::path dir = TempPath("ckpt");
  Train(Small(2048), dir.string());
  const fs::path latest = dir / "checkpoints/latest.safetensors";
  // a crash mid-save leaves a temp file beside the checkpoint; the checkpoint still loads
  std::ofstream(latest.string() + ".tmp.99999") << "partial";
  EXPECT_NO_THROW(CheckpointParameters(latest.string()));
  // truncated, bit-flipped and foreign files
  const fs::path cut = dir / "cut.safetensors";
  fs::copy_file(latest, cut);
  fs::resize_file(cut, fs::file_size(cut) - 100);
  EXPECT_NE(ErrorOf([&] { CheckpointParameters(cut.string()); }).find("cut.safetensors: tensor"),
            std::string::npos);
  const fs::path flipped = dir / "flipped.safetensors";
  fs::copy_file(latest, flipped);
  {
    std::fstream f(flipped, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(flipped) - 50));
    f.put('\x7f');
  }
  EXPECT_NE(
      ErrorOf([&] { CheckpointParameters(flipped.string()); }).find("do not match their checksum"),
      std::string::npos);
  std::ofstream(dir / "junk.safetensors") << "this is not a checkpoint";
  EXPECT_NE(ErrorOf([&] {
              CheckpointParameters((dir / "junk.safetensors").string());
            }).find("junk.safetensors: not a safetensors file"),
            std::string::npos);
  // a LibTorch archive from an older rlforge (a zip) is named as such
  std::ofstream(dir / "old.pt") << "PK\x03\x04" << std::string(200, '\0');
  EXPECT_NE(ErrorOf([&] {
              CheckpointParameters((dir / "old.pt").string());
            }).find("a LibTorch archive (.pt) from an older rlforge"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              CheckpointParameters((dir / "none.safetensors").string());
            }).find("no such checkpoint"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              Train(TrainConfig{}, (dir / "empty").string(), true);
            }).find("no such checkpoint"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { Evaluate(dir.string(), 0, true, 0); }).find("--episodes"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(Train, ARunDirThatHoldsARunIsRefusedUnlessOverwritten) {
  const fs::path dir = TempPath("reuse");
  Train(Small(2048), dir.string());
  const auto best = fs::last_write_time(dir / "checkpoints/best.safetensors");
  EXPECT_NE(ErrorOf([&] { Train(Small(2048), dir.string()); })
                .find("already holds a run; continue it with --resume " + dir.string() +
                      ", choose another --run-dir, or clear it with --overwrite"),
            std::string::npos);
  EXPECT_EQ(fs::last_write_time(dir / "checkpoints/best.safetensors"), best) << "untouched";
  // --overwrite: the old run is gone (its best model, metrics, event files), a new one is there
  std::ofstream(dir / "checkpoints/stale.txt") << "old";
  TrainConfig other = Small(1024);
  other.eval.every_steps = 0;
  Train(other, dir.string(), false, 0, /*overwrite=*/true);
  EXPECT_FALSE(fs::exists(dir / "checkpoints/stale.txt"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints/best.safetensors"));
  int events = 0;
  for (const auto& e : fs::directory_iterator(dir))
    events += e.path().filename().string().rfind("events.out", 0) == 0;
  EXPECT_EQ(events, 1);
  fs::remove_all(dir);
}

TEST(Train, ResumingAFinishedRunSaysSoAndTouchesNothing) {
  const fs::path dir = TempPath("finished");
  const TrainResult done = Train(Small(2048), dir.string());
  ASSERT_TRUE(done.has_returns);
  const auto files = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir)) names.push_back(e.path());
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto before = files();
  const TrainResult again = Train(TrainConfig{}, dir.string(), /*resume=*/true);
  EXPECT_TRUE(again.already_complete);
  EXPECT_EQ(again.steps, done.steps);
  EXPECT_EQ(again.last_mean_return, done.last_mean_return);  // the real figure, not 0
  EXPECT_EQ(files(), before);                                // no new event file
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlforge::train
