// PEBBLE: k-NN intrinsic reward, Bradley-Terry loss and gradients, each query scheme, each
// teacher preset, relabeling, skip/equal accounting, bad configs, and a smoke run of every phase
// with resume.
#include "rlforge/algos/pebble/pebble.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "rlforge/buffers/flexible_buffer.h"
#include "rlforge/core/error.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::algos::pebble {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

TEST(Pebble, KnnDistanceMatchesBruteForce) {
  torch::manual_seed(3);
  const torch::Tensor reference = torch::randn({40, 3});
  const torch::Tensor obs = reference.slice(0, 0, 7);  // states that are in the reference set
  const torch::Tensor r = KnnDistance(obs, reference, 5);
  for (int64_t i = 0; i < obs.size(0); ++i) {
    std::vector<double> d;
    for (int64_t j = 0; j < reference.size(0); ++j)
      d.push_back((obs[i] - reference[j]).pow(2).sum().sqrt().item<double>());
    std::sort(d.begin(), d.end());  // d[0] = 0 is the state itself
    EXPECT_NEAR(r[i].item<double>(), d[5], 1e-5);
  }
}

TEST(Pebble, BradleyTerryLossAndGradientsMatchHandValues) {
  const torch::Tensor r0 = torch::tensor({1.0, 0.0}, torch::requires_grad());
  const torch::Tensor r1 = torch::tensor({2.0, 0.0}, torch::requires_grad());
  const torch::Tensor y = torch::tensor({1.0, 0.5});
  const torch::Tensor loss = BradleyTerryLoss(r0, r1, y);
  // pair 1: -log sigmoid(2 - 1) = log(1 + e^-1); pair 2: -log(1/2) (equal, equal returns)
  const double l1 = std::log(1 + std::exp(-1.0)), l2 = std::log(2.0);
  EXPECT_NEAR(loss.item<double>(), (l1 + l2) / 2, 1e-6);
  loss.backward();
  const double p1 = 1 / (1 + std::exp(-1.0));  // P[segment 1] for pair 1
  EXPECT_NEAR(r1.grad()[0].item<double>(), -(1 - p1) / 2, 1e-6);
  EXPECT_NEAR(r0.grad()[0].item<double>(), (1 - p1) / 2, 1e-6);
  EXPECT_NEAR(r1.grad()[1].item<double>(), 0.0, 1e-7);  // p = 0.5 = y
}

