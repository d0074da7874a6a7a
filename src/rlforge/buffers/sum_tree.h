// A sum tree over non-negative weights: set a weight, or draw an index with probability
// proportional to its weight, in O(log n). The tree is 8-ary with each node's children in one
// cache line, so a draw touches about log8(n) lines instead of log2(n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace rlforge::buffers {

class SumTree {
 public:
  explicit SumTree(int64_t n = 0);
  SumTree(SumTree&&) noexcept = default;
  SumTree& operator=(SumTree&&) noexcept = default;

  int64_t size() const { return n_; }
  void Set(int64_t i, double weight);
  // Every leaf at once (weights of leaves 0..w.size()-1, the rest 0), each inner node computed
  // once bottom-up: O(n) instead of n Set calls; the same node values as those calls give.
  void Build(std::span<const float> weights);
  double Get(int64_t i) const { return node_[first_leaf_ + i]; }
  double Total() const { return n_ == 0 ? 0.0 : node_[0]; }
  // The index whose cumulative-weight interval holds u, for u in [0, Total()).
  int64_t Find(double u) const;
  // Find for each u at once, level by level, so the cache misses of all draws overlap.
  void FindMany(std::span<double> u, std::span<int64_t> out) const;
  void Clear();

 private:
  static constexpr int64_t kArity = 8;
  // From node k, the child whose interval holds u (u becomes relative to that child).
  int64_t Child(int64_t k, double& u) const;
  struct Free {
    void operator()(double* p) const;
  };
  int64_t n_ = 0;
  int64_t first_leaf_ = 0;                   // node index of leaf 0
  int64_t nodes_ = 0;                        // total node count
  std::unique_ptr<double[], Free> storage_;  // 64-byte aligned allocation
  double* node_ = nullptr;                   // node k's children are 8k+1 .. 8k+8   (nodes)
};

}  // namespace rlforge::buffers
