// DreamerV3 on images (the plugin librlforge_dreamer.so): the CNN encoder's and decoder's shapes
// in both versions, the pixel loss against a plain sum, images and vectors together, open-loop
// prediction (observations after the context change nothing), the open-loop picture (rows,
// borders) and video, and a CarRacing run of a few updates that writes a decodable video.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "rlforge/algos/dreamer/agent.h"
#include "rlforge/algos/dreamer/openloop.h"
#include "rlforge/io/video.h"
#include "rlforge/train/config.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

extern "C" void rlforge_dreamer_openloop(const std::string& run, const std::string& out,
                                         int64_t sequences, double mse[2]);

namespace rlforge::dreamer {
namespace {

namespace fs = std::filesystem;
using testing::TempPath;

const bool kOneThread = (SetComputeThreads(1), true);

// A tiny model on images: every part of the 2024 architecture at widths that run in milliseconds.
algos::DreamerConfig Tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {
      "algo=dreamer",          "env.id=CarRacing-v3", "env.resize=[32,32]",
      "dreamer.deter=32",      "dreamer.hidden=16",   "dreamer.units=16",
      "dreamer.classes=4",     "dreamer.stoch=4",     "dreamer.blocks=4",
      "dreamer.depth=2",       "dreamer.imag_last=2", "dreamer.imag_horizon=3",
      "dreamer.batch_length=8"};
  s.insert(s.end(), extra.begin(), extra.end());
  return train::LoadConfig("", s).dreamer;
}

torch::Tensor RandomImages(at::IntArrayRef shape) {
  return torch::randint(0, 256, shape, torch::kUInt8);
}

// 2 random sequences of 8 steps: 16 x 16 x 3 images, `vector` floats (0: none), 2 actions.
Sequences RandomSequences(int64_t vector) {
  return {vector > 0 ? torch::randn({2, 8, vector}) : torch::Tensor(),
          torch::one_hot(torch::randint(2, {2, 8}), 2).to(torch::kFloat32),
          torch::rand({2, 8}),
          torch::zeros({2, 8}),
          torch::zeros({2, 8}),
          torch::zeros({2, 8}),
          RandomImages({2, 8, 16, 16, 3})};
}

TEST(DreamerCnn, EncoderAndDecoderShapesInBothVersions) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  for (const bool strided : {false, true}) {
    const ObsLayout o{.height = 32, .width = 48, .channels = 3};
    ImageEncoder enc(o, 2, strided, gen);
    // 4 halvings: 2 x 3 cells of the last stage's channels (2024: 4d = 8, 2023: 8d = 16)
    const int64_t last = strided ? 16 : 8;
    EXPECT_EQ(enc->out_dim(), 2 * 3 * last) << strided;
    const torch::Tensor x = enc(RandomImages({5, 7, 32, 48, 3}));
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, 7, 2 * 3 * last})) << strided;
    ImageDecoder dec(20, o, 2, strided, gen);
    const torch::Tensor y = dec(torch::randn({5, 7, 20}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 7, 32, 48, 3})) << strided;
    if (!strided) {  // 2024: sigmoid output
      EXPECT_GE(y.min().item<float>(), 0.0f);
      EXPECT_LE(y.max().item<float>(), 1.0f);
    }
  }
  // grayscale: one channel
  ImageDecoder gray(10, ObsLayout{.height = 16, .width = 16, .channels = 1}, 2, false, gen);
  EXPECT_EQ(gray(torch::randn({3, 10})).sizes(), (std::vector<int64_t>{3, 16, 16, 1}));
}

TEST(DreamerCnn, PixelLossIsTheSquaredErrorSummedOverPixels) {
  at::Generator gen = at::detail::createCPUGenerator(2);
  const ObsLayout o{.height = 16, .width = 16, .channels = 3};
  WorldModel wm(o, 2, Tiny(), gen);
  const int64_t F = wm->rssm->feature_dim();
  const torch::Tensor feat = torch::randn({2, 3, F});
  const torch::Tensor image = RandomImages({2, 3, 16, 16, 3});
  const torch::Tensor loss = wm->DecoderLoss(feat, {}, image);
  ASSERT_EQ(loss.sizes(), (std::vector<int64_t>{2, 3}));
  const torch::Tensor pred = wm->PredictImage(feat);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 0; t < 3; ++t) {
      double sum = 0;
      const auto p = pred[b][t].contiguous(), x = image[b][t].contiguous();
      for (int64_t i = 0; i < p.numel(); ++i) {
        const double d = p.data_ptr<float>()[i] - x.data_ptr<uint8_t>()[i] / 255.0;
        sum += d * d;
      }
      EXPECT_NEAR(loss[b][t].item<double>(), sum, 1e-3 * sum) << b << " " << t;
    }
  }
}