TEST(Pebble, QuerySchemesPickWhatTheirDefinitionsSay) {
  // 4 candidates, 3 members: P[segment 1 preferred]
  const torch::Tensor p = torch::tensor({{0.5, 0.9, 0.1, 0.5},   //
                                         {0.5, 0.1, 0.1, 0.45},  //
                                         {0.5, 0.5, 0.1, 0.55}});
  // candidate 1 disagrees most; candidate 0 (and 3) have the most entropy, 2 the least
  EXPECT_EQ(SelectQueries(Scheme::kDisagreement, p, torch::zeros({4, 1}), {}, 1),
            std::vector<int64_t>{1});
  const auto entropy = SelectQueries(Scheme::kEntropy, p, torch::zeros({4, 1}), {}, 2);
  EXPECT_EQ(entropy[0], 0);
  EXPECT_EQ(entropy[1], 3);
  EXPECT_NEAR(Disagreement(p)[2].item<double>(), 0.0, 1e-7);
  // k-center: features on a line; labelled pair at 0 -> farthest is 10, then 5 (middle)
  const torch::Tensor f = torch::tensor({{1.0}, {10.0}, {5.0}, {9.0}});
  EXPECT_EQ(SelectQueries(Scheme::kKCenter, p, f, torch::tensor({{0.0}}), 2),
            (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(KCenter(f, {}, 1).size(), 1u);
  // k-center + disagreement: the top half by disagreement is {1, 3}; farthest from 0 is 1
  EXPECT_EQ(SelectQueries(Scheme::kKCenterDisagreement, p, f, torch::tensor({{0.0}}), 1),
            std::vector<int64_t>{1});
  // k-center + entropy: top half by entropy is {0, 3}: farthest from the labelled 0 is 3 (at 9)
  EXPECT_EQ(SelectQueries(Scheme::kKCenterEntropy, p, f, torch::tensor({{0.0}}), 1),
            std::vector<int64_t>{3});
  EXPECT_EQ(SelectQueries(Scheme::kUniform, p, f, {}, 3), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(SelectQueries(Scheme::kUniform, {}, {}, {}, 2), (std::vector<int64_t>{0, 1}));
  EXPECT_NE(ErrorOf([] { ParseScheme("random"); }).find("expected uniform|disagreement"),
            std::string::npos);
}

// P pairs of H = 10 steps; segment 1's per-step reward is segment 0's plus `gap`.
QueryRewards Pairs(int64_t pairs, double gap, double base = 1.0) {
  QueryRewards q{pairs, 10, {}, {}};
  Rng rng(11);
  for (int64_t i = 0; i < pairs * 10; ++i) {
    const float r = static_cast<float>(base + rng.Uniform(-0.1, 0.1));
    q.reward0.push_back(r);
    q.reward1.push_back(static_cast<float>(r + gap));
  }
  return q;
}

double Share(const std::vector<float>& labels, float value) {
  return static_cast<double>(std::count(labels.begin(), labels.end(), value)) / labels.size();
}

TEST(Pebble, TeacherPresetsBehaveAsBPref) {
  const auto teacher = [](const std::string& preset) {
    TeacherConfig c;
    c.preset = preset;
    return ScriptedTeacher(c, 5);
  };
  const QueryRewards clear = Pairs(10000, 0.5);  // segment 1 clearly better
  EXPECT_EQ(Share(teacher("oracle").Label(clear), 1.0f), 1.0);
  EXPECT_NEAR(Share(teacher("mistake").Label(clear), 0.0f), 0.1, 0.01);  // 10% flipped
  // noisy: P[1] = sigmoid(beta (R1 - R0)) with beta 1 and R1 - R0 = 0.5 x 10 steps... = 5
  const QueryRewards close = Pairs(10000, 0.05);  // R1 - R0 = 0.5
  EXPECT_NEAR(Share(teacher("noisy").Label(close), 1.0f), 1 / (1 + std::exp(-0.5)), 0.015);
  // skip: both returns below 0.1 x margin -> skipped; margin 100 -> threshold 10 vs R ~ 10, 15
  auto skip = teacher("skip");
  skip.SetMargin(200.0);  // threshold 20: every pair (R0 ~ 10, R1 ~ 15) is skipped
  EXPECT_EQ(Share(skip.Label(clear), kSkip), 1.0);
  skip.SetMargin(100.0);  // threshold 10: only R1 matters, and it is ~15 -> never skipped
  EXPECT_EQ(Share(skip.Label(clear), kSkip), 0.0);
  // equal: |R1 - R0| < 0.1 x margin -> 0.5
  auto equal = teacher("equal");
  equal.SetMargin(100.0);  // threshold 10 > 5 = |R1 - R0|
  EXPECT_EQ(Share(equal.Label(clear), 0.5f), 1.0);
  equal.SetMargin(10.0);  // threshold 1 < 5
  EXPECT_EQ(Share(equal.Label(clear), 0.5f), 0.0);
  // myopic (gamma 0.9): a segment that is better only at its start loses to one better at its end
  QueryRewards q{1, 10, std::vector<float>(10, 0.0f), std::vector<float>(10, 0.0f)};
  q.reward0[0] = 1.0f;  // weight 0.9^9
  q.reward1[9] = 0.5f;  // weight 1
  EXPECT_EQ(teacher("myopic").Label(q)[0], 1.0f);
  EXPECT_EQ(teacher("oracle").Label(q)[0], 0.0f);
  TeacherConfig bad;
  bad.preset = "perfect";
  EXPECT_NE(ErrorOf([&] { bad.Resolved(); }).find("teacher.preset: expected oracle"),
            std::string::npos);
}

TEST(Pebble, RelabelingSetsEveryStoredRewardToTheModels) {
  buffers::ReplaySpec spec;
  spec.capacity = 300;
  spec.num_envs = 2;
  spec.obs_dim = 3;
  spec.num_continuous = 2;
  buffers::ReplayBuffer replay(spec, 1);
  Rng rng(2);
  std::vector<float> obs(6), next(6), act(4), rew{7.0f, 7.0f};
  std::vector<uint8_t> no(2, 0);
  for (int t = 0; t < 100; ++t) {
    for (auto& x : obs) x = static_cast<float>(rng.Uniform(-1, 1));
    for (auto& x : act) x = static_cast<float>(rng.Uniform(-1, 1));
    replay.Add(obs, next, {}, act, rew, no, no);
  }
  RewardModelConfig rc;
  rc.hidden = {16};
  RewardModel model(3, 2, rc);
  replay.Relabel(37, [&](const float* o, const float* a, int64_t rows, float* out) {
    const torch::Tensor r = model
                                .Reward(torch::from_blob(const_cast<float*>(o), {rows, 3}),
                                        torch::from_blob(const_cast<float*>(a), {rows, 2}))
                                .contiguous();
    std::memcpy(out, r.data_ptr<float>(), sizeof(float) * rows);
  });
  buffers::Batch batch;
  replay.Sample(500, &batch);  // with replacement: covers most rows
  int checked = 0;
  for (int i = 0; i < 500; ++i) {
    const float* o = batch["obs"].as<float>() + i * 3;
    const float* a = batch["continuous_actions"].as<float>() + i * 2;
    const float want = model
                           .Reward(torch::from_blob(const_cast<float*>(o), {1, 3}),
                                   torch::from_blob(const_cast<float*>(a), {1, 2}))
                           .item<float>();
    const float got = batch["rewards"].as<float>()[i];
    EXPECT_NE(got, 7.0f);
    EXPECT_NEAR(got, want, 1e-6);
    ++checked;
  }
  EXPECT_EQ(checked, 500);
}

TEST(Pebble, RewardModelLearnsAPreferenceAndStopsAtTheAccuracy) {
  // the true reward is obs[0]; segments of 5 steps; label 1 when segment 1's sum is larger
  torch::manual_seed(0);
  const int64_t P = 200, H = 5;
  PairBatch b{torch::randn({P, H, 2}),
              torch::zeros({P, H, 1}),
              torch::randn({P, H, 2}),
              torch::zeros({P, H, 1}),
              {}};
  b.labels = (b.obs1.select(2, 0).sum(1) > b.obs0.select(2, 0).sum(1)).to(torch::kFloat32);
  RewardModelConfig rc;
  rc.hidden = {32, 32};
  rc.max_epochs = 200;
  rc.stop_accuracy = 0.9;
  rc.lr = 1e-3;
  RewardModel model(2, 1, rc);
  Rng rng(1);
  const auto stats = model.Train(b, rng);
  double accuracy = 0;
  for (double a : stats.accuracy) accuracy += a / 3;
  EXPECT_GT(accuracy, 0.9);
  EXPECT_LT(stats.epochs, 200);  // stopped early, at the accuracy
  // its reward ranks states by obs[0]
  const torch::Tensor low = torch::tensor({{-1.0f, 0.0f}}), high = torch::tensor({{1.0f, 0.0f}});
  EXPECT_GT(model.Reward(high, torch::zeros({1, 1})).item<float>(),
            model.Reward(low, torch::zeros({1, 1})).item<float>());
}

// Every phase on Pendulum in seconds: 200 random steps, pre-training to 600, then a session
// every 500 steps of 20 queries until 60.
std::vector<std::string> Smoke(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {"algo=pebble",
                                "env.id=Pendulum-v1",
                                "env.num_envs=1",
                                "progress=false",
                                "total_timesteps=2200",
                                "eval.every_steps=0",
                                "checkpoint.save_replay_buffer=true",
                                "sac.hidden=[32, 32]",
                                "sac.batch_size=64",
                                "pebble.random_exploration_steps=200",
                                "pebble.unsupervised_steps=600",
                                "pebble.feedback_frequency=500",
                                "pebble.queries_per_session=20",
                                "pebble.max_feedback=60",
                                "pebble.segment_length=25",
                                "pebble.reset_update=10",
                                "pebble.reward_model.hidden=[32, 32]",
                                "pebble.reward_model.max_epochs=5"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

// Values of a tag in metrics.csv by step.
std::map<int64_t, double> Metric(const fs::path& run, const std::string& tag) {
  std::ifstream in(run / "metrics.csv");
  std::map<int64_t, double> values;
  for (std::string line; std::getline(in, line);) {
    std::stringstream row(line);
    std::string step, time, name, v;
    std::getline(row, step, ',');
    std::getline(row, time, ',');
    std::getline(row, name, ',');
    std::getline(row, v, ',');
    if (name == tag) values[std::stoll(step)] = std::stod(v);
  }
  return values;
}

// Last logged value of a tag in metrics.csv (NaN if never logged), and how often it was logged.
std::pair<double, int> LastMetric(const fs::path& run, const std::string& tag) {
  const auto values = Metric(run, tag);
  return {values.empty() ? NAN : values.rbegin()->second, static_cast<int>(values.size())};
}

TEST(Pebble, CorrelationIsPearsonsAndNaNForAConstantSeries) {
  Correlation c;
  for (const auto& [x, y] : {std::pair{1.0, 2.0}, {2.0, 1.0}, {3.0, 4.0}, {4.0, 3.0}}) c.Add(x, y);
  EXPECT_NEAR(c.Value(), 0.6, 1e-12);  // cov 0.75 / (var 1.25 x var 1.25)^0.5
  Correlation flip;
  for (double x : {1.0, 2.0, 5.0}) flip.Add(x, 3 - 2 * x);
  EXPECT_NEAR(flip.Value(), -1.0, 1e-12);
  Correlation constant;
  for (double x : {1.0, 2.0}) constant.Add(x, 7.0);
  EXPECT_TRUE(std::isnan(constant.Value()));
  EXPECT_TRUE(std::isnan(Correlation{}.Value()));
}

TEST(Pebble, SmokeRunOfEveryPhase) {
  const fs::path run = TempPath("smoke");
  train::Train(train::LoadConfig("", Smoke()), run.string());
  // sessions at 600, 1100, 1600 with 20 queries each, then the budget is spent
  EXPECT_EQ(Metric(run, "feedback/queries_asked"),
            (std::map<int64_t, double>{{600, 20}, {1100, 40}, {1600, 60}}));
  EXPECT_EQ(LastMetric(run, "feedback/labels").first, 60);  // the oracle never skips
  EXPECT_EQ(LastMetric(run, "feedback/teacher_agreement").first, 1.0);
  EXPECT_GT(LastMetric(run, "intrinsic/running_std").second, 0);  // pre-training ran
  EXPECT_EQ(LastMetric(run, "reward_model/epochs").second, 3);    // trained each session
  EXPECT_GT(LastMetric(run, "charts/episodic_model_return").second, 0);
  EXPECT_EQ(Metric(run, "charts/episodic_reward_correlation").size(),
            Metric(run, "charts/episodic_model_return").size());  // one per episode
  EXPECT_GT(LastMetric(run, "losses/qf1_loss").second, 0);
  fs::remove_all(run);
}

TEST(Pebble, SkippedQueriesCountAgainstTheBudget) {
  // Pendulum's returns are negative, so a skip threshold of 0.5 x margin skips many pairs
  const fs::path run = TempPath("skip");
  train::Train(
      train::LoadConfig("", Smoke({"pebble.teacher.preset=custom", "pebble.teacher.eps_skip=0.5"})),
      run.string());
  EXPECT_EQ(LastMetric(run, "feedback/queries_asked").first, 60);
  const double labels = LastMetric(run, "feedback/labels").first;
  EXPECT_LT(labels, 60);
  fs::remove_all(run);
}

// Trains the smoke run with `extra` into `b`, stopping after 2 sessions (step 1300) and resuming,
// and expects the same final weights as the uninterrupted run already in `a`.
void ExpectResumeAfterTwoSessionsEquals(const fs::path& a, const fs::path& b,
                                        const std::vector<std::string>& extra = {}) {
  train::Train(train::LoadConfig("", Smoke(extra)), b.string(), false, 1300);
  train::Train(train::TrainConfig{}, b.string(), /*resume=*/true);
  const auto pa = train::CheckpointParameters((a / "checkpoints/latest.safetensors").string());
  const auto pb = train::CheckpointParameters((b / "checkpoints/latest.safetensors").string());
  ASSERT_EQ(pa.tensors().size(), pb.tensors().size());
  ASSERT_FALSE(pa.tensors().empty());
  for (const auto& [name, t] : pa.tensors()) EXPECT_EQ(t.bytes, pb.Get(name).bytes) << name;
}

TEST(Pebble, ResumeMidRunEqualsUninterrupted) {
  const fs::path a = TempPath("a"), b = TempPath("b");
  train::Train(train::LoadConfig("", Smoke()), a.string());
  ExpectResumeAfterTwoSessionsEquals(a, b);
  EXPECT_EQ(LastMetric(a, "feedback/labels").first, LastMetric(b, "feedback/labels").first);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Pebble, ACheckpointForAnotherEnvCountIsAClearError) {
  const auto make = [](int num_envs) {
    return std::make_unique<Pebble>(PebbleConfig{}, SacConfig{}, Space::Box(-1, 1, {3}),
                                    Space::Box(-1, 1, {2}), num_envs, 1);
  };
  io::TensorDict out;
  make(1)->Save(out);
  const std::string bytes = io::EncodeSafetensors(out);
  const auto load_into = [&](int num_envs) {
    make(num_envs)->Load(io::DecodeSafetensors(bytes, "checkpoint"));
  };
  EXPECT_NO_THROW(load_into(1));
  const std::string error = ErrorOf([&] { load_into(2); });
  EXPECT_NE(error.find("made with 1 envs, this run has 2 (env.num_envs)"), std::string::npos)
      << error;
}

TEST(Pebble, BadConfigsAreClearErrors) {
  EXPECT_NE(ErrorOf([] { train::LoadConfig("", Smoke({"pebble.segment_length=300"})); })
                .find("pebble.segment_length: 300 steps is longer than the env's episodes "
                      "(max_episode_steps 200)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { train::LoadConfig("", Smoke({"pebble.max_feedback=10"})); })
                .find("pebble.max_feedback: the budget (10) is smaller than one session's "
                      "queries_per_session (20)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", {"algo=pebble"});
            }).find("algo: pebble needs a bounded Box action space"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.teacher.preset=perfect"}));
            }).find("pebble.teacher.preset"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.query_scheme=best"}));
            }).find("pebble.query_scheme"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.unsupervised_steps=100"}));
            }).find("pebble.unsupervised_steps: expected at least random_exploration_steps"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.reward_model.adaptive_l2=true"}));
            }).find("pebble.reward_model.l2: adaptive_l2 scales it, so it must start above 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.reward_model.surf.threshold=0.4"}));
            }).find("pebble.reward_model.surf.threshold"),
            std::string::npos);
}

