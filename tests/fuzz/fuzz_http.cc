// The labeling app's request handling, in-process (FeedbackServer::Respond): request line, path,
// query, headers and JSON body from the input bytes. Bad input gets a 4xx, never a 5xx.
#include <cstring>

#include "fuzz_util.h"
#include "rlforge/feedback/server.h"

namespace {

rlforge::feedback::FeedbackServer& Server() {
  static rlforge::feedback::FeedbackStore store((rlforge::fuzz::Scratch() / "feedback").string());
  static rlforge::feedback::FeedbackServer server = [] {
    for (int i = 0; i < 3; ++i) {
      const std::string id = "s1-q" + std::to_string(i);
      store.AddQuery({id, 1, id + "-0.mp4", id + "-1.mp4"});
    }
    return rlforge::feedback::FeedbackServer(store, {"127.0.0.1", 0, ""});
  }();
  return server;
}

}  // namespace

RLFORGE_FUZZ_TARGET(http) {
  rlforge::fuzz::ExpectCleanError([&] {
    const std::string response =
        Server().Respond(std::string_view(reinterpret_cast<const char*>(data), size));
    if (response.rfind("HTTP/1.1 5", 0) == 0) {
      std::fprintf(stderr, "a 5xx for a request:\n%s\n", response.c_str());
      std::abort();
    }
  });
  return 0;
}
