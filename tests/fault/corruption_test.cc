// Corruption of what a run keeps on disk: a checkpoint, the replay buffer folder beside it and the
// labeling app's .jsonl files, each cut at 50 random offsets and hit by 50 random bit flips
// (seeded). Every damaged copy is a clear rlforge::Error naming the file (checksums cover every
// byte that means something), or, for a .jsonl cut, the documented recovery: the line a crash cut
// short is dropped, every whole line kept. Never a crash: anything but rlforge::Error fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "rlforge/feedback/store.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/train/config.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;

constexpr int kCuts = 50, kFlips = 50;

// One damaged copy of a file: its bytes cut at `at`, or bit `bit` of byte `at` flipped.
struct Damage {
  bool cut;
  size_t at;
  int bit;
  std::string Describe() const {
    return cut ? "cut at " + std::to_string(at)
               : "bit " + std::to_string(bit) + " of byte " + std::to_string(at) + " flipped";
  }
  std::string Apply(std::string bytes) const {
    if (cut)
      bytes.resize(at);
    else
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
    return bytes;
  }
};

std::vector<Damage> Damages(size_t size, std::mt19937_64& rng) {
  std::vector<Damage> out;
  for (int i = 0; i < kCuts; ++i) out.push_back({true, rng() % size, 0});
  for (int i = 0; i < kFlips; ++i)
    out.push_back({false, rng() % size, static_cast<int>(rng() % 8)});
  return out;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A finished SAC run with its replay buffer saved, made once for the suite.
class Corruption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_ = fs::temp_directory_path() / ("rlforge_" + std::to_string(::getpid()) + "_corrupt_run");
    fs::remove_all(run_);
    const train::TrainConfig config = train::LoadConfigText(R"(
algo: sac
seed: 3
total_timesteps: 400
progress: false
env: {id: Pendulum-v1, num_envs: 1}
sac: {buffer_size: 1000, batch_size: 16, learning_starts: 300, hidden: [8, 8]}
eval: {every_steps: 0}
checkpoint: {every_steps: 200, save_replay_buffer: true}
)",
                                                            "corruption_test");
    train::Train(config, run_.string());
  }
  static void TearDownTestSuite() { fs::remove_all(run_); }

  // Resumes `dir` as `rlforge train --resume` would: loads the checkpoint and the buffer folder,
  // then (the run being complete) trains nothing.
  static void Resume(const fs::path& dir) {
    const train::TrainResult r = train::Train({}, dir.string(), /*resume=*/true);
    EXPECT_TRUE(r.already_complete);
  }

  static fs::path Copy(const std::string& name) {
    const fs::path dir = rlforge::testing::TempPath(name);
    fs::copy(run_, dir, fs::copy_options::recursive);
    return dir;
  }

  static fs::path FilesFolder(const fs::path& run) {
    for (const auto& e : fs::directory_iterator(run / "checkpoints"))
      if (e.is_directory() && e.path().filename().string().rfind("files_", 0) == 0) return e.path();
    return {};
  }

  static inline fs::path run_;
};

TEST_F(Corruption, ACheckpointCutOrFlippedIsAClearError) {
  const fs::path dir = Copy("checkpoint");
  const fs::path latest = dir / "checkpoints" / "latest.safetensors";
  const std::string good = ReadAll(latest);
  std::mt19937_64 rng(1);
  int errors = 0;
  for (const Damage& d : Damages(good.size(), rng)) {
    WriteAll(latest, d.Apply(good));
    const std::string error = ErrorOf([&] { Resume(dir); });
    EXPECT_NE(error.find(latest.string()), std::string::npos) << d.Describe() << ": " << error;
    errors += !error.empty();
  }
  std::printf("checkpoint (%zu bytes): %d of %d damaged copies refused\n", good.size(), errors,
              kCuts + kFlips);
  fs::remove_all(dir);
}

TEST_F(Corruption, ABufferFolderCutOrFlippedIsAClearError) {
  const fs::path dir = Copy("buffer");
  const fs::path folder = FilesFolder(dir) / "replay";
  ASSERT_TRUE(fs::exists(folder / "buffer.json"));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::mt19937_64 rng(2);
  int errors = 0;
  for (int i = 0; i < kCuts + kFlips; ++i) {
    const fs::path file = files[rng() % files.size()];
    const std::string good = ReadAll(file);
    const Damage d = i < kCuts ? Damage{true, rng() % good.size(), 0}
                               : Damage{false, rng() % good.size(), static_cast<int>(rng() % 8)};
    WriteAll(file, d.Apply(good));
    const std::string error = ErrorOf([&] { Resume(dir); });
    WriteAll(file, good);
    EXPECT_NE(error.find(file.string()), std::string::npos)
        << file.filename().string() << ", " << d.Describe() << ": " << error;
    errors += !error.empty();
  }
  std::printf("buffer folder (%zu files): %d of %d damaged copies refused\n", files.size(), errors,
              kCuts + kFlips);
  fs::remove_all(dir);
}

// The number of lines of `text` whose newline lies before `cut`.
size_t WholeLines(const std::string& text, size_t cut) {
  size_t n = 0;
  for (size_t end = text.find('\n'); end != std::string::npos && end < cut;
       end = text.find('\n', end + 1))
    ++n;
  return n;
}

TEST(CorruptionJsonl, AFeedbackFileFlippedIsAnErrorAndACutKeepsEveryWholeLine) {
  using feedback::Answer;
  using feedback::FeedbackStore;
  const fs::path dir = rlforge::testing::TempPath("feedback");
  {
    FeedbackStore store(dir.string());
    for (int i = 0; i < 20; ++i) {
      const std::string id = "s1-q" + std::to_string(i);
      store.AddQuery({id, 1, id + "-0.mp4", id + "-1.mp4"});
      if (i < 15) store.Submit(id, static_cast<Answer>(i % 4));
    }
  }
  std::mt19937_64 rng(3);
  for (const std::string name : {"queries.jsonl", "labels.jsonl"}) {
    const fs::path file = dir / name;
    const std::string good = ReadAll(file);
    int errors = 0, recovered = 0;
    for (const Damage& d : Damages(good.size(), rng)) {
      WriteAll(file, d.Apply(good));
      std::unique_ptr<FeedbackStore> store;
      const std::string error =
          ErrorOf([&] { store = std::make_unique<FeedbackStore>(dir.string()); });
      const std::string what = name + ", " + d.Describe();
      if (d.cut) {  // the recovery: the whole lines before the cut, and the file cut back to them
        ++recovered;
        ASSERT_EQ(error, "") << what;
        const size_t whole = WholeLines(good, d.at);
        const bool last_whole = d.at > 0 && good[d.at - 1] == '}';  // only its newline missing
        const size_t kept = whole + (last_whole ? 1 : 0);
        if (name == std::string("labels.jsonl")) {
          EXPECT_EQ(store->answered(), kept) << what;
        } else {
          EXPECT_EQ(store->Pending().size(), kept > 15 ? kept - 15 : 0) << what;
        }
        const std::string now = ReadAll(file);
        EXPECT_EQ(now, good.substr(0, now.size())) << what << ": the kept lines changed";
        EXPECT_TRUE(now.empty() || now.back() == '\n') << what;
      } else {
        ++errors;
        EXPECT_NE(error.find(file.string() + ":"), std::string::npos) << what << ": " << error;
        EXPECT_EQ(ReadAll(file), d.Apply(good)) << what << ": an error changed the file";
      }
    }
    WriteAll(file, good);
    std::printf("%s (%zu bytes): %d flips refused, %d cuts recovered\n", name.c_str(), good.size(),
                errors, recovered);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlforge
