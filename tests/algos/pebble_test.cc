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
#include "torch_util.h"

namespace rlforge::algos::pebble {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

// n x d standard normal draws, scaled.
std::vector<float> Normal(int64_t n, double scale, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(scale * rng.Normal(0.0, 1.0));
  return v;
}

TEST(Pebble, KnnDistanceMatchesBruteForce) {
  Rng rng(3);
  const std::vector<float> reference = Normal(40 * 3, 1.0, rng);
  std::vector<double> r(7);
  KnnDistance(reference.data(), 7, reference.data(), 40, 3, 5, r.data());  // states in the set
  for (int64_t i = 0; i < 7; ++i) {
    std::vector<double> d;
    for (int64_t j = 0; j < 40; ++j) {
      double sum = 0;
      for (int c = 0; c < 3; ++c) sum += std::pow(reference[i * 3 + c] - reference[j * 3 + c], 2);
      d.push_back(std::sqrt(sum));
    }
    std::sort(d.begin(), d.end());  // d[0] = 0 is the state itself
    EXPECT_NEAR(r[i], d[5], 1e-6);
  }
}

TEST(Pebble, BradleyTerryLossMatchesHandValues) {
  // -log sigmoid(2 - 1) = log(1 + e^-1) for a strict preference; log 2 for equal returns
  const auto [l1, p1] = BradleyTerry(1.0, 2.0, 1.0);
  EXPECT_NEAR(l1, std::log(1 + std::exp(-1.0)), 1e-12);
  EXPECT_NEAR(p1, 1 / (1 + std::exp(-1.0)), 1e-12);
  const auto [l2, p2] = BradleyTerry(0.0, 0.0, 0.5);
  EXPECT_NEAR(l2, std::log(2.0), 1e-12);
  EXPECT_EQ(p2, 0.5);
  // large returns do not overflow
  const auto [l3, p3] = BradleyTerry(1000.0, -1000.0, 0.0);
  EXPECT_NEAR(l3, 0.0, 1e-12);
  EXPECT_NEAR(p3, 0.0, 1e-12);
}

TEST(Pebble, QuerySchemesPickWhatTheirDefinitionsSay) {
  // 4 candidates, 3 members: P[segment 1 preferred]   (M x C)
  const std::vector<double> p = {0.5, 0.9, 0.1, 0.5,   //
                                 0.5, 0.1, 0.1, 0.45,  //
                                 0.5, 0.5, 0.1, 0.55};
  const std::vector<float> none, zeros(4, 0.0f);
  // candidate 1 disagrees most; candidate 0 (and 3) have the most entropy, 2 the least
  EXPECT_EQ(SelectQueries(Scheme::kDisagreement, p, 3, zeros, none, 1, 1), std::vector<int64_t>{1});
  const auto entropy = SelectQueries(Scheme::kEntropy, p, 3, zeros, none, 1, 2);
  EXPECT_EQ(entropy[0], 0);
  EXPECT_EQ(entropy[1], 3);
  EXPECT_NEAR(Disagreement(p, 3)[2], 0.0, 1e-12);
  // k-center: features on a line; labelled pair at 0 -> farthest is 10, then 5 (middle)
  const std::vector<float> f = {1.0f, 10.0f, 5.0f, 9.0f}, at_zero = {0.0f};
  EXPECT_EQ(SelectQueries(Scheme::kKCenter, p, 3, f, at_zero, 1, 2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(KCenter(f, none, 1, 1).size(), 1u);
  // k-center + disagreement: the top half by disagreement is {1, 3}; farthest from 0 is 1
  EXPECT_EQ(SelectQueries(Scheme::kKCenterDisagreement, p, 3, f, at_zero, 1, 1),
            std::vector<int64_t>{1});
  // k-center + entropy: top half by entropy is {0, 3}: farthest from the labelled 0 is 3 (at 9)
  EXPECT_EQ(SelectQueries(Scheme::kKCenterEntropy, p, 3, f, at_zero, 1, 1),
            std::vector<int64_t>{3});
  EXPECT_EQ(SelectQueries(Scheme::kUniform, p, 3, f, none, 1, 3), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(SelectQueries(Scheme::kUniform, {}, 3, none, none, 1, 2), (std::vector<int64_t>{0, 1}));
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
  RewardModel model(3, 2, rc, 1);
  replay.Relabel(37, [&](const float* o, const float* a, int64_t rows, float* out) {
    model.Reward(o, a, rows, out);
  });
  buffers::Batch batch;
  replay.Sample(500, &batch);  // with replacement: covers most rows
  int checked = 0;
  for (int i = 0; i < 500; ++i) {
    const float* o = batch["obs"].as<float>() + i * 3;
    const float* a = batch["continuous_actions"].as<float>() + i * 2;
    float want = 0;
    model.Reward(o, a, 1, &want);
    const float got = batch["rewards"].as<float>()[i];
    EXPECT_NE(got, 7.0f);
    EXPECT_NEAR(got, want, 1e-6);
    ++checked;
  }
  EXPECT_EQ(checked, 500);
}

// Pairs of 5-step segments whose true reward is obs[0]; label 1 when segment 1's sum is larger.
PairBatch ObsZeroPairs(int64_t P, double scale, Rng& rng) {
  PairBatch b(P, 5, 2, 1);
  for (int side = 0; side < 2; ++side) b.obs[side] = Normal(P * 5 * 2, scale, rng);
  for (int64_t p = 0; p < P; ++p) {
    double sum[2] = {0, 0};
    for (int side = 0; side < 2; ++side) {
      for (int64_t t = 0; t < 5; ++t) sum[side] += b.Obs(side, p)[t * 2];
    }
    b.labels[p] = sum[1] > sum[0] ? 1.0f : 0.0f;
  }
  return b;
}

// The model's rewards for n observations with zero actions of act_dim.
std::vector<float> RewardsOf(RewardModel& model, const std::vector<float>& obs, int64_t n,
                             int64_t act_dim) {
  const std::vector<float> act(static_cast<size_t>(n * act_dim), 0.0f);
  std::vector<float> r(static_cast<size_t>(n));
  model.Reward(obs.data(), act.data(), n, r.data());
  return r;
}

TEST(Pebble, RewardModelLearnsAPreferenceAndStopsAtTheAccuracy) {
  Rng data(0);
  const PairBatch b = ObsZeroPairs(200, 1.0, data);
  RewardModelConfig rc;
  rc.hidden = {32, 32};
  rc.max_epochs = 200;
  rc.stop_accuracy = 0.9;
  rc.lr = 1e-3;
  RewardModel model(2, 1, rc, 1);
  Rng rng(1);
  const auto stats = model.Train(b, rng);
  double accuracy = 0;
  for (double a : stats.accuracy) accuracy += a / 3;
  EXPECT_GT(accuracy, 0.9);
  EXPECT_LT(stats.epochs, 200);  // stopped early, at the accuracy
  // its reward ranks states by obs[0]
  const auto r = RewardsOf(model, {-1.0f, 0.0f, 1.0f, 0.0f}, 2, 1);
  EXPECT_GT(r[1], r[0]);
}

// Member m's loss of RewardModel::MemberGradient written in LibTorch ops, differentiated by
// autograd: the reference for the written-out gradient.
TEST(Pebble, RewardModelGradientMatchesAutograd) {
  for (const bool surf : {false, true}) {
    for (const std::string output : {"tanh", "linear"}) {
      Rng data(surf ? 8 : 9);
      PairBatch pairs = ObsZeroPairs(12, 1.0, data), unlabeled = ObsZeroPairs(20, 3.0, data);
      for (int side = 0; side < 2; ++side) {  // actions that matter
        pairs.act[side] = Normal(12 * 5, 1.0, data);
        unlabeled.act[side] = Normal(20 * 5, 1.0, data);
      }
      pairs.labels[3] = 0.5f;  // an equal preference too
      RewardModelConfig rc;
      rc.ensemble_size = 2;
      rc.hidden = {16, 8};
      rc.output = output;
      rc.surf.enabled = surf;
      rc.surf.crop = 2;
      rc.surf.threshold = 0.6;
      rc.surf.loss_weight = 0.7;
      RewardModel model(2, 1, rc, 3);
      const std::vector<int64_t> idx = {0, 3, 5, 7, 11}, u_idx = {1, 4, 6, 8, 9, 13, 19};
      Rng rng(5), copy(5);
      double correct = 0, confident = 0;
      model.ZeroGradients();
      const int m = 1;
      const double loss =
          model.MemberGradient(m, pairs, idx, unlabeled, u_idx, rng, &correct, &confident);
      // the reference: member m's layers with gradients on
      std::vector<torch::Tensor> w;
      const nn::NamedTensors all = model.parameters(), grads = model.gradients();
      const std::string prefix = "reward_model." + std::to_string(m) + ".";
      std::vector<torch::Tensor> want;
      for (size_t k = 0; k < all.size(); ++k) {
        if (all[k].name.rfind(prefix, 0) != 0) continue;
        w.push_back(testing::Torch({all[k]})[0].requires_grad_(true));
        want.push_back(testing::Torch({grads[k]})[0]);
      }
      const auto reward = [&](const torch::Tensor& x) {
        torch::Tensor h = x;
        for (size_t l = 0; l < w.size() / 2; ++l) {
          h = torch::nn::functional::linear(h, w[2 * l], w[2 * l + 1]);
          if (2 * l + 2 < w.size()) h = torch::leaky_relu(h, 0.01);
        }
        h = h.squeeze(-1);
        return output == "tanh" ? torch::tanh(h) : h;
      };
      // returns of side s of pairs `rows`, cropped by `bounds`
      const auto returns = [&](const PairBatch& p, const std::vector<int64_t>& rows, int side,
                               const std::vector<int64_t>& bounds, bool crop) {
        std::vector<torch::Tensor> out;
        for (size_t b = 0; b < rows.size(); ++b) {
          const torch::Tensor obs =
              torch::from_blob(const_cast<float*>(p.Obs(side, rows[b])), {5, 2}).clone();
          const torch::Tensor act =
              torch::from_blob(const_cast<float*>(p.Act(side, rows[b])), {5, 1}).clone();
          const torch::Tensor r = reward(torch::cat({obs, act}, 1));
          const int64_t begin = crop ? bounds[4 * b + 2 * side] : 0;
          const int64_t end = crop ? bounds[4 * b + 2 * side + 1] : 5;
          out.push_back(r.slice(0, begin, end).sum());
        }
        return torch::stack(out);
      };
      const auto bt = [](const torch::Tensor& r0, const torch::Tensor& r1, const torch::Tensor& y) {
        const torch::Tensor log_p = torch::log_softmax(torch::stack({r0, r1}, 1), 1);
        return -((1 - y) * log_p.select(1, 0) + y * log_p.select(1, 1));
      };
      const int crop = surf ? 2 : 0;
      const std::vector<int64_t> bounds = CropBounds(5, 5, crop, copy);
      const std::vector<int64_t> u_bounds = CropBounds(surf ? 7 : 0, 5, crop, copy);
      std::vector<float> y;
      for (const int64_t i : idx) y.push_back(pairs.labels[i]);
      torch::Tensor ref = bt(returns(pairs, idx, 0, bounds, surf),
                             returns(pairs, idx, 1, bounds, surf), torch::tensor(y))
                              .mean();
      if (surf) {
        torch::Tensor keep, pseudo;
        {
          torch::NoGradGuard no_grad;
          const torch::Tensor p1 =
              torch::softmax(torch::stack({returns(unlabeled, u_idx, 0, u_bounds, false),
                                           returns(unlabeled, u_idx, 1, u_bounds, false)},
                                          1),
                             1)
                  .select(1, 1);
          keep = (torch::max(p1, 1 - p1) >= 0.6).to(torch::kFloat32);
          pseudo = (p1 > 0.5).to(torch::kFloat32);
          EXPECT_EQ(keep.sum().item<double>(), confident);
        }
        ref = ref + 0.7 * (bt(returns(unlabeled, u_idx, 0, u_bounds, true),
                              returns(unlabeled, u_idx, 1, u_bounds, true), pseudo) *
                           keep)
                              .mean();
      }
      ref.backward();
      EXPECT_NEAR(loss, ref.item<double>(), 1e-5) << output << " surf " << surf;
      ASSERT_EQ(want.size(), w.size());
      // relative to the largest gradient entry (the output bias's is ~0 by symmetry: +g, -g)
      double scale = 1e-3;
      for (const auto& t : w) scale = std::max(scale, t.grad().abs().max().item<double>());
      for (size_t k = 0; k < w.size(); ++k) {
        EXPECT_LT((want[k] - w[k].grad()).abs().max().item<double>() / scale, 1e-4)
            << output << " surf " << surf << " tensor " << k;
      }
      // only member m's gradient is there
      for (size_t k = 0; k < grads.size(); ++k) {
        if (grads[k].name.rfind(prefix, 0) == 0) continue;
        for (const float g : grads[k].values) EXPECT_EQ(g, 0.0f);
      }
    }
  }
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
              train::LoadConfig("", {"algo=pebble", "env.id=CartPole-v1"});
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
  Rng rng(3);
  const std::vector<float> far = Normal(64 * 2, 50.0, rng);
  RewardModelConfig rc;
  rc.hidden = {16};
  RewardModel bounded(2, 1, rc, 1);
  const auto max_abs = [](const std::vector<float>& v) {
    float m = 0;
    for (const float x : v) m = std::max(m, std::abs(x));
    return m;
  };
  EXPECT_LT(max_abs(RewardsOf(bounded, far, 64, 1)), 1.0f);
  rc.output = "linear";
  RewardModel linear(2, 1, rc, 1);
  EXPECT_GT(max_abs(RewardsOf(linear, far, 64, 1)), 1.5f);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Smoke({"pebble.reward_model.output=relu"}));
            }).find("pebble.reward_model.output"),
            std::string::npos);
}

