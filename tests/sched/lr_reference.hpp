#pragma once
// Shared by tests/sched: reads tests/reference/sched/lr.txt (written by
// tests/reference/sched/generate.py from torch 1.13 and the Keras formulas) and compares a
// schedule with a recorded learning-rate sequence.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <pare/sched/reduce_on_plateau.hpp>

#include "support/catch.hpp"
#include "support/reference.hpp"

namespace sched_test {

/// The reference file, loaded once.
inline const pare_test::reference& ref() {
  static const pare_test::reference r("sched/lr.txt");
  return r;
}

/// The cases recorded for a schedule: "<schedule>/<case>" for every "<schedule>/<case>/lr".
inline std::vector<std::string> cases(const std::string& schedule) {
  std::vector<std::string> out;
  const std::string head = schedule + "/", tail = "/lr";
  for (const auto& k : ref().keys()) {
    if (k.rfind(head, 0) == 0 && k.size() > head.size() + tail.size() &&
        k.compare(k.size() - tail.size(), tail.size(), tail) == 0) {
      out.push_back(k.substr(0, k.size() - tail.size()));
    }
  }
  return out;
}

inline const std::vector<double>& field(const std::string& c, const std::string& name) {
  return ref()[c + "/" + name];
}
inline double option(const std::string& c, std::size_t i) { return field(c, "options").at(i); }
inline std::int64_t int_option(const std::string& c, std::size_t i) {
  return static_cast<std::int64_t>(option(c, i));
}
/// reduce_on_plateau options from a recorded case's option row (both generators write base_lr,
/// mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps).
inline pare::sched::reduce_on_plateau_options plateau_options(const std::vector<double>& o) {
  namespace ps = pare::sched;
  return {.base_lr = o.at(0),
          .mode = o.at(1) == 0 ? ps::mode::min : ps::mode::max,
          .factor = o.at(2),
          .patience = static_cast<std::int64_t>(o.at(3)),
          .threshold = o.at(4),
          .threshold_mode = o.at(5) == 0 ? ps::threshold_mode::rel : ps::threshold_mode::abs,
          .cooldown = static_cast<std::int64_t>(o.at(6)),
          .min_lr = o.at(7),
          .eps = o.at(8)};
}
inline std::vector<std::int64_t> steps(const std::string& c, const std::string& name) {
  std::vector<std::int64_t> out;
  for (double v : field(c, name)) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

/// |got − want| ≤ rel·|want| (so a reference 0 must be an exact 0).
inline bool close(double got, double want, double rel) {
  return std::abs(got - want) <= rel * std::abs(want) || (std::isnan(got) && std::isnan(want));
}

/// s(t) against the recorded lr for every recorded step t = 0, 1, ...; returns the steps checked.
template <class S>
std::size_t check_sequence(const S& s, const std::string& c, double rel = 1e-12) {
  const auto& lr = field(c, "lr");
  REQUIRE(!lr.empty());
  for (std::size_t t = 0; t < lr.size(); ++t) {
    const double got = s(static_cast<std::int64_t>(t));
    INFO(c << " step " << t << ": pare " << got << ", reference " << lr[t]);
    CHECK(close(got, lr[t], rel));
  }
  return lr.size();
}

}  // namespace sched_test
