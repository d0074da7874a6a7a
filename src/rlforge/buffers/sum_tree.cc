#include "rlforge/buffers/sum_tree.h"

#include <algorithm>

namespace rlforge::buffers {

SumTree::SumTree(int64_t n) : n_(n) {
  while (leaves_ < n) leaves_ *= 2;
  nodes_.assign(static_cast<size_t>(2 * leaves_), 0.0);
}

void SumTree::Set(int64_t i, double weight) {
  size_t k = static_cast<size_t>(leaves_ + i);
  nodes_[k] = weight;
  for (k /= 2; k >= 1; k /= 2) nodes_[k] = nodes_[2 * k] + nodes_[2 * k + 1];
}

int64_t SumTree::Find(double u) const {
  size_t k = 1;
  while (k < static_cast<size_t>(leaves_)) {
    const double left = nodes_[2 * k];
    if (u < left || nodes_[2 * k + 1] <= 0.0) {
      k = 2 * k;
    } else {
      u -= left;
      k = 2 * k + 1;
    }
  }
  return std::min<int64_t>(static_cast<int64_t>(k) - leaves_, n_ - 1);
}

void SumTree::Clear() { std::fill(nodes_.begin(), nodes_.end(), 0.0); }

}  // namespace rlforge::buffers
