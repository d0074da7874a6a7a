// Cloud copies against a real SFTP server on loopback (`rclone serve sftp`): remote names, the
// bandwidth limit, checkpoints a crashed process left staged, and a pull that refuses a damaged
// or malformed upload. End-to-end runs are in cloud_cli.sh.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "rlforge/cloud/pull.h"
#include "rlforge/cloud/rclone.h"
#include "rlforge/cloud/uploader.h"
#include "rlforge/train/config.h"
#include "test_util.h"

namespace rlforge::cloud {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

void WriteBytes(const fs::path& p, size_t n, char fill) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << std::string(n, fill);
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// `rclone serve sftp ROOT` on 127.0.0.1 for one test; remote() names ROOT/runs over it.
class Sftp : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TempPath("sftp");
    fs::create_directories(root_);
    port_ = 20000 + (::getpid() * 7 + counter_++) % 20000;
    pid_ = fork();
    if (pid_ == 0) {
      const std::string addr = "127.0.0.1:" + std::to_string(port_);
      execlp("rclone", "rclone", "serve", "sftp", root_.c_str(), "--addr", addr.c_str(), "--user",
             "u", "--pass", "secret", static_cast<char*>(nullptr));
      _exit(127);
    }
    const RcloneResult obscured = Rclone().Run({"obscure", "secret"}, 30);
    ASSERT_TRUE(obscured.ok()) << obscured.error;
    pass_ = obscured.output.substr(0, obscured.output.find('\n'));
    for (int i = 0; i < 100 && !Rclone().Run({"lsd", remote("")}, 10).ok(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  void TearDown() override {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    fs::remove_all(root_);
  }
  std::string remote(const std::string& path) const {
    return ":sftp,host=127.0.0.1,port=" + std::to_string(port_) + ",user=u,pass=" + pass_ + ":" +
           path;
  }
  fs::path root_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string pass_;
  static inline int counter_ = 0;
};

TEST(RemoteNames, RemotesAreToldFromLocalPaths) {
  EXPECT_TRUE(IsRemote("gdrive:rlforge/runs"));
  EXPECT_TRUE(IsRemote(":sftp,host=h,port=22:runs/a"));
  EXPECT_TRUE(IsRemote("s3:"));
  EXPECT_FALSE(IsRemote("runs/a"));
  EXPECT_FALSE(IsRemote("/tmp/a:b"));
  EXPECT_FALSE(IsRemote("./a:b"));
  EXPECT_FALSE(IsRemote("runs/a:b"));
  EXPECT_EQ(Join("gd:", "checkpoints"), "gd:checkpoints");
  EXPECT_EQ(Join("gd:runs", "checkpoints"), "gd:runs/checkpoints");
  EXPECT_EQ(BaseName("gd:runs/r1/"), "r1");
  EXPECT_EQ(BaseName("gd:r1"), "r1");
}

TEST(RemoteNames, IncludeNamesAreChecked) {
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", {"cloud.include=checkpoints,weights"});
            }).find("cloud.include: unknown item \"weights\""),
            std::string::npos);
  EXPECT_EQ(train::LoadConfig("", {"cloud.include=metrics, videos"}).cloud.Included(),
            (std::vector<std::string>{"metrics", "videos"}));
}

TEST_F(Sftp, TheBandwidthLimitIsHonoured) {
  const fs::path file = TempPath("big.bin");
  WriteBytes(file, 3 << 20, 'x');
  const auto start = std::chrono::steady_clock::now();
  const RcloneResult r = Rclone("", "1M").Run({"copyto", file.string(), remote("big.bin")}, 120);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(fs::file_size(root_ / "big.bin"), 3u << 20);
  EXPECT_GE(seconds, 2.0) << "3 MiB at 1 MiB/s (rclone's first second is a burst)";
  fs::remove(file);
}

