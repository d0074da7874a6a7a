#include "rlforge/cloud/uploader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"
#include "rlforge/io/metrics.h"

namespace rlforge::cloud {
namespace {

namespace fs = std::filesystem;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Files that grow in place are copied; the others (written once, or replaced by a rename) are
// hard-linked, which costs nothing and keeps their bytes while later writes replace the name.
bool Appended(const fs::path& p) {
  const std::string name = p.filename();
  return name == "metrics.csv" || name.rfind("events.out.tfevents", 0) == 0;
}

void Stage(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  if (fs::is_directory(from)) {
    for (const auto& e : fs::recursive_directory_iterator(from))
      if (e.is_regular_file()) Stage(e.path(), to / fs::relative(e.path(), from));
    return;
  }
  std::error_code ec;
  if (!Appended(from)) fs::create_hard_link(from, to, ec);
  if (Appended(from) || ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

int64_t SizeOf(const fs::path& dir) {
  int64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += static_cast<int64_t>(e.file_size());
  return bytes;
}

}  // namespace

uint32_t FileCrc32c(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read");
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crc = io::Crc32c(buf.data(), static_cast<size_t>(in.gcount()), crc);
  }
  return crc;
}

std::string Manifest(const std::string& dir, int64_t step) {
  const std::string name = "step_" + std::to_string(step) + ".safetensors";
  const fs::path root(dir);
  nlohmann::json files = nlohmann::json::array();
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename() != name) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths)
    files.push_back({{"path", fs::relative(p, root).string()},
                     {"size", fs::file_size(p)},
                     {"crc32c", FileCrc32c(p.string())}});
  const std::string files_dir = "files_" + std::to_string(step);
  return nlohmann::json{{"step", step},
                        {"checkpoint", name},
                        {"size", fs::file_size(root / name)},
                        {"crc32c", FileCrc32c((root / name).string())},
                        {"files_dir", fs::exists(root / files_dir) ? files_dir : ""},
                        {"files", files}}
      .dump(1);
}

Uploader::Uploader(Rclone rclone, std::string remote, std::string stage_dir)
    : rclone_(std::move(rclone)), remote_(std::move(remote)), stage_(std::move(stage_dir)) {
  fs::create_directories(stage_);
  std::vector<Job> left;  // checkpoints a previous process staged but did not finish
  for (const auto& e : fs::directory_iterator(stage_)) {
    const std::string name = e.path().filename();
    int64_t step = -1;
    const char* digits = name.c_str() + std::min<size_t>(5, name.size());
    const auto [end, ec] = std::from_chars(digits, name.c_str() + name.size(), step);
    if (e.is_directory() && name.rfind("ckpt_", 0) == 0 && ec == std::errc() &&
        end == name.c_str() + name.size()) {
      left.push_back({true, step, e.path().string(), Now(), SizeOf(e)});
    } else {
      fs::remove_all(e.path());  // unfinished staging, old snapshots of the run's files
    }
  }
  std::sort(left.begin(), left.end(), [](const Job& a, const Job& b) { return a.step < b.step; });
  queue_.assign(left.begin(), left.end());
  worker_ = std::thread([this] { Work(); });
}

Uploader::~Uploader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cancel_ = true;
  changed_.notify_all();
  worker_.join();
}

