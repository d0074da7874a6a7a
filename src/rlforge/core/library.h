// rlforge's own shared libraries that load on demand (dlopen): algorithm plugins that need
// LibTorch, and the parts whose dependencies are heavy to load (the FFmpeg video encoder), so a
// process that does not use them never maps them.
#pragma once

#include <string>

namespace rlforge {

// Opens `name_or_path`: a path to a .so, or a name looked up as librlforge_<name>.so in
// $RLFORGE_PLUGIN_DIR, then beside the running executable, then beside librlforge_core.so.
// Each file is opened once (later calls return the same handle); errors name the file and
// `why` (what the library is for).
void* OpenLibrary(const std::string& name_or_path, const std::string& why);
// The address of `symbol` in `library`, or an Error naming both.
void* LibrarySymbol(void* library, const std::string& path, const char* symbol);

}  // namespace rlforge
