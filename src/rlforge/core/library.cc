#include "rlforge/core/library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

#include "rlforge/core/error.h"

namespace rlforge {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> SearchDirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("RLFORGE_PLUGIN_DIR")) dirs.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path());
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&SearchDirs), &info) != 0 && info.dli_fname != nullptr)
    dirs.push_back(fs::absolute(info.dli_fname).parent_path());
  return dirs;
}

}  // namespace

void* OpenLibrary(const std::string& name_or_path, const std::string& why) {
  static std::mutex mutex;
  static std::map<std::string, void*> opened;
  const std::lock_guard<std::mutex> lock(mutex);
  fs::path path = name_or_path;
  if (name_or_path.find('/') == std::string::npos) {
    const std::string file = "librlforge_" + name_or_path + ".so";
    path.clear();
    for (const fs::path& dir : SearchDirs()) {
      if (fs::exists(dir / file)) {
        path = dir / file;
        break;
      }
    }
    if (path.empty())
      throw Error(why + ": " + file +
                  " not found (looked in $RLFORGE_PLUGIN_DIR, beside the executable and beside "
                  "librlforge_core.so)");
  }
  const std::string key = fs::weakly_canonical(path).string();
  if (const auto it = opened.find(key); it != opened.end()) return it->second;
  void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw Error(why + ": cannot load " + key + ": " + dlerror());
  opened[key] = handle;  // kept for the process's life: its code may be referenced anywhere
  return handle;
}

void* LibrarySymbol(void* library, const std::string& path, const char* symbol) {
  void* f = dlsym(library, symbol);
  if (f == nullptr)
    throw Error(path + ": no " + symbol + "() in it (not the library rlforge expected)");
  return f;
}

}  // namespace rlforge
