// The TensorBoard event file: TFRecord framing with both CRCs checked by an independent bitwise
// CRC-32C, every record decoded by `protoc --decode` against tests/io/tensorboard.proto (written
// from the field table in the reference notes), histograms against a plain reference, and the
// images' PNG and GIF decoded by Pillow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "rlforge/io/image.h"
#include "rlforge/io/metrics.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::io {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::TempPath;

uint32_t BitwiseCrc32c(const uint8_t* p, size_t n) {
  uint32_t crc = ~0u;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
uint32_t Masked(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The events of a TFRecord file, each record's length and data CRCs checked.
std::vector<std::string> Records(const std::string& path) {
  const std::string data = ReadAll(path);
  std::vector<std::string> events;
  for (size_t at = 0; at < data.size();) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    EXPECT_LE(at + 12, data.size());
    if (at + 12 > data.size()) break;
    std::memcpy(&len, data.data() + at, 8);
    std::memcpy(&len_crc, data.data() + at + 8, 4);
    EXPECT_EQ(len_crc,
              Masked(BitwiseCrc32c(reinterpret_cast<const uint8_t*>(data.data() + at), 8)));
    events.push_back(data.substr(at + 12, len));
    std::memcpy(&data_crc, data.data() + at + 12 + len, 4);
    EXPECT_EQ(data_crc, Masked(BitwiseCrc32c(reinterpret_cast<const uint8_t*>(events.back().data()),
                                             events.back().size())));
    at += 12 + len + 4;
  }
  return events;
}

// stdout of a shell command
std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return out;
}

const std::string kProto = std::string(RLFORGE_SOURCE_DIR) + "/tests/io/tensorboard.proto";

// protoc's text form of `bytes` as message `type` of tests/io/tensorboard.proto
std::string Decode(const std::string& bytes, const std::string& type) {
  const fs::path file = TempPath("record.bin");
  std::ofstream(file, std::ios::binary) << bytes;
  const std::string text = Run("protoc --proto_path=" + fs::path(kProto).parent_path().string() +
                               " --decode=tb." + type + " " + kProto + " < " + file.string());
  fs::remove(file);
  return text;
}

// Pillow's view of an image: "format width height frames" and the RGB bytes of each frame.
std::string Pillow(const std::string& encoded, const fs::path& rgb_out = {}) {
  const fs::path file = TempPath("image.bin");
  std::ofstream(file, std::ios::binary) << encoded;
  const std::string script =
      "import sys\nfrom PIL import Image, ImageSequence\nim = Image.open(sys.argv[1])\n"
      "frames = [f.convert('RGB').tobytes() for f in ImageSequence.Iterator(im)]\n"
      "print(im.format, im.size[0], im.size[1], len(frames))\n"
      "if len(sys.argv) > 2: open(sys.argv[2], 'wb').write(b''.join(frames))\n";
  const std::string out =
      Run("/usr/bin/python3 -c \"" + script + "\" " + file.string() + " " + rgb_out.string());
  fs::remove(file);
  return out;
}

TEST(TensorBoard, ScalarsParseWithBothCrcs) {
  const fs::path dir = TempPath("tb_scalars");
  fs::create_directories(dir);
  std::string path;
  {
    TensorBoardWriter tb(dir.string());
    path = tb.path();
    tb.AddScalar("charts/episodic_return", 21.5, 100, 1.0e9);
    tb.AddScalar("losses/value_loss", -0.25, 200, 1.0e9 + 1);
  }
  const std::vector<std::string> events = Records(path);
  ASSERT_EQ(events.size(), 3u);  // file version + two scalars
  EXPECT_NE(Decode(events[0], "Event").find("file_version: \"brain.Event:2\""), std::string::npos);
  const std::string first = Decode(events[1], "Event");
  EXPECT_NE(first.find("step: 100"), std::string::npos) << first;
  EXPECT_NE(first.find("tag: \"charts/episodic_return\""), std::string::npos) << first;
  EXPECT_NE(first.find("simple_value: 21.5"), std::string::npos) << first;
  const std::string second = Decode(events[2], "Event");
  EXPECT_NE(second.find("simple_value: -0.25"), std::string::npos) << second;
  fs::remove_all(dir);
}

