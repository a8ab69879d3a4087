#pragma once
// Helpers shared by the pare::quant tests.
#include <cstdint>
#include <string>
#include <vector>

#include <pare/quant/detail/interleave.hpp>

#include "support/reference.hpp"

namespace quant_test {

/// The reference file written by tests/reference/quant/generate.py (torch 1.13).
inline const pare_test::reference& torch_ref() {
  static const pare_test::reference r("quant/torch_quant.txt");
  return r;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

/// A 2-D test shape.
struct dims {
  std::int64_t rows, cols;
};

inline std::vector<std::int64_t> shape_of(const std::vector<double>& v) {
  return std::vector<std::int64_t>(v.begin(), v.end());
}

/// For its scope, pare takes the paths of long tensors (four interleaved parts, the per-group
/// kernel's four lanes) from n elements on instead of 4M, so that tests can check them element by
/// element on small tensors.
class long_paths_from {
 public:
  explicit long_paths_from(std::int64_t n) : saved_(pare::quant::detail::interleave_min) {
    pare::quant::detail::interleave_min = n;
  }
  ~long_paths_from() { pare::quant::detail::interleave_min = saved_; }
  long_paths_from(const long_paths_from&) = delete;
  long_paths_from& operator=(const long_paths_from&) = delete;

 private:
  std::int64_t saved_;
};

}  // namespace quant_test
