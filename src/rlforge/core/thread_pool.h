// A fixed pool of worker threads that runs one data-parallel loop at a time.
// The caller's thread takes the first chunk; workers spin briefly, then sleep on an atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace rlforge {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // total threads, including the caller's
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over [0, n) split into num_threads() contiguous chunks; returns when done.
  template <typename Fn>
  void ParallelFor(int n, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    Run(
        n, [](void* ctx, int begin, int end) { (*static_cast<F*>(ctx))(begin, end); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Task = void (*)(void*, int, int);
  void Run(int n, Task task, void* ctx);
  void WorkerLoop(int worker);
  void RunChunk(int chunk) const;

  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};  // bumped once per ParallelFor call
  std::atomic<int> pending_{0};          // workers still running the current call
  std::atomic<bool> stop_{false};
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int n_ = 0;
};

}  // namespace rlforge