// TensorFlow's Histogram::Add and EncodeToProto, written plainly: a linear scan for the bucket.
Histogram Reference(const std::vector<float>& values) {
  const std::vector<double>& limits = DefaultBucketLimits();
  std::vector<double> counts(limits.size());
  Histogram h;
  h.min = DBL_MAX, h.max = -DBL_MAX;
  for (const float f : values) {
    if (!std::isfinite(f)) continue;
    size_t b = 0;
    while (b + 1 < limits.size() && limits[b] <= f) ++b;
    counts[b] += 1;
    h.min = std::min<double>(h.min, f), h.max = std::max<double>(h.max, f);
    h.num += 1, h.sum += f, h.sum_squares += static_cast<double>(f) * f;
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0 && !h.bucket.empty() && h.bucket.back() == 0) {
      h.bucket_limit.back() = limits[i];  // extend the run of empty buckets
      continue;
    }
    h.bucket_limit.push_back(limits[i]);
    h.bucket.push_back(counts[i]);
  }
  return h;
}

TEST(TensorBoard, HistogramBucketsMatchAPlainReference) {
  const std::vector<double>& limits = DefaultBucketLimits();
  ASSERT_EQ(limits.size(), 1551u);
  EXPECT_EQ(limits.front(), -DBL_MAX);
  EXPECT_EQ(limits[775], 0.0);
  EXPECT_EQ(limits[776], 1e-12);
  EXPECT_TRUE(std::is_sorted(limits.begin(), limits.end()));

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> values = {0.0f, 0.0f, -0.0f, 1e-13f, -5e30f, 7e25f, NAN, INFINITY};
  for (int i = 0; i < 2000; ++i) values.push_back(normal(rng));
  values.push_back(static_cast<float>(limits[800]));  // exactly on a limit: the next bucket
  const Histogram h = MakeHistogram(values.data(), static_cast<int64_t>(values.size()));
  const Histogram r = Reference(values);
  EXPECT_EQ(h.bucket_limit, r.bucket_limit);
  EXPECT_EQ(h.bucket, r.bucket);
  EXPECT_EQ(h.min, -5e30f);  // exact, non-finite values left out
  EXPECT_EQ(h.max, 7e25f);
  EXPECT_EQ(h.num, static_cast<double>(values.size() - 2));
  EXPECT_EQ(h.sum, r.sum);
  EXPECT_EQ(h.sum_squares, r.sum_squares);
  double counted = 0;
  for (const double c : h.bucket) counted += c;
  EXPECT_EQ(counted, h.num);  // the counts add up
  for (size_t i = 1; i < h.bucket.size(); ++i) {
    EXPECT_LT(h.bucket_limit[i - 1], h.bucket_limit[i]);
    EXPECT_FALSE(h.bucket[i - 1] == 0 && h.bucket[i] == 0)
        << "empty buckets not collapsed at " << i;
  }
  EXPECT_LT(h.bucket.size(), 400u);
}

TEST(TensorBoard, HistogramImageTextHParamsAndRestartRecordsDecode) {
  const fs::path dir = TempPath("tb_media");
  fs::create_directories(dir);
  env::Image frame{4, 6, std::vector<uint8_t>(4 * 6 * 3, 200)};
  const std::string png = EncodePng(frame);
  std::string path;
  {
    TensorBoardWriter tb(dir.string());
    path = tb.path();
    const std::vector<float> w = {-2.0f, 0.5f, 0.5f, 3.0f};
    tb.AddHistogram("weights/actor.0.weight", MakeHistogram(w.data(), 4), 1000, 1.0e9);
    tb.AddImage("eval/frame", png, 6, 4, 3, 1000, 1.0e9);
    tb.AddText("config", "| key | value |\n|-|-|\n| seed | 1 |", 0, 1.0e9);
    tb.AddSessionStart({{"sac.q_lr", 0.001},
                        {"env.id", std::string("Pendulum-v1")},
                        {"sac.autotune", true},
                        {"seed", 0.0}},
                       "group-a", 1.0e9);
    tb.AddSessionEnd(1, 1.0e9 + 60);
    tb.AddRestart(5000, 1.0e9 + 70);
  }
  const std::vector<std::string> events = Records(path);
  ASSERT_EQ(events.size(), 7u);

  const std::string histo = Decode(events[1], "Event");
  for (const char* want : {"tag: \"weights/actor.0.weight\"", "min: -2", "max: 3", "num: 4",
                           "sum: 2", "sum_squares: 13.5", "step: 1000"})
    EXPECT_NE(histo.find(want), std::string::npos) << want << " in\n" << histo;

  const std::string image = Decode(events[2], "Event");
  for (const char* want : {"height: 4", "width: 6", "colorspace: 3", "tag: \"eval/frame\""})
    EXPECT_NE(image.find(want), std::string::npos) << want << " in\n" << image;

  const std::string text = Decode(events[3], "Event");
  for (const char* want : {"plugin_name: \"text\"", "dtype: 7", "size: 1", "string_val: \"| key"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " in\n" << text;

  // the hparams records: the plugin's content decodes as HParamsPluginData
  for (const auto& [index, tag] :
       {std::pair{4, "_hparams_/session_start_info"}, std::pair{5, "_hparams_/session_end_info"}}) {
    const std::string e = Decode(events[index], "Event");
    EXPECT_NE(e.find(std::string("tag: \"") + tag + "\""), std::string::npos) << e;
    EXPECT_NE(e.find("plugin_name: \"hparams\""), std::string::npos) << e;
    EXPECT_NE(e.find("dtype: 1"), std::string::npos) << e;  // the empty float tensor
  }
  // the start info's content, found by its tag within the record
  const std::string start_raw = events[4];
  const std::string plugin_name = "\x0a\x07hparams\x12";  // plugin_name, then content (2)
  const size_t at = start_raw.find(plugin_name);
  ASSERT_NE(at, std::string::npos);
  size_t i = at + plugin_name.size();
  size_t len = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(start_raw[i++]);
    len |= static_cast<size_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) break;
  }
  const std::string start = Decode(start_raw.substr(i, len), "HParamsPluginData");
  for (const char* want :
       {"key: \"sac.q_lr\"", "number_value: 0.001", "string_value: \"Pendulum-v1\"",
        "bool_value: true", "group_name: \"group-a\"", "key: \"seed\"", "number_value: 0"})
    EXPECT_NE(start.find(want), std::string::npos) << want << " in\n" << start;

  const std::string restart = Decode(events[6], "Event");
  EXPECT_NE(restart.find("session_log {\n  status: START\n}"), std::string::npos) << restart;
  EXPECT_NE(restart.find("step: 5000"), std::string::npos) << restart;
  EXPECT_EQ(Pillow(png), "PNG 6 4 1\n");
  fs::remove_all(dir);
}