TEST(DreamerCnn, ImageAndVectorTogether) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  const ObsLayout both{.height = 16, .width = 16, .channels = 3, .vector = 5};
  WorldModel wm(both, 2, Tiny(), gen);
  const torch::Tensor vec = torch::randn({4, 5}), image = RandomImages({4, 16, 16, 3});
  // tokens: the vector MLP's units, then the CNN's cells
  EXPECT_EQ(wm->Embed(vec, image).size(-1), 16 + wm->image_encoder->out_dim());
  EXPECT_TRUE(torch::equal(wm->Embed(vec, image).slice(-1, 0, 16), wm->encoder(Symlog(vec))));
  const torch::Tensor feat = torch::randn({4, wm->rssm->feature_dim()});
  const torch::Tensor expected = wm->DecoderLoss(feat, vec, {}) + wm->DecoderLoss(feat, {}, image);
  EXPECT_TRUE(torch::allclose(wm->DecoderLoss(feat, vec, image), expected));
  // and it trains: one update on sequences of both
  Agent agent(Tiny(), both, 2, true, 1);
  const auto m = agent.Train(RandomSequences(5));
  EXPECT_GT(m.at("loss/dec"), 0.0);
}

TEST(DreamerOpenLoop, ObservationsAfterTheContextChangeNothingAndNoRandomDraws) {
  const ObsLayout o{.height = 16, .width = 16, .channels = 3};
  Agent agent(Tiny(), o, 2, true, 1);
  const Sequences d = RandomSequences(0);
  const torch::Tensor rng_before = agent.generator().get_state();
  const auto p = agent.OpenLoop(d, 4);
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{2, 8, 16, 16, 3}));
  EXPECT_FALSE(p.vector.defined());
  EXPECT_TRUE(torch::equal(agent.generator().get_state(), rng_before));
  EXPECT_TRUE(torch::equal(agent.OpenLoop(d, 4).image, p.image));  // deterministic
  Sequences later = d, earlier = d;
  later.image = d.image.clone();
  later.image.slice(1, 4).random_(0, 256);  // the imagined half: unseen
  EXPECT_TRUE(torch::equal(agent.OpenLoop(later, 4).image, p.image));
  earlier.image = d.image.clone();
  earlier.image.slice(1, 0, 4).random_(0, 256);  // the observed half: seen
  EXPECT_FALSE(torch::equal(agent.OpenLoop(earlier, 4).image.slice(1, 4), p.image.slice(1, 4)));
}

// Truth t, prediction p, for B sequences of T steps of H x W x 3, values from a pattern.
struct Pictures {
  int64_t B = 2, T = 6, H = 8, W = 10, C = 3;
  std::vector<float> truth, pred;
  Pictures() {
    const size_t n = static_cast<size_t>(B * T * H * W * C);
    for (size_t i = 0; i < n; ++i) {
      truth.push_back(static_cast<float>(i % 7) / 7.0f);
      pred.push_back(static_cast<float>(i % 5) / 5.0f);
    }
  }
  OpenLoop View() const { return {B, T, 3, H, W, C, 0, truth, pred}; }
};

TEST(DreamerOpenLoop, FrameHasThreeRowsPerSequenceAndGreenThenRedBorders) {
  const Pictures p;
  const OpenLoop o = p.View();
  const int s = kOpenLoopScale, border = kOpenLoopBorder;
  const int tile_h = static_cast<int>(p.H) + 2 * border,
            tile_w = static_cast<int>(p.W) + 2 * border;
  for (int64_t t : {0, 2, 3, 5}) {
    const env::Image img = OpenLoopFrame(o, t);
    ASSERT_EQ(img.height, 3 * tile_h * s);
    ASSERT_EQ(img.width, 2 * tile_w * s);
    auto px = [&](int x, int y) {  // observation-scale coordinates
      const uint8_t* q = &img.rgb[(static_cast<size_t>(y * s) * img.width + x * s) * 3];
      return std::vector<int>{q[0], q[1], q[2]};
    };
    const std::vector<int> frame =
        t < 3 ? std::vector<int>{0, 200, 0} : std::vector<int>{220, 0, 0};
    for (int b = 0; b < 2; ++b) {
      for (int row = 0; row < 3; ++row) {
        EXPECT_EQ(px(b * tile_w, row * tile_h), frame) << t << b << row;                   // corner
        EXPECT_EQ(px(b * tile_w + tile_w - 1, row * tile_h + 5), frame) << t << b << row;  // edge
        // pixel (y 3, x 4), channel 1 of each row: truth, prediction, |prediction - truth|
        const size_t i = ((static_cast<size_t>(b) * p.T + t) * p.H * p.W + 3 * p.W + 4) * 3 + 1;
        const double v = row == 0   ? p.truth[i]
                         : row == 1 ? p.pred[i]
                                    : std::abs(p.pred[i] - p.truth[i]);
        EXPECT_EQ(px(b * tile_w + border + 4, row * tile_h + border + 3)[1],
                  static_cast<int>(v * 255.0 + 0.5))
            << t << b << row;
      }
    }
  }
}

