// Return and advantage estimators over one time-ordered stream (Flexibuff's G, GAE, K_Step_TD),
// with truncation handled: at a truncated step the episode ends but is bootstrapped from the
// value of its final observation.
//
// Inputs are length T; step t's successor is t + 1, and the value after the last step is
// `last_value`. `stride` lets a (T x N) array be processed one column at a time.
#pragma once

#include <cstdint>
#include <span>

namespace rlforge::buffers {

struct Stream {
  std::span<const float> rewards;       // r_t                        (T)
  std::span<const uint8_t> terminated;  // s_{t+1} is terminal        (T)
  std::span<const uint8_t> truncated;   // episode cut after step t   (T, may be empty)
  std::span<const float> final_values;  // V(final obs) where truncated   (T, may be empty)
  int64_t stride = 1;                   // element distance between consecutive steps
};

// G_t = r_t + gamma * G_{t+1}, cut at terminals (0) and truncations (V(final obs)),
// G_T = last_value.
void DiscountedReturns(const Stream& s, float last_value, float gamma, std::span<float> returns);

// GAE(gamma, lambda): delta_t = r_t + gamma * V_{t+1} * (1 - term_t) - V_t,
// A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}; returns = A + V.
void Gae(const Stream& s, std::span<const float> values, float last_value, float gamma,
         float lambda, std::span<float> advantages, std::span<float> returns);

// k-step TD targets: sum_{i<k} gamma^i r_{t+i} + gamma^k V_{t+k}, stopping at episode ends.
void KStepTd(const Stream& s, std::span<const float> values, float last_value, float gamma, int k,
             std::span<float> targets);

}  // namespace rlforge::buffers
