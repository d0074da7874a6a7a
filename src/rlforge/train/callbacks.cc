#include "rlforge/train/callbacks.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "rlforge/env/env.h"
#include "rlforge/io/video.h"

namespace rlforge::train {
namespace {

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::pair<double, double> MeanStd(const std::vector<double>& v) {
  double mean = 0, var = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
  return {mean, std::sqrt(var)};
}

// ---- videos ---------------------------------------------------------------------------------

struct VideoRecorder::State {
  Recording rec;
  std::unique_ptr<io::VideoWriter> writer;
};

VideoRecorder::VideoRecorder(const Recording& rec) : state_(std::make_shared<State>()) {
  state_->rec = rec;
}

VideoRecorder::~VideoRecorder() { Close(); }

void VideoRecorder::Attach(EvalRequest& req) {
  std::shared_ptr<State> s = state_;
  req.on_step = [s](env::Env& e, int episode, int64_t step, double reward, double ret) {
    if (episode >= s->rec.episodes) return;
    env::Image frame = e.Render();
    if (!s->writer)
      s->writer =
          std::make_unique<io::VideoWriter>(s->rec.path, frame.width, frame.height, s->rec.fps);
    if (s->rec.overlay) {
      io::DrawOverlay(frame, {{"episode", std::to_string(episode + 1)},
                              {"step   ", std::to_string(step)},
                              {"reward ", Fixed(reward, 3)},
                              {"return ", Fixed(ret, 2)}});
    }
    s->writer->Write(frame);
  };
}

void VideoRecorder::Close() {
  if (state_ && state_->writer) {
    state_->writer->Close();
    state_->writer.reset();
  }
}

// ---- progress -------------------------------------------------------------------------------

void ProgressCallback::OnIteration(Context& ctx, Algorithm&) {
  // at most ~10 redraws a second
  if (ctx.seconds() - last_draw_ < 0.1 && last_draw_ >= 0) return;
  last_draw_ = ctx.seconds();
  Draw(ctx, false);
}

void ProgressCallback::OnEnd(Context& ctx, Algorithm&) {
  if (!ctx.stop_requested()) Draw(ctx, true);
}

void ProgressCallback::Draw(const Context& ctx, bool final) {
  static const bool tty = ::isatty(STDERR_FILENO) != 0;
  const int64_t done = ctx.global_step;
  const int percent = static_cast<int>(100 * done / std::max<int64_t>(total_, 1));
  if (!tty && !final && percent < last_percent_ + 10) return;  // a line per 10% in logs
  if (!tty && final && percent == last_percent_) return;       // already printed
  last_percent_ = percent;
  const int width = 24, filled = width * std::min(percent, 100) / 100;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  const double sps = ctx.sps();
  const double eta = sps > 0 ? static_cast<double>(total_ - done) / sps : 0.0;
  char ret[64] = "";
  if (ctx.has_returns())
    std::snprintf(ret, sizeof(ret), " | return %.1f", ctx.recent_mean_return());
  std::fprintf(stderr, "%s[%s] %lld/%lld (%d%%) | %.0f SPS | ETA %d:%02d%s%s", tty ? "\r" : "",
               bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), percent,
               sps, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, ret,
               tty && !final ? "" : "\n");
  std::fflush(stderr);
}

// ---- evaluation -----------------------------------------------------------------------------

EvalCallback::EvalCallback(const TrainConfig& config, std::function<void(Context&)> save_best)
    : config_(config), save_best_(std::move(save_best)), next_eval_(config.eval.every_steps) {}

void EvalCallback::OnIteration(Context& ctx, Algorithm& algo) {
  if (config_.eval.every_steps <= 0 || ctx.global_step < next_eval_) return;
  next_eval_ += config_.eval.every_steps;
  EvalRequest req{config_.eval.episodes, config_.eval.deterministic,
                  static_cast<uint64_t>(config_.seed) + 100000, nullptr};
  std::optional<VideoRecorder> video;
  if (config_.eval.video) {
    std::filesystem::create_directories(ctx.run_dir + "/videos");
    video.emplace(Recording{ctx.run_dir + "/videos/step_" + std::to_string(ctx.global_step) + "." +
                                config_.eval.video_format,
                            1, config_.eval.video_overlay, config_.eval.video_fps});
    video->Attach(req);
  }
  const auto [mean, std] = MeanStd(algo.Evaluate(req));
  if (video) video->Close();
  ctx.Log("eval/episodic_return", mean);
  ctx.Log("eval/episodic_return_std", std);
  if (mean > best_) {
    best_ = mean;
    save_best_(ctx);
  }
}

void EvalCallback::Save(io::TensorDict& out) const {
  out.Put("trainer.next_eval", std::vector<int64_t>{next_eval_}, {});
  out.Put("trainer.best_eval", std::vector<double>{best_}, {});
}

void EvalCallback::Load(const io::TensorDict& in) {
  next_eval_ = in.Scalar<int64_t>("trainer.next_eval");
  best_ = in.Scalar<double>("trainer.best_eval");
}

// ---- stopping and checkpoints ---------------------------------------------------------------

void StopCallback::OnIteration(Context& ctx, Algorithm&) {
  if (Context::Interrupted()) {
    ctx.RequestStop("by signal " + std::to_string(Context::InterruptSignal()));
  } else if (stop_after_ > 0 && ctx.global_step >= stop_after_) {
    ctx.RequestStop("as asked");
  }
}

CheckpointCallback::CheckpointCallback(int64_t every_steps,
                                       std::function<void(Context&)> save_latest)
    : every_steps_(every_steps), save_latest_(std::move(save_latest)), next_(every_steps) {}

void CheckpointCallback::OnIteration(Context& ctx, Algorithm&) {
  const bool due = every_steps_ > 0 && ctx.global_step >= next_;
  if (due) next_ += every_steps_;
  if (due || ctx.stop_requested()) {
    save_latest_(ctx);
    saved_at_ = ctx.global_step;
  }
}

void CheckpointCallback::OnEnd(Context& ctx, Algorithm&) {
  if (saved_at_ != ctx.global_step) save_latest_(ctx);
}

void CheckpointCallback::Save(io::TensorDict& out) const {
  out.Put("trainer.next_checkpoint", std::vector<int64_t>{next_}, {});
}

void CheckpointCallback::Load(const io::TensorDict& in) {
  next_ = in.Scalar<int64_t>("trainer.next_checkpoint");
}

}  // namespace rlforge::train
