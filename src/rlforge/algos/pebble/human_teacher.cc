#include "rlforge/algos/pebble/human_teacher.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "rlforge/core/error.h"
#include "rlforge/feedback/clips.h"

namespace rlforge::algos::pebble {
namespace {

// FNV-1a over a pair's stored states: the same segments give the same id after a resume.
std::string Fingerprint(std::span<const double> a, std::span<const double> b) {
  uint64_t h = 1469598103934665603ull;
  for (std::span<const double> s : {a, b}) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
    for (size_t i = 0; i < s.size_bytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex, 8);
}

float LabelOf(feedback::Answer a) {
  switch (a) {
    case feedback::Answer::kLeft:
      return 0.0f;
    case feedback::Answer::kRight:
      return 1.0f;
    case feedback::Answer::kEqual:
      return 0.5f;
    default:
      return kSkip;
  }
}

}  // namespace

HumanTeacher::HumanTeacher(const HumanConfig& config, std::unique_ptr<env::Env> render_env,
                           const std::string& run_dir, std::function<bool()> stop)
    : config_(config),
      render_env_(std::move(render_env)),
      run_dir_(run_dir),
      stop_(std::move(stop)) {}

void HumanTeacher::Start() {
  if (server_) return;
  store_ = std::make_unique<feedback::FeedbackStore>(run_dir_ + "/feedback");
  server_ = std::make_unique<feedback::FeedbackServer>(
      *store_, feedback::ServerConfig{config_.host, config_.port, config_.token});
  server_->Start();
  server_->SetStatus(status_);
  std::fprintf(stderr, "labeling app: %s\n", server_->url().c_str());
  if (!server_->token().empty() && config_.token.empty())
    std::fprintf(stderr, "labeling app token (shown once): %s\n", server_->token().c_str());
}

void HumanTeacher::SetStatus(feedback::RunStatus status) {
  status_ = std::move(status);
  if (server_) server_->SetStatus(status_);
}

void HumanTeacher::LoadState(const std::string& state) {
  try {
    session_ = std::stoll(state);
  } catch (const std::exception&) {
    throw Error("pebble: the checkpoint's human teacher state is not a session count: \"" + state +
                "\"");
  }
}

std::vector<float> HumanTeacher::Label(const QueryRewards& q) {
  if (q.state_dim <= 0)
    throw Error(
        "pebble.teacher.preset: human needs an env with get_state/set_state to render "
        "the queries");
  Start();
  ++session_;
  const size_t width = static_cast<size_t>(q.length * q.state_dim);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < q.pairs; ++i) {
    const std::span<const double> s0(q.states0.data() + i * width, width);
    const std::span<const double> s1(q.states1.data() + i * width, width);
    const std::string id =
        "s" + std::to_string(session_) + "-q" + std::to_string(i) + "-" + Fingerprint(s0, s1);
    ids.push_back(id);
    if (store_->AnswerOf(id)) continue;  // answered before a restart
    const feedback::Query query{id, session_, id + "-0." + config_.clip_format,
                                id + "-1." + config_.clip_format};
    for (const auto& [states, clip] : {std::pair{s0, query.clip0}, std::pair{s1, query.clip1}}) {
      const std::string path = store_->clip_dir() + "/" + clip;
      if (!std::filesystem::exists(path))
        feedback::RenderClip(*render_env_, states, q.length, path, config_.fps);
    }
    store_->AddQuery(query);
  }
  const auto unanswered = std::count_if(
      ids.begin(), ids.end(), [&](const std::string& id) { return !store_->AnswerOf(id); });
  if (unanswered > 0)
    std::fprintf(stderr, "\nfeedback session %lld: %lld pairs waiting at %s\n",
                 static_cast<long long>(session_), static_cast<long long>(unanswered),
                 server_->url().c_str());
  feedback::RunStatus waiting = status_;
  waiting.state = "waiting";
  waiting.queries_asked += q.pairs;
  server_->SetStatus(waiting);
  const auto answers = store_->Wait(ids, config_.timeout_s, stop_);
  server_->SetStatus(status_);
  std::vector<float> labels;
  for (const auto& a : answers) {
    if (!a && stop_ && stop_()) {
      server_->SetStatus(status_);
      throw TeacherInterrupted(
          "stopped while waiting for labels: answer the pending pairs with `rlforge "
          "feedback serve RUN_DIR`, then `rlforge train --resume RUN_DIR`");
    }
    labels.push_back(a ? LabelOf(*a) : kSkip);
  }
  store_->Expire(ids);  // the timeout's unanswered pairs leave the queue
  return labels;
}

}  // namespace rlforge::algos::pebble
