// Row lanes for an update on the dense kernels: one per training thread, each with its own
// activations and gradients over its share of the batch rows. Gradients are summed in lane order,
// so a given thread count gives the same numbers on every run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rlforge/core/thread_pool.h"

namespace rlforge::nn {

template <class Lane>
class Lanes {
 public:
  explicit Lanes(int threads = 1) : lanes_(static_cast<size_t>(threads)) {
    if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
  }

  size_t size() const { return lanes_.size(); }
  Lane& operator[](size_t k) { return lanes_[k]; }
  const Lane& operator[](size_t k) const { return lanes_[k]; }
  auto begin() { return lanes_.begin(); }
  auto end() { return lanes_.end(); }
  auto begin() const { return lanes_.begin(); }
  auto end() const { return lanes_.end(); }

  // Runs fn(lane, begin, end) over B rows split evenly between the lanes, in parallel.
  template <class Fn>
  void ForRows(int64_t B, Fn&& fn) {
    const auto lanes = static_cast<int64_t>(lanes_.size());
    auto run = [&](int first, int last) {
      for (int k = first; k < last; ++k) fn(lanes_[k], B * k / lanes, B * (k + 1) / lanes);
    };
    if (pool_ != nullptr) {
      pool_->ParallelFor(static_cast<int>(lanes), run);
    } else {
      run(0, static_cast<int>(lanes));
    }
  }

  // Runs fn(begin, end) over [0, n) split between the lanes at multiples of 8, in parallel: for
  // elementwise work, whose results do not depend on the split. Below ~64k floats one thread is
  // quicker than waking another.
  template <class Fn>
  void ForElements(int64_t n, Fn&& fn) {
    const auto lanes = static_cast<int64_t>(lanes_.size());
    if (lanes == 1 || n < (1 << 16)) return fn(int64_t{0}, n);
    auto edge = [&](int64_t k) { return k == lanes ? n : n * k / lanes / 8 * 8; };
    ForRows(lanes, [&](Lane&, int64_t k, int64_t) { fn(edge(k), edge(k + 1)); });
  }

  // Adds every other lane's `grads` into the first lane's, in lane order; returns the sum.
  std::vector<float>& Sum(std::vector<float> Lane::*grads) {
    std::vector<float>& sum = lanes_[0].*grads;
    ForElements(static_cast<int64_t>(sum.size()), [&](int64_t begin, int64_t end) {
      for (size_t k = 1; k < lanes_.size(); ++k) {
        const float* g = (lanes_[k].*grads).data();
        for (int64_t i = begin; i < end; ++i) sum[i] += g[i];
      }
    });
    return sum;
  }

 private:
  std::vector<Lane> lanes_;           // one per training thread; the first gets the sums
  std::unique_ptr<ThreadPool> pool_;  // runs the lanes; null with one thread
};

}  // namespace rlforge::nn
