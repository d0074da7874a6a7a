// The cloud callback: each checkpoint (every `cloud.every`) and the run's files go to an rclone
// remote through cloud::Uploader, off the training thread; cloud/* metrics; a bounded flush at
// the end and on a stop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rlforge/train/algorithm.h"
#include "rlforge/train/config.h"

namespace rlforge::cloud {
class Uploader;
}

namespace rlforge::train {

class CloudCallback : public Callback {
 public:
  // Checks that the remote is reachable and writable: an error when cloud.required, else a warning.
  CloudCallback(const CloudConfig& config, const std::string& run_dir);
  ~CloudCallback() override;
  void OnIteration(Context& ctx, Algorithm& algo) override;
  void OnCheckpoint(Context& ctx, const std::string& path, const std::string& files_dir) override;
  void OnEnd(Context& ctx, Algorithm& algo) override;

 private:
  bool Log(Context& ctx);  // cloud/* when they changed or every 10 s; whether it logged
  bool Includes(const char* kind) const;      // named in cloud.include
  std::vector<std::string> RunFiles() const;  // relative to the run dir, per cloud.include

  CloudConfig config_;
  std::string run_dir_;
  std::vector<std::string> include_;
  std::unique_ptr<cloud::Uploader> uploader_;
  int64_t written_ = 0;        // checkpoints written in this process
  int64_t queued_step_ = -1;   // step of the last checkpoint queued
  int64_t written_step_ = -1;  // step of the last checkpoint written
  std::string written_path_, written_files_;
  int64_t logged_bytes_ = -1, logged_failures_ = -1, logged_pending_ = -1;
  double logged_at_ = 0.0;
};

}  // namespace rlforge::train
