// MAPPO and IPPO on the trainer: configs and their errors, learning beyond a random policy,
// determinism, resume, per-agent networks, two-head and continuous actions, evaluation videos,
// action masks and agents that leave early (masked_pick_v0).
#include "rlforge/env/multi_agent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "env/masked_pick.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::train {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

const std::string kConfigs = RLFORGE_SOURCE_DIR "/configs";

// A small MAPPO run: 8 envs x 25 steps per iteration, small nets (cheap under sanitizers).
TrainConfig Small(const std::string& algo, int64_t steps, std::vector<std::string> more = {}) {
  std::vector<std::string> settings = {"algo=" + algo,
                                       "progress=false",
                                       "report=false",
                                       "env.num_envs=8",
                                       "ppo.num_steps=25",
                                       "ppo.hidden=[16, 16]",
                                       "ppo.update_epochs=2",
                                       "ppo.num_minibatches=2",
                                       "eval.every_steps=0",
                                       "checkpoint.every_steps=0",
                                       "total_timesteps=" + std::to_string(steps)};
  settings.insert(settings.end(), more.begin(), more.end());
  return LoadConfig("", settings);
}

bool SameParameters(const fs::path& a, const fs::path& b) {
  const auto pa = CheckpointParameters((a / "checkpoints/latest.safetensors").string());
  const auto pb = CheckpointParameters((b / "checkpoints/latest.safetensors").string());
  if (pa.tensors().size() != pb.tensors().size() || pa.tensors().empty()) return false;
  for (const auto& [name, t] : pa.tensors()) {
    if (!pb.Has(name) || pb.Get(name).bytes != t.bytes) return false;
  }
  return true;
}

TEST(MultiAgentConfig, AlgorithmsAndEnvsMustMatchInKind) {
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=ppo", "env.id=simple_spread_v3"});
            })
                .find("algo: ppo is a single-agent algorithm but env.id simple_spread_v3 is a "
                      "multi-agent env (its algorithms: mappo, ippo, qmix, vdn, iql)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=mappo", "env.id=CartPole-v1"});
            }).find("multi-agent algorithm but env.id CartPole-v1 is a single-agent env"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=mappo", "env.normalize_observation=true"});
            }).find("env.normalize_observation"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=ippo", "mappo.reward=team"});
            }).find("mappo.reward"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=mappo", "env.kwargs.N=0"});
            }).find("kwarg 'N'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=qmix", "env.id=simple_reference_v3"});
            }).find("algo: qmix needs one Discrete action per agent"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              LoadConfig("", {"algo=vdn", "env.kwargs.continuous_actions=true"});
            }).find("algo: vdn needs one Discrete action per agent"),
            std::string::npos);
  const TrainConfig mappo = LoadConfig(kConfigs + "/mappo/simple_spread.yaml", {});
  EXPECT_TRUE(mappo.mappo.centralized_critic);
  const TrainConfig ippo = LoadConfig(kConfigs + "/ippo/simple_spread.yaml", {});
  EXPECT_FALSE(ippo.mappo.centralized_critic);
}

// The mean per-agent return of uniform random actions over `episodes` episodes.
double RandomReturn(int episodes) {
  auto envs = env::MakeMultiAgentVector("simple_spread_v3", 1);
  envs->Reset(99);
  double sum = 0.0;
  for (int done = 0; done < episodes;) {
    envs->SampleActions();
    envs->Step();
    if (!envs->has_final()[0]) continue;
    for (int i = 0; i < 3; ++i) sum += envs->final_returns()[i] / 3;
    ++done;
  }
  return sum / episodes;
}

TEST(Mappo, IppoAndMappoBeatARandomPolicyClearly) {
  const double random = RandomReturn(200);
  for (const char* algo : {"ippo", "mappo"}) {
    const fs::path dir = TempPath(std::string("learn_") + algo);
    TrainConfig c = Small(algo, 60000,
                          {"ppo.hidden=[32, 32]", "ppo.update_epochs=4", "ppo.learning_rate=2e-3",
                           "ppo.anneal_lr=false"});
    Train(c, dir.string());
    const auto [mean, std] = Evaluate(dir.string(), 50, true, 99);
    std::printf("%s after 60k steps: %.2f (random %.2f)\n", algo, mean, random);
    EXPECT_GT(mean, random + 4.0) << algo << " after 60k steps vs random " << random;
    fs::remove_all(dir);
  }
}