void Uploader::Add(Job job) {
  // staged under a temporary name first: a crash mid-staging leaves nothing that looks complete
  const std::string tmp = job.dir + ".tmp";
  fs::rename(tmp, job.dir);
  job.bytes = SizeOf(job.dir);
  job.since = Now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!job.checkpoint) {  // a newer snapshot of the run's files replaces one not started
    for (size_t i = running_front_ ? 1 : 0; i < queue_.size(); ++i) {
      if (queue_[i].checkpoint) continue;
      fs::remove_all(queue_[i].dir);
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  queue_.push_back(std::move(job));
  changed_.notify_all();
}

void Uploader::AddCheckpoint(int64_t step, const std::string& checkpoint,
                             const std::string& files_dir) {
  const std::string dir = stage_ + "/ckpt_" + std::to_string(step);
  fs::remove_all(dir + ".tmp");
  Stage(checkpoint, dir + ".tmp/step_" + std::to_string(step) + ".safetensors");
  if (!files_dir.empty()) Stage(files_dir, dir + ".tmp/files_" + std::to_string(step));
  fs::remove_all(dir);  // the same step staged before (a resumed run's first checkpoint)
  Add({true, step, dir, 0.0, 0});
}

void Uploader::AddRunFiles(const std::string& run_dir, const std::vector<std::string>& paths) {
  const std::string dir = stage_ + "/run_" + std::to_string(run_sequence_++);
  fs::remove_all(dir + ".tmp");
  fs::create_directories(dir + ".tmp");
  for (const std::string& rel : paths)
    if (fs::exists(fs::path(run_dir) / rel)) Stage(fs::path(run_dir) / rel, dir + ".tmp/" + rel);
  Add({false, run_sequence_, dir, 0.0, 0});
}

UploadStats Uploader::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  UploadStats s = stats_;
  s.pending = static_cast<int64_t>(queue_.size());
  s.lag_s = queue_.empty() ? 0.0 : Now() - queue_.front().since;
  return s;
}

int64_t Uploader::Flush(double timeout_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  flushing_ = true;
  changed_.notify_all();
  const bool done = changed_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                                      [&] { return queue_.empty(); });
  flushing_ = false;
  if (!done) {  // stop the upload running now; what is left stays staged for the next run
    stopping_ = true;
    cancel_ = true;
    changed_.notify_all();
  }
  return static_cast<int64_t>(queue_.size());
}

void Uploader::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  int streak = 0;  // failures in a row
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Job job = queue_.front();
    running_front_ = true;
    lock.unlock();
    const bool ok = Upload(job);
    if (ok) fs::remove_all(job.dir);
    lock.lock();
    running_front_ = false;
    if (ok) {
      queue_.pop_front();
      stats_.uploaded_bytes += job.bytes;
      if (job.checkpoint) stats_.latest_step = job.step;
      streak = 0;
      changed_.notify_all();
      continue;
    }
    if (stopping_) return;
    // backoff 1, 2, 4 ... 30 s; 1 s while the run waits for a flush
    const double wait = flushing_ ? 1.0 : std::min(30.0, std::pow(2.0, streak++));
    changed_.wait_for(lock, std::chrono::duration<double>(wait),
                      [&] { return stopping_ || (flushing_ && wait > 1.0); });
  }
}

bool Uploader::Step(const std::vector<std::string>& args, const std::string& what) {
  const RcloneResult r = rclone_.Run(args, 24 * 3600.0, &cancel_);
  if (r.ok()) return true;
  return Failed(what, "rclone exit " + std::to_string(r.code) + ": " + r.error);
}

bool Uploader::Failed(const std::string& what, const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.failures;
  if (!stopping_)
    std::fprintf(stderr, "\ncloud: %s failed (%s); will retry\n", what.c_str(), why.c_str());
  return false;
}

bool Uploader::Upload(const Job& job) {
  if (!job.checkpoint) return Step({"copy", job.dir, remote_}, "upload of the run's files");
  const std::string what = "upload of checkpoint step " + std::to_string(job.step);
  // the manifest's CRCs read every staged byte: once per job, kept for retries
  const std::string manifest = job.dir + ".json";
  if (!fs::exists(manifest)) {
    const std::string tmp = manifest + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << Manifest(job.dir, job.step) << "\n";
    out.close();
    if (!out) return Failed(what, "cannot write " + tmp);
    fs::rename(tmp, manifest);
  }
  const std::string dest = Join(remote_, "checkpoints");
  const bool ok = Step({"copy", job.dir, dest}, what) &&
                  Step({"check", "--one-way", job.dir, dest}, what + " (verify)") &&
                  Step({"copyto", manifest, Join(dest, kManifest)}, what + " (LATEST.json)");
  if (ok) fs::remove(manifest);
  return ok;
}

}  // namespace rlforge::cloud
