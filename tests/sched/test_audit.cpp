// Audit: every schedule against torch 1.13 with other option values and far past its end
// (tests/reference/sched/audit_generate.py): step_size 1, gamma 1 and 0, duplicate milestones,
// eta_min above base_lr, T_mult 1 and > 1, power < 1 and 0, one_cycle boundaries that are not
// integers, warmup and sequence combinations, and ReduceLROnPlateau over a grid of every option.
#include <pare/sched.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"
#include "lr_reference.hpp"

namespace ps = pare::sched;

namespace {

const pare_test::reference& audit() {
  static const pare_test::reference r("sched/audit_lr.txt");
  return r;
}

std::vector<std::string> audit_cases(const std::string& schedule) {
  std::vector<std::string> out;
  for (const auto& k : audit().keys())
    if (k.starts_with(schedule + "/") && k.ends_with("/lr")) out.push_back(k.substr(0, k.size() - 3));
  return out;
}

double opt(const std::string& c, std::size_t i) { return audit()[c + "/options"].at(i); }
std::int64_t iopt(const std::string& c, std::size_t i) { return static_cast<std::int64_t>(opt(c, i)); }
std::vector<std::int64_t> steps_of(const std::string& c, const std::string& name) {
  std::vector<std::int64_t> out;
  for (double v : audit()[c + "/" + name]) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

// |got − want| ≤ rel·|want|: a reference 0 must be an exact 0.
template <class S>
void check_lr(const S& s, const std::string& c, double rel = 1e-12) {
  const auto& lr = audit()[c + "/lr"];
  REQUIRE(!lr.empty());
  for (std::size_t t = 0; t < lr.size(); ++t) {
    const double got = s(static_cast<std::int64_t>(t));
    INFO(c << " step " << t << ": pare " << got << ", torch " << lr[t]);
    CHECK(std::abs(got - lr[t]) <= rel * std::abs(lr[t]));
  }
}

}  // namespace

TEST_CASE("audit: closed-form schedules follow torch 1.13 for other option values, far past the end",
          "[sched][audit]") {
  for (const auto& c : audit_cases("step_decay"))
    check_lr(ps::step_decay{.base_lr = opt(c, 0), .step_size = iopt(c, 1), .gamma = opt(c, 2)}, c);
  for (const auto& c : audit_cases("multistep_decay"))
    check_lr(ps::multistep_decay{.base_lr = opt(c, 0), .milestones = steps_of(c, "milestones"), .gamma = opt(c, 1)}, c);
  for (const auto& c : audit_cases("exponential_decay"))
    check_lr(ps::exponential_decay{.base_lr = opt(c, 0), .gamma = opt(c, 1), .decay_steps = iopt(c, 2),
                                   .staircase = opt(c, 3) != 0}, c);
  for (const auto& c : audit_cases("cosine_annealing"))
    check_lr(ps::cosine_annealing{.base_lr = opt(c, 0), .t_max = iopt(c, 1), .eta_min = opt(c, 2)}, c);
  for (const auto& c : audit_cases("cosine_warm_restarts"))
    check_lr(ps::cosine_warm_restarts{.base_lr = opt(c, 0), .t_0 = iopt(c, 1), .t_mult = iopt(c, 2),
                                      .eta_min = opt(c, 3)}, c);
  for (const auto& c : audit_cases("linear"))
    check_lr(ps::linear{.base_lr = opt(c, 0), .start_factor = opt(c, 1), .end_factor = opt(c, 2),
                        .total_iters = iopt(c, 3)}, c);
  for (const auto& c : audit_cases("polynomial_decay"))
    check_lr(ps::polynomial_decay{.base_lr = opt(c, 0), .total_iters = iopt(c, 1), .power = opt(c, 2),
                                  .end_lr = opt(c, 3)}, c);
  for (const auto& c : audit_cases("one_cycle"))
    check_lr(ps::one_cycle{.max_lr = opt(c, 0), .total_steps = iopt(c, 1), .pct_start = opt(c, 2),
                           .anneal = opt(c, 3) == 0 ? ps::anneal_strategy::cos : ps::anneal_strategy::linear,
                           .div_factor = opt(c, 4), .final_div_factor = opt(c, 5), .three_phase = opt(c, 6) != 0},
             c);
  CHECK(audit_cases("one_cycle").size() == 7);
  CHECK(audit_cases("cosine_annealing").size() == 5);
}

TEST_CASE("audit: warmup and sequence combinations follow torch 1.13's SequentialLR", "[sched][audit]") {
  check_lr(ps::warmup(ps::multistep_decay{.base_lr = 1.0, .milestones = {2, 2, 5}, .gamma = 0.5},
                      {.steps = 4, .start_factor = 0.25}),
           "composed/warmup_multistep");
  check_lr(ps::warmup(ps::exponential_decay{.base_lr = 0.1, .gamma = 0.9}, {.steps = 1, .start_factor = 0.5}),
           "composed/warmup1_exp");
  check_lr(ps::warmup(ps::cosine_warm_restarts{.base_lr = 0.2, .t_0 = 3, .t_mult = 2, .eta_min = 0.01},
                      {.steps = 6, .start_factor = 0.1}),
           "composed/warmup_restarts");
  check_lr(ps::warmup(ps::polynomial_decay{.base_lr = 0.3, .total_iters = 10, .power = 0.5},
                      {.steps = 3, .start_factor = 0.2}),
           "composed/warmup_poly");
  check_lr(ps::sequence({ps::step_decay{.base_lr = 1.0, .step_size = 1, .gamma = 0.5},
                         ps::linear{.base_lr = 1.0, .start_factor = 0.5, .end_factor = 1.0, .total_iters = 4},
                         ps::cosine_annealing{.base_lr = 1.0, .t_max = 5, .eta_min = 0.1},
                         ps::exponential_decay{.base_lr = 1.0, .gamma = 0.8}},
                        steps_of("composed/seq_four", "milestones")),
           "composed/seq_four");
  check_lr(ps::sequence({ps::multistep_decay{.base_lr = 0.5, .milestones = {0, 1}, .gamma = 0.1},
                         ps::step_decay{.base_lr = 0.5, .step_size = 2, .gamma = 0.5}},
                        steps_of("composed/seq_milestone1", "milestones")),
           "composed/seq_milestone1");
}

TEST_CASE("audit: reduce_on_plateau follows torch 1.13 over modes, threshold modes, cooldown, min_lr, eps",
          "[sched][audit]") {
  const auto all = audit_cases("reduce_on_plateau");
  REQUIRE(all.size() >= 90);
  for (const auto& c : all) {
    ps::reduce_on_plateau p(sched_test::plateau_options(audit()[c + "/options"]));
    const auto& metrics = audit()[c + "/metrics"];
    const auto& lr = audit()[c + "/lr"];
    REQUIRE(metrics.size() == lr.size());
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const double got = p.observe(metrics[i]);
      INFO(c << " epoch " << i << ": pare " << got << ", torch " << lr[i]);
      CHECK(got == lr[i]);
    }
  }
}
