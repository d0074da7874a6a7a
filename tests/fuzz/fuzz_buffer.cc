// A FlexibleBuffer folder: buffer.json from the input beside the .npy files of a valid saved
// buffer (2 agents, per-agent and global fields, episodes), loaded and sampled.
#include <algorithm>

#include "fuzz_util.h"
#include "rlforge/buffers/flexible_buffer.h"

namespace {

std::string Folder() {
  static const std::string dir = [] {
    using namespace rlforge::buffers;
    StandardFields f;
    f.obs_size = 3;
    f.discrete_action_cardinalities = {4};
    f.global_reward = true;
    f.individual_reward = true;
    FlexibleBuffer b(16, 2, f, 7);
    // staged values are read at SaveTransition: they live until then
    std::vector<float> obs(6), next(6), global{1.0f}, individual{0.5f, -0.5f};
    std::vector<int64_t> actions(2);
    for (int t = 0; t < 20; ++t) {
      std::fill(obs.begin(), obs.end(), static_cast<float>(t));
      std::fill(next.begin(), next.end(), static_cast<float>(t + 1));
      actions = {t % 4, (t + 1) % 4};
      b.Set<float>("obs", obs);
      b.Set<float>("obs_", next);
      b.Set<int64_t>("discrete_actions", actions);
      b.Set<float>("global_rewards", global);
      b.Set<float>("individual_rewards", individual);
      b.SaveTransition(t % 7 == 6);
    }
    const std::string path = (rlforge::fuzz::Scratch() / "buffer").string();
    b.Save(path);
    // RLFORGE_FUZZ_SEED=FILE: keep this valid buffer.json as a seed for the corpus
    if (const char* seed = std::getenv("RLFORGE_FUZZ_SEED"))
      std::filesystem::copy_file(path + "/buffer.json", seed,
                                 std::filesystem::copy_options::overwrite_existing);
    return path;
  }();
  return dir;
}

}  // namespace

RLFORGE_FUZZ_TARGET(buffer) {
  const std::string dir = Folder();
  rlforge::fuzz::WriteScratch("buffer/buffer.json",
                              std::string_view(reinterpret_cast<const char*>(data), size));
  rlforge::fuzz::ExpectCleanError([&] {
    auto b = rlforge::buffers::FlexibleBuffer::Load(dir);
    rlforge::buffers::Batch batch;
    b.SampleTransitions(4, false, &batch);
    rlforge::buffers::EpisodeBatch episodes;
    b.SampleEpisodes(8, 0, &episodes);
  });
  return 0;
}
