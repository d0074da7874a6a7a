#include "rlforge/buffers/returns.h"

#include "rlforge/core/error.h"

namespace rlforge::buffers {
namespace {

int64_t Length(const Stream& s) {
  if (s.stride < 1) throw Error("returns: stride must be >= 1");
  const auto n = static_cast<int64_t>(s.rewards.size());
  const int64_t t = (n + s.stride - 1) / s.stride;
  const auto check = [&](size_t size, const char* what, bool optional) {
    if (optional && size == 0) return;
    if (static_cast<int64_t>(size) != n)
      throw Error(std::string("returns: '") + what + "' must match 'rewards' in length");
  };
  check(s.terminated.size(), "terminated", false);
  check(s.truncated.size(), "truncated", true);
  check(s.final_values.size(), "final_values", true);
  if (!s.truncated.empty() && s.final_values.empty())
    throw Error("returns: 'truncated' needs 'final_values'");
  return t;
}

bool Truncated(const Stream& s, int64_t i) {
  return !s.truncated.empty() && s.truncated[i] && !s.terminated[i];
}

// The value of the state after step i, given the value after it in the stream.
float NextValue(const Stream& s, int64_t i, float next_in_stream) {
  if (s.terminated[i]) return 0.0f;
  if (Truncated(s, i)) return s.final_values[i];
  return next_in_stream;
}

}  // namespace

void DiscountedReturns(const Stream& s, float last_value, float gamma, std::span<float> returns) {
  const int64_t T = Length(s);
  float next = last_value;
  for (int64_t t = T - 1; t >= 0; --t) {
    const int64_t i = t * s.stride;
    returns[i] = s.rewards[i] + gamma * NextValue(s, i, next);
    next = returns[i];
  }
}

void Gae(const Stream& s, std::span<const float> values, float last_value, float gamma,
         float lambda, std::span<float> advantages, std::span<float> returns) {
  const int64_t T = Length(s);
  float next_value = last_value, next_advantage = 0.0f;
  for (int64_t t = T - 1; t >= 0; --t) {
    const int64_t i = t * s.stride;
    const bool episode_ends = s.terminated[i] || Truncated(s, i);
    const float delta = s.rewards[i] + gamma * NextValue(s, i, next_value) - values[i];
    advantages[i] = delta + gamma * lambda * (episode_ends ? 0.0f : next_advantage);
    returns[i] = advantages[i] + values[i];
    next_value = values[i];
    next_advantage = advantages[i];
  }
}

void KStepTd(const Stream& s, std::span<const float> values, float last_value, float gamma, int k,
             std::span<float> targets) {
  if (k < 1) throw Error("k-step TD: k must be >= 1, got " + std::to_string(k));
  const int64_t T = Length(s);
  for (int64_t t = 0; t < T; ++t) {
    float target = 0.0f, discount = 1.0f;
    int64_t j = t;
    bool ended = false;
    for (int step = 0; step < k && j < T; ++step, ++j) {
      const int64_t i = j * s.stride;
      target += discount * s.rewards[i];
      discount *= gamma;
      if (s.terminated[i] || Truncated(s, i)) {
        target += discount * NextValue(s, i, 0.0f);
        ended = true;
        ++j;
        break;
      }
    }
    if (!ended) target += discount * (j < T ? values[j * s.stride] : last_value);
    targets[t * s.stride] = target;
  }
}

}  // namespace rlforge::buffers