// A frame whose pixels are palette colours in a pseudo-random pattern (long LZW streams with
// dictionary resets), and a flat one.
env::Image PaletteFrame(int w, int h, uint32_t seed) {
  const uint8_t reds[] = {0, 51, 102, 153, 204, 255}, greens[] = {0, 42, 85, 127, 170, 212, 255};
  std::mt19937 rng(seed);
  env::Image image{h, w, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (size_t p = 0; p < image.rgb.size() / 3; ++p) {
    const uint32_t r = rng();
    image.rgb[3 * p] = reds[r % 6];
    image.rgb[3 * p + 1] = greens[(r / 6) % 7];
    image.rgb[3 * p + 2] = reds[(r / 42) % 6];
  }
  return image;
}

TEST(Gif, FramesDecodeWithPillowPixelForPixel) {
  std::vector<env::Image> frames = {PaletteFrame(203, 151, 1), PaletteFrame(203, 151, 2)};
  env::Image flat{151, 203, std::vector<uint8_t>(203 * 151 * 3, 255)};
  frames.push_back(flat);
  const fs::path rgb = TempPath("frames.rgb");
  EXPECT_EQ(Pillow(EncodeGif(frames, 10.0), rgb), "GIF 203 151 3\n");
  const std::string decoded = ReadAll(rgb.string());
  std::string expected;
  for (const env::Image& f : frames) expected.append(f.rgb.begin(), f.rgb.end());
  ASSERT_EQ(decoded.size(), expected.size());
  EXPECT_TRUE(decoded == expected) << "GIF pixels differ from the frames";
  fs::remove(rgb);
}

TEST(Gif, ColoursMapToTheNearestPaletteEntryAndBadInputIsAnError) {
  env::Image odd{1, 2, {250, 10, 128, 30, 30, 30}};
  const fs::path rgb = TempPath("odd.rgb");
  EXPECT_EQ(Pillow(EncodeGif({odd}, 4.0), rgb), "GIF 2 1 1\n");
  const std::string decoded = ReadAll(rgb.string());
  EXPECT_EQ(decoded, std::string({'\xFF', '\x00', '\x99', '\x33', '\x2A', '\x33'}));
  fs::remove(rgb);
  EXPECT_THROW(EncodeGif({}, 10.0), Error);
  EXPECT_THROW(EncodeGif({odd, PaletteFrame(3, 1, 0)}, 10.0), Error);
}

TEST(Image, DownscaleAveragesBlocks) {
  env::Image image{2, 4, {0, 0, 0, 10, 20, 30, 100, 100, 100, 0, 0, 0,  //
                          2, 2, 2, 20, 40, 60, 50,  50,  50,  6, 6, 6}};
  const env::Image small = Downscale(image, 2);
  ASSERT_EQ(small.width, 2);
  ASSERT_EQ(small.height, 1);
  EXPECT_EQ(small.rgb, (std::vector<uint8_t>{8, 15, 23, 39, 39, 39}));
  EXPECT_EQ(Downscale(image, 4).rgb, image.rgb);
}

// every event of a run's TensorBoard files, decoded, in file order
std::vector<std::string> DecodedEvents(const fs::path& run_dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(run_dir))
    if (e.path().filename().string().rfind("events.out.tfevents", 0) == 0)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const fs::path& f : files)
    for (const std::string& e : Records(f.string())) out.push_back(Decode(e, "Event"));
  return out;
}

