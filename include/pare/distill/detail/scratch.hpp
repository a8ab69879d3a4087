#pragma once
/// \file
/// A per-thread scratch buffer for the distillation kernels.

#include <cstddef>
#include <vector>

#include <Eigen/Core>

namespace pare::distill::detail {

/// n elements of per-thread scratch that only grows: a training loop allocates it once, at its
/// first (largest) call, and reuses it afterwards. Callers must not hold it across calls to
/// another pare::distill function on the same thread. Aligned for Eigen's widest packets, so
/// reductions over it always take the same path.
template <class T>
[[nodiscard]] T* scratch(std::size_t n) {
  thread_local std::vector<T, Eigen::aligned_allocator<T>> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

}  // namespace pare::distill::detail