TEST(Mappo, SameSeedSameWeightsAndResumeEqualsUninterrupted) {
  rlforge::testing::RegisterMaskedPick();
  for (const std::vector<std::string>& variant : {std::vector<std::string>{},
                                                  {"env.id=masked_pick_v0"},
                                                  {"ppo.layer_norm=true"},
                                                  {"mappo.share_parameters=false"},
                                                  {"env.id=simple_reference_v3"},
                                                  {"env.kwargs.continuous_actions=true"}}) {
    const fs::path a = TempPath("ma_a"), b = TempPath("ma_b"), c = TempPath("ma_c");
    std::string name;
    for (const auto& s : variant) name += s + " ";
    Train(Small("mappo", 1000, variant), a.string());
    Train(Small("mappo", 1000, variant), b.string());
    EXPECT_TRUE(SameParameters(a, b)) << name;
    const TrainResult first = Train(Small("mappo", 1000, variant), c.string(), false, 400);
    EXPECT_TRUE(first.interrupted) << name;
    EXPECT_FALSE(SameParameters(a, c)) << name;
    Train(TrainConfig{}, c.string(), /*resume=*/true);
    EXPECT_TRUE(SameParameters(a, c)) << name;
    for (const auto& d : {a, b, c}) fs::remove_all(d);
  }
}

// A small value-decomposition run: 4 envs, learning after 500 steps, small nets.
TrainConfig SmallQ(const std::string& algo, int64_t steps, std::vector<std::string> more = {}) {
  std::vector<std::string> settings = {
      "algo=" + algo,       "progress=false",           "report=false",
      "env.num_envs=4",     "qmix.hidden=[16, 16]",     "qmix.learning_starts=500",
      "qmix.batch_size=32", "qmix.mixing_embed_dim=8",  "qmix.hypernet_embed=16",
      "eval.every_steps=0", "checkpoint.every_steps=0", "total_timesteps=" + std::to_string(steps)};
  settings.insert(settings.end(), more.begin(), more.end());
  return LoadConfig("", settings);
}

TEST(Qmix, VdnBeatsARandomPolicyClearly) {
  const double random = RandomReturn(200);
  const fs::path dir = TempPath("learn_vdn");
  Train(SmallQ("vdn", 40000, {"qmix.hidden=[32, 32]", "qmix.train_frequency=2"}), dir.string());
  const auto [mean, std] = Evaluate(dir.string(), 50, true, 99);
  std::printf("vdn after 40k steps: %.2f (random %.2f)\n", mean, random);
  EXPECT_GT(mean, random + 4.0);
  fs::remove_all(dir);
}

TEST(Qmix, SameSeedSameWeightsAndResumeWithItsReplayEqualsUninterrupted) {
  rlforge::testing::RegisterMaskedPick();
  for (const char* algo : {"qmix", "vdn", "iql", "qmix masked"}) {
    const fs::path a = TempPath("q_a"), b = TempPath("q_b"), c = TempPath("q_c");
    std::vector<std::string> keep = {"checkpoint.save_replay_buffer=true"};
    if (std::string(algo) == "qmix masked") algo = "qmix", keep.push_back("env.id=masked_pick_v0");
    Train(SmallQ(algo, 1000, keep), a.string());
    Train(SmallQ(algo, 1000, keep), b.string());
    EXPECT_TRUE(SameParameters(a, b)) << algo;
    const TrainResult first = Train(SmallQ(algo, 1000, keep), c.string(), false, 800);
    EXPECT_TRUE(first.interrupted) << algo;
    EXPECT_FALSE(SameParameters(a, c)) << algo;
    Train(TrainConfig{}, c.string(), /*resume=*/true);
    EXPECT_TRUE(SameParameters(a, c)) << algo;
    const auto p = CheckpointParameters((a / "checkpoints/latest.safetensors").string());
    EXPECT_TRUE(p.Has("agent.0.weight")) << algo;
    EXPECT_EQ(p.Has("mixer.hyper_w_1.2.weight"), std::string(algo) == "qmix") << algo;
    for (const auto& d : {a, b, c}) fs::remove_all(d);
  }
}

