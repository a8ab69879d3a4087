#pragma once
// Helpers shared by the pare::quant tests.
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace quant_test
