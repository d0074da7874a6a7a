// Videos: the FFmpeg decoder reads back what the writer wrote (codec, size, frame count), files
// appear only when complete, bad input is a clear error, the overlay touches its box only.
#include "rlforge/io/video.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "rlforge/env/registry.h"
#include "test_util.h"

namespace rlforge::io {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

// CartPole frames while it falls: they change from frame to frame.
std::vector<env::Image> CartPoleFrames(int n) {
  auto e = env::Make("CartPole-v1");
  float obs[4];
  e->Reset(0, obs);
  std::vector<env::Image> frames;
  for (int t = 0; t < n; ++t) {
    frames.push_back(e->Render());
    const int64_t a = 1;
    if (e->Step(Action{{&a, 1}, {}}, obs).terminated) e->Reset(std::nullopt, obs);
  }
  return frames;
}

TEST(Video, Mp4IsH264WithEveryFrame) {
  const fs::path path = TempPath("a.mp4");
  const auto frames = CartPoleFrames(40);
  {
    VideoWriter writer(path.string(), frames[0].width, frames[0].height, 25);
    for (const auto& f : frames) writer.Write(f);
    EXPECT_FALSE(fs::exists(path)) << "only complete files appear";
    writer.Close();
    EXPECT_EQ(writer.frames(), 40);
  }
  ASSERT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path.string() + ".part"));
  const VideoInfo info = DecodeVideo(path.string());
  EXPECT_EQ(info.codec, "h264");
  EXPECT_EQ(info.width, 600);
  EXPECT_EQ(info.height, 400);
  EXPECT_EQ(info.frames, 40);
  EXPECT_NEAR(info.fps, 25, 1e-9);
  fs::remove(path);
}

TEST(Video, WebmIsVp9AndOddSizesAreMadeEven) {
  const fs::path path = TempPath("b.webm");
  env::Image frame{75, 101, std::vector<uint8_t>(75 * 101 * 3)};
  {
    VideoWriter writer(path.string(), 101, 75);
    for (int t = 0; t < 12; ++t) {
      for (size_t i = 0; i < frame.rgb.size(); ++i) frame.rgb[i] = uint8_t(i * 7 + t * 20);
      writer.Write(frame);
    }
  }  // closed by the destructor
  const VideoInfo info = DecodeVideo(path.string());
  EXPECT_EQ(info.codec, "vp9");
  EXPECT_EQ(info.width, 102);
  EXPECT_EQ(info.height, 76);
  EXPECT_EQ(info.frames, 12);
  fs::remove(path);
}

TEST(Video, BadInputIsAClearError) {
  EXPECT_NE(
      ErrorOf([] { VideoWriter w(TempPath("c.avi").string(), 64, 64); }).find(".mp4 or .webm"),
      std::string::npos);
  EXPECT_NE(ErrorOf([] { VideoWriter w(TempPath("c.mp4").string(), 0, 64); }).find("positive"),
            std::string::npos);
  const fs::path path = TempPath("d.mp4");
  VideoWriter writer(path.string(), 64, 48);
  const env::Image wrong{40, 64, std::vector<uint8_t>(40 * 64 * 3)};
  EXPECT_NE(ErrorOf([&] { writer.Write(wrong); }).find("expected 64x48"), std::string::npos);
  writer.Close();
  fs::remove(path);
  EXPECT_NE(ErrorOf([] { DecodeVideo(TempPath("missing.mp4").string()); }).find("opening"),
            std::string::npos);
}

TEST(Video, TheOverlayChangesItsBoxOnly) {
  const env::Image bare = CartPoleFrames(1)[0];
  env::Image drawn = bare;
  const Box box = DrawOverlay(drawn, {{"step", "12"}, {"reward", "1.00"}, {"return", "12.0"}});
  EXPECT_GT(box.width, 50);
  EXPECT_GT(box.height, 40);
  EXPECT_LT(box.width, bare.width / 2);
  int inside = 0, outside = 0;
  for (int y = 0; y < bare.height; ++y) {
    for (int x = 0; x < bare.width; ++x) {
      const size_t i = (size_t(y) * bare.width + x) * 3;
      const bool differs = bare.rgb[i] != drawn.rgb[i] || bare.rgb[i + 1] != drawn.rgb[i + 1] ||
                           bare.rgb[i + 2] != drawn.rgb[i + 2];
      (box.Contains(x, y) ? inside : outside) += differs;
    }
  }
  EXPECT_EQ(outside, 0);
  EXPECT_GT(inside, box.width * box.height / 2) << "the box darkens the frame behind the text";
}

}  // namespace
}  // namespace rlforge::io
