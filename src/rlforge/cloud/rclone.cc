#include "rlforge/cloud/rclone.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace rlforge::cloud {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\n\r ");
  if (end == std::string::npos) return "";
  const size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1));
}

}  // namespace

bool Permanent(int exit_code) { return exit_code == 2 || exit_code == 7 || exit_code == -1; }

bool IsRemote(const std::string& path) {
  if (path.empty() || path[0] == '/' || path[0] == '.') return false;
  if (path[0] == ':') return path.find(':', 1) != std::string::npos;  // ":backend,opts:path"
  const size_t colon = path.find(':');
  return colon != std::string::npos && colon > 0 && path.find('/') > colon;
}

std::string Join(const std::string& remote, const std::string& rel) {
  if (remote.empty() || remote.back() == ':' || remote.back() == '/') return remote + rel;
  return remote + "/" + rel;
}

std::string BaseName(const std::string& remote) {
  std::string r = remote;
  while (!r.empty() && r.back() == '/') r.pop_back();
  const size_t cut = r.find_last_of("/:");
  return cut == std::string::npos ? r : r.substr(cut + 1);
}

Rclone::Rclone(std::string config_file, std::string bwlimit)
    : config_file_(std::move(config_file)), bwlimit_(std::move(bwlimit)) {}

RcloneResult Rclone::Run(const std::vector<std::string>& args, double timeout_s,
                         const std::atomic<bool>* cancel) const {
  std::vector<std::string> argv = {"rclone"};
  argv.insert(argv.end(), args.begin(), args.end());
  // one try per call (the uploader retries with backoff), short connect and idle timeouts
  for (const char* flag : {"--retries=1", "--low-level-retries=2", "--contimeout=10s",
                           "--timeout=60s", "--stats=0", "--log-level=ERROR"})
    argv.emplace_back(flag);
  if (!config_file_.empty()) argv.push_back("--config=" + config_file_);
  if (!bwlimit_.empty()) argv.push_back("--bwlimit=" + bwlimit_);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return {-1, "", std::string("pipe: ") + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: the terminal's Ctrl-C is for training
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  // GOMAXPROCS=1: rclone's Go runtime leaves the cores to training
  std::vector<std::string> env_strings = {"GOMAXPROCS=1"};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "GOMAXPROCS=", 11) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "rclone", &actions, &attr, cargv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  RcloneResult result;
  if (spawned != 0) {
    close(out[0]);
    close(err[0]);
    return {-1, "",
            std::string("cannot run rclone (install it: apt-get install rclone): ") +
                std::strerror(spawned)};
  }
  std::string stderr_text;
  const double deadline = Now() + timeout_s;
  bool killed = false;
  int open_pipes = 2;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while (open_pipes > 0) {
    if (!killed && (Now() > deadline || (cancel != nullptr && cancel->load()))) {
      kill(pid, SIGTERM);
      killed = true;
    }
    if (poll(fds, 2, 100) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.output : stderr_text).append(buf, static_cast<size_t>(n));
        if (stderr_text.size() > 65536) stderr_text.erase(0, stderr_text.size() - 65536);
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (const pollfd& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.code = killed ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.error = killed ? "stopped after " + std::to_string(static_cast<int>(timeout_s)) + " s"
                        : LastLine(stderr_text);
  return result;
}

RcloneResult Rclone::Check(const std::string& remote, double timeout_s) const {
  const double start = Now();
  const auto left = [&] { return std::max(1.0, timeout_s - (Now() - start)); };
  RcloneResult r = Run({"mkdir", remote}, left());
  if (!r.ok()) return r;
  char tmpl[] = "/tmp/rlforge_cloud_check_XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) return {-1, "", std::string("temp file: ") + std::strerror(errno)};
  const char probe[] = "rlforge cloud check\n";
  (void)!write(fd, probe, sizeof probe - 1);
  close(fd);
  const std::string name = ".rlforge_check_" + std::to_string(getpid());
  r = Run({"copyto", tmpl, Join(remote, name)}, left());
  unlink(tmpl);
  if (!r.ok()) return r;
  return Run({"deletefile", Join(remote, name)}, left());
}

}  // namespace rlforge::cloud
