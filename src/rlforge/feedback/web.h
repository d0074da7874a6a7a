// The labeling app's page, script and style, embedded at build time (cmake/embed_files.cmake).
#pragma once

#include <optional>
#include <string_view>

namespace rlforge::feedback {

std::optional<std::string_view> WebAsset(std::string_view name);  // "index.html", "app.js", ...

}  // namespace rlforge::feedback
