// Load on the labeling app: 32 concurrent clients on loopback post answers (3,200 requests, many
// to the same pairs with different answers) while training waits for them. Every pair is stored
// exactly once, the first answer stands (the one request told "ok"), nothing is a 5xx, and more
// rounds of the same load do not grow the process's memory.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "rlforge/feedback/server.h"
#include "rlforge/feedback/store.h"
#include "test_util.h"

namespace rlforge::feedback {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kPairs = 200, kClients = 32, kPostsPerClient = 100;

std::string Id(int k) { return "s1-q" + std::to_string(k); }

// Resident memory of this process, in KiB.
long RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

struct Outcome {
  std::mutex mutex;
  std::map<int, int> statuses;                     // HTTP status -> count
  std::map<std::string, std::vector<Answer>> oks;  // pair -> answers told "ok" (not duplicate)
  int failed = 0;                                  // requests that got no response
};

// One round: every client posts its answers, each on its own connection.
void Round(int port, Outcome& out) {
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([c, port, &out] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(30, 0);
      for (int j = 0; j < kPostsPerClient; ++j) {
        const int k = (c * 37 + j * 11) % kPairs;
        const Answer answer = static_cast<Answer>((c + j) % 4);
        const auto r =
            client.Post("/api/label", json{{"id", Id(k)}, {"label", ToString(answer)}}.dump(),
                        "application/json");
        std::lock_guard lock(out.mutex);
        if (!r) {
          ++out.failed;
          std::fprintf(stderr, "no response: %s\n", httplib::to_string(r.error()).c_str());
          continue;
        }
        ++out.statuses[r->status];
        const json body = json::parse(r->body, nullptr, false);
        if (r->status == 200 && !body.contains("duplicate")) out.oks[Id(k)].push_back(answer);
      }
    });
  }
  for (auto& t : clients) t.join();
}

TEST(LabelingLoad, ConcurrentAnswersAreStoredOnceAndTheFirstStands) {
  const fs::path dir = rlforge::testing::TempPath("load");
  FeedbackStore store(dir.string());
  std::vector<std::string> ids;
  for (int k = 0; k < kPairs; ++k) {
    ids.push_back(Id(k));
    store.AddQuery({Id(k), 1, Id(k) + "-0.mp4", Id(k) + "-1.mp4"});
  }
  FeedbackServer server(store, {"127.0.0.1", 0, ""});
  server.Start();
  // training waits for the session's answers meanwhile
  std::vector<std::optional<Answer>> waited;
  std::thread trainer([&] { waited = store.Wait(ids, 60.0, nullptr); });

  Outcome first;
  Round(server.port(), first);
  trainer.join();
  EXPECT_EQ(first.failed, 0);
  for (const auto& [status, count] : first.statuses)
    EXPECT_TRUE(status == 200 || status == 409) << count << " answers got " << status;
  int total = 0;
  for (const auto& [status, count] : first.statuses) total += count;
  EXPECT_EQ(total, kClients * kPostsPerClient);
  // each pair: one "ok", its answer stored, and what training got
  for (int k = 0; k < kPairs; ++k) {
    ASSERT_EQ(first.oks[Id(k)].size(), 1u) << Id(k);
    EXPECT_EQ(store.AnswerOf(Id(k)), first.oks[Id(k)][0]) << Id(k);
    EXPECT_EQ(waited[k], first.oks[Id(k)][0]) << Id(k);
  }
  // on disk: each pair exactly once, with that answer, after a restart too
  std::map<std::string, int> lines;
  std::ifstream labels(dir / "labels.jsonl");
  for (std::string line; std::getline(labels, line);) ++lines[json::parse(line)["id"]];
  EXPECT_EQ(lines.size(), static_cast<size_t>(kPairs));
  for (const auto& [id, n] : lines) EXPECT_EQ(n, 1) << id;
  {
    FeedbackStore again(dir.string());
    for (int k = 0; k < kPairs; ++k) EXPECT_EQ(again.AnswerOf(Id(k)), first.oks[Id(k)][0]);
  }

  // memory: two more rounds (all duplicates and conflicts now) settle; a third adds nothing
  // that stays (ASan holds freed memory in quarantine, so only the plain build measures it)
  Outcome warm, last;
  Round(server.port(), warm);
  const long before = RssKiB();
  Round(server.port(), last);
  const long growth = RssKiB() - before;
  EXPECT_EQ(last.failed, 0);
  EXPECT_EQ(last.oks.size(), 0u);
  for (const auto& [status, count] : last.statuses) EXPECT_LT(status, 500);
  std::printf(
      "labeling load: %d requests a round from %d clients; memory after round 3 - round 2: "
      "%ld KiB\n",
      kClients * kPostsPerClient, kClients, growth);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(growth, 4096) << "the server's memory grew " << growth << " KiB in a round";
#endif
  server.Stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlforge::feedback
