#pragma once
// Helpers for numeric tests: central finite differences and seeded random data.

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace pare_test {

/// Central finite-difference gradient of f at x: (f(x + h·e_i) − f(x − h·e_i)) / 2h.
/// Use double and h ≈ 1e-6·scale; expect agreement to ~1e-8 relative for smooth f.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i];
    x[i] = xi + h;
    const double fp = f(x);
    x[i] = xi - h;
    const double fm = f(x);
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/// n values from N(mean, stddev) with a fixed seed (print the seed with INFO in the test).
template <class T = double>
std::vector<T> random_normal(std::size_t n, std::uint64_t seed, double mean = 0, double stddev = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, stddev);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

/// n values uniform in [lo, hi) with a fixed seed.
template <class T = double>
std::vector<T> random_uniform(std::size_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

}  // namespace pare_test
