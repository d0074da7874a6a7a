// The `rclone` program (Debian's, 1.60), run as a child process: one command at a time, in its own
// process group (a Ctrl-C to training does not kill an upload midway), with a time limit, its
// output captured. rclone speaks Google Drive, S3, SFTP, WebDAV and ~70 other backends.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace rlforge::cloud {

// rclone's documented exit codes that a retry cannot fix (syntax, fatal); others may be transient
// (5: temporary, 1: also "connection refused" at start-up).
bool Permanent(int exit_code);

// "gdrive:rlforge/runs", ":sftp,host=h:path", "s3:bucket": an rclone remote, not a local path.
bool IsRemote(const std::string& path);
// `remote` + "/" + `rel`, without doubling the separator after "name:".
std::string Join(const std::string& remote, const std::string& rel);
// The last path component of a remote ("runs/a" of "gd:runs/a" -> "a"), for a local folder name.
std::string BaseName(const std::string& remote);

struct RcloneResult {
  int code = 0;        // rclone's exit code; -1 could not start, 124 stopped at its time limit
  std::string output;  // what it wrote on stdout (cat, lsjson)
  std::string error;   // the last line it wrote on stderr, for messages
  bool ok() const { return code == 0; }
};

class Rclone {
 public:
  // config_file: an rclone.conf ("" = rclone's own default); bwlimit: rclone's --bwlimit ("" =
  // none)
  Rclone(std::string config_file = "", std::string bwlimit = "");

  // Runs `rclone ARGS... <common flags>` and waits at most timeout_s seconds (or until *cancel).
  RcloneResult Run(const std::vector<std::string>& args, double timeout_s,
                   const std::atomic<bool>* cancel = nullptr) const;

  // Whether `remote` is reachable and writable: makes it, writes a small file, removes it.
  RcloneResult Check(const std::string& remote, double timeout_s) const;

 private:
  std::string config_file_, bwlimit_;
};

}  // namespace rlforge::cloud
