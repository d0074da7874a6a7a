#include "rlforge/io/golden.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"

namespace rlforge::io {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(RLFORGE_GOLDEN_DIR) + "/classic_control/";
const char* kIds[] = {"CartPole-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0",
                      "Acrobot-v1"};

TEST(Golden, EveryEpisodeIsBitExactInEveryMode) {
  for (const char* id : kIds) {
    const auto episodes = LoadGolden(kDir + id + ".json");
    ASSERT_EQ(episodes.size(), 6u) << id;
    for (const ReplayMode mode :
         {ReplayMode::kReplay, ReplayMode::kOneStep, ReplayMode::kFromSeed}) {
      for (size_t i = 0; i < episodes.size(); ++i) {
        const ReplayReport r = ReplayEpisode(episodes[i], mode, 0.0, static_cast<int>(i));
        EXPECT_TRUE(r.passed) << id << " episode " << i << " mode " << static_cast<int>(mode)
                              << ": " << r.first_problem;
        EXPECT_EQ(r.replayed_steps, r.expected_length) << id;
        EXPECT_EQ(r.max_obs_diff, 0.0) << id;
      }
    }
  }
}

TEST(Golden, AChangedRecordingIsCaught) {
  auto episodes = LoadGolden(kDir + "Pendulum-v1.json");
  GoldenEpisode ep = episodes[0];
  ep.steps[10].reward = std::nextafter(ep.steps[10].reward, 0.0);  // one ulp
  ReplayReport r = ReplayEpisode(ep, ReplayMode::kReplay, 0.0);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.first_problem.find("step 10: reward differs"), std::string::npos) << r.first_problem;
  EXPECT_TRUE(ReplayEpisode(ep, ReplayMode::kReplay, 1e-12).passed);  // within tolerance

  GoldenEpisode flipped = episodes[0];
  flipped.steps[5].terminated = true;
  EXPECT_FALSE(ReplayEpisode(flipped, ReplayMode::kOneStep, 0.0).passed);
  GoldenEpisode reseeded = episodes[0];
  reseeded.reset_seed += 1;
  EXPECT_FALSE(ReplayEpisode(reseeded, ReplayMode::kFromSeed, 0.0).passed);
  EXPECT_TRUE(ReplayEpisode(reseeded, ReplayMode::kReplay, 0.0).passed);  // replay ignores the seed
}

// Writes `content` to a temp file and returns the loader's error message.
std::string LoadError(const std::string& name, const std::string& content) {
  const fs::path path = fs::temp_directory_path() / ("rlforge_golden_" + name + ".json");
  std::ofstream(path) << content;
  std::string message;
  try {
    LoadGolden(path.string());
  } catch (const Error& e) {
    message = e.what();
  }
  fs::remove(path);
  return message;
}

TEST(Golden, MalformedFilesNameTheFileAndTheKey) {
  nlohmann::json good = nlohmann::json::parse(std::ifstream(kDir + "MountainCar-v0.json"));
  good.erase(good.begin() + 1, good.end());

  EXPECT_NE(LoadError("syntax", "[{").find("rlforge_golden_syntax.json: invalid JSON"),
            std::string::npos);
  EXPECT_NE(LoadError("object", "{}").find("expected a JSON array"), std::string::npos);
  EXPECT_NE(LoadError("empty", "[]").find("no episodes"), std::string::npos);

  auto mutated = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json j = good;
    change(j[0]);
    return j.dump();
  };
  std::string m = LoadError("nosteps", mutated([](auto& e) { e.erase("steps"); }));
  EXPECT_NE(m.find("rlforge_golden_nosteps.json: episode 0: missing key 'steps'"),
            std::string::npos)
      << m;
  m = LoadError("seedtype", mutated([](auto& e) { e["reset_seed"] = "zero"; }));
  EXPECT_NE(m.find("key 'reset_seed': expected an integer"), std::string::npos) << m;
  m = LoadError("noobs", mutated([](auto& e) { e["steps"][3].erase("obs"); }));
  EXPECT_NE(m.find("episode 0: steps[3]: missing key 'obs'"), std::string::npos) << m;
  m = LoadError("badaction", mutated([](auto& e) { e["steps"][0]["action"] = "left"; }));
  EXPECT_NE(m.find("steps[0]: key 'action'"), std::string::npos) << m;
  m = LoadError("badlength", mutated([](auto& e) { e["length"] = 3; }));
  EXPECT_NE(m.find("key 'length' = 3"), std::string::npos) << m;
  m = LoadError("badflag", mutated([](auto& e) { e["steps"][1]["terminated"] = 0; }));
  EXPECT_NE(m.find("key 'terminated': expected true or false"), std::string::npos) << m;
  EXPECT_NE(LoadError("missing_file_never_written", "").find("invalid JSON"), std::string::npos);
  EXPECT_THROW(LoadGolden("/nonexistent/golden.json"), Error);
  EXPECT_THROW(ParseReplayMode("sideways"), Error);
}

TEST(Golden, UnknownEnvIdIsReportedNotCrashed) {
  auto episodes = LoadGolden(kDir + "CartPole-v1.json");
  GoldenEpisode ep = episodes[0];
  ep.env_id = "CartPole-v9";
  EXPECT_THROW(ReplayEpisode(ep, ReplayMode::kReplay, 0.0), Error);
}

}  // namespace
}  // namespace rlforge::io