TEST(Pebble, TheRewardModelSeesTheActionUnlessTurnedOff) {
  Rng rng(4);
  std::vector<float> obs = Normal(8 * 3, 1.0, rng), a = Normal(8 * 2, 1.0, rng),
                     b = Normal(8 * 2, 1.0, rng);
  const auto rewards = [](RewardModel& model, const std::vector<float>& o,
                          const std::vector<float>& act) {
    std::vector<float> r(8);
    model.Reward(o.data(), act.data(), 8, r.data());
    return r;
  };
  RewardModelConfig rc;
  rc.hidden = {16};
  RewardModel with_actions(3, 2, rc, 1);
  EXPECT_NE(rewards(with_actions, obs, a), rewards(with_actions, obs, b));
  rc.actions = false;
  RewardModel obs_only(3, 2, rc, 1);
  EXPECT_EQ(rewards(obs_only, obs, a), rewards(obs_only, obs, b));
  std::vector<float> negated = obs;
  for (float& x : negated) x = -x;
  EXPECT_NE(rewards(obs_only, obs, a), rewards(obs_only, negated, a));
}

TEST(Pebble, SurfCropKeepsOneLengthPerPairInsideTheSegment) {
  Rng rng(3);
  const int64_t B = 400, H = 20;
  const std::vector<int64_t> bounds = CropBounds(B, H, 5, rng);
  int64_t shortest = H, longest = 0, offsets_differ = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* x = &bounds[4 * b];
    EXPECT_EQ(x[1] - x[0], x[3] - x[2]);  // one length per pair
    for (int side = 0; side < 2; ++side) {
      EXPECT_GE(x[2 * side], 0);
      EXPECT_LE(x[2 * side + 1], H);
    }
    shortest = std::min(shortest, x[1] - x[0]);
    longest = std::max(longest, x[1] - x[0]);
    offsets_differ += x[0] != x[2];
  }
  EXPECT_EQ(shortest, 15);
  EXPECT_EQ(longest, 20);
  EXPECT_GT(offsets_differ, 0) << "the two sides have their own offsets";
  Rng untouched = rng;
  const std::vector<int64_t> full = CropBounds(B, H, 0, rng);
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_EQ(full[4 * b], 0);
    EXPECT_EQ(full[4 * b + 3], H);
  }
  EXPECT_EQ(rng.NextUint64(), untouched.NextUint64()) << "no crop draws nothing";
}

