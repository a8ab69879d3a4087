#pragma once
/// \file
/// Chunked loops: the shape every fused kernel in pare takes.
///
/// Elementwise work is memory-bound, so kernels walk their buffers in cache-sized chunks and do
/// all of their work on a chunk while it is in cache (one trip through memory per step). When
/// the user compiles with OpenMP (`-fopenmp`), chunks are spread over threads; otherwise the
/// loop is sequential. Every translation unit of a program should agree on `-fopenmp`.

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "pare/core/error.hpp"

namespace pare {

/// Threads pare's parallel loops use: OpenMP's current maximum, or 1 without OpenMP.
[[nodiscard]] inline int max_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the threads pare's parallel loops use (OpenMP's `omp_set_num_threads`); without OpenMP
/// only 1 is meaningful and other values are ignored. Throws `pare::error` for n < 1.
inline void set_threads(int n) {
  detail::require(n >= 1, "pare::set_threads", "n", "at least 1", n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

namespace detail {

/// Elements per chunk: 8192 floats are 32 KiB, so a parameter, its gradient and two state
/// buffers of one chunk stay in L2 while a whole chain of transforms runs over them.
inline constexpr std::int64_t chunk_elements = 8192;

/// Calls `f(begin, end)` for consecutive chunks of [0, n). With OpenMP and `parallel`, chunks
/// are shared among threads (a static schedule, so thread i always touches the same memory),
/// but only when there are at least two chunks per thread: smaller loops stay on one thread.
/// `f` must not throw.
template <class F>
void for_each_chunk(std::int64_t n, std::int64_t chunk, F&& f, bool parallel = true) {
  if (n <= 0) return;
  chunk = std::max<std::int64_t>(chunk, 1);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
#ifdef _OPENMP
  if (parallel && omp_get_max_threads() > 1 && chunks >= 2 * omp_get_max_threads()) {
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
    return;
  }
#else
  (void)parallel;
#endif
  for (std::int64_t c = 0; c < chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
}

}  // namespace detail
}  // namespace pare
