// The labeling app: serves the page, the query clips and a JSON API over HTTP (cpp-httplib).
//   GET  /                 the page (also /app.js, /app.css)
//   GET  /api/pairs        {"pending": [{"id", "session", "clip0", "clip1"}], "answered": n}
//   GET  /clips/NAME       a clip from RUN_DIR/feedback/clips (names [A-Za-z0-9._-], no "..")
//   POST /api/label        {"id": "...", "label": "left|right|equal|skip"} -> {"ok": true}
//   GET  /api/status       the run: step, SPS, returns, queries asked, budget, state
// Errors are 4xx with {"error": "..."} and change nothing. Loopback by default; any other bind
// address needs a token (generated and printed once when none is given), checked on every
// request as "Authorization: Bearer TOKEN" or "?token=TOKEN".
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rlforge/feedback/store.h"

namespace httplib {
class Server;
}

namespace rlforge::feedback {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8765;    // 0: any free port
  std::string token;  // required off loopback; generated when empty there
};

// What the status strip shows.
struct RunStatus {
  std::string state = "stopped";  // training | waiting | stopped
  int64_t step = 0, total_steps = 0;
  double sps = 0;
  int64_t queries_asked = 0, max_feedback = 0;
  std::vector<double> returns, model_returns;  // recent episodes, oldest first
};

class FeedbackServer {
 public:
  FeedbackServer(FeedbackStore& store, ServerConfig config);
  ~FeedbackServer();
  FeedbackServer(const FeedbackServer&) = delete;
  FeedbackServer& operator=(const FeedbackServer&) = delete;

  void Start();  // binds and serves on a thread; throws naming host:port if it cannot bind
  void Stop();
  int port() const { return port_; }
  std::string url() const;  // what a person opens, with the token if there is one
  const std::string& token() const { return config_.token; }
  void SetStatus(RunStatus status);
  // One raw HTTP/1.1 request handled in-process, as a socket would be (no Start needed):
  // returns the raw response. For tests and the fuzzer.
  std::string Respond(std::string_view raw_request);

 private:
  void Routes();
  bool Authorized(const std::string& header, const std::string& query_token) const;

  FeedbackStore& store_;                     // the pairs and answers served
  ServerConfig config_;                      // with the generated token, if any
  std::unique_ptr<httplib::Server> server_;  // routes set in the constructor
  std::thread thread_;                       // runs the accept loop after Start()
  int listen_socket_ = -1;                   // the bound listening socket
  int port_ = 0;                             // bound port (the chosen one for port 0)
  mutable std::mutex status_mutex_;          // guards status_ (the trainer writes, HTTP reads)
  RunStatus status_;
};

bool IsLoopback(const std::string& host);

}  // namespace rlforge::feedback
