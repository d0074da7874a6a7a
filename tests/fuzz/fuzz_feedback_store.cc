// The feedback store's files: queries.jsonl, then a line "=====", then labels.jsonl, loaded as
// `rlforge feedback serve` and a resumed run load them.
#include "fuzz_util.h"
#include "rlforge/feedback/store.h"

RLFORGE_FUZZ_TARGET(feedback_store) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = in.find("\n=====\n");
  const std::string_view queries = in.substr(0, cut);
  const std::string_view labels = cut == std::string_view::npos ? "" : in.substr(cut + 7);
  rlforge::fuzz::WriteScratch("store/queries.jsonl", queries);
  rlforge::fuzz::WriteScratch("store/labels.jsonl", labels);
  rlforge::fuzz::ExpectCleanError([&] {
    rlforge::feedback::FeedbackStore store((rlforge::fuzz::Scratch() / "store").string());
    (void)store.Pending();
    (void)store.answered();
  });
  return 0;
}
