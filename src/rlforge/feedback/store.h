// Preference queries waiting for a person and the answers given, kept in RUN_DIR/feedback/:
//   queries.jsonl  a line per pair asked:  {"id", "session", "clip0", "clip1"}
//   labels.jsonl   a line per answer:      {"id", "label"}, label left|right|equal|skip|expired
//   clips/         the pairs' videos
// Every line is appended and fsynced before the call that adds it returns, so an answer the API
// confirmed survives a crash; a store opened on the same folder later (a restart, `rlforge
// feedback serve`, `--resume`) has the same pending and answered pairs. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rlforge::feedback {

enum class Answer { kLeft, kRight, kEqual, kSkip, kExpired };
std::optional<Answer> ParseAnswer(const std::string& s);  // left|right|equal|skip
std::string ToString(Answer a);

struct Query {
  std::string id;            // [A-Za-z0-9_-]+, unique in the run
  int64_t session = 0;       // feedback session it belongs to
  std::string clip0, clip1;  // file names in clips/
};

class FeedbackStore {
 public:
  // Loads the folder's files (creating the folder); a malformed line is an Error naming
  // file:line.
  explicit FeedbackStore(std::string dir);

  void AddQuery(const Query& q);  // a known id is left as it is

  enum class Result { kOk, kDuplicate, kConflict, kUnknown };
  // kDuplicate: the same answer again (nothing written); kConflict: a different answer to an
  // answered pair (nothing changes); kUnknown: no such pair.
  Result Submit(const std::string& id, Answer answer);

  std::vector<Query> Pending() const;  // asked, not answered, in the order asked
  std::optional<Answer> AnswerOf(const std::string& id) const;
  size_t answered() const;
  // Waits until every id is answered, `timeout_s` passes (<= 0: no limit) or `stop()` is true
  // (checked every 0.2 s); unanswered ids come back empty.
  std::vector<std::optional<Answer>> Wait(const std::vector<std::string>& ids, double timeout_s,
                                          const std::function<bool()>& stop);

  // Marks the unanswered ones expired (a timeout): they leave the pending list for good.
  void Expire(const std::vector<std::string>& ids);

  const std::string& dir() const { return dir_; }
  std::string clip_dir() const { return dir_ + "/clips"; }

 private:
  void Append(const std::string& file, const std::string& line);  // write + fsync

  std::string dir_;
  mutable std::mutex mutex_;
  std::condition_variable answered_cv_;
  std::vector<Query> queries_;             // in the order asked
  std::map<std::string, size_t> index_;    // id -> position in queries_
  std::map<std::string, Answer> answers_;  // id -> answer
};

}  // namespace rlforge::feedback
