// pare::sched::polynomial_decay against torch 1.13 PolynomialLR and Keras PolynomialDecay.
#include <pare/sched/polynomial_decay.hpp>

#include "lr_reference.hpp"

namespace ps = pare::sched;
using namespace sched_test;

namespace {
std::size_t check_cases(const std::string& tag) {
  std::size_t n = 0;
  for (const auto& c : cases("polynomial_decay")) {
    if (c.find(tag) == std::string::npos) continue;
    check_sequence(ps::polynomial_decay{.base_lr = option(c, 0), .total_iters = int_option(c, 1),
                                        .power = option(c, 2), .end_lr = option(c, 3)},
                   c);
    ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("polynomial_decay matches PyTorch PolynomialLR (end_lr 0), powers ≠ 1 included") {
  CHECK(check_cases("/torch_") >= 5);
}

TEST_CASE("polynomial_decay matches Keras PolynomialDecay with end_lr") {
  CHECK(check_cases("/keras_") >= 4);
}

TEST_CASE("polynomial_decay reaches end_lr at total_iters and stays there") {
  const ps::polynomial_decay s{.base_lr = 1.0, .total_iters = 4, .power = 2, .end_lr = 0.1};
  CHECK(s(0) == 1.0);
  CHECK(s(2) == pare_test::Approx(0.9 * 0.25 + 0.1).epsilon(1e-15));
  CHECK(s(4) == 0.1);
  CHECK(s(400) == 0.1);
  CHECK(ps::polynomial_decay{.base_lr = 0.1}(5) == 0);  // defaults: PolynomialLR(5, 1), to 0
}

TEST_CASE("polynomial_decay rejects bad fields") {
  PARE_REQUIRE_ERROR((ps::polynomial_decay{.base_lr = 0.1, .total_iters = 0}(0)),
                     "pare::sched::polynomial_decay", "total_iters", "at least 1", "0");
  PARE_REQUIRE_ERROR((ps::polynomial_decay{.base_lr = 0.1, .power = -1}(0)),
                     "pare::sched::polynomial_decay", "power", "-1");
  PARE_REQUIRE_ERROR((ps::polynomial_decay{.base_lr = 0.1, .end_lr = -0.01}(0)),
                     "pare::sched::polynomial_decay", "end_lr", "-0.01");
  PARE_REQUIRE_ERROR(ps::polynomial_decay{}(0), "pare::sched::polynomial_decay", "base_lr", "nan");
  PARE_REQUIRE_ERROR((ps::polynomial_decay{.base_lr = 0.1}(-1)), "pare::sched::polynomial_decay",
                     "step", "-1");
}
