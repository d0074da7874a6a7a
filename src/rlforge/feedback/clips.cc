#include "rlforge/feedback/clips.h"

#include <memory>

#include "rlforge/core/error.h"
#include "rlforge/io/video.h"

namespace rlforge::feedback {

void RenderClip(env::Env& env, std::span<const double> states, int64_t steps,
                const std::string& path, int fps) {
  if (steps <= 0 || states.size() % static_cast<size_t>(steps) != 0)
    throw Error("feedback: " + std::to_string(states.size()) + " state values do not split into " +
                std::to_string(steps) + " steps");
  const size_t dim = states.size() / static_cast<size_t>(steps);
  std::unique_ptr<io::VideoWriter> writer;
  for (int64_t t = 0; t < steps; ++t) {
    env.SetState(states.subspan(static_cast<size_t>(t) * dim, dim));
    const env::Image frame = env.Render();
    if (!writer) writer = std::make_unique<io::VideoWriter>(path, frame.width, frame.height, fps);
    writer->Write(frame);
  }
  writer->Close();
}

}  // namespace rlforge::feedback
