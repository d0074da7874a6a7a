// The human teacher in a real run: a stop while a session waits loses no answer, the pending
// pairs can be answered while the run is stopped, and --resume asks the same pairs under the same
// ids, finds those answers and goes on.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "rlforge/feedback/store.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::algos::pebble {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> HumanRun(int port) {
  return {"algo=pebble",
          "env.id=Pendulum-v1",
          "env.num_envs=1",
          "progress=false",
          "total_timesteps=1300",
          "eval.every_steps=0",
          "checkpoint.every_steps=300",
          "checkpoint.save_replay_buffer=true",
          "sac.hidden=[32, 32]",
          "sac.batch_size=64",
          "pebble.random_exploration_steps=200",
          "pebble.unsupervised_steps=600",
          "pebble.feedback_frequency=400",
          "pebble.queries_per_session=3",
          "pebble.max_feedback=6",
          "pebble.segment_length=25",
          "pebble.reset_update=10",
          "pebble.reward_model.hidden=[32, 32]",
          "pebble.teacher.preset=human",
          "pebble.human.port=" + std::to_string(port)};
}

// Pending pair ids the running app lists (empty while it is not up or has none).
std::vector<std::string> Pending(httplib::Client& c) {
  std::vector<std::string> ids;
  const auto r = c.Get("/api/pairs");
  if (!r || r->status != 200) return ids;
  const json body = json::parse(r->body);  // kept alive for the loop
  for (const auto& p : body["pending"]) ids.push_back(p["id"]);
  return ids;
}

TEST(HumanTeacher, AStopMidSessionLosesNoAnswerAndResumeAsksTheSamePairs) {
  const int port = 20000 + ::getpid() % 20000;
  const fs::path run = rlforge::testing::TempPath("run");
  httplib::Client client("127.0.0.1", port);
  std::string first_error;
  train::TrainResult stopped;
  // no periodic checkpoint and no saved replay buffer: the stop itself must leave what resumes
  std::vector<std::string> settings = HumanRun(port);
  settings.push_back("checkpoint.every_steps=0");
  settings.push_back("checkpoint.save_replay_buffer=false");
  std::thread training([&] {
    try {
      stopped = train::Train(train::LoadConfig("", settings), run.string());
    } catch (const std::exception& e) {
      first_error = e.what();
    }
  });
  std::vector<std::string> asked;
  for (int i = 0; i < 600 && asked.size() < 3; ++i) {
    asked = Pending(client);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(asked.size(), 3u) << "the first session's pairs";
  ASSERT_EQ(
      client
          .Post("/api/label", json{{"id", asked[1]}, {"label", "right"}}.dump(), "application/json")
          ->status,
      200);
  std::raise(SIGINT);  // Ctrl-C while the session waits
  training.join();
  EXPECT_EQ(first_error, "") << "a stop while waiting is no error";
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_TRUE(fs::exists(run / "checkpoints/latest.safetensors"));

  {  // `rlforge feedback serve` on the stopped run reports where it stopped
    const int serve_port = port + 1;
    const pid_t serve = fork();
    if (serve == 0) {
      const std::string p = std::to_string(serve_port);
      execl(RLFORGE_BIN, RLFORGE_BIN, "feedback", "serve", run.c_str(), "--port", p.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    httplib::Client app("127.0.0.1", serve_port);
    json status;
    for (int i = 0; i < 300 && status.is_null(); ++i) {
      if (const auto r = app.Get("/api/status"); r && r->status == 200)
        status = json::parse(r->body);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(serve, SIGINT);
    int wstatus = 0;
    waitpid(serve, &wstatus, 0);
    ASSERT_FALSE(status.is_null()) << "feedback serve did not answer";
    EXPECT_EQ(status["state"], "stopped");
    EXPECT_EQ(status["step"], stopped.steps);
    EXPECT_EQ(status["total_steps"], 1300);
    EXPECT_EQ(status["max_feedback"], 6);
    EXPECT_EQ(status["pending"], 2);
    EXPECT_FALSE(status["returns"].empty());
  }
  {  // the run is stopped: its pending pairs are answered (what `rlforge feedback serve` offers)
    feedback::FeedbackStore store((run / "feedback").string());
    ASSERT_EQ(store.Pending().size(), 2u);
    EXPECT_EQ(store.AnswerOf(asked[1]), feedback::Answer::kRight);
    store.Submit(asked[0], feedback::Answer::kLeft);
    store.Submit(asked[2], feedback::Answer::kEqual);
  }
  train::TrainResult result;
  std::thread resumed(
      [&] { result = train::Train(train::TrainConfig{}, run.string(), /*resume=*/true); });
  std::vector<std::string> second;  // the next session's pairs, answered as they come
  for (int i = 0; i < 600 && second.size() < 3; ++i) {
    for (const std::string& id : Pending(client)) {
      EXPECT_EQ(id.rfind("s2-", 0), 0u) << "session 1 was not asked again: " << id;
      client.Post("/api/label", json{{"id", id}, {"label", "left"}}.dump(), "application/json");
      second.push_back(id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  resumed.join();
  EXPECT_EQ(result.steps, 1300);
  feedback::FeedbackStore store((run / "feedback").string());
  EXPECT_EQ(store.answered(), 6u);
  EXPECT_EQ(store.AnswerOf(asked[1]), feedback::Answer::kRight) << "the answer before the stop";
  std::ifstream csv(run / "metrics.csv");
  double labels = 0;
  for (std::string line; std::getline(csv, line);)
    if (line.find(",feedback/labels,") != std::string::npos)
      labels = std::stod(line.substr(line.rfind(',') + 1));
  EXPECT_EQ(labels, 6);
  fs::remove_all(run);
}

TEST(HumanTeacher, WithATimeoutUnansweredPairsExpireAndTrainingGoesOn) {
  const int port = 20000 + (::getpid() + 7) % 20000;
  const fs::path run = rlforge::testing::TempPath("run");
  std::vector<std::string> settings = HumanRun(port);
  settings.push_back("pebble.human.timeout_s=1");
  settings.push_back("checkpoint.save_replay_buffer=false");
  const train::TrainResult result = train::Train(train::LoadConfig("", settings), run.string());
  EXPECT_EQ(result.steps, 1300);  // nobody answered, twice; it went on after each timeout
  feedback::FeedbackStore store((run / "feedback").string());
  EXPECT_TRUE(store.Pending().empty());
  EXPECT_EQ(store.answered(), 6u);  // all six expired
  std::ifstream csv(run / "metrics.csv");
  std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(",feedback/queries_asked,6"), std::string::npos);
  EXPECT_NE(text.find(",feedback/labels,0"), std::string::npos);
  EXPECT_EQ(text.find("reward_model/epochs"), std::string::npos) << "no labels, no training";
  fs::remove_all(run);
}

}  // namespace
}  // namespace rlforge::algos::pebble