TEST(Pebble, TheRewardModelsOutputIsTanhBoundedOrLinear) {
  torch::manual_seed(3);
  const torch::Tensor far = 50 * torch::randn({64, 2}), act = torch::zeros({64, 1});
  RewardModelConfig rc;
  rc.hidden = {16};
  RewardModel bounded(2, 1, rc);
  EXPECT_LT(bounded.Reward(far, act).abs().max().item<float>(), 1.0f);
  rc.output = "linear";
  RewardModel linear(2, 1, rc);
  EXPECT_GT(linear.Reward(far, act).abs().max().item<float>(), 1.5f);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.reward_model.output=relu"}));
            }).find("pebble.reward_model.output"),
            std::string::npos);
}

TEST(Pebble, TheRewardModelSeesTheActionUnlessTurnedOff) {
  torch::manual_seed(4);
  const torch::Tensor obs = torch::randn({8, 3}), a = torch::randn({8, 2}),
                      b = torch::randn({8, 2});
  RewardModelConfig rc;
  rc.hidden = {16};
  RewardModel with_actions(3, 2, rc);
  EXPECT_FALSE(torch::allclose(with_actions.Reward(obs, a), with_actions.Reward(obs, b)));
  rc.actions = false;
  RewardModel obs_only(3, 2, rc);
  EXPECT_TRUE(torch::equal(obs_only.Reward(obs, a), obs_only.Reward(obs, b)));
  EXPECT_FALSE(torch::allclose(obs_only.Reward(obs, a), obs_only.Reward(-obs, a)));
}

