// Errors for every input a user controls: one clear message naming the field and what was expected.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rlforge {

// A user-facing error; `what()` is printed as is and the CLI exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Levenshtein distance, used to suggest close names ("did you mean ...").
int EditDistance(std::string_view a, std::string_view b);

// Up to `max_count` candidates closest to `name` (distance at most a third of its length + 2).
std::vector<std::string> ClosestNames(std::string_view name,
                                      const std::vector<std::string>& candidates,
                                      int max_count = 3);

// Writes `content` to `path` atomically: temp file in the same folder, fsync, rename.
void WriteFileAtomic(const std::string& path, std::string_view content);

}  // namespace rlforge
