#include "rlforge/cloud/pull.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "rlforge/cloud/uploader.h"
#include "rlforge/core/error.h"

namespace rlforge::cloud {
namespace {

namespace fs = std::filesystem;

void Need(const RcloneResult& r, const std::string& what) {
  if (!r.ok())
    throw Error(what + " failed (rclone exit " + std::to_string(r.code) + ": " + r.error + ")");
}

// A manifest's relative path: no absolute path, no "..".
bool Plain(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (const auto& part : fs::path(p))
    if (part == "..") return false;
  return true;
}

// A manifest entry's size and CRC32C, each a JSON unsigned integer (a CRC of 32 bits).
std::pair<uint64_t, uint32_t> SizeAndCrc(const nlohmann::json& entry) {
  const auto& size = entry.at("size");
  const auto& crc = entry.at("crc32c");
  if (!size.is_number_unsigned() || !crc.is_number_unsigned() || crc.get<uint64_t>() > 0xFFFFFFFFu)
    throw Error("size and crc32c must be unsigned integers");
  return {size.get<uint64_t>(), static_cast<uint32_t>(crc.get<uint64_t>())};
}

void Verify(const fs::path& file, const nlohmann::json& entry, const std::string& source) {
  const auto [size, crc] = SizeAndCrc(entry);
  if (!fs::exists(file)) throw Error(source + ": missing after download");
  if (fs::file_size(file) != size)
    throw Error(source + ": " + std::to_string(fs::file_size(file)) + " bytes, LATEST.json says " +
                std::to_string(size));
  if (FileCrc32c(file.string()) != crc)
    throw Error(source + ": its CRC32C does not match LATEST.json (a damaged upload)");
}

}  // namespace

int64_t Pull(const Rclone& rclone, const std::string& remote, const std::string& dir) {
  const std::string checkpoints = Join(remote, "checkpoints");
  const std::string manifest_name = Join(checkpoints, kManifest);
  const RcloneResult cat = rclone.Run({"cat", manifest_name}, 300.0);
  if (!cat.ok())
    throw Error(manifest_name + ": cannot read (no run with an uploaded checkpoint there?): " +
                "rclone exit " + std::to_string(cat.code) + ": " + cat.error);
  nlohmann::json m;
  int64_t step = 0;
  std::string name, files_dir;
  try {
    m = nlohmann::json::parse(cat.output);
    step = m.at("step").get<int64_t>();
    name = m.at("checkpoint").get<std::string>();
    files_dir = m.at("files_dir").get<std::string>();
    for (const auto& f : m.at("files")) {
      if (!Plain(f.at("path").get<std::string>())) throw Error("a path leaves the folder");
      SizeAndCrc(f);
    }
    SizeAndCrc(m);
  } catch (const std::exception& e) {
    throw Error(manifest_name + ": not a valid manifest: " + e.what());
  }
  if (name != "step_" + std::to_string(step) + ".safetensors" ||
      (!files_dir.empty() && files_dir != "files_" + std::to_string(step)))
    throw Error(manifest_name + ": checkpoint/files_dir do not match step " + std::to_string(step));

  // the run's own files first (metrics, event files, config, videos, best)
  fs::create_directories(dir + "/checkpoints");
  Need(rclone.Run({"copy", remote, dir, "--exclude", "/checkpoints/step_*", "--exclude",
                   "/checkpoints/files_*/**", "--exclude", "/checkpoints/" + std::string(kManifest),
                   "--exclude", "/.cloud/**"},
                  24 * 3600.0),
       "copy of " + remote);
  // then the checkpoint into a temp folder, verified, then renamed into place
  const fs::path tmp = fs::path(dir) / "checkpoints" / ".pull";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  Need(rclone.Run({"copyto", Join(checkpoints, name), (tmp / name).string()}, 24 * 3600.0),
       "download of " + Join(checkpoints, name));
  Verify(tmp / name, m, Join(checkpoints, name));
  if (!files_dir.empty()) {
    Need(
        rclone.Run({"copy", Join(checkpoints, files_dir), (tmp / files_dir).string()}, 24 * 3600.0),
        "download of " + Join(checkpoints, files_dir));
  }
  for (const auto& f : m.at("files")) {
    const std::string rel = f.at("path").get<std::string>();
    Verify(tmp / rel, f, Join(checkpoints, rel));
  }
  if (!files_dir.empty()) {
    fs::remove_all(fs::path(dir) / "checkpoints" / files_dir);
    fs::rename(tmp / files_dir, fs::path(dir) / "checkpoints" / files_dir);
  }
  fs::rename(tmp / name, fs::path(dir) / "checkpoints" / "latest.safetensors");
  fs::remove_all(tmp);
  return step;
}

}  // namespace rlforge::cloud