TEST(Pebble, SurfCropKeepsOneLengthPerPairInsideTheSegment) {
  Rng rng(3);
  const int64_t B = 400, H = 20;
  const auto [m0, m1] = CropMasks(B, H, 5, rng);
  const torch::Tensor len0 = m0.sum(1), len1 = m1.sum(1);
  EXPECT_TRUE(torch::equal(len0, len1));  // one length per pair
  EXPECT_EQ(len0.min().item<float>(), 15);
  EXPECT_EQ(len0.max().item<float>(), 20);
  // contiguous: the ones form one run (at most one rising edge, counting the start)
  for (const torch::Tensor& m : {m0, m1}) {
    const torch::Tensor padded = torch::cat({torch::zeros({B, 1}), m}, 1);
    const torch::Tensor rises = (padded.slice(1, 1) - padded.slice(1, 0, H) > 0).sum(1);
    EXPECT_EQ(rises.max().item<int64_t>(), 1);
  }
  EXPECT_FALSE(torch::equal(m0, m1)) << "the two sides have their own offsets";
  const auto [full, also_full] = CropMasks(B, H, 0, rng);
  EXPECT_EQ(full.sum().item<float>(), B * H);
}

// Pairs of 5-step segments whose true reward is obs[0]; label 1 when segment 1's sum is larger.
PairBatch ObsZeroPairs(int64_t P, double scale) {
  PairBatch b{scale * torch::randn({P, 5, 2}),
              torch::zeros({P, 5, 1}),
              scale * torch::randn({P, 5, 2}),
              torch::zeros({P, 5, 1}),
              {}};
  b.labels = (b.obs1.select(2, 0).sum(1) > b.obs0.select(2, 0).sum(1)).to(torch::kFloat32);
  return b;
}

