#include "rlforge/train/callbacks.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"
#include "rlforge/dist/comm.h"
#include "rlforge/env/env.h"
#include "rlforge/io/image.h"
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

// ---- metrics --------------------------------------------------------------------------------

namespace {

// a scalar's text as a number, a bool or a string
io::HParam HParamOf(const std::string& text) {
  if (text == "true" || text == "false") return text == "true";
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size()) return v;
  return text;
}

void Flatten(const YAML::Node& node, const std::string& path,
             std::map<std::string, std::string>& out) {
  if (node.IsScalar()) {
    out[path] = node.Scalar();
  } else if (node.IsSequence()) {
    std::string text = "[";
    for (size_t i = 0; i < node.size(); ++i)
      text += (i ? ", " : "") + (node[i].IsScalar() ? node[i].Scalar() : std::string("..."));
    out[path] = text + "]";
  } else if (node.IsMap()) {
    for (const auto& kv : node)
      Flatten(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar(), out);
  }
}

}  // namespace

std::map<std::string, std::string> FlatConfig(const std::string& config_yaml) {
  std::map<std::string, std::string> out;
  Flatten(YAML::Load(config_yaml), "", out);
  return out;
}

std::map<std::string, io::HParam> HParams(const std::string& config_yaml,
                                          const std::vector<std::string>& sections) {
  std::map<std::string, io::HParam> out;
  for (const auto& [path, text] : FlatConfig(config_yaml)) {
    const size_t dot = path.find('.');
    const std::string section = path.substr(0, dot);
    if (dot == std::string::npos || section == "env" ||
        std::find(sections.begin(), sections.end(), section) != sections.end())
      out[path] = HParamOf(text);
  }
  return out;
}

MetricsCallback::MetricsCallback(const std::string& run_dir, std::string config_yaml,
                                 std::vector<std::string> sections)
    : logger_(run_dir), config_yaml_(std::move(config_yaml)), sections_(std::move(sections)) {}

void MetricsCallback::OnStart(Context& ctx, Algorithm&) {
  io::TensorBoardWriter& tb = logger_.tensorboard();
  const double now = io::WallTime();
  if (ctx.start_step > 0) tb.AddRestart(ctx.start_step, now);
  tb.AddText("config", "```yaml\n" + config_yaml_ + "```\n", ctx.global_step, now);
  // runs that differ only in their seed share a group (TensorBoard's HPARAMS tab)
  std::map<std::string, io::HParam> hparams = HParams(config_yaml_, sections_);
  nlohmann::json group = nlohmann::json::object();
  for (const auto& entry : hparams) {  // (no structured binding: lambdas capture it in C++20)
    if (entry.first != "seed")
      std::visit([&](const auto& v) { group[entry.first] = v; }, entry.second);
  }
  tb.AddSessionStart(hparams, io::JsonCrc32cHex(group), now);
  tb.Flush();
}

void MetricsCallback::OnEnd(Context& ctx, Algorithm&) {
  constexpr int kSuccess = 1, kRunning = 3;
  logger_.tensorboard().AddSessionEnd(ctx.stop_requested() ? kRunning : kSuccess, io::WallTime());
  logger_.tensorboard().Flush();
}

void MetricsCallback::OnSummary(int64_t step, const Summary& s) {
  io::TensorBoardWriter& tb = logger_.tensorboard();
  const double now = io::WallTime();
  switch (s.kind) {
    case Summary::Kind::kHistogram:
      tb.AddHistogram(s.tag,
                      io::MakeHistogram(s.values.data(), static_cast<int64_t>(s.values.size())),
                      step, now);
      break;
    case Summary::Kind::kImage:
      tb.AddImage(s.tag, s.data, s.width, s.height, 3, step, now);
      break;
    case Summary::Kind::kText:
      tb.AddText(s.tag, s.data, step, now);
      break;
  }
  tb.Flush();
}

// ---- videos ---------------------------------------------------------------------------------