TEST(Mappo, PerAgentNetworksAreNamedByAgentAndLearnApart) {
  const fs::path dir = TempPath("per_agent");
  Train(Small("ippo", 400, {"mappo.share_parameters=false"}), dir.string());
  const auto p = CheckpointParameters((dir / "checkpoints/latest.safetensors").string());
  for (const char* agent : {"agent_0", "agent_1", "agent_2"}) {
    EXPECT_TRUE(p.Has(std::string(agent) + ".actor.0.weight")) << agent;
    EXPECT_TRUE(p.Has(std::string(agent) + ".critic.4.bias")) << agent;
  }
  EXPECT_NE(p.Get("agent_0.actor.0.weight").bytes, p.Get("agent_1.actor.0.weight").bytes);
  fs::remove_all(dir);
}

TEST(Mappo, EvaluationLogsThePerAgentScaleAndRecordsVideo) {
  const fs::path dir = TempPath("ma_eval");
  TrainConfig c =
      Small("mappo", 400,
            {"eval.every_steps=200", "eval.episodes=2", "eval.video=true", "env.id=simple_tag_v3"});
  Train(c, dir.string());
  std::ifstream csv(dir / "metrics.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  for (const char* tag : {"charts/episodic_return", "eval/episodic_return", "losses/value_loss",
                          "charts/value_norm_std", "charts/team_episodic_return",
                          "charts/adversary_2/episodic_return", "charts/agent_0/episodic_return"}) {
    EXPECT_NE(text.find(std::string(",") + tag + ","), std::string::npos) << tag;
  }
  bool video = false;
  for (const auto& f : fs::directory_iterator(dir / "videos")) video |= f.file_size() > 1000;
  EXPECT_TRUE(video);
  fs::remove_all(dir);
}

// masked_pick_v0's per-agent returns of uniform actions among the allowed ones and of the best
// policy (the highest allowed action), over `episodes` episodes.
std::pair<double, double> MaskedPickReturns(int episodes) {
  rlforge::testing::RegisterMaskedPick();
  std::pair<double, double> sums;
  for (const bool best : {false, true}) {
    auto envs = env::MakeMultiAgentVector("masked_pick_v0", 1);
    envs->Reset(99);
    for (int done = 0; done < episodes;) {
      envs->SampleActions();
      for (int i = 0; i < 2 && best; ++i) {
        const uint8_t* mask = envs->action_masks() + i * 4;
        for (int a = 0; a < 4; ++a)
          envs->discrete_actions()[i] = mask[a] ? a : envs->discrete_actions()[i];
      }
      envs->Step();
      if (!envs->has_final()[0]) continue;
      (best ? sums.second : sums.first) +=
          (envs->final_returns()[0] + envs->final_returns()[1]) / 2;
      ++done;
    }
  }
  return {sums.first / episodes, sums.second / episodes};
}

// Step refuses masked actions, so every run (training and evaluation) acting on a masked one
// would stop with an Error; each learner closes most of the gap from random to the best policy.
TEST(MultiAgentMasks, EveryLearnerActsOnAllowedActionsAndLearnsTheBestOne) {
  const auto [random, best] = MaskedPickReturns(400);
  ASSERT_GT(best, random + 1.0);
  for (const char* algo : {"mappo", "ippo", "qmix", "vdn", "iql"}) {
    const fs::path dir = TempPath(std::string("masked_") + algo);
    const bool q =
        std::string(algo) == "qmix" || algo == std::string("vdn") || algo == std::string("iql");
    const std::vector<std::string> env = {"env.id=masked_pick_v0", "eval.every_steps=4000",
                                          "eval.episodes=5"};
    TrainConfig c = q ? SmallQ(algo, 12000, env) : Small(algo, 12000, env);
    Train(c, dir.string());
    const auto [mean, std] = Evaluate(dir.string(), 100, true, 5);
    std::printf("%s on masked_pick_v0: %.2f (random %.2f, best %.2f)\n", algo, mean, random, best);
    EXPECT_GT(mean, random + 0.7 * (best - random)) << algo;
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace rlforge::train
