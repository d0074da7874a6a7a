#include "rlforge/feedback/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "rlforge/core/error.h"
#include "rlforge/io/metrics.h"

namespace rlforge::feedback {
namespace {

using nlohmann::json;

const std::vector<std::pair<Answer, std::string>> kNames = {{Answer::kLeft, "left"},
                                                            {Answer::kRight, "right"},
                                                            {Answer::kEqual, "equal"},
                                                            {Answer::kSkip, "skip"},
                                                            {Answer::kExpired, "expired"}};

// Each line carries "crc32c", its row's checksum (io::JsonCrc32cHex), so a line altered on disk is
// an error rather than a different answer.
constexpr const char* kCrcKey = "crc32c";

// Whether `line` is a proper prefix of a JSON text: what a crash leaves of a line cut short.
bool CutShort(const std::string& line) {
  try {
    (void)json::parse(line);
    return false;
  } catch (const json::parse_error& e) {
    return e.byte == line.size() + 1;  // the text was fine up to its end, where more was due
  } catch (const json::exception&) {   // e.g. a number out of range: damaged, not cut
    return false;
  }
}

// The JSON object on each non-empty line of `path` (none if it is missing), with its line number;
// an Error names file:line for anything else. A last line without its newline that is the start
// of a JSON text is a write a crash cut short (Append fsyncs a whole line before anyone is told it
// was stored): it is dropped from the file, with a note, so the next line starts clean.
std::vector<std::pair<int, json>> ReadLines(const std::string& path,
                                            const std::set<std::string>& keys) {
  std::vector<std::pair<int, json>> rows;
  std::ifstream in(path, std::ios::binary);
  int number = 0;
  std::streamoff complete = 0;  // bytes up to the end of the last whole line
  for (std::string line; std::getline(in, line);) {
    ++number;
    const bool unterminated = in.eof();  // no newline after it
    if (unterminated && CutShort(line)) {
      in.close();
      std::filesystem::resize_file(path, static_cast<uintmax_t>(complete));
      std::fprintf(stderr, "%s:%d: dropped a line a crash cut short (%zu bytes)\n", path.c_str(),
                   number, line.size());
      break;
    }
    complete += static_cast<std::streamoff>(line.size()) + 1;
    if (line.empty()) continue;
    json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("id") || !row["id"].is_string())
      throw Error(path + ":" + std::to_string(number) + ": expected a JSON object with an \"id\"");
    for (const auto& [key, value] : row.items())  // a misspelt checksum key would go unchecked
      if (key != kCrcKey && !keys.count(key))
        throw Error(path + ":" + std::to_string(number) + ": unknown key \"" + key + "\"");
    if (row.contains(kCrcKey) && row[kCrcKey] != io::JsonCrc32cHex(row, kCrcKey))
      throw Error(path + ":" + std::to_string(number) +
                  ": the line does not match its checksum (crc32c): it was altered; fix or "
                  "delete the line");
    row.erase(kCrcKey);
    rows.emplace_back(number, std::move(row));
    if (unterminated) {  // whole but for its newline: add it, so the next line starts clean
      in.close();
      std::ofstream(path, std::ios::app | std::ios::binary) << "\n";
    }
  }
  return rows;
}

// The line for `row`, its checksum added.
std::string Line(json row) {
  row[kCrcKey] = io::JsonCrc32cHex(row, kCrcKey);
  return row.dump();
}

// row[key] as T, or `fallback` when absent; a value of another type is an Error naming file:line.
template <class T>
T Value(const json& row, const char* key, T fallback, const std::string& path, int line) {
  if (!row.contains(key)) return fallback;
  const json& v = row[key];
  const bool ok = std::is_same_v<T, std::string> ? v.is_string() : v.is_number_integer();
  if (!ok)
    throw Error(path + ":" + std::to_string(line) + ": \"" + key + "\" should be " +
                (std::is_same_v<T, std::string> ? "a string" : "an integer"));
  return v.get<T>();
}

}  // namespace