TEST(Pebble, NormalizedInputsMakeTheModelBlindToEachInputsScaleAndOffset) {
  // the same preferences with obs[0] (the reward) shrunk and shifted and obs[1] (noise) blown up
  const auto affine = [](std::vector<float> obs) {
    for (size_t i = 0; i + 1 < obs.size(); i += 2) {
      obs[i] = 0.01f * obs[i] + 3;
      obs[i + 1] = 1000 * obs[i + 1] - 50;
    }
    return obs;
  };
  Rng data(5);
  const PairBatch pairs = ObsZeroPairs(100, 1.0, data);
  PairBatch moved = pairs;
  for (int side = 0; side < 2; ++side) moved.obs[side] = affine(pairs.obs[side]);
  const std::vector<float> test_obs = Normal(50 * 2, 1.0, data);
  const auto trained_reward = [&](bool normalize, const PairBatch& p,
                                  const std::vector<float>& obs) {
    RewardModelConfig rc;
    rc.hidden = {32, 32};
    rc.max_epochs = 20;
    rc.lr = 1e-3;
    rc.normalize_inputs = normalize;
    RewardModel model(2, 1, rc, 6);
    Rng rng(7);
    model.Train(p, rng);
    return RewardsOf(model, obs, 50, 1);
  };
  const auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max<double>(d, std::abs(a[i] - b[i]));
    return d;
  };
  EXPECT_LT(max_diff(trained_reward(true, pairs, test_obs),
                     trained_reward(true, moved, affine(test_obs))),
            2e-3);
  EXPECT_GT(max_diff(trained_reward(false, pairs, test_obs),
                     trained_reward(false, moved, affine(test_obs))),
            0.05);
}

