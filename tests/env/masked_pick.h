// masked_pick_v0, a test-only multi-agent env with action masks and an agent that leaves early.
//
// Two pickers each choose one of 4 actions per step and are paid a / 3 for action a; before each
// step every action is allowed with probability 1/2 (one drawn at random if none is), and the
// observation is the agent's mask and the time. picker_1 terminates after 4 steps, picker_0 is
// truncated after 8. The best policy takes the highest allowed action (per-agent scale about 4.4,
// uniform over the allowed actions about 3.0); a learner that ignores the masks is stopped by
// Step's refusal.
#pragma once

#include <algorithm>
#include <array>

#include "rlforge/env/multi_agent.h"

namespace rlforge::testing {

class MaskedPick final : public env::MultiAgentEnv {
 public:
  static constexpr int kActions = 4, kLeaves = 4, kCycles = 8;

  MaskedPick() {
    spec_ = {"masked_pick_v0", kCycles};
    DeclareAgents({"picker_0", "picker_1"},
                  std::vector<Space>(2, Space::Box(0.0, 1.0, {kActions + 1})),
                  {Space::Discrete(kActions), Space::Discrete(kActions)});
  }

  bool has_action_masks() const override { return true; }
  env::Image Render() const override {  // one row per agent, a white square per allowed action
    env::Image image{2, kActions, std::vector<uint8_t>(2 * kActions * 3)};
    for (int i = 0; i < 2; ++i)
      for (int a = 0; a < kActions; ++a)
        std::fill_n(&image.rgb[(i * kActions + a) * 3], 3, masks_[i][a] ? 255 : 0);
    return image;
  }
  std::vector<double> GetState() const override {
    std::vector<double> state;
    for (const auto& mask : masks_) state.insert(state.end(), mask.begin(), mask.end());
    return state;
  }
  void SetState(std::span<const double> state) override {
    for (int i = 0; i < 2; ++i)
      for (int a = 0; a < kActions; ++a) masks_[i][a] = state[i * kActions + a] != 0.0;
  }

 protected:
  void ResetWorld() override { DrawMasks(); }
  void Advance(std::span<const Action> actions) override {
    for (int i = 0; i < 2; ++i) taken_[i] = alive(i) ? actions[i].discrete[0] : 0;
    DrawMasks();
  }
  void Reward(double* rewards) override {
    for (int i = 0; i < 2; ++i) rewards[i] = static_cast<double>(taken_[i]) / (kActions - 1);
  }
  bool Terminated(int agent) const override { return agent == 1 && steps() >= kLeaves; }
  void ObserveAgent(int agent, float* obs) const override {
    for (int a = 0; a < kActions; ++a) obs[a] = masks_[agent][a];
    obs[kActions] = static_cast<float>(steps()) / kCycles;
  }
  void MaskActions(int agent, uint8_t* mask) const override {
    std::copy(masks_[agent].begin(), masks_[agent].end(), mask);
  }

 private:
  void DrawMasks() {
    for (auto& mask : masks_) {
      for (auto& allowed : mask) allowed = static_cast<uint8_t>(np_random_.Integers(2));
      if (std::none_of(mask.begin(), mask.end(), [](uint8_t f) { return f; }))
        mask[np_random_.Integers(kActions)] = 1;
    }
  }

  std::array<std::array<uint8_t, kActions>, 2> masks_{};  // allowed actions now   (2 x 4)
  std::array<int64_t, 2> taken_{};                        // the last step's actions   (2)
};

// Registers masked_pick_v0 (once).
inline void RegisterMaskedPick() {
  static const bool registered = [] {
    env::RegisterMultiAgent(
        {{"masked_pick_v0", MaskedPick::kCycles},
         "test-only: pick the highest allowed action; masks change each step",
         {},
         [](const env::KwargReader&) { return std::make_unique<MaskedPick>(); }});
    return true;
  }();
  (void)registered;
}

}  // namespace rlforge::testing
