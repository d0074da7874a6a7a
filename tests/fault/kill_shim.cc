// Fault injection for the kill tests, loaded with LD_PRELOAD: RLFORGE_KILL_AT="KIND:N" SIGKILLs
// the process at the N-th call of KIND, where a crash hurts most:
//   write   a write into a file under a checkpoints/ folder, after half of its bytes are written
//   sync    fsync, fdatasync or syncfs, before it runs
//   rename  rename, before it runs (a finished temp file not yet in place)
// Every other call passes straight to the C library.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

struct Plan {
  char kind[16] = "";
  long n = 0;  // 0: never
};

Plan ReadPlan() {
  Plan p;
  const char* s = std::getenv("RLFORGE_KILL_AT");
  const char* colon = s ? std::strchr(s, ':') : nullptr;
  if (colon == nullptr || colon - s >= static_cast<long>(sizeof p.kind)) return p;
  std::memcpy(p.kind, s, static_cast<size_t>(colon - s));
  p.n = std::atol(colon + 1);
  return p;
}

const Plan& ThePlan() {
  static const Plan plan = ReadPlan();
  return plan;
}

std::atomic<long> g_calls{0};

// Whether this call of `kind` is the one to die at.
bool Due(const char* kind) {
  const Plan& p = ThePlan();
  return p.n > 0 && std::strcmp(p.kind, kind) == 0 && ++g_calls == p.n;
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void Die(const char* what, const char* detail) {
  char line[512];
  const int n = std::snprintf(line, sizeof line, "kill_shim: SIGKILL at %s #%ld %s\n", what,
                              ThePlan().n, detail);
  static auto real_write = Next<ssize_t (*)(int, const void*, size_t)>("write");
  if (n > 0) real_write(2, line, static_cast<size_t>(n));
  ::kill(::getpid(), SIGKILL);
}

bool IsCheckpointFile(int fd, char* target, size_t size) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = ::readlink(link, target, size - 1);
  if (len <= 0) return false;
  target[len] = '\0';
  return std::strstr(target, "/checkpoints/") != nullptr;
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t count) {
  static auto real = Next<ssize_t (*)(int, const void*, size_t)>("write");
  char target[4096];
  if (std::strcmp(ThePlan().kind, "write") == 0 && count > 1 &&
      IsCheckpointFile(fd, target, sizeof target) && Due("write")) {
    real(fd, buf, count / 2);
    Die("write", target);
  }
  return real(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto real = Next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  char target[4096];
  if (std::strcmp(ThePlan().kind, "write") == 0 && count > 1 &&
      IsCheckpointFile(fd, target, sizeof target) && Due("write")) {
    real(fd, buf, count / 2, offset);
    Die("write", target);
  }
  return real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  return pwrite(fd, buf, count, offset);
}

int fsync(int fd) {
  static auto real = Next<int (*)(int)>("fsync");
  if (Due("sync")) Die("sync", "(fsync)");
  return real(fd);
}

int fdatasync(int fd) {
  static auto real = Next<int (*)(int)>("fdatasync");
  if (Due("sync")) Die("sync", "(fdatasync)");
  return real(fd);
}

int syncfs(int fd) {
  static auto real = Next<int (*)(int)>("syncfs");
  if (Due("sync")) Die("sync", "(syncfs)");
  return real(fd);
}

int rename(const char* from, const char* to) {
  static auto real = Next<int (*)(const char*, const char*)>("rename");
  if (Due("rename")) Die("rename", to);
  return real(from, to);
}

}  // extern "C"