TEST(DreamerOpenLoop, ErrorsOfPredictionAndOfRepeatingTheLastObservedStep) {
  const Pictures p;
  const OpenLoop o = p.View();  // context 3 of 6 steps
  for (int64_t steps : {2, 15}) {
    double pred = 0, repeat = 0, n = 0;
    const size_t values = static_cast<size_t>(p.H * p.W * p.C);
    for (int64_t b = 0; b < p.B; ++b) {
      for (int64_t t = 3; t < std::min<int64_t>(6, 3 + steps); ++t) {
        for (size_t i = 0; i < values; ++i) {
          const size_t at = static_cast<size_t>(b * p.T + t) * values + i;
          const size_t last = static_cast<size_t>(b * p.T + 2) * values + i;
          pred += std::pow(p.pred[at] - p.truth[at], 2);
          repeat += std::pow(p.truth[last] - p.truth[at], 2);
          n += 1;
        }
      }
    }
    const OpenLoopErrors e = OpenLoopError(o, steps);
    EXPECT_NEAR(e.prediction, pred / n, 1e-6) << steps;
    EXPECT_NEAR(e.repeat_last, repeat / n, 1e-6) << steps;
    EXPECT_GT(e.repeat_last, 0.0);
  }
}

TEST(DreamerOpenLoop, VideoHasAFramePerStep) {
  const Pictures p;
  const fs::path path = TempPath("openloop.mp4");
  WriteOpenLoopVideo(p.View(), path.string(), 10);
  const io::VideoInfo info = io::DecodeVideo(path.string());
  EXPECT_EQ(info.frames, p.T);
  EXPECT_EQ(info.width, OpenLoopFrame(p.View(), 0).width);
  EXPECT_EQ(info.height, OpenLoopFrame(p.View(), 0).height);
  fs::remove(path);
}

