// The labeling app's store and HTTP API: answers survive a restart, every bad request is a 4xx
// that changes nothing, the token is checked, clip names cannot leave the clips folder, query
// clips re-render stored states.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rlforge/env/registry.h"
#include "rlforge/feedback/clips.h"
#include "rlforge/feedback/server.h"
#include "rlforge/feedback/store.h"
#include "rlforge/io/video.h"
#include "test_util.h"

namespace rlforge::feedback {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

size_t Lines(const fs::path& file) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

void AskThree(FeedbackStore& store) {
  for (int i = 0; i < 3; ++i) {
    const std::string id = "s1-q" + std::to_string(i);
    store.AddQuery({id, 1, id + "-0.mp4", id + "-1.mp4"});
  }
}

TEST(FeedbackStore, AnswersSurviveARestartAndTheFirstAnswerStands) {
  const fs::path dir = TempPath("store");
  {
    FeedbackStore store(dir.string());
    AskThree(store);
    store.AddQuery({"s1-q0", 1, "x.mp4", "y.mp4"});  // known id: unchanged
    EXPECT_EQ(store.Submit("s1-q1", Answer::kRight), FeedbackStore::Result::kOk);
    EXPECT_EQ(store.Submit("s1-q1", Answer::kRight), FeedbackStore::Result::kDuplicate);
    EXPECT_EQ(store.Submit("s1-q1", Answer::kLeft), FeedbackStore::Result::kConflict);
    EXPECT_EQ(store.Submit("s9-q9", Answer::kLeft), FeedbackStore::Result::kUnknown);
  }  // a crash here loses nothing: every line was fsynced
  FeedbackStore again(dir.string());
  ASSERT_EQ(again.Pending().size(), 2u);
  EXPECT_EQ(again.Pending()[0].id, "s1-q0");
  EXPECT_EQ(again.Pending()[0].clip0, "s1-q0-0.mp4");
  EXPECT_EQ(again.AnswerOf("s1-q1"), Answer::kRight);
  EXPECT_EQ(Lines(dir / "labels.jsonl"), 1u);
  EXPECT_EQ(Lines(dir / "queries.jsonl"), 3u);
  // a session waiting on all three gets the stored answer and, after the timeout, expires the rest
  const auto answers = again.Wait({"s1-q0", "s1-q1", "s1-q2"}, 0.3, nullptr);
  EXPECT_FALSE(answers[0]);
  EXPECT_EQ(answers[1], Answer::kRight);
  again.Expire({"s1-q0", "s1-q1", "s1-q2"});
  EXPECT_TRUE(again.Pending().empty());
  EXPECT_EQ(FeedbackStore(dir.string()).AnswerOf("s1-q2"), Answer::kExpired);
  fs::remove_all(dir);
}

TEST(FeedbackStore, AMalformedFileIsAnErrorNamingTheLine) {
  const fs::path dir = TempPath("bad");
  fs::create_directories(dir);
  std::ofstream(dir / "queries.jsonl") << "{\"id\": \"a\"}\n{not json\n";
  EXPECT_NE(ErrorOf([&] { FeedbackStore s(dir.string()); }).find("queries.jsonl:2"),
            std::string::npos);
  std::ofstream(dir / "queries.jsonl") << "{\"id\": \"a\"}\n";
  std::ofstream(dir / "labels.jsonl") << "{\"id\": \"a\", \"label\": \"up\"}\n";
  EXPECT_NE(ErrorOf([&] { FeedbackStore s(dir.string()); }).find("label \"up\""),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(FeedbackStore, ALineACrashCutShortIsDroppedAndTheNextStartsClean) {
  const fs::path dir = TempPath("cut");
  fs::create_directories(dir);
  // the answer to s1-q1 was being written when the process died: never acknowledged
  AskThree(*std::make_unique<FeedbackStore>(dir.string()));
  std::ofstream(dir / "labels.jsonl") << "{\"id\": \"s1-q0\", \"label\": \"left\"}\n{\"id\": \"s1-";
  {
    FeedbackStore store(dir.string());
    EXPECT_EQ(store.answered(), 1u);
    EXPECT_EQ(store.Pending().size(), 2u);
    EXPECT_EQ(store.Submit("s1-q1", Answer::kRight), FeedbackStore::Result::kOk);
  }
  FeedbackStore again(dir.string());
  EXPECT_EQ(again.AnswerOf("s1-q1"), Answer::kRight);
  EXPECT_EQ(Lines(dir / "labels.jsonl"), 2u);
  // a whole last line missing only its newline is kept, and the next line starts after it
  std::ofstream(dir / "labels.jsonl") << "{\"id\": \"s1-q0\", \"label\": \"left\"}";
  {
    FeedbackStore store(dir.string());
    EXPECT_EQ(store.AnswerOf("s1-q0"), Answer::kLeft);
    store.Submit("s1-q2", Answer::kEqual);
  }
  FeedbackStore last(dir.string());
  EXPECT_EQ(last.AnswerOf("s1-q2"), Answer::kEqual);
  fs::remove_all(dir);
}

TEST(FeedbackStore, AnAlteredLineIsAnErrorNotAnotherAnswer) {
  const fs::path dir = TempPath("altered");
  {
    FeedbackStore store(dir.string());
    AskThree(store);
    store.Submit("s1-q0", Answer::kLeft);
  }
  std::ifstream in(dir / "labels.jsonl");
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(line.find("\"crc32c\":"), std::string::npos);
  const std::string whole = line;
  line.replace(line.find("left"), 4, "righ");  // one answer turned into another
  std::ofstream(dir / "labels.jsonl") << line;
  EXPECT_NE(ErrorOf([&] {
              FeedbackStore s(dir.string());
            }).find("labels.jsonl:1: the line does not match its checksum"),
            std::string::npos);
  // junk after a whole last line is not a line cut short: an error, and the file is left as it is
  std::ofstream(dir / "labels.jsonl") << whole.substr(0, whole.size() - 1) << "*";
  EXPECT_NE(ErrorOf([&] { FeedbackStore s(dir.string()); }).find("labels.jsonl:1:"),
            std::string::npos);
  EXPECT_EQ(fs::file_size(dir / "labels.jsonl"), whole.size());
  fs::remove_all(dir);
}

// A served store with three pending pairs and one clip.
struct Served {
  explicit Served(const std::string& name, std::string token = "")
      : dir(TempPath(name)),
        store(dir.string()),
        server(store, {"127.0.0.1", 0, std::move(token)}) {
    AskThree(store);
    std::ofstream(dir / "clips" / "s1-q0-0.mp4") << "not really a video";
    server.Start();
    client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
  }
  ~Served() {
    server.Stop();
    fs::remove_all(dir);
  }
  httplib::Result Label(const std::string& body, const httplib::Headers& headers = {}) {
    return client->Post("/api/label", headers, body, "application/json");
  }
  fs::path dir;
  FeedbackStore store;
  FeedbackServer server;
  std::unique_ptr<httplib::Client> client;
};

TEST(FeedbackServer, BadRequestsAre4xxAndChangeNothing) {
  Served s("api");
  const auto bad = [&](const std::string& body, int status, const std::string& message) {
    const auto r = s.Label(body);
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, status) << body;
    EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find(message), std::string::npos)
        << r->body;
  };
  bad("{not json", 400, "malformed JSON");
  bad("[1, 2]", 400, "expected {\"id\": string, \"label\": string}");
  bad("{\"id\": \"s1-q0\"}", 400, "expected {\"id\"");
  bad("{\"id\": 3, \"label\": \"left\"}", 400, "expected {\"id\"");
  bad("{\"id\": \"s1-q0\", \"label\": \"up\"}", 400, "label must be left, right, equal or skip");
  bad("{\"id\": \"s7-q7\", \"label\": \"left\"}", 404, "unknown pair id");
  EXPECT_FALSE(fs::exists(s.dir / "labels.jsonl")) << "nothing was written";
  EXPECT_EQ(s.store.Pending().size(), 3u);

  auto ok = s.Label(R"({"id": "s1-q0", "label": "equal"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  ok = s.Label(R"({"id": "s1-q0", "label": "equal"})");  // the same answer again: idempotent
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(json::parse(ok->body)["duplicate"].get<bool>());
  bad(R"({"id": "s1-q0", "label": "left"})", 409, "already answered equal");
  EXPECT_EQ(Lines(s.dir / "labels.jsonl"), 1u);

  const auto pairs = json::parse(s.client->Get("/api/pairs")->body);
  EXPECT_EQ(pairs["pending"].size(), 2u);
  EXPECT_EQ(pairs["answered"], 1);
  EXPECT_EQ(pairs["pending"][0]["clip0"], "/clips/s1-q1-0.mp4");
  const auto status = json::parse(s.client->Get("/api/status")->body);
  EXPECT_EQ(status["pending"], 2);
  EXPECT_EQ(status["state"], "stopped");
  const auto page = s.client->Get("/");
  EXPECT_NE(page->body.find("Left is better"), std::string::npos);
  EXPECT_NE(s.client->Get("/app.js")->body.find("ArrowLeft"), std::string::npos);
}

TEST(FeedbackServer, ClipNamesCannotLeaveTheClipsFolder) {
  Served s("clips");
  const auto clip = s.client->Get("/clips/s1-q0-0.mp4");
  ASSERT_TRUE(clip);
  EXPECT_EQ(clip->status, 200);
  EXPECT_EQ(clip->body, "not really a video");
  EXPECT_EQ(clip->get_header_value("Content-Type"), "video/mp4");
  for (const char* path :
       {"/clips/..%2Fqueries.jsonl", "/clips/../queries.jsonl",
        "/clips/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/clips/a%2Fb.mp4", "/clips/..", "/clips/"}) {
    const auto r = s.client->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_GE(r->status, 400) << path;
    EXPECT_LT(r->status, 500) << path;
    EXPECT_EQ(r->body.find("s1-q0"), std::string::npos) << path << ": " << r->body;
  }
  EXPECT_EQ(s.client->Get("/clips/missing.mp4")->status, 404);
}

TEST(FeedbackServer, EveryErrorIsJsonAndBadInputIsNever5xx) {
  Served s("errors");
  // a bare dot names the clips folder itself; no body; a body over 1 MiB; an unknown path
  const auto post_raw = [&](const std::string& body) {
    return s.client->Post("/api/label", body, "application/json");
  };
  const std::vector<std::pair<std::function<httplib::Result()>, int>> cases = {
      {[&] { return s.client->Get("/clips/."); }, 404},
      {[&] { return post_raw(""); }, 400},
      {[&] { return post_raw(std::string(2 << 20, 'x')); }, 413},
      {[&] { return s.client->Get("/no/such/path"); }, 404}};
  for (const auto& [request, want] : cases) {
    const httplib::Result r = request();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, want);
    const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(body.is_object()) << r->status << ": " << r->body;
    EXPECT_TRUE(body.contains("error")) << r->body;
  }
}

TEST(FeedbackServer, ASecondServerOnAPortInUseIsRefused) {
  Served s("port");
  FeedbackStore other_store((s.dir / "other").string());
  FeedbackServer other(other_store, {"127.0.0.1", s.server.port(), ""});
  EXPECT_NE(ErrorOf([&] {
              other.Start();
            }).find("port " + std::to_string(s.server.port()) + " is in use"),
            std::string::npos);
}

TEST(FeedbackServer, ATokenIsCheckedOnEveryRequest) {
  Served s("token", "sesame");
  EXPECT_EQ(s.client->Get("/api/pairs")->status, 401);
  EXPECT_EQ(s.client->Get("/")->status, 401);
  EXPECT_EQ(s.client->Get("/api/pairs?token=wrong")->status, 401);
  EXPECT_EQ(s.Label(R"({"id": "s1-q0", "label": "left"})")->status, 401);
  EXPECT_FALSE(s.store.AnswerOf("s1-q0"));
  EXPECT_EQ(s.client->Get("/api/pairs?token=sesame")->status, 200);
  // the page links its script and style with the token, so they load too
  const auto page = s.client->Get("/?token=sesame");
  EXPECT_NE(page->body.find("\"app.js?token=sesame\""), std::string::npos);
  EXPECT_NE(page->body.find("\"app.css?token=sesame\""), std::string::npos);
  EXPECT_EQ(s.client->Get("/app.js?token=sesame")->status, 200);
  EXPECT_EQ(s.client->Get("/app.js")->status, 401);
  EXPECT_EQ(
      s.Label(R"({"id": "s1-q0", "label": "left"})", {{"Authorization", "Bearer sesame"}})->status,
      200);
  EXPECT_NE(s.server.url().find("?token=sesame"), std::string::npos);
  // off loopback a token is made when none is given
  FeedbackServer open(s.store, {"0.0.0.0", 0, ""});
  EXPECT_EQ(open.token().size(), 32u);
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("localhost"));
  EXPECT_FALSE(IsLoopback("0.0.0.0"));
}