struct VideoRecorder::State {
  Recording rec;
  std::unique_ptr<io::VideoWriter> writer;
  std::function<void(const env::Image&, int, int64_t)> on_frame;  // sees each frame first
  std::string action;                                             // the last action, as text
  double value = NAN;                    // the agent's estimate for the last state it acted in
  std::vector<size_t> signal_index;      // of each rec.signals entry in env.Signals()
  std::vector<std::string> signal_unit;  // and its unit
  std::vector<double> signal_values;     // all of the env's signals   (Signals().size())
};

void CheckSignals(const std::vector<std::string>& names, const env::Env& env,
                  const std::string& field) {
  const std::vector<env::Signal> signals = const_cast<env::Env&>(env).Unwrapped()->Signals();
  for (const std::string& name : names) {
    if (std::any_of(signals.begin(), signals.end(),
                    [&](const env::Signal& s) { return s.name == name; }))
      continue;
    std::string known;
    for (const env::Signal& s : signals) known += (known.empty() ? "" : ", ") + s.name;
    throw Error(field + ": '" + name + "' is not a signal of " + env.spec().id +
                (known.empty() ? " (it has none)" : " (it has: " + known + ")"));
  }
}

VideoRecorder::VideoRecorder(const Recording& rec) : state_(std::make_shared<State>()) {
  state_->rec = rec;
}

VideoRecorder::~VideoRecorder() { Close(); }

void VideoRecorder::Attach(EvalRequest& req) {
  std::shared_ptr<State> s = state_;
  auto previous_action = req.on_action;
  req.on_action = [s, previous_action](const std::vector<int64_t>& d, const std::vector<float>& c) {
    if (previous_action) previous_action(d, c);
    s->action.clear();
    for (const int64_t a : d) s->action += (s->action.empty() ? "" : " ") + std::to_string(a);
    for (size_t j = 0; j < c.size() && j < 6; ++j)
      s->action += (s->action.empty() ? "" : " ") + Fixed(c[j], 2);
    if (c.size() > 6) s->action += " ...";
  };
  auto previous_value = req.on_value;
  req.on_value = [s, previous_value](double v) {
    if (previous_value) previous_value(v);
    s->value = v;
  };
  req.on_step = [s](env::Env& e, int episode, int64_t step, double reward, double ret) {
    if (episode >= s->rec.episodes) return;
    env::Image frame = e.Render();
    if (s->on_frame) s->on_frame(frame, episode, step);
    if (!s->writer)
      s->writer =
          std::make_unique<io::VideoWriter>(s->rec.path, frame.width, frame.height, s->rec.fps);
    if (s->rec.overlay) {
      std::vector<std::pair<std::string, std::string>> lines = {
          {"episode", std::to_string(episode + 1)},
          {"step   ", std::to_string(step)},
          {"reward ", Fixed(reward, 3)},
          {"return ", Fixed(ret, 2)}};
      if (step > 0 && std::isfinite(s->value)) lines.emplace_back("value  ", Fixed(s->value, 2));
      if (step > 0 && !s->action.empty()) lines.emplace_back("action ", s->action);
      if (!s->rec.signals.empty()) {
        env::Env& inner = *e.Unwrapped();
        if (s->signal_index.empty()) {  // where the named signals are, once
          CheckSignals(s->rec.signals, e, "signals");
          const std::vector<env::Signal> all = inner.Signals();
          for (const std::string& name : s->rec.signals) {
            for (size_t k = 0; k < all.size(); ++k)
              if (all[k].name == name)
                s->signal_index.push_back(k), s->signal_unit.push_back(all[k].unit);
          }
          s->signal_values.resize(all.size());
        }
        inner.SignalValues(s->signal_values.data());
        for (size_t i = 0; i < s->rec.signals.size(); ++i) {
          lines.emplace_back(s->rec.signals[i],
                             Fixed(s->signal_values[s->signal_index[i]], 2) +
                                 (s->signal_unit[i].empty() ? "" : " " + s->signal_unit[i]));
        }
      }
      io::DrawOverlay(frame, lines);
    }
    s->writer->Write(frame);
  };
}

