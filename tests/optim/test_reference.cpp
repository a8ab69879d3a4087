// The named optimizers follow PyTorch 1.13 step for step: 100-step trajectories with
// parameter-dependent gradients, every option, parameter groups, schedules and clipping
// (tests/reference/optim/generate.py), and the golden traces of anchors-mission section 2.20.
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/reference.hpp"

namespace {

using namespace optim_test;

const pare_test::reference& trajectories() {
  static const pare_test::reference ref("optim/trajectories.txt");
  return ref;
}

template <class T>
double run_case(const std::string& name) {
  const auto& ref = trajectories();
  reference_problem<T> pr(ref);
  const double s = ref.scalar(name + "/negate") != 0 ? -1.0 : 1.0;
  double worst = 0;

  auto drive = [&](auto& opt) {
    for (int t = 0; t < 100; ++t) {
      pr.gradient(s, t);
      opt.step();
      worst = std::max(worst, check_reference_step(ref, name, t + 1, pr.W, pr.b));
    }
  };

  with_kind<T>(static_cast<int>(ref.scalar(name + "/kind")), [&]<class Opt>() {
    using traits = typename Opt::traits_type;
    const auto o = options_from<traits>(ref[name + "/options"]);
    if (ref.has(name + "/clip_norm") || ref.has(name + "/clip_value")) {
      auto clip = [&] {
        if (ref.has(name + "/clip_norm"))
          return pare::optim::chain(pare::optim::clip_by_global_norm{.max_norm = ref.scalar(name + "/clip_norm")},
                                    pare::optim::clip_by_value{.clip_value = INFINITY});
        return pare::optim::chain(pare::optim::clip_by_global_norm{.max_norm = INFINITY},
                                  pare::optim::clip_by_value{.clip_value = ref.scalar(name + "/clip_value")});
      }();
      auto opt = pare::optim::chain<T>(clip, pare::optim::as_chain(o));
      opt.add(pr.Wv, pr.gWv);
      opt.add(pr.bv, pr.gbv);
      drive(opt);
      return;
    }
    Opt opt(o);
    pr.add_to(opt, ref, name);
    const double lr = o.lr;
    switch (static_cast<int>(ref.scalar(name + "/schedule"))) {
      case 1: opt.set_schedule([lr](std::int64_t t) { return lr * (1.0 / (1.0 + 0.1 * static_cast<double>(t))); }); break;
      case 2: opt.set_schedule([lr](std::int64_t t) { return lr * std::pow(0.5, static_cast<double>(t / 30)); }); break;
      default: break;
    }
    drive(opt);
  });
  return worst;
}

}  // namespace

TEMPLATE_TEST_CASE("named optimizers follow torch 1.13's 100-step trajectories", "[optim][reference]", float, double) {
  const auto names = reference_cases(trajectories());
  REQUIRE(names.size() >= 40);
  for (const auto& name : names) {
    const double worst = run_case<TestType>(name);
    if (std::getenv("PARE_TEST_VERBOSE")) std::printf("%-36s %-6s %.3g\n", name.c_str(), std::is_same_v<TestType, float> ? "float" : "double", worst);
  }
}

TEST_CASE("golden traces of anchors-mission 2.20 (torch 1.13.1, float64, fixed gradients)", "[optim][reference]") {
  const auto& ref = trajectories();
  // The notes' 12-digit values, to tie the generated file to them.
  CHECK(ref["golden/adam_default/step_1"][0] == pare_test::Approx(0.9990000001).epsilon(1e-11));
  CHECK(ref["golden/adamw/step_3"][2] == pare_test::Approx(0.287209220064).epsilon(1e-11));
  CHECK(ref["golden/nadam_default/step_1"][0] == pare_test::Approx(0.997887096655).epsilon(1e-11));
  CHECK(ref["golden/rmsprop_centered_momentum/step_2"][1] == pare_test::Approx(-1.89866684266).epsilon(1e-11));
  int cases = 0;
  for (const auto& key : ref.keys()) {
    if (!key.starts_with("golden/") || !key.ends_with("/kind")) continue;
    const std::string name = key.substr(0, key.size() - 5);
    ++cases;
    with_kind<double>(static_cast<int>(ref.scalar(key)), [&]<class Opt>() {
      std::vector<double> p = ref["golden/p0"], g(3);
      Opt opt(options_from<typename Opt::traits_type>(ref[name + "/options"]));
      opt.add(p, g);
      for (int t = 1; t <= 3; ++t) {
        g = ref["golden/grad_" + std::to_string(t)];
        opt.step();
        const auto& r = ref[name + "/step_" + std::to_string(t)];
        INFO(name << " step " << t);
        CHECK(relative_error(p, r, 1e-12) <= 1e-12);
      }
    });
  }
  CHECK(cases == 16);
}
