#include "rlforge/env/tensor_view.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rlforge/env/registry.h"

namespace rlforge::env {
namespace {

TEST(TensorView, ObservationsAreViewedWithoutCopying) {
  auto envs = MakeVector("Acrobot-v1", 8, 2);
  envs->Reset(0);
  const at::Tensor obs = ObservationTensor(*envs);
  EXPECT_EQ(obs.sizes(), (std::vector<int64_t>{8, 6}));
  EXPECT_EQ(obs.dtype(), torch::kFloat32);
  EXPECT_EQ(obs.data_ptr(), envs->observations());
  const at::Tensor before = obs.clone();
  const at::Tensor actions = DiscreteActionTensor(*envs);
  actions.fill_(2);  // writes straight into the env's action block
  EXPECT_EQ(envs->discrete_actions()[7], 2);
  envs->Step();
  EXPECT_FALSE(torch::equal(before, obs));  // the same view sees the new observations
  EXPECT_EQ(RewardTensor(*envs).sum().item<double>(), -8.0);
  EXPECT_EQ(TerminatedTensor(*envs).dtype(), torch::kBool);
  EXPECT_EQ(FinalObservationTensor(*envs).data_ptr(), envs->final_observations());
}

TEST(TensorView, ContinuousActionsAreWritable) {
  auto envs = MakeVector("Pendulum-v1", 2);
  envs->Reset(0);
  ContinuousActionTensor(*envs).fill_(0.5);
  EXPECT_EQ(envs->continuous_actions()[1], 0.5f);
  EXPECT_EQ(ContinuousActionTensor(*envs).sizes(), (std::vector<int64_t>{2, 1}));
}

}  // namespace
}  // namespace rlforge::env