TEST(FeedbackServer, ARestartMidSessionLosesNoAnswer) {
  const fs::path dir = TempPath("restart");
  {
    FeedbackStore store(dir.string());
    AskThree(store);
    FeedbackServer server(store, {"127.0.0.1", 0, ""});
    server.Start();
    httplib::Client c("127.0.0.1", server.port());
    EXPECT_EQ(
        c.Post("/api/label", R"({"id": "s1-q2", "label": "right"})", "application/json")->status,
        200);
  }  // the process dies here
  FeedbackStore store(dir.string());
  FeedbackServer server(store, {"127.0.0.1", 0, ""});
  server.Start();
  httplib::Client c("127.0.0.1", server.port());
  const auto pairs = json::parse(c.Get("/api/pairs")->body);
  EXPECT_EQ(pairs["answered"], 1);
  ASSERT_EQ(pairs["pending"].size(), 2u);
  EXPECT_EQ(store.AnswerOf("s1-q2"), Answer::kRight);
  server.Stop();
  fs::remove_all(dir);
}

TEST(FeedbackClips, ASegmentReRendersFromItsStates) {
  auto env = env::Make("Pendulum-v1");
  float obs[3];
  env->Reset(0, obs);
  std::vector<double> states;
  for (int t = 0; t < 12; ++t) {
    const std::vector<double> s = env->GetState();
    states.insert(states.end(), s.begin(), s.end());
    const float a = 2.0f;
    env->Step(Action{{}, {&a, 1}}, obs);
  }
  const fs::path path = TempPath("clip.mp4");
  RenderClip(*env, states, 12, path.string(), 30);
  const io::VideoInfo info = io::DecodeVideo(path.string());
  EXPECT_EQ(info.frames, 12);
  EXPECT_EQ(info.width, env->Render().width);
  EXPECT_NE(ErrorOf([&] { RenderClip(*env, states, 5, path.string(), 30); }).find("do not split"),
            std::string::npos);
  fs::remove(path);
}

}  // namespace
}  // namespace rlforge::feedback
