#include "rlforge/train/cloud.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "rlforge/cloud/rclone.h"
#include "rlforge/cloud/uploader.h"
#include "rlforge/core/error.h"

namespace rlforge::train {

namespace fs = std::filesystem;

CloudCallback::CloudCallback(const CloudConfig& config, const std::string& run_dir)
    : config_(config), run_dir_(run_dir), include_(config.Included()) {
  const cloud::Rclone rclone(config.rclone_config, config.bwlimit);
  const cloud::RcloneResult check = rclone.Check(config.remote, 60.0);
  if (!check.ok()) {
    const std::string why = "cloud.remote: " + config.remote +
                            " is not reachable or not writable (rclone exit " +
                            std::to_string(check.code) + ": " + check.error + ")";
    if (config.required) throw Error(why);
    std::fprintf(stderr, "warning: %s; training goes on and uploads are retried\n", why.c_str());
  }
  uploader_ = std::make_unique<cloud::Uploader>(rclone, config.remote, run_dir + "/.cloud");
}

CloudCallback::~CloudCallback() = default;

bool CloudCallback::Includes(const char* kind) const {
  return std::find(include_.begin(), include_.end(), kind) != include_.end();
}

std::vector<std::string> CloudCallback::RunFiles() const {
  std::vector<std::string> files = {"config.yaml"};
  if (Includes("metrics")) files.push_back("metrics.csv");
  if (Includes("tensorboard")) {
    for (const auto& e : fs::directory_iterator(run_dir_)) {
      const std::string name = e.path().filename();
      if (name.rfind("events.out.tfevents", 0) == 0) files.push_back(name);
    }
  }
  if (Includes("videos")) files.push_back("videos");
  if (Includes("report")) files.push_back("report.html");
  if (Includes("checkpoints")) files.push_back("checkpoints/best.safetensors");
  return files;
}

void CloudCallback::OnCheckpoint(Context& ctx, const std::string& path,
                                 const std::string& files_dir) {
  written_step_ = ctx.global_step, written_path_ = path, written_files_ = files_dir;
  if (++written_ % config_.every != 0) return;
  if (Includes("checkpoints")) {
    uploader_->AddCheckpoint(ctx.global_step, path, files_dir);
    queued_step_ = ctx.global_step;
  }
  uploader_->AddRunFiles(run_dir_, RunFiles());
  Log(ctx);
}

bool CloudCallback::Log(Context& ctx) {
  const cloud::UploadStats s = uploader_->stats();
  const double now = ctx.seconds();
  if (s.uploaded_bytes == logged_bytes_ && s.failures == logged_failures_ &&
      s.pending == logged_pending_ && now - logged_at_ < 10.0)
    return false;
  logged_bytes_ = s.uploaded_bytes, logged_failures_ = s.failures, logged_pending_ = s.pending;
  logged_at_ = now;
  ctx.Log("cloud/uploaded_bytes", static_cast<double>(s.uploaded_bytes));
  ctx.Log("cloud/pending", static_cast<double>(s.pending));
  ctx.Log("cloud/failures", static_cast<double>(s.failures));
  ctx.Log("cloud/lag_s", s.lag_s);
  return true;
}

void CloudCallback::OnIteration(Context& ctx, Algorithm&) {
  if (ctx.iteration % 16 == 0) Log(ctx);
}

void CloudCallback::OnEnd(Context& ctx, Algorithm&) {
  // the last checkpoint always goes up, whatever cloud.every says
  if (Includes("checkpoints") && written_step_ >= 0 && queued_step_ != written_step_)
    uploader_->AddCheckpoint(written_step_, written_path_, written_files_);
  uploader_->AddRunFiles(run_dir_, RunFiles());
  Log(ctx);
  int64_t left = uploader_->Flush(config_.flush_timeout_s);
  // the figures of the flush itself, then the metrics that hold them
  if (left == 0 && Log(ctx)) {
    uploader_->AddRunFiles(run_dir_, RunFiles());
    left = uploader_->Flush(config_.flush_timeout_s);
  }
  const cloud::UploadStats s = uploader_->stats();
  if (left > 0) {
    std::fprintf(stderr,
                 "\ncloud: %lld upload(s) not finished after %.0f s (%s unreachable?); they stay "
                 "staged in %s/.cloud and go up when the run resumes\n",
                 static_cast<long long>(left), config_.flush_timeout_s, config_.remote.c_str(),
                 run_dir_.c_str());
  } else {
    std::fprintf(stderr, "\ncloud: run copied to %s", config_.remote.c_str());
    if (s.latest_step >= 0)
      std::fprintf(stderr, " (LATEST.json: step %lld)", static_cast<long long>(s.latest_step));
    std::fprintf(stderr, "\n");
  }
}

}  // namespace rlforge::train