std::vector<std::string> TinyCarRacing(std::vector<std::string> extra) {
  std::vector<std::string> s = {"algo=dreamer",
                                "env.id=CarRacing-v3",
                                "env.resize=[32,32]",
                                "dreamer.deter=32",
                                "dreamer.hidden=16",
                                "dreamer.units=16",
                                "dreamer.stoch=4",
                                "dreamer.blocks=4",
                                "dreamer.depth=2",
                                "dreamer.batch_size=2",
                                "dreamer.batch_length=8",
                                "dreamer.imag_last=2",
                                "dreamer.imag_horizon=3",
                                "dreamer.train_ratio=4",
                                "dreamer.prefill=40",
                                "dreamer.buffer_size=1000",
                                "eval.episodes=1",
                                "eval.histograms=false",
                                "dreamer.log_every=20",
                                "progress=false",
                                "report=false"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

TEST(DreamerOpenLoop, VectorPlotHasAPanelPerDimensionTwoAbreast) {
  // 3 dimensions, 6 steps of one sequence: panels of 360 x 120 in 2 columns and 2 rows
  std::vector<float> truth(18), pred(18);
  for (size_t i = 0; i < truth.size(); ++i) truth[i] = std::sin(0.3f * i), pred[i] = 0.5f;
  const OpenLoop o{1, 6, 3, 0, 0, 0, 3, truth, pred};
  const fs::path path = TempPath("plot.png");
  WriteOpenLoopPlot(o, path.string());
  std::ifstream in(path, std::ios::binary);
  const std::string png{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto be32 = [&](size_t at) {  // IHDR's big-endian width and height
    return (uint8_t(png[at]) << 24) | (uint8_t(png[at + 1]) << 16) | (uint8_t(png[at + 2]) << 8) |
           uint8_t(png[at + 3]);
  };
  EXPECT_EQ(be32(16), 720);
  EXPECT_EQ(be32(20), 240);
  fs::remove(path);
}

// The value of the last row of `tag` in a metrics.csv's text (step,time,tag,value rows).
double LastValue(const std::string& csv, const std::string& tag) {
  const size_t at = csv.rfind("," + tag + ",");
  if (at == std::string::npos) return -1;
  return std::stod(csv.substr(at + tag.size() + 2));
}

TEST(DreamerRun, CarRacingFewUpdatesWritesADecodableOpenLoopVideo) {
  const fs::path dir = TempPath("carracing");
  train::Train(train::LoadConfig("", TinyCarRacing({"total_timesteps=60", "eval.every_steps=60",
                                                    "checkpoint.save_replay_buffer=true"})),
               dir.string());
  const io::VideoInfo info = io::DecodeVideo((dir / "videos/openloop_60.mp4").string());
  EXPECT_EQ(info.frames, 8);
  EXPECT_EQ(info.height, 3 * (32 + 2 * kOpenLoopBorder) * kOpenLoopScale);
  EXPECT_EQ(info.width, 4 * (32 + 2 * kOpenLoopBorder) * kOpenLoopScale);  // 4 sequences
  std::ifstream in(dir / "metrics.csv");
  const std::string metrics{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(metrics.find("60,"), std::string::npos);
  EXPECT_NE(metrics.find("openloop/mse"), std::string::npos);
  EXPECT_NE(metrics.find("openloop/repeat_last_mse"), std::string::npos);
  // `rlforge dreamer openloop`: from the saved replay, a still or a video; other files refused.
  // The final checkpoint is the model the evaluation at step 60 predicted with, and the command
  // draws the same sequences: the same errors, the prediction's above zero
  double mse[2] = {-1, -1};
  rlforge_dreamer_openloop(dir.string(), (dir / "still.png").string(), 0, mse);
  EXPECT_GT(fs::file_size(dir / "still.png"), 1000u);
  EXPECT_GT(mse[0], 0.0);
  EXPECT_NEAR(mse[0], LastValue(metrics, "openloop/mse"), 1e-6 * mse[0]);
  EXPECT_NEAR(mse[1], LastValue(metrics, "openloop/repeat_last_mse"), 1e-6 * mse[1] + 1e-12);
  // --sequences 3: the errors average over another draw of another size
  double few[2] = {-1, -1};
  rlforge_dreamer_openloop(dir.string(), (dir / "few.png").string(), 3, few);
  EXPECT_GT(few[0], 0.0);
  EXPECT_NE(few[0], mse[0]);
  EXPECT_NE(testing::ErrorOf([&] {
              rlforge_dreamer_openloop(dir.string(), "x.gif", 0, mse);
            }).find("--out: an image run's open-loop prediction is a video"),
            std::string::npos);
  EXPECT_FALSE(fs::exists("x.gif"));
  fs::remove_all(dir);
}

TEST(DreamerRun, OpenLoopEvaluationsLeaveTrainingUnchanged) {
  // the open-loop sequences come from their own generator, not the replay's: evaluating with and
  // without them trains the same weights (32 sequences measured, 2 shown)
  const fs::path a = TempPath("with"), b = TempPath("without");
  const std::vector<std::string> knobs = {"total_timesteps=120", "eval.every_steps=40",
                                          "dreamer.openloop_sequences=2",
                                          "env.kwargs.max_episode_steps=50"};  // short evaluations
  auto with = knobs, without = knobs;
  without.push_back("dreamer.openloop=false");
  train::Train(train::LoadConfig("", TinyCarRacing(with)), a.string());
  train::Train(train::LoadConfig("", TinyCarRacing(without)), b.string());
  EXPECT_TRUE(fs::exists(a / "videos/openloop_80.mp4"));
  EXPECT_FALSE(fs::exists(b / "videos/openloop_80.mp4"));
  const auto pa = train::CheckpointParameters((a / "checkpoints/latest.safetensors").string());
  const auto pb = train::CheckpointParameters((b / "checkpoints/latest.safetensors").string());
  ASSERT_GT(pa.tensors().size(), 20u);
  for (const auto& [name, t] : pa.tensors()) EXPECT_EQ(t.bytes, pb.Get(name).bytes) << name;
  for (const auto& p : {a, b}) fs::remove_all(p);
}

TEST(DreamerRun, OpenLoopOfARunWithoutItsReplayIsAClearError) {
  const fs::path dir = TempPath("noreplay");
  double mse[2];
  train::Train(train::LoadConfig("", TinyCarRacing({"total_timesteps=50", "eval.every_steps=0"})),
               dir.string());
  EXPECT_NE(testing::ErrorOf([&] {
              rlforge_dreamer_openloop(dir.string(), (dir / "o.mp4").string(), 0, mse);
            }).find("its checkpoint kept no replay buffer to predict"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "o.mp4"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlforge::dreamer
