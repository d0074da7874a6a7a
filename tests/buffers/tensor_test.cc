#include "rlforge/buffers/tensor.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rlforge/buffers/flexible_buffer.h"

namespace rlforge::buffers {
namespace {

void Fill(FlexibleBuffer& buf) {
  for (int t = 0; t < 20; ++t) {
    const std::vector<float> obs = {1.0f * t, 2.0f * t, 3.0f * t, -1.0f * t, -2.0f * t, -3.0f * t};
    const std::vector<int64_t> act = {t % 4, (t + 1) % 4};
    const float r = static_cast<float>(t);
    buf.Set("obs", obs);
    buf.Set("obs_", obs);
    buf.Set("discrete_actions", act);
    buf.Set<float>("global_rewards", std::span<const float>(&r, 1));
    buf.SaveTransition(t % 5 == 4);
  }
}

StandardFields Fields() {
  StandardFields s;
  s.obs_size = 3;
  s.discrete_action_cardinalities = {4};
  s.global_reward = true;
  return s;
}

TEST(BufferTensors, BatchesAreViewedWithoutCopying) {
  FlexibleBuffer buf(20, 2, Fields(), 0);
  Fill(buf);
  Batch batch;
  buf.SampleTransitions(8, false, &batch);
  auto tensors = ToTensors(batch);
  const at::Tensor obs = tensors.at("obs");
  EXPECT_EQ(obs.sizes(), (std::vector<int64_t>{2, 8, 3}));
  EXPECT_EQ(obs.data_ptr(), batch["obs"].data.data());
  EXPECT_EQ(tensors.at("discrete_actions").dtype(), torch::kInt64);
  EXPECT_EQ(tensors.at("terminated").dtype(), torch::kBool);
  // agent 1's obs are agent 0's negated, row by row
  EXPECT_TRUE(torch::equal(obs[1], -obs[0]));
  EXPECT_TRUE(torch::equal(obs[0].select(1, 0), tensors.at("global_rewards")));
}

TEST(BufferTensors, EpisodeViewsEqualCopiedEpisodes) {
  FlexibleBuffer buf(16, 2, Fields(), 3), twin(16, 2, Fields(), 3);  // same seed: same draws
  Fill(buf);
  Fill(twin);
  EpisodeBatch copies;
  std::vector<EpisodeView> views;
  buf.SampleEpisodes(12, 0, &copies);
  twin.SampleEpisodeViews(12, 0, &views);
  ASSERT_EQ(views.size(), copies.lengths.size());
  const at::Tensor all = ToTensors(copies).at("obs");
  for (size_t e = 0; e < views.size(); ++e) {
    const at::Tensor view = ToTensor(views[e].fields[twin.FieldId("obs")]);
    EXPECT_TRUE(torch::equal(view, all.narrow(1, copies.starts[e], copies.lengths[e]))) << e;
  }
}

}  // namespace
}  // namespace rlforge::buffers
