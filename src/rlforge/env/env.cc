#include "rlforge/env/env.h"

#include <cmath>

#include "rlforge/core/error.h"

namespace rlforge::env {

void Info::Set(std::string_view key, double value) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      values_[i] = value;
      present_[i] = 1;
      return;
    }
  }
  keys_.emplace_back(key);
  values_.push_back(value);
  present_.push_back(1);
}

std::optional<double> Info::Get(std::string_view key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (present_[i] && keys_[i] == key) return values_[i];
  }
  return std::nullopt;
}

void Info::Clear() { std::fill(present_.begin(), present_.end(), 0); }

std::vector<std::pair<std::string, double>> Info::Items() const {
  std::vector<std::pair<std::string, double>> items;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (present_[i]) items.emplace_back(keys_[i], values_[i]);
  }
  return items;
}

void Env::SaveSnapshot(ByteWriter& out) const {
  out.PutString(np_random_.Serialize());
  out.Put<uint8_t>(seeded_);
  out.PutVector(GetState());
}

void Env::LoadSnapshot(ByteReader& in) {
  Rng rng;
  rng.Deserialize(in.GetString());
  const bool seeded = in.Get<uint8_t>() != 0;
  SetState(in.GetVector<double>());
  np_random_ = rng;
  seeded_ = seeded;
}

void SeedNpRandom(std::optional<uint64_t> seed, Rng& np_random, bool& seeded) {
  if (seed) {
    np_random = Rng(*seed);
    seeded = true;
  } else if (!seeded) {
    np_random = Rng();
    seeded = true;
  }
}

void Env::SeedRng(std::optional<uint64_t> seed) { SeedNpRandom(seed, np_random_, seeded_); }

void Env::CheckAction(const Action& action) const {
  const Space& space = action_space();
  if (space.kind() == Space::Kind::kBox) {
    // Box actions outside the bounds are clipped by the env (Gymnasium); only shape and NaN fail.
    const auto want = static_cast<size_t>(space.num_continuous());
    if (!action.discrete.empty() || action.continuous.size() != want) {
      throw Error(spec_.id + ": action must have shape (" + std::to_string(want) + ",) for " +
                  space.ToString() + ", got " + std::to_string(action.continuous.size()) +
                  " continuous and " + std::to_string(action.discrete.size()) + " discrete values");
    }
    for (size_t i = 0; i < want; ++i) {
      if (std::isnan(action.continuous[i])) {
        throw Error(spec_.id + ": action[" + std::to_string(i) + "] is NaN; expected a number");
      }
    }
    return;
  }
  if (const auto why = space.Check(action); !why.empty()) throw Error(spec_.id + ": " + why);
}

void FloatEnv::Reset(std::optional<uint64_t> seed, void* obs) {
  SeedRng(seed);
  ResetState();
  info_.Clear();
  ObserveInto(static_cast<float*>(obs));
}

StepResult FloatEnv::Step(const Action& action, void* obs) {
  CheckAction(action);
  info_.Clear();
  const StepResult result = Advance(action);
  ObserveInto(static_cast<float*>(obs));
  return result;
}

}  // namespace rlforge::env