TEST(Pebble, NormalizedInputsMakeTheModelBlindToEachInputsScaleAndOffset) {
  // the same preferences with obs[0] (the reward) shrunk and shifted and obs[1] (noise) blown up
  const auto affine = [](const torch::Tensor& obs) {
    return torch::stack({0.01 * obs.select(-1, 0) + 3, 1000 * obs.select(-1, 1) - 50}, -1);
  };
  torch::manual_seed(5);
  const PairBatch pairs = ObsZeroPairs(100, 1.0);
  PairBatch moved = pairs;
  moved.obs0 = affine(pairs.obs0);
  moved.obs1 = affine(pairs.obs1);
  const torch::Tensor test_obs = torch::randn({50, 2}), test_act = torch::zeros({50, 1});
  const auto trained_reward = [&](bool normalize, const PairBatch& p, const torch::Tensor& obs) {
    torch::manual_seed(6);
    RewardModelConfig rc;
    rc.hidden = {32, 32};
    rc.max_epochs = 20;
    rc.lr = 1e-3;
    rc.normalize_inputs = normalize;
    RewardModel model(2, 1, rc);
    Rng rng(7);
    model.Train(p, rng);
    return model.Reward(obs, test_act);
  };
  EXPECT_TRUE(torch::allclose(trained_reward(true, pairs, test_obs),
                              trained_reward(true, moved, affine(test_obs)), 1e-3, 1e-4));
  EXPECT_FALSE(torch::allclose(trained_reward(false, pairs, test_obs),
                               trained_reward(false, moved, affine(test_obs)), 1e-2, 1e-2));
}

