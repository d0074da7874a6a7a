// A sum tree over non-negative weights: set a weight or draw an index proportional to the
// weights in O(log n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rlforge::buffers {

class SumTree {
 public:
  explicit SumTree(int64_t n = 0);

  int64_t size() const { return n_; }
  void Set(int64_t i, double weight);
  double Get(int64_t i) const { return nodes_[static_cast<size_t>(leaves_ + i)]; }
  double Total() const { return nodes_.empty() ? 0.0 : nodes_[1]; }
  // The index whose cumulative weight interval holds u, for u in [0, Total()).
  int64_t Find(double u) const;
  void Clear();

 private:
  int64_t n_ = 0;
  int64_t leaves_ = 1;         // power of two >= n
  std::vector<double> nodes_;  // heap layout, node k has children 2k, 2k+1   (2 x leaves)
};

}  // namespace rlforge::buffers