TEST_F(Sftp, ACheckpointACrashLeftStagedGoesUpWithTheNextUploader) {
  const fs::path stage = TempPath("stage");
  WriteBytes(stage / "ckpt_7/step_7.safetensors", 1000, 'a');
  WriteBytes(stage / "ckpt_7/files_7/replay/obs.npy", 500, 'b');
  WriteBytes(stage / "ckpt_9.tmp/step_9.safetensors", 10, 'c');  // staging cut by the crash
  {
    Uploader uploader(Rclone(), remote("runs/r"), stage.string());
    EXPECT_EQ(uploader.Flush(60), 0);
    EXPECT_EQ(uploader.stats().latest_step, 7);
    EXPECT_EQ(uploader.stats().uploaded_bytes, 1500);
  }
  EXPECT_EQ(Read(root_ / "runs/r/checkpoints/step_7.safetensors"), std::string(1000, 'a'));
  EXPECT_EQ(Read(root_ / "runs/r/checkpoints/files_7/replay/obs.npy"), std::string(500, 'b'));
  EXPECT_NE(Read(root_ / "runs/r/checkpoints/LATEST.json").find("\"step_7.safetensors\""),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "runs/r/checkpoints/step_9.safetensors"));
  EXPECT_TRUE(fs::is_empty(stage)) << "uploaded and unfinished stages are gone";
  fs::remove_all(stage);
}

TEST_F(Sftp, APullRefusesADamagedOrMalformedUpload) {
  const fs::path stage = TempPath("stage2"), local = TempPath("pulled");
  WriteBytes(stage / "ckpt_3/step_3.safetensors", 2000, 'a');
  WriteBytes(stage / "ckpt_3/files_3/replay/obs.npy", 300, 'b');
  {
    Uploader uploader(Rclone(), remote("runs/p"), stage.string());
    ASSERT_EQ(uploader.Flush(60), 0);
  }
  EXPECT_EQ(Pull(Rclone(), remote("runs/p"), local.string()), 3);
  EXPECT_EQ(Read(local / "checkpoints/latest.safetensors"), std::string(2000, 'a'));
  EXPECT_EQ(Read(local / "checkpoints/files_3/replay/obs.npy"), std::string(300, 'b'));

  const fs::path uploaded = root_ / "runs/p/checkpoints/step_3.safetensors";
  std::string bytes = Read(uploaded);
  bytes[1234] ^= 0x10;  // one flipped bit on the remote
  std::ofstream(uploaded, std::ios::binary) << bytes;
  const fs::path other = TempPath("pulled2");
  EXPECT_NE(ErrorOf([&] {
              Pull(Rclone(), remote("runs/p"), other.string());
            }).find("step_3.safetensors: its CRC32C does not match LATEST.json"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(other / "checkpoints/latest.safetensors")) << "nothing partial named";

  // a new LATEST.json goes up through the server (it caches what it served)
  const auto put_manifest = [&](const std::string& text) {
    const fs::path file = TempPath("LATEST.json");
    std::ofstream(file) << text;
    ASSERT_TRUE(
        Rclone().Run({"copyto", file.string(), remote("runs/p/checkpoints/LATEST.json")}, 30).ok());
  };
  std::string m = Read(root_ / "runs/p/checkpoints/LATEST.json");
  put_manifest(m.substr(0, m.size() / 2));
  EXPECT_NE(ErrorOf([&] {
              Pull(Rclone(), remote("runs/p"), other.string());
            }).find("LATEST.json: not a valid manifest"),
            std::string::npos);
  std::string fractional = m;  // a size that is no integer (nlohmann would truncate it)
  fractional.replace(fractional.find("\"size\": 2000"), 12, "\"size\": 2000.5");
  put_manifest(fractional);
  EXPECT_NE(ErrorOf([&] {
              Pull(Rclone(), remote("runs/p"), other.string());
            }).find("size and crc32c must be unsigned integers"),
            std::string::npos);
  const std::string escape = "files_3/replay/obs.npy";
  m.replace(m.find(escape), escape.size(), "../../../etc/passwd");
  put_manifest(m);
  EXPECT_NE(ErrorOf([&] {
              Pull(Rclone(), remote("runs/p"), other.string());
            }).find("a path leaves the folder"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              Pull(Rclone(), remote("runs/none"), other.string());
            }).find("runs/none/checkpoints/LATEST.json: cannot read"),
            std::string::npos);
  for (const fs::path& p : {stage, local, other}) fs::remove_all(p);
}

}  // namespace
}  // namespace rlforge::cloud