TEST(Pebble, InputStatisticsOfAnotherShapeInACheckpointAreAClearError) {
  RewardModelConfig rc;
  rc.hidden = {8};
  rc.normalize_inputs = true;
  RewardModel model(2, 1, rc, 1);
  io::TensorDict out;
  model.Save(out);
  out.Put("reward_model.input_std", std::vector<float>(4, 1.0f));  // a damaged file
  const io::TensorDict in = io::DecodeSafetensors(io::EncodeSafetensors(out), "ckpt");
  const std::string error = ErrorOf([&] { model.Load(in); });
  EXPECT_NE(error.find("reward_model.input_std: has shape [4], expected [3]"), std::string::npos)
      << error;
  EXPECT_EQ(RewardsOf(model, {0.0f, 0.0f}, 1, 1).size(), 1u) << "still usable";
}

TEST(Pebble, SurfPseudoLabelsOnlyPairsTheModelIsSureOf) {
  Rng data(0);
  const PairBatch labelled = ObsZeroPairs(200, 1.0, data);
  const PairBatch unlabeled = ObsZeroPairs(400, 3.0, data);  // wide gaps: easy to be sure of
  const auto pseudo_share = [&](double threshold) {
    RewardModelConfig rc;
    rc.hidden = {32, 32};
    rc.max_epochs = 40;
    rc.stop_accuracy = 1.0;
    rc.lr = 1e-3;
    rc.surf.enabled = true;
    rc.surf.threshold = threshold;
    rc.surf.crop = 1;
    RewardModel model(2, 1, rc, 1);
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
    Rng data(2);
    PairBatch pairs = ObsZeroPairs(random_labels ? 60 : 400, 1.0, data);
    if (random_labels) {
      for (float& y : pairs.labels) y = static_cast<float>(data.Integers(2));
    }
    RewardModelConfig rc;
    rc.hidden = {64, 64};
    rc.max_epochs = random_labels ? 300 : 30;
    rc.stop_accuracy = 1.0;
    rc.lr = 1e-3;
    rc.l2 = 0.01;
    rc.adaptive_l2 = true;
    RewardModel model(2, 1, rc, 1);
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
