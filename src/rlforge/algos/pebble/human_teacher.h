// A person as PEBBLE's teacher: each query pair is re-rendered from its stored simulator states
// to two clips, put in the run's feedback store and shown by the labeling app; Label() blocks
// until every pair is answered (or the timeout passes: unanswered pairs expire and count as
// skipped). Query ids carry the session and a hash of the segments, so a run resumed after a
// stop asks the same pairs under the same ids and finds the answers given meanwhile (with
// `rlforge feedback serve RUN_DIR`).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "rlforge/algos/pebble/teacher.h"
#include "rlforge/core/config.h"
#include "rlforge/env/env.h"
#include "rlforge/feedback/server.h"
#include "rlforge/feedback/store.h"

namespace rlforge::algos::pebble {

struct HumanConfig {
  std::string host = "127.0.0.1";   // loopback; any other address needs the token
  int port = 8765;                  // 0: any free port (printed)
  std::string token;                // off loopback: generated and printed when empty
  double timeout_s = 0;             // per session; 0 = wait for every answer
  int fps = 30;                     // clip frame rate
  std::string clip_format = "mp4";  // mp4 (H.264) or webm (VP9)

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("host", host, "labeling app bind address (off loopback a token is required)");
    v("port", port, "labeling app port, 0 = any free port", Range::Closed(0, 65535));
    v("token", token, "access token; generated and printed off loopback when empty");
    v("timeout_s", timeout_s, "seconds to wait for a session's answers, 0 = no limit",
      Range::NonNegative());
    v("fps", fps, "query clip frame rate", Range::Closed(1, 240));
    v("clip_format", clip_format, "query clip format", config::Choices{{"mp4", "webm"}});
  }
};

class HumanTeacher final : public Teacher {
 public:
  // `render_env`: an env of the run's id and kwargs, used only for set_state + render.
  // `stop`: polled while waiting; when it says stop, Label throws (the run ends without the
  // session; its pairs stay pending for `rlforge feedback serve`).
  HumanTeacher(const HumanConfig& config, std::unique_ptr<env::Env> render_env,
               const std::string& run_dir, std::function<bool()> stop);

  // Opens the run's feedback store, serves the app and prints its URL (Label does it if not
  // done yet); until then nothing is created, so evaluating a saved run starts no server.
  void Start();
  std::vector<float> Label(const QueryRewards& queries) override;
  std::string SaveState() const override { return std::to_string(session_); }
  void LoadState(const std::string& state) override;
  void SetStatus(feedback::RunStatus status);  // the status strip; kept while a session waits
  const feedback::FeedbackServer* server() const { return server_.get(); }

 private:
  HumanConfig config_;
  std::unique_ptr<env::Env> render_env_;
  std::string run_dir_;
  std::function<bool()> stop_;
  std::unique_ptr<feedback::FeedbackStore> store_;    // RUN_DIR/feedback, from Start()
  std::unique_ptr<feedback::FeedbackServer> server_;  // from Start()
  feedback::RunStatus status_;                        // the last one given
  int64_t session_ = 0;                               // sessions asked so far
};

}  // namespace rlforge::algos::pebble
