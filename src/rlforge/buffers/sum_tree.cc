#include "rlforge/buffers/sum_tree.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace rlforge::buffers {

void SumTree::Free::operator()(double* p) const { std::free(p); }

SumTree::SumTree(int64_t n) : n_(n) {
  // levels of 1, 8, 64, ... nodes until the last one holds every leaf
  int64_t level_size = 1;
  while (level_size < n) {
    first_leaf_ += level_size;
    level_size *= kArity;
  }
  nodes_ = first_leaf_ + level_size;
  // 7 doubles of padding put node 1, and every sibling group 8k+1..8k+8, on a 64-byte boundary
  const size_t bytes = (static_cast<size_t>(nodes_) + 7) * sizeof(double);
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == nullptr) throw std::bad_alloc();
  storage_.reset(static_cast<double*>(p));
  node_ = storage_.get() + 7;
  Clear();
}

void SumTree::Set(int64_t i, double weight) {
  int64_t k = first_leaf_ + i;
  node_[k] = weight;
  while (k > 0) {
    k = (k - 1) / kArity;
    const double* c = node_ + kArity * k + 1;
    node_[k] = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
  }
}

void SumTree::Build(std::span<const float> weights) {
  Clear();
  const int64_t n = std::min<int64_t>(n_, static_cast<int64_t>(weights.size()));
  for (int64_t i = 0; i < n; ++i) node_[first_leaf_ + i] = weights[i];
  // level by level from the deepest inner one: a node's children are final before it is summed
  for (int64_t first = first_leaf_, count = nodes_ - first_leaf_; first > 0;) {
    const int64_t parents = count / kArity, parent_first = (first - 1) / kArity;
    for (int64_t k = parent_first; k < parent_first + parents; ++k) {
      const double* c = node_ + kArity * k + 1;
      node_[k] = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
    }
    first = parent_first;
    count = parents;
  }
}

int64_t SumTree::Child(int64_t k, double& u) const {
  // j = the first child whose cumulative weight exceeds u: counted without branches
  const double* c = node_ + kArity * k + 1;
  double before[kArity];  // weight of the children left of each child
  double sum = 0.0;
  int j = 0;
  for (int i = 0; i < kArity; ++i) {
    before[i] = sum;
    sum += c[i];
    j += i < kArity - 1 && sum <= u;
  }
  u -= before[j];
  // rounding can leave u past the last positive child: step back to one that has weight
  while (j > 0 && c[j] <= 0.0) --j;
  return kArity * k + 1 + j;
}

int64_t SumTree::Find(double u) const {
  int64_t k = 0;
  while (k < first_leaf_) k = Child(k, u);
  return std::min<int64_t>(k - first_leaf_, n_ - 1);
}

void SumTree::FindMany(std::span<double> u, std::span<int64_t> out) const {
  std::fill(out.begin(), out.end(), 0);
  // every leaf is at the same depth: one pass per level, its lines requested before use
  for (int64_t level_first = 0; level_first < first_leaf_; level_first = kArity * level_first + 1) {
    for (const int64_t k : out) __builtin_prefetch(node_ + kArity * k + 1);
    for (size_t s = 0; s < out.size(); ++s) out[s] = Child(out[s], u[s]);
  }
  for (int64_t& k : out) k = std::min<int64_t>(k - first_leaf_, n_ - 1);
}

void SumTree::Clear() { std::fill(storage_.get(), storage_.get() + nodes_ + 7, 0.0); }

}  // namespace rlforge::buffers
