// Copies of a run on an rclone remote, made by a background thread that never blocks training.
//
// What goes up is first staged (hard links, or copies of files that still grow) under a folder of
// the run, so later checkpoints cannot change it while it uploads. A checkpoint of step N goes to
// REMOTE/checkpoints/step_N.safetensors (its replay files to checkpoints/files_N/), is verified
// (`rclone check`: size, and hash where the backend has one), and only then is
// REMOTE/checkpoints/LATEST.json written naming it: a reader never takes a partial upload for the
// latest checkpoint. Failures are retried with backoff; nothing local is deleted because an upload
// failed (a staged checkpoint left by a crash goes up when the run resumes).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rlforge/cloud/rclone.h"

namespace rlforge::cloud {

constexpr const char* kManifest = "LATEST.json";  // under REMOTE/checkpoints

// CRC32C of a file's bytes.
uint32_t FileCrc32c(const std::string& path);
// LATEST.json for the checkpoint staged in `dir` (step_<step>.safetensors, files_<step>/):
// {step, checkpoint, size, crc32c, files_dir, files: [{path, size, crc32c}]}.
std::string Manifest(const std::string& dir, int64_t step);

struct UploadStats {
  int64_t uploaded_bytes = 0;  // staged bytes of finished uploads
  int64_t pending = 0;         // uploads not finished
  int64_t failures = 0;        // failed rclone commands so far
  double lag_s = 0.0;          // age of the oldest unfinished upload (0: none)
  int64_t latest_step = -1;    // step of the checkpoint LATEST.json names (-1: none yet)
};

class Uploader {
 public:
  // Uploads to `remote` through `rclone`; stages under `stage_dir` (and picks up what a previous
  // process left staged there).
  Uploader(Rclone rclone, std::string remote, std::string stage_dir);
  ~Uploader();
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // A checkpoint file written at `step`, with the folder of large state it names ("" = none).
  void AddCheckpoint(int64_t step, const std::string& checkpoint, const std::string& files_dir);
  // Files of the run (paths relative to run_dir; missing ones skipped), snapshotted now; a newer
  // snapshot replaces one not yet started.
  void AddRunFiles(const std::string& run_dir, const std::vector<std::string>& relative_paths);

  UploadStats stats() const;
  // Waits until every upload finished or timeout_s passed (then stops the one running); returns
  // how many are left (they stay staged).
  int64_t Flush(double timeout_s);

 private:
  struct Job {
    bool checkpoint;  // else run files
    int64_t step;     // checkpoint step (run files: a sequence number)
    std::string dir;  // staged folder
    double since;     // monotonic time it was added
    int64_t bytes;    // staged size
  };
  void Work();
  bool Upload(const Job& job);
  bool Step(const std::vector<std::string>& args, const std::string& what);
  bool Failed(const std::string& what, const std::string& why);  // counts it; false
  void Add(Job job);

  const Rclone rclone_;
  const std::string remote_, stage_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;            // FIFO; the front is the one running
  bool running_front_ = false;       // the front job has started
  bool stopping_ = false;            // the destructor or a flush deadline
  bool flushing_ = false;            // shorten backoff
  std::atomic<bool> cancel_{false};  // stops the rclone child now
  UploadStats stats_;
  int64_t run_sequence_ = 0;
  std::thread worker_;
};

}  // namespace rlforge::cloud
