// Run reports: the interquartile mean and its bootstrap interval by hand, a comparison of two
// configs with two seeds each, the page's atomic write, bad run folders, and the env signals the
// episode dashboard draws (BipedalWalker's against its observation, MuJoCo's against qpos/qvel).
#include "rlforge/train/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rlforge/env/registry.h"
#include "rlforge/io/video.h"
#include "rlforge/train/callbacks.h"
#include "rlforge/train/envs.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::train {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Report, InterquartileMeanAndItsBootstrapIntervalByHand) {
  // scipy.stats.trim_mean(x, 0.25): int(0.25 n) values cut from each end
  EXPECT_DOUBLE_EQ(IqmWithBootstrap({100, 1, 4, 2, 3}).value, 3.0);  // cut 1: mean(2, 3, 4)
  EXPECT_DOUBLE_EQ(IqmWithBootstrap({1, 2}).value, 1.5);             // cut 0
  EXPECT_DOUBLE_EQ(IqmWithBootstrap({1, 2, 3, 10, 20, 30, 40, 1000}).value, 15.75);  // cut 2
  const Interval one = IqmWithBootstrap({5});
  EXPECT_EQ(one.low, 5.0);
  EXPECT_EQ(one.high, 5.0);
  const Interval a = IqmWithBootstrap({1, 5, 2, 8, 3, 9}, 2000, 7);
  const Interval b = IqmWithBootstrap({1, 5, 2, 8, 3, 9}, 2000, 7);
  EXPECT_EQ(a.low, b.low);  // deterministic for a seed
  EXPECT_EQ(a.high, b.high);
  EXPECT_LT(a.low, a.value);
  EXPECT_GT(a.high, a.value);
  EXPECT_GE(a.low, 1.0);
  EXPECT_LE(a.high, 9.0);
  EXPECT_NE(ErrorOf([] { IqmWithBootstrap({}); }), "");
}

// The hparams of a run: top-level scalars, env.* and the algorithm's sections only, typed.
TEST(Report, HParamsTakeTheAlgorithmsSectionsTyped) {
  const std::string yaml =
      "algo: sac\nseed: 3\nprogress: false\nenv:\n  id: Pendulum-v1\n  kwargs:\n    g: 9.81\n"
      "ppo:\n  clip_coef: 0.2\nsac:\n  q_lr: 0.001\n  hidden: [256, 256]\n";
  const auto h = HParams(yaml, {"sac"});
  EXPECT_EQ(std::get<std::string>(h.at("algo")), "sac");
  EXPECT_EQ(std::get<double>(h.at("seed")), 3.0);
  EXPECT_EQ(std::get<bool>(h.at("progress")), false);
  EXPECT_EQ(std::get<std::string>(h.at("env.id")), "Pendulum-v1");
  EXPECT_EQ(std::get<double>(h.at("env.kwargs.g")), 9.81);
  EXPECT_EQ(std::get<double>(h.at("sac.q_lr")), 0.001);
  EXPECT_EQ(std::get<std::string>(h.at("sac.hidden")), "[256, 256]");
  EXPECT_EQ(h.count("ppo.clip_coef"), 0u);
  EXPECT_EQ(h.size(), 7u);
  EXPECT_EQ(FlatConfig(yaml).at("ppo.clip_coef"), "0.2");  // the report reads every section
}

// a tiny PPO run on CartPole with two evaluations
void TinyRun(const fs::path& dir, int seed, const std::string& lr) {
  Train(LoadConfig("", {"progress=false", "total_timesteps=1024", "eval.every_steps=512",
                        "eval.episodes=2", "eval.gif=false", "seed=" + std::to_string(seed),
                        "ppo.learning_rate=" + lr}),
        dir.string());
}