std::optional<Answer> ParseAnswer(const std::string& s) {
  for (const auto& [a, name] : kNames)
    if (name == s && a != Answer::kExpired) return a;
  return std::nullopt;
}

std::string ToString(Answer a) {
  for (const auto& [value, name] : kNames)
    if (value == a) return name;
  return "?";
}

FeedbackStore::FeedbackStore(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(clip_dir());
  const std::string queries = dir_ + "/queries.jsonl", labels = dir_ + "/labels.jsonl";
  for (const auto& [line, row] : ReadLines(queries, {"id", "session", "clip0", "clip1"})) {
    Query q{row["id"], Value(row, "session", int64_t{0}, queries, line),
            Value(row, "clip0", std::string(), queries, line),
            Value(row, "clip1", std::string(), queries, line)};
    if (index_.count(q.id)) continue;
    index_[q.id] = queries_.size();
    queries_.push_back(std::move(q));
  }
  for (const auto& [line, row] : ReadLines(labels, {"id", "label"})) {
    const std::string label = Value(row, "label", std::string(), labels, line);
    std::optional<Answer> a = label == "expired" ? Answer::kExpired : ParseAnswer(label);
    if (!a)
      throw Error(labels + ":" + std::to_string(line) + ": label \"" + label +
                  "\"; expected left, right, equal, skip or expired");
    answers_.emplace(row["id"].get<std::string>(), *a);  // the first answer stands
  }
}

void FeedbackStore::Append(const std::string& file, const std::string& line) {
  const std::string path = dir_ + "/" + file;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("feedback: cannot open " + path);
  const std::string text = line + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw Error("feedback: cannot write " + path);
}

void FeedbackStore::AddQuery(const Query& q) {
  std::lock_guard lock(mutex_);
  if (index_.count(q.id)) return;
  Append("queries.jsonl",
         Line({{"id", q.id}, {"session", q.session}, {"clip0", q.clip0}, {"clip1", q.clip1}}));
  index_[q.id] = queries_.size();
  queries_.push_back(q);
}

FeedbackStore::Result FeedbackStore::Submit(const std::string& id, Answer answer) {
  {
    std::lock_guard lock(mutex_);
    if (!index_.count(id)) return Result::kUnknown;
    if (auto it = answers_.find(id); it != answers_.end())
      return it->second == answer ? Result::kDuplicate : Result::kConflict;
    Append("labels.jsonl", Line({{"id", id}, {"label", ToString(answer)}}));
    answers_[id] = answer;
  }
  answered_cv_.notify_all();
  return Result::kOk;
}

void FeedbackStore::Expire(const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) {
    if (!index_.count(id) || answers_.count(id)) continue;
    Append("labels.jsonl", Line({{"id", id}, {"label", "expired"}}));
    answers_[id] = Answer::kExpired;
  }
}

std::vector<Query> FeedbackStore::Pending() const {
  std::lock_guard lock(mutex_);
  std::vector<Query> pending;
  for (const Query& q : queries_)
    if (!answers_.count(q.id)) pending.push_back(q);
  return pending;
}

std::optional<Answer> FeedbackStore::AnswerOf(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = answers_.find(id);
  return it == answers_.end() ? std::nullopt : std::optional<Answer>(it->second);
}

size_t FeedbackStore::answered() const {
  std::lock_guard lock(mutex_);
  return answers_.size();
}

std::vector<std::optional<Answer>> FeedbackStore::Wait(const std::vector<std::string>& ids,
                                                       double timeout_s,
                                                       const std::function<bool()>& stop) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::unique_lock lock(mutex_);
  const auto all_answered = [&] {
    for (const auto& id : ids)
      if (!answers_.count(id)) return false;
    return true;
  };
  while (!all_answered()) {
    if (stop && stop()) break;
    if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) break;
    answered_cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
  std::vector<std::optional<Answer>> out;
  for (const auto& id : ids) {
    const auto it = answers_.find(id);
    out.push_back(it == answers_.end() ? std::nullopt : std::optional<Answer>(it->second));
  }
  return out;
}

}  // namespace rlforge::feedback
