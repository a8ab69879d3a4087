#pragma once
/// \file
/// Process-wide settings that make the examples' training fast: how many threads it uses (chosen
/// by measurement), and a heap that keeps the memory it frees.
///
/// Eigen's matrix products (OpenMP) and pare's chunked loops synchronize their threads many times
/// per training step. On an idle machine two threads are faster; on a machine whose cores are
/// busy with other work, a thread that waits for a descheduled peer loses whole time slices, and
/// a step can take ten times longer than on one thread (measured here: 8 ms on one thread, 50 to
/// 300 ms on two, at a load average of 10 on 2 cores). `thread_picker` therefore times a few
/// steps each way at the start of every epoch and keeps the faster.

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <thread>

#include <Eigen/Core>
#include <pare/core/parallel.hpp>

namespace pare_examples {

/// Threads of the machine (at least 1).
[[nodiscard]] inline int hardware_threads() noexcept {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// Makes the C library keep freed memory for reuse instead of returning it to the system.
///
/// Eigen's matrix products allocate their packing buffers (a few hundred kB) on every call. By
/// default glibc serves such sizes from the top of the heap and gives the top back on free, so
/// every training step touched fresh pages again — about 12 µs per 4 kB page on this machine
/// (PERF.md), four heap moves per step, ~10% of a step of the 784-512-256-10 MLP. With a high
/// trim threshold and mmap threshold they stay mapped. Does nothing outside glibc.
inline void retain_freed_memory() noexcept {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/// Sets the threads of Eigen's matrix products and of pare's parallel loops.
inline void set_compute_threads(int n) {
  Eigen::setNbThreads(n);
  pare::set_threads(n);
}

/// Picks the thread count of each training step: a fixed count, or (`requested` = 0) per epoch the
/// faster of 1 and `max_threads`, from the mean time of `probes` steps each, taken alternately
/// after two warm-up steps. Epochs too short to probe keep the last choice.
class thread_picker {
 public:
  explicit thread_picker(int requested, int max_threads = hardware_threads(), int probes = 4)
      : adaptive_(requested == 0 && max_threads > 1),
        max_(std::max(max_threads, 1)),
        probes_(probes),
        chosen_(requested > 0 ? requested : std::max(max_threads, 1)) {}

  /// Sets (and returns) the threads for step `b` of an epoch of `steps` steps.
  int before_step(std::int64_t b, std::int64_t steps) {
    if (b == 0) {
      sum_ = {0, 0};
      slow_ = 0;
      chosen_ = probed_;  // a fallback lasts one epoch
    }
    const int n = probing(b, steps) ? candidate(b) : chosen_;
    if (n != current_) set_compute_threads(current_ = n);
    return n;
  }
  /// Records how long step `b` took; after the last probe, keeps the faster count. When all
  /// cores won but later steps take over 3× the probed time (another process took a core:
  /// measured here, a 2.3 s epoch became 25 s), falls back to one thread after `slow_limit` such
  /// steps, for the rest of the epoch.
  void after_step(std::int64_t b, std::int64_t steps, double seconds) {
    if (!probing(b, steps)) {
      if (adaptive_ && current_ > 1 && b >= first_probe + 2 * probes_ &&
          seconds > 3 * sum_[1] / probes_ && ++slow_ >= slow_limit)
        set_compute_threads(chosen_ = current_ = 1);
      return;
    }
    sum_[candidate(b) == 1 ? 0 : 1] += seconds;
    if (b == first_probe + 2 * probes_ - 1) {
      chosen_ = probed_ = sum_[0] <= sum_[1] ? 1 : max_;
      if (chosen_ != current_) set_compute_threads(current_ = chosen_);
    }
  }
  /// The count in force after the probes.
  [[nodiscard]] int chosen() const noexcept { return chosen_; }
  [[nodiscard]] bool adaptive() const noexcept { return adaptive_; }

 private:
  static constexpr std::int64_t first_probe = 2;
  static constexpr int slow_limit = 4;
  [[nodiscard]] bool probing(std::int64_t b, std::int64_t steps) const noexcept {
    return adaptive_ && steps >= first_probe + 4 * probes_ && b >= first_probe &&
           b < first_probe + 2 * probes_;
  }
  [[nodiscard]] int candidate(std::int64_t b) const noexcept { return (b - first_probe) % 2 ? max_ : 1; }

  bool adaptive_;
  int max_, probes_, chosen_, probed_ = chosen_, current_ = 0, slow_ = 0;
  std::array<double, 2> sum_{0, 0};
};

}  // namespace pare_examples