TEST(Report, TwoConfigsOfTwoSeedsEachCompareWithBandsAndIqm) {
  const fs::path root = TempPath("report_compare");
  fs::remove_all(root);
  std::vector<std::string> dirs;
  for (const std::string lr : {"0.00025", "0.001"}) {
    for (const int seed : {1, 2}) {
      dirs.push_back((root / ("lr" + lr + "_s" + std::to_string(seed))).string());
      TinyRun(dirs.back(), seed, lr);
    }
  }
  const fs::path out = root / "compare.html";
  WriteReport(dirs, out.string());
  const std::string html = ReadAll(out);
  EXPECT_NE(html.find("4 runs compared"), std::string::npos);
  EXPECT_EQ(Occurrences(html, "<tr><td>A: ppo on CartPole-v1</td><td>2</td>"), 1u);
  EXPECT_EQ(Occurrences(html, "<tr><td>B: ppo on CartPole-v1</td><td>2</td>"), 1u);
  EXPECT_EQ(Occurrences(html, "\"fill\":\"tonexty\""), 2u);  // one band per config
  for (const std::string& d : dirs)
    EXPECT_NE(html.find(fs::path(d).filename().string()), std::string::npos);
  // the table's IQM is that of the runs' final scores (their last evaluation)
  const double a1 = FinalScore(ReadRun(dirs[0])), a2 = FinalScore(ReadRun(dirs[1]));
  EXPECT_EQ(a1, ReadRun(dirs[0]).metrics.at("eval/episodic_return").back().second);
  char iqm[64];
  std::snprintf(iqm, sizeof iqm, "%.1f [", (a1 + a2) / 2);
  EXPECT_NE(html.find(iqm), std::string::npos) << iqm;
  // the page of one run: its sections, and rewritten atomically by the run itself
  const std::string single = ReadAll(fs::path(dirs[0]) / "report.html");
  for (const char* id : {"learning", "losses", "optimizer", "throughput", "video", "episode"})
    EXPECT_NE(single.find(std::string("<section id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(single.find("actor: gradient norm before clipping"), std::string::npos);
  EXPECT_NE(single.find("\"text\":\"clip 0.5\""), std::string::npos);  // ppo.max_grad_norm
  EXPECT_EQ(single.substr(single.size() - 8), "</html>\n");
  fs::remove_all(root);
}

TEST(Report, AFailedReportLeavesThePreviousOneAndNoTempFile) {
  const fs::path root = TempPath("report_atomic");
  fs::remove_all(root);
  TinyRun(root / "run", 1, "0.00025");
  const fs::path out = root / "run" / "report.html";
  const std::string before = ReadAll(out);
  ASSERT_GT(before.size(), 1'000'000u);  // Plotly's bundle is inline
  std::ofstream(root / "run" / "metrics.csv", std::ios::app) << "12,abc\n";
  const std::string error = ErrorOf([&] { WriteReport({(root / "run").string()}, out.string()); });
  EXPECT_NE(error.find("metrics.csv: line"), std::string::npos) << error;
  EXPECT_EQ(ReadAll(out), before);
  for (const auto& e : fs::directory_iterator(root / "run"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  fs::remove_all(root);
}

TEST(Report, BadRunFoldersAreClearErrors) {
  const fs::path root = TempPath("report_bad");
  fs::remove_all(root);
  fs::create_directories(root / "empty");
  EXPECT_NE(ErrorOf([&] { ReadRun((root / "nowhere").string()); }).find("not a folder"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { ReadRun((root / "empty").string()); }).find("not a run folder"),
            std::string::npos);
  std::ofstream(root / "empty" / "config.yaml") << "algo: ppo\n";
  EXPECT_NE(ErrorOf([&] { ReadRun((root / "empty").string()); }).find("metrics.csv: missing"),
            std::string::npos);
  std::ofstream(root / "empty" / "metrics.csv") << "step,tag\n";
  EXPECT_NE(
      ErrorOf([&] { ReadRun((root / "empty").string()); }).find("line 1: expected the header"),
      std::string::npos);
  std::ofstream(root / "empty" / "metrics.csv") << "step,wall_time,tag,value\n1,2.0,a,1\n";
  std::ofstream(root / "empty" / "eval_episode.json") << "{\"signals\": [";
  EXPECT_NE(ErrorOf([&] {
              ReadRun((root / "empty").string());
            }).find("eval_episode.json: not valid JSON"),
            std::string::npos);
  fs::remove_all(root);
}

TEST(Signals, BipedalWalkerUndoesItsObservationScalings) {
  auto e = env::Make("BipedalWalker-v3");
  std::vector<float> obs(24);
  e->Reset(3, obs.data());
  const std::vector<float> a = {0.5f, -0.3f, 0.8f, 0.1f};
  for (int t = 0; t < 40; ++t) e->Step({{}, a}, obs.data());
  const std::vector<env::Signal> signals = e->Unwrapped()->Signals();
  std::vector<double> v(signals.size());
  e->Unwrapped()->SignalValues(v.data());
  std::map<std::string, double> by_name;
  for (size_t k = 0; k < signals.size(); ++k) by_name[signals[k].name] = v[k];
  ASSERT_EQ(signals.size(), 25u);
  EXPECT_FLOAT_EQ(by_name["hull/angle"], obs[0]);
  EXPECT_FLOAT_EQ(by_name["hull/angular_velocity"] * 2 / 50, obs[1]);
  EXPECT_FLOAT_EQ(by_name["velocity/vx"] * 0.12, obs[2]);
  EXPECT_FLOAT_EQ(by_name["velocity/vy"] * 0.08, obs[3]);
  EXPECT_FLOAT_EQ(by_name["joint_angle/hip_a"], obs[4]);
  EXPECT_FLOAT_EQ(by_name["joint_speed/hip_a"] / 4, obs[5]);
  EXPECT_FLOAT_EQ(by_name["joint_angle/knee_a"] + 1.0, obs[6]);
  EXPECT_FLOAT_EQ(by_name["joint_speed/knee_b"] / 6, obs[12]);
  EXPECT_EQ(by_name["contact/leg_b"], obs[13]);
  EXPECT_FLOAT_EQ(by_name["lidar/9"], obs[23]);
  EXPECT_EQ(signals[5].name, "joint_angle/hip_a");
  EXPECT_EQ(signals[5].low, -0.8);
  EXPECT_EQ(signals[5].high, 1.1);
  EXPECT_EQ(signals[9].style, env::Signal::Style::kSteps);
  EXPECT_EQ(signals.back().style, env::Signal::Style::kHeatmap);
}

TEST(Signals, MujocoNamesEveryQposAndQvelByJoint) {
  auto e = env::Make("Hopper-v4");
  std::vector<float> obs(static_cast<size_t>(e->observation_space().size()));
  e->Reset(1, obs.data());
  const std::vector<float> a = {0.3f, -0.2f, 0.1f};
  e->Step({{}, a}, obs.data());
  const std::vector<env::Signal> signals = e->Unwrapped()->Signals();
  const std::vector<double> state = e->GetState();  // qpos (6), qvel (6), ctrl (3)
  ASSERT_EQ(signals.size(), 12u);
  std::vector<double> v(signals.size());
  e->Unwrapped()->SignalValues(v.data());
  for (size_t k = 0; k < v.size(); ++k) EXPECT_EQ(v[k], state[k]) << signals[k].name;
  EXPECT_EQ(signals[0].name, "qpos/rootx");
  EXPECT_EQ(signals[3].name, "qpos/thigh_joint");
  EXPECT_EQ(signals[3].unit, "rad");
  EXPECT_NEAR(signals[3].low, -150 * M_PI / 180, 1e-6);  // hopper.xml's range, in radians
  EXPECT_EQ(signals[6].name, "qvel/rootx");
  EXPECT_EQ(signals[6].unit, "m/s");
  EXPECT_TRUE(std::isnan(signals[6].low));
}

// The video overlay with the agent's value, its action and two env signals: every frame written,
// and the extra lines are in the pixels (the file differs from the plain overlay's). A name the
// env lacks is an error naming the field.
TEST(Signals, VideoOverlayShowsValueActionAndNamedSignals) {
  const fs::path dir = TempPath("overlay_signals");
  fs::create_directories(dir);
  EnvConfig c;
  c.id = "BipedalWalker-v3";
  auto act = [](const float*, int64_t, int64_t*, float* a, bool) {
    for (int j = 0; j < 4; ++j) a[j] = j % 2 ? -0.5f : 0.5f;
  };
  auto value = [](const float*, const int64_t*, const float* a) { return 42.0 + a[0]; };
  std::vector<int> frames;
  std::vector<uintmax_t> sizes;
  for (const bool extra : {false, true}) {
    const fs::path path = dir / (extra ? "extra.mp4" : "plain.mp4");
    Recording rec{path.string(), 1, true, 30};
    if (extra) rec.signals = {"velocity/vx", "joint_angle/knee_a"};
    EvalRequest req{1, true, 5, nullptr};
    {
      VideoRecorder recorder(rec);
      recorder.Attach(req);
      RunEpisodes(act, c, nullptr, req, nullptr, extra ? ValueFn(value) : ValueFn());
      recorder.Close();
    }
    frames.push_back(io::DecodeVideo(path.string()).frames);
    sizes.push_back(fs::file_size(path));
  }
  EXPECT_GT(frames[0], 10);
  EXPECT_EQ(frames[0], frames[1]);
  EXPECT_NE(sizes[0], sizes[1]);
  auto e = env::Make("BipedalWalker-v3");
  EXPECT_NE(ErrorOf([&] {
              CheckSignals({"velocity/vx", "speed"}, *e, "eval.video_overlay_signals");
            }).find("eval.video_overlay_signals: 'speed' is not a signal of BipedalWalker-v3"),
            std::string::npos);
  EXPECT_EQ(ErrorOf([&] { CheckSignals({"lidar/3"}, *e, "x"); }), "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlforge::train
