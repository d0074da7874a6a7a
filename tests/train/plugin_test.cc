// Algorithms from plugins: loaded with dlopen, registered, trained and resumed like built-ins;
// every way loading can fail is a clear error.
#include <gtest/gtest.h>

#include <filesystem>

#include "rlforge/algos/registry.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::algos {
namespace {

using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;
namespace fs = std::filesystem;

TEST(Plugin, ALoadedPluginRegistersAnAlgorithmThatTrainsAndResumes) {
  EXPECT_NE(
      ErrorOf([] { train::LoadConfig("", {"algo=uniform_random"}); }).find("algo: expected one of"),
      std::string::npos);  // not there before loading
  LoadPlugin(RLFORGE_TEST_PLUGIN);
  LoadPlugin(RLFORGE_TEST_PLUGIN);  // a second load is a no-op
  ASSERT_TRUE(Find("uniform_random").make);
  const auto config = [] {
    return train::LoadConfig("", {"algo=uniform_random", "total_timesteps=4000", "progress=false",
                                  "eval.every_steps=2000"});
  };
  const fs::path a = TempPath("a"), b = TempPath("b");
  const train::TrainResult r = train::Train(config(), a.string());
  EXPECT_EQ(r.steps, 4000);
  EXPECT_GT(r.last_mean_return, 8.0);  // random CartPole: about 22
  EXPECT_LT(r.last_mean_return, 60.0);
  EXPECT_TRUE(fs::exists(a / "checkpoints/best.safetensors"));
  train::Train(config(), b.string(), false, 1000);
  train::Train(train::TrainConfig{}, b.string(), /*resume=*/true);
  EXPECT_EQ(train::CheckpointParameters((a / "checkpoints/latest.safetensors").string())
                .Text("rng.uniform_random"),
            train::CheckpointParameters((b / "checkpoints/latest.safetensors").string())
                .Text("rng.uniform_random"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Plugin, LoadingFailuresNameTheFile) {
  EXPECT_NE(ErrorOf([] { LoadPlugin("/nonexistent/librlforge_x.so"); }).find("cannot load"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([] { LoadPlugin("nosuchplugin"); }).find("librlforge_nosuchplugin.so not found"),
      std::string::npos);
  // a shared library that is no plugin
  EXPECT_NE(ErrorOf([] { LoadPlugin(RLFORGE_CORE_LIBRARY); }).find("no rlforge_register()"),
            std::string::npos);
}

TEST(Registry, UnknownAlgorithmsListTheKnownOnes) {
  EXPECT_NE(
      ErrorOf([] { Find("td3"); }).find("unknown algorithm \"td3\" (expected one of ppo, a2c"),
      std::string::npos);
}

}  // namespace
}  // namespace rlforge::algos
