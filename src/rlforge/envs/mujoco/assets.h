// Gymnasium's MuJoCo model files, embedded in the library at build time.
#pragma once

#include <optional>
#include <string_view>

namespace rlforge::envs::mujoco {

// The MJCF text of an embedded model ("hopper.xml"), or nullopt for an unknown name.
std::optional<std::string_view> ModelXml(std::string_view name);

}  // namespace rlforge::envs::mujoco