TEST(Pebble, InputStatisticsOfAnotherShapeInACheckpointAreAClearError) {
  RewardModelConfig rc;
  rc.hidden = {8};
  rc.normalize_inputs = true;
  RewardModel model(2, 1, rc);
  torch::serialize::OutputArchive out;
  model.Save(out);
  out.write("reward_input_std", torch::ones({4}), /*is_buffer=*/true);  // a damaged file
  std::stringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  const std::string error = ErrorOf([&] { model.Load(in); });
  EXPECT_NE(error.find("reward_input_std has shape [4], expected [3]"), std::string::npos) << error;
  EXPECT_NO_THROW(model.Reward(torch::zeros({1, 2}), torch::zeros({1, 1})))
      << "the refused statistics were not taken";
}

TEST(Pebble, SurfPseudoLabelsOnlyPairsTheModelIsSureOf) {
  torch::manual_seed(0);
  const PairBatch labelled = ObsZeroPairs(200, 1.0);
  const PairBatch unlabeled = ObsZeroPairs(400, 3.0);  // wide gaps: easy to be sure of
  const auto pseudo_share = [&](double threshold) {
    torch::manual_seed(1);
    RewardModelConfig rc;
    rc.hidden = {32, 32};
    rc.max_epochs = 40;
    rc.stop_accuracy = 1.0;
    rc.lr = 1e-3;
    rc.surf.enabled = true;
    rc.surf.threshold = threshold;
    rc.surf.crop = 1;
    RewardModel model(2, 1, rc);
    Rng rng(1);
    const auto stats = model.Train(labelled, unlabeled, rng);
    double accuracy = 0;
    for (double a : stats.accuracy) accuracy += a / 3;
    EXPECT_GT(accuracy, 0.85) << "threshold " << threshold;
    return stats.pseudo_labelled;
  };
  const double sure = pseudo_share(0.99), any = pseudo_share(0.51), never = pseudo_share(1.0);
  EXPECT_GT(sure, 0.05);
  EXPECT_LT(sure, any);
  EXPECT_GT(any, 0.8);
  EXPECT_EQ(never, 0.0);  // tanh rewards over 5 steps cannot reach certainty
}