size_t Count(const std::vector<std::string>& events, const std::string& needle) {
  return std::count_if(events.begin(), events.end(),
                       [&](const std::string& e) { return e.find(needle) != std::string::npos; });
}

// A PPO run with two evaluations: histograms of every weight, gradient and action dimension, the
// frame and the episode GIF at each; the config text and the hparams session once; optimizer
// health in metrics.csv; resumed, a SessionLog START at the step it resumed from.
TEST(TensorBoard, ARunWritesMediaHParamsAndOptimizerHealth) {
  const fs::path dir = TempPath("tb_run");
  fs::remove_all(dir);
  const std::vector<std::string> overrides = {"progress=false",
                                              "total_timesteps=1024",
                                              "eval.every_steps=512",
                                              "eval.episodes=1",
                                              "checkpoint.every_steps=512",
                                              "ppo.num_steps=128",
                                              "env.num_envs=4",
                                              "eval.gif=true"};
  train::Train(train::LoadConfig("", overrides), dir.string(), false, 512);
  auto more = overrides;
  more.push_back("total_timesteps=1536");
  train::Train(train::LoadConfig("", more), dir.string(), true);

  const std::vector<std::string> events = DecodedEvents(dir);
  EXPECT_EQ(Count(events, "tag: \"config\""), 2u);  // one per process
  EXPECT_EQ(Count(events, "_hparams_/session_start_info"), 2u);
  EXPECT_EQ(Count(events, "_hparams_/session_end_info"), 2u);
  EXPECT_EQ(Count(events, "status: START"), 1u);
  EXPECT_EQ(Count(events, "step: 512\nsession_log"), 1u);
  // evaluations at 512 and 1024 (the first process stopped at 512)
  EXPECT_EQ(Count(events, "tag: \"eval/frame\""), 2u);
  EXPECT_EQ(Count(events, "tag: \"eval/episode\""), 2u);
  EXPECT_EQ(Count(events, "tag: \"eval/action/0\""), 2u);
  EXPECT_EQ(Count(events, "tag: \"weights/actor.0.weight\""), 2u);
  EXPECT_EQ(Count(events, "tag: \"gradients/critic.4.bias\""), 2u);

  const std::string csv = ReadAll((dir / "metrics.csv").string());
  for (const char* tag : {"opt/actor/grad_norm", "opt/actor/param_rms", "opt/actor/update_rms",
                          "opt/actor/update_ratio", "opt/critic/grad_norm"})
    EXPECT_NE(csv.find(std::string(",") + tag + ","), std::string::npos) << tag;
  fs::remove_all(dir);
}

// With a video recorded, the GIF takes the video's frames (no second rendering): TensorBoard gets
// the same images, byte for byte, as from a run without a video.
TEST(TensorBoard, WithAVideoTheGifSharesItsFrames) {
  std::vector<std::vector<std::string>> gifs;
  for (const char* video : {"eval.video=false", "eval.video=true"}) {
    const fs::path dir = TempPath("tb_video_gif");
    fs::remove_all(dir);
    train::Train(train::LoadConfig("", {"progress=false", "total_timesteps=1024",
                                        "eval.every_steps=512", "eval.episodes=1",
                                        "eval.gif=true", video}),
                 dir.string());
    std::vector<std::string> images;  // the image records without their wall time
    for (const std::string& e : DecodedEvents(dir)) {
      if (e.find("image {") == std::string::npos) continue;
      images.push_back(e.substr(e.find('\n') + 1));
    }
    gifs.push_back(images);
    fs::remove_all(dir);
  }
  ASSERT_EQ(gifs[0].size(), 4u);  // a frame and an episode at 512 and 1024
  EXPECT_EQ(Count(gifs[1], "tag: \"eval/episode\""), 2u);
  EXPECT_EQ(Count(gifs[1], "width: 200"), 2u);  // CartPole's 600 px, a third for the GIF
  EXPECT_TRUE(gifs[0] == gifs[1]) << "the images differ with a video recorded";
}

}  // namespace
}  // namespace rlforge::io
