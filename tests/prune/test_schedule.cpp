// Sparsity schedules: TF-MOT's ConstantSparsity and PolynomialDecay, value and update steps,
// against the formulas transcribed in tests/reference/prune/generate.py, and their validation.
#include <pare/prune/schedule.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "support/catch.hpp"
#include "support/reference.hpp"

namespace pp = pare::prune;

static_assert(pp::sparsity_schedule<pp::constant_sparsity>);
static_assert(pp::sparsity_schedule<pp::polynomial_decay>);
static_assert(pare::sched::schedule<pp::polynomial_decay>);  // usable wherever schedules are

TEST_CASE("polynomial_decay follows TF-MOT's PolynomialDecay step by step") {
  const pare_test::reference ref("prune/prune.txt");
  for (int c = 0; c < 5; ++c) {
    const std::string key = "sched/poly" + std::to_string(c) + "/";
    const auto& p = ref[key + "params"];
    const pp::polynomial_decay s{.initial_sparsity = p[0],
                                 .final_sparsity = p[1],
                                 .begin_step = static_cast<std::int64_t>(p[2]),
                                 .end_step = static_cast<std::int64_t>(p[3]),
                                 .frequency = static_cast<std::int64_t>(p[4]),
                                 .power = p[5]};
    const auto& steps = ref[key + "steps"];
    const auto& sparsity = ref[key + "sparsity"];
    const auto& should = ref[key + "should"];
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const auto t = static_cast<std::int64_t>(steps[i]);
      INFO(key << " step " << t);
      // TF-MOT computes in float32; pare in double
      CHECK(s(t) == pare_test::Approx(sparsity[i]).margin(1e-6));
      CHECK(s.should_update(t) == (should[i] != 0));
    }
    CHECK(s(s.begin_step) == pare_test::Approx(s.initial_sparsity).margin(1e-15));
    CHECK(s(s.end_step) == s.final_sparsity);
    CHECK(s(s.end_step + 12345) == s.final_sparsity);
  }
}

TEST_CASE("polynomial_decay's formula, written out") {
  const pp::polynomial_decay s{.initial_sparsity = 0.2, .final_sparsity = 0.8,
                               .begin_step = 100, .end_step = 500, .frequency = 10, .power = 2};
  for (std::int64_t t : {0, 99, 100, 150, 333, 499, 500, 900}) {
    const double p = std::min(1.0, std::max(0.0, (t - 100) / 400.0));
    CHECK(s(t) == pare_test::Approx(0.8 + (0.2 - 0.8) * (1 - p) * (1 - p)).margin(1e-15));
  }
  // default power 3 and frequency 100, in DESIGN's field order
  const pp::polynomial_decay d{.initial_sparsity = 0, .final_sparsity = 0.5, .begin_step = 0,
                               .end_step = 1000};
  CHECK(d.frequency == 100);
  CHECK(d.power == 3);
  CHECK(d(500) == pare_test::Approx(0.5 - 0.5 * 0.125));
  // begin = end: the final sparsity from that step on
  const pp::polynomial_decay jump{.initial_sparsity = 0.1, .final_sparsity = 0.6,
                                  .begin_step = 50, .end_step = 50, .frequency = 1};
  CHECK(jump(49) == pare_test::Approx(0.1));
  CHECK(jump(50) == 0.6);
  CHECK(jump.should_update(50));
  CHECK(!jump.should_update(51));
}

TEST_CASE("constant_sparsity follows TF-MOT's ConstantSparsity") {
  const pare_test::reference ref("prune/prune.txt");
  for (int c = 0; c < 4; ++c) {
    const std::string key = "sched/const" + std::to_string(c) + "/";
    const auto& p = ref[key + "params"];
    const pp::constant_sparsity s{.target = p[0],
                                  .begin_step = static_cast<std::int64_t>(p[1]),
                                  .end_step = static_cast<std::int64_t>(p[2]),
                                  .frequency = static_cast<std::int64_t>(p[3])};
    const auto& steps = ref[key + "steps"];
    const auto& should = ref[key + "should"];
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const auto t = static_cast<std::int64_t>(steps[i]);
      INFO(key << " step " << t);
      CHECK(s(t) == p[0]);
      CHECK(s.should_update(t) == (should[i] != 0));
    }
  }
  const pp::constant_sparsity d{.target = 0.5};
  CHECK(d.begin_step == 0);
  CHECK(d.end_step == -1);
  CHECK(d.frequency == 100);
  CHECK(d.should_update(0));
  CHECK(d.should_update(1000000));
  CHECK(!d.should_update(1000001));
}

TEST_CASE("schedule options are validated as TF-MOT validates them") {
  using pp::constant_sparsity, pp::polynomial_decay;
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 1.0}.validate()),
                     "pare::prune::constant_sparsity", "target", "[0, 1)", "got 1");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = -0.5}(3)), "pare::prune::constant_sparsity",
                     "target", "got -0.5");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 0.5, .begin_step = -1}.validate()),
                     "pare::prune::constant_sparsity", "begin_step", "at least 0", "got -1");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 0.5, .begin_step = 10, .end_step = 5}
                          .should_update(7)),
                     "pare::prune::constant_sparsity", "end_step", "-1 or at least", "got 5");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 0.5, .end_step = -2}.validate()),
                     "pare::prune::constant_sparsity", "end_step", "got -2");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 0.5, .frequency = 0}.validate()),
                     "pare::prune::constant_sparsity", "frequency", "at least 1", "got 0");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = 0, .final_sparsity = 0.9,
                                       .begin_step = 0, .end_step = -1}
                          .validate()),
                     "pare::prune::polynomial_decay", "end_step", "not -1", "got -1");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = 0, .final_sparsity = 1.0,
                                       .begin_step = 0, .end_step = 10}(5)),
                     "pare::prune::polynomial_decay", "final_sparsity", "[0, 1)", "got 1");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = std::nan(""), .final_sparsity = 0.5,
                                       .begin_step = 0, .end_step = 10}
                          .validate()),
                     "pare::prune::polynomial_decay", "initial_sparsity", "got nan");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = 0, .final_sparsity = 0.5,
                                       .begin_step = 0, .end_step = 10, .power = -1}
                          .validate()),
                     "pare::prune::polynomial_decay", "power", "positive", "got -1");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = 0, .final_sparsity = 0.5,
                                       .begin_step = 0, .end_step = 10, .frequency = -3}
                          .validate()),
                     "pare::prune::polynomial_decay", "frequency", "got -3");
  PARE_REQUIRE_ERROR((polynomial_decay{.initial_sparsity = 0, .final_sparsity = 0.5,
                                       .begin_step = 0, .end_step = 10}(-1)),
                     "pare::prune::polynomial_decay", "step", "at least 0", "got -1");
  PARE_REQUIRE_ERROR((constant_sparsity{.target = 0.5}.should_update(-5)),
                     "pare::prune::constant_sparsity", "step", "at least 0", "got -5");
}