TEST(Pebble, AdaptiveL2FollowsTheValidationToTrainLossRatio) {
  const auto next_l2 = [](bool random_labels) {
    torch::manual_seed(2);
    PairBatch pairs = ObsZeroPairs(random_labels ? 60 : 400, 1.0);
    if (random_labels) pairs.labels = torch::randint(0, 2, {60}).to(torch::kFloat32);
    RewardModelConfig rc;
    rc.hidden = {64, 64};
    rc.max_epochs = random_labels ? 300 : 30;
    rc.stop_accuracy = 1.0;
    rc.lr = 1e-3;
    rc.l2 = 0.01;
    rc.adaptive_l2 = true;
    RewardModel model(2, 1, rc);
    Rng rng(4);
    const auto stats = model.Train(pairs, rng);
    EXPECT_GT(stats.train_loss, 0.0);
    EXPECT_EQ(stats.l2, model.l2());
    return std::make_pair(stats.l2, stats.validation_loss / stats.train_loss);
  };
  const auto [generalizes, low_ratio] = next_l2(false);
  EXPECT_LT(low_ratio, 1.1);
  EXPECT_DOUBLE_EQ(generalizes, 0.01 * 0.95);
  const auto [memorizes, high_ratio] = next_l2(true);  // random labels: it can only memorize
  EXPECT_GT(high_ratio, 1.5);
  EXPECT_DOUBLE_EQ(memorizes, 0.01 * 1.05);
}