void VideoRecorder::OnFrame(std::function<void(const env::Image&, int, int64_t)> f) {
  state_->on_frame = std::move(f);
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

namespace {

// What an evaluation shows besides its return: the actions taken (TensorBoard histograms), the
// first episode's first frame and its frames at ~10 fps (a PNG and a GIF), and that episode's
// trace for the report's dashboard.
struct EvalMedia {
  static constexpr int kMaxFrames = 100, kMaxWidth = 240, kMaxObsDims = 64;
  int stride = 1;                           // env steps per GIF frame
  std::vector<std::vector<float>> actions;  // per action dimension, each step   (dims x steps)
  std::vector<env::Image> frames;           // first episode, downscaled         (<= kMaxFrames)
  env::Image first;                         // its first frame, full size
  bool render_failed = false;
  // the first episode, step by step (state at steps 0..T, actions and rewards at 1..T)
  std::vector<env::Signal> signals;
  std::vector<std::vector<double>> signal_values;   // per signal       (signals x T+1)
  std::vector<std::vector<double>> obs;             // per obs dim      (dims x T+1), small obs only
  std::vector<double> rewards;                      // per step         (T)
  std::map<std::string, std::vector<double>> info;  // reward terms and such, by key   (T)
  std::vector<double> signals_now;                  // scratch: this step's signals  (signals)
  std::vector<float> obs_now;                       // scratch: this step's observation  (dims)

  // State of episode 0 after a reset or step: its signals and (small, float) observation.
  void Trace(env::Env& e, int64_t step, double reward) {
    env::Env& inner = *e.Unwrapped();
    const Space& space = e.observation_space();
    const bool small_obs = space.dtype() == DType::kFloat32 && space.size() <= kMaxObsDims;
    if (step == 0) {
      signals = inner.Signals();
      signal_values.assign(signals.size(), {});
      signals_now.resize(signals.size());
      if (small_obs) obs.assign(static_cast<size_t>(space.size()), {}), obs_now.resize(obs.size());
    }
    inner.SignalValues(signals_now.data());
    for (size_t k = 0; k < signals.size(); ++k) signal_values[k].push_back(signals_now[k]);
    if (small_obs) {
      e.Observe(obs_now.data());
      for (size_t k = 0; k < obs.size(); ++k) obs[k].push_back(obs_now[k]);
    }
    if (step == 0) return;
    rewards.push_back(reward);
    for (const auto& [key, value] : e.info().Items()) {
      std::vector<double>& column = info[key];
      column.resize(rewards.size() - 1, NAN);
      column.push_back(value);
    }
  }

  void Attach(EvalRequest& req, bool gif, int fps) {
    stride = std::max(1, static_cast<int>(std::lround(fps / 10.0)));
    auto previous_action = req.on_action;  // a video recorder's
    req.on_action = [this, previous_action](const std::vector<int64_t>& d,
                                            const std::vector<float>& c) {
      if (previous_action) previous_action(d, c);
      actions.resize(d.size() + c.size());
      for (size_t j = 0; j < d.size(); ++j) actions[j].push_back(static_cast<float>(d[j]));
      for (size_t j = 0; j < c.size(); ++j) actions[d.size() + j].push_back(c[j]);
    };
    auto previous = req.on_step;  // a video recorder's
    req.on_step = [this, previous, gif](env::Env& e, int episode, int64_t step, double r,
                                        double ret) {
      if (previous) previous(e, episode, step, r, ret);
      if (episode != 0) return;
      Trace(e, step, r);
      if (!gif || !Wants(step) || render_failed) return;
      try {
        Keep(e.Render(), step);
      } catch (const std::exception& error) {
        render_failed = true;
        std::fprintf(stderr, "\nwarning: eval.gif: no frames (%s)\n", error.what());
      }
    };
  }

  // whether the GIF takes the frame of episode 0's `step`, and taking it
  bool Wants(int64_t step) const { return step % stride == 0 && frames.size() < kMaxFrames; }
  void Keep(const env::Image& image, int64_t step) {
    if (step == 0) first = image;
    frames.push_back(io::Downscale(image, kMaxWidth));
  }

  // the first episode as JSON (eval_episode.json, read by the report)
  nlohmann::json EpisodeJson(const Context& ctx, const std::string& env_id) const {
    const size_t steps = rewards.size();
    nlohmann::json j = {{"global_step", ctx.global_step}, {"env", env_id}, {"rewards", rewards}};
    nlohmann::json s = nlohmann::json::array();
    const char* styles[] = {"line", "steps", "heatmap"};
    for (size_t k = 0; k < signals.size(); ++k) {
      const env::Signal& g = signals[k];
      s.push_back({{"name", g.name},
                   {"unit", g.unit},
                   {"low", g.low},
                   {"high", g.high},
                   {"style", styles[static_cast<int>(g.style)]},
                   {"values", signal_values[k]}});
    }
    j["signals"] = s;
    j["obs"] = obs;
    nlohmann::json a = nlohmann::json::array();
    for (const auto& column : actions) {  // episode 0's are the first T of each column
      const auto n = static_cast<std::ptrdiff_t>(std::min(column.size(), steps));
      a.push_back(std::vector<float>(column.begin(), column.begin() + n));
    }
    j["actions"] = a;
    j["info"] = info;
    return j;
  }

  void Log(Context& ctx, double fps, bool histograms) const {
    for (size_t j = 0; histograms && j < actions.size(); ++j) {
      ctx.LogSummary({Summary::Kind::kHistogram, "eval/action/" + std::to_string(j), actions[j]});
    }
    if (frames.empty()) return;
    ctx.LogSummary(
        {Summary::Kind::kImage, "eval/frame", {}, io::EncodePng(first), first.width, first.height});
    ctx.LogSummary({Summary::Kind::kImage,
                    "eval/episode",
                    {},
                    io::EncodeGif(frames, fps / stride),
                    frames[0].width,
                    frames[0].height});
  }
};

// every float tensor of `d` as a histogram `prefix`/name
void LogHistograms(Context& ctx, const std::string& prefix, const io::TensorDict& d) {
  for (const auto& [name, t] : d.tensors()) {
    if (t.dtype != DType::kFloat32) continue;
    ctx.LogSummary({Summary::Kind::kHistogram, prefix + name,
                    std::vector<float>(t.as<float>(), t.as<float>() + t.numel())});
  }
}

}  // namespace

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
                            1, config_.eval.video_overlay, config_.eval.video_fps,
                            config_.eval.video_overlay_signals});
    video->Attach(req);
  }
  EvalMedia media;
  // with a video, the GIF takes the video's frames (before the overlay) instead of rendering again
  media.Attach(req, config_.eval.gif && !video, config_.eval.video_fps);
  if (video && config_.eval.gif) {
    video->OnFrame([&media](const env::Image& frame, int episode, int64_t step) {
      if (episode == 0 && media.Wants(step)) media.Keep(frame, step);
    });
  }
  const auto [mean, std] = MeanStd(algo.Evaluate(req));
  if (video) video->Close();
  ctx.Log("eval/episodic_return", mean);
  ctx.Log("eval/episodic_return_std", std);
  media.Log(ctx, config_.eval.video_fps, config_.eval.histograms);
  WriteFileAtomic(ctx.run_dir + "/eval_episode.json",
                  media.EpisodeJson(ctx, config_.env.id).dump() + "\n");
  if (config_.eval.histograms) {
    LogHistograms(ctx, "weights/", algo.Parameters());
    LogHistograms(ctx, "gradients/", algo.Gradients());
  }
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
  // the ranks of a job stop together (the later callbacks write their checkpoint together)
  if (dist::AnyRank(ctx.stop_requested())) ctx.RequestStop("as another rank asked");
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
