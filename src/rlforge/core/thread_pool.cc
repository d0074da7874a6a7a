#include "rlforge/core/thread_pool.h"

#include "rlforge/core/error.h"

namespace rlforge {
namespace {

constexpr int kSpinIterations = 4000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1)
    throw Error("threads: expected at least 1, got " + std::to_string(num_threads));
  for (int w = 1; w < num_threads; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunk(int chunk) const {
  const int chunks = static_cast<int>(workers_.size()) + 1;
  const int begin = static_cast<int>(static_cast<int64_t>(n_) * chunk / chunks);
  const int end = static_cast<int>(static_cast<int64_t>(n_) * (chunk + 1) / chunks);
  if (begin < end) task_(ctx_, begin, end);
}

void ThreadPool::Run(int n, Task task, void* ctx) {
  task_ = task;
  ctx_ = ctx;
  n_ = n;
  if (workers_.empty()) {
    RunChunk(0);
    return;
  }
  pending_.store(static_cast<int>(workers_.size()));
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  RunChunk(0);
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) {
      CpuRelax();
    } else {
      const int left = pending_.load(std::memory_order_acquire);
      if (left != 0) pending_.wait(left);
    }
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  while (true) {
    uint64_t now = generation_.load(std::memory_order_acquire);
    for (int spin = 0; now == seen; ++spin) {
      if (spin < kSpinIterations) {
        CpuRelax();
      } else {
        generation_.wait(seen);
      }
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load()) return;
    RunChunk(worker);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace rlforge