TEST(Pebble, SurfAdaptiveL2AndNormalizedInputsRunAndResumeExactly) {
  const std::vector<std::string> extra = {
      "pebble.reward_model.surf.enabled=true", "pebble.reward_model.surf.unlabeled_ratio=3",
      "pebble.reward_model.surf.capacity=100", "pebble.reward_model.adaptive_l2=true",
      "pebble.reward_model.l2=0.01",           "pebble.reward_model.normalize_inputs=true"};
  const fs::path a = TempPath("surf_a"), b = TempPath("surf_b");
  train::Train(train::LoadConfig("", Smoke(extra)), a.string());
  EXPECT_EQ(LastMetric(a, "reward_model/pseudo_labelled").second, 3);
  const auto l2 = Metric(a, "reward_model/l2");
  ASSERT_EQ(l2.size(), 3u);
  double previous = 0.01;  // each session scales it by 0.95, 1 or 1.05 (validation/train ratio)
  int changed = 0;
  for (const auto& [step, value] : l2) {
    const double ratio = value / previous;
    EXPECT_TRUE(std::abs(ratio - 0.95) < 1e-6 || std::abs(ratio - 1) < 1e-6 ||
                std::abs(ratio - 1.05) < 1e-6)
        << "step " << step << ": " << previous << " -> " << value;
    changed += std::abs(ratio - 1) > 1e-6;
    previous = value;
  }
  EXPECT_GE(changed, 1);
  ExpectResumeAfterTwoSessionsEquals(a, b, extra);
  EXPECT_EQ(Metric(a, "reward_model/l2"), Metric(b, "reward_model/l2"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Pebble, NormalizedRewardIsScaledEachSessionAndResumesExactly) {
  const std::vector<std::string> extra = {"pebble.normalize_reward=true"};
  const fs::path a = TempPath("norm_a"), b = TempPath("norm_b");
  train::Train(train::LoadConfig("", Smoke(extra)), a.string());
  const auto scale = Metric(a, "reward_model/reward_scale");
  ASSERT_EQ(scale.size(), 3u);  // one per session
  for (const auto& [step, value] : scale) EXPECT_TRUE(value > 0 && value != 1.0) << step;
  ExpectResumeAfterTwoSessionsEquals(a, b, extra);
  EXPECT_EQ(Metric(a, "reward_model/reward_scale"), Metric(b, "reward_model/reward_scale"));
  fs::remove_all(a);
  fs::remove_all(b);
}

// Pendulum-v1's reward for an observation [cos th, sin th, thdot] and torque u.
double PendulumReward(const float* obs, float u) {
  const double th = std::atan2(obs[1], obs[0]);
  return -(th * th + 0.1 * obs[2] * obs[2] + 0.001 * u * u);
}

TEST(Pebble, TrueRewardAblationStoresTheEnvsReward) {
  // the saved replay buffer holds Pendulum's reward with the ablation, the learned one without
  for (const bool ablation : {true, false}) {
    const fs::path run = TempPath(ablation ? "ablation" : "learned");
    train::Train(train::LoadConfig("", Smoke({"pebble.true_reward_ablation=" +
                                              std::string(ablation ? "true" : "false")})),
                 run.string());
    std::string files;  // the folder the latest checkpoint names
    for (const auto& e : fs::directory_iterator(run / "checkpoints"))
      if (e.path().filename().string().rfind("files_", 0) == 0) files = e.path();
    ASSERT_FALSE(files.empty());
    const auto replay = buffers::FlexibleBuffer::Load(files + "/replay");
    const int obs = replay.FieldId("obs"), act = replay.FieldId("continuous_actions"),
              rew = replay.FieldId("rewards");
    int64_t matches = 0;
    for (int64_t row = 0; row < replay.size(); ++row) {
      const auto* o = reinterpret_cast<const float*>(replay.At(obs, 0, row));
      const float u = *reinterpret_cast<const float*>(replay.At(act, 0, row));
      const float r = *reinterpret_cast<const float*>(replay.At(rew, 0, row));
      matches += std::abs(r - PendulumReward(o, u)) < 1e-3;
    }
    EXPECT_EQ(replay.size(), 2200);
    if (ablation) {
      EXPECT_EQ(matches, replay.size());
    } else {
      EXPECT_LT(matches, replay.size() / 10);
    }
    fs::remove_all(run);
  }
}

}  // namespace
}  // namespace rlforge::algos::pebble
