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

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& k : trajectories().keys())
    if (k.size() > 5 && k.ends_with("/kind") && !k.starts_with("golden/")) names.push_back(k.substr(0, k.size() - 5));
  return names;
}

// g = s·a·(p − c) + n_t, n_t[i] = 0.05·(((7i + 3t) mod 11) − 5), in the order torch evaluates it.
template <class T>
void gradient(const std::vector<T>& p, const std::vector<T>& a, const std::vector<T>& c, double s,
              int t, std::vector<T>& g) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const T n = static_cast<T>(0.05 * static_cast<double>(((7 * static_cast<int>(i) + 3 * t) % 11) - 5));
    const T sa = static_cast<T>(s) * a[i];
    const T d = p[i] - c[i];
    const T prod = sa * d;
    g[i] = prod + n;
  }
}

template <class T>
double run_case(const std::string& name) {
  const auto& ref = trajectories();
  const std::string label = std::is_same_v<T, float> ? "double" : "double";
  const std::string dtype = std::is_same_v<T, float> ? "float" : "double";
  (void)label;
  std::vector<T> W = cast<T>(ref["init/W/p0"]), b = cast<T>(ref["init/b/p0"]);
  const std::vector<T> aW = cast<T>(ref["init/W/a"]), ab = cast<T>(ref["init/b/a"]);
  const std::vector<T> cW = cast<T>(ref["init/W/c"]), cb = cast<T>(ref["init/b/c"]);
  std::vector<T> gW(W.size()), gb(b.size());
  pare::tensor_view<T> Wv(W.data(), {3, 4}), bv(b.data(), {5});
  pare::tensor_view<const T> gWv(gW.data(), {3, 4}), gbv(gb.data(), {5});
  const double s = ref.scalar(name + "/negate") != 0 ? -1.0 : 1.0;
  double worst = 0;

  auto drive = [&](auto& opt) {
    for (int t = 0; t < 100; ++t) {
      gradient(W, aW, cW, s, t, gW);
      gradient(b, ab, cb, s, t, gb);
      opt.step();
      for (int k : {1, 2, 3, 10, 50, 100}) {
        if (t + 1 != k) continue;
        for (const auto& [pname, values] : {std::pair{"W", &W}, std::pair{"b", &b}}) {
          const auto& r = ref[name + "/" + dtype + "/" + pname + "/step_" + std::to_string(k)];
          double scale = 0;
          for (double x : r) scale = std::max(scale, std::abs(x));
          const double err = relative_error(*values, r, 1e-2 * scale);
          INFO(name << " (" << dtype << ") " << pname << " after step " << k << ": relative error " << err);
          CHECK(err <= tolerance<T>);
          worst = std::max(worst, err);
        }
      }
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
      opt.add(Wv, gWv);
      opt.add(bv, gbv);
      drive(opt);
      return;
    }
    Opt opt(o);
    opt.add(Wv, gWv);
    if (ref.has(name + "/group"))
      opt.add(bv, gbv, group_from<traits>(ref[name + "/group"]));
    else
      opt.add(bv, gbv);
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
  const auto names = case_names();
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
