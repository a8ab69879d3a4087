// Audit: the named optimizers against torch 1.13 on option combinations and corners the main
// reference cases leave out — maximize with weight decay, nesterov with explicit dampening 0,
// AMSGrad with maximize or decoupled decay, centered RMSprop with momentum and weight decay,
// Adagrad's lr_decay with an initial accumulator, Adadelta's lr, NAdam's momentum_decay, lr = 0,
// eps = 0, beta = 0, tiny, huge and zero gradients, group overrides of every flag, an lr switched
// off and on again mid-run, 150 steps (tests/reference/optim/audit_generate.py). Every case is
// also saved after step 37, loaded into a fresh optimizer, and continued from there.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/reference.hpp"

namespace {

using namespace optim_test;

const pare_test::reference& audit() {
  static const pare_test::reference ref("optim/audit.txt");
  return ref;
}

std::vector<std::string> audit_cases() {
  std::vector<std::string> names;
  for (const auto& k : audit().keys())
    if (k.ends_with("/kind")) names.push_back(k.substr(0, k.size() - 5));
  return names;
}

// g = scale·(s·a·(p − c) + n_t) in torch's order, or exactly 0 on the zeroed steps.
template <class T>
void audit_gradient(const std::vector<T>& p, const std::vector<T>& a, const std::vector<T>& c, double s,
                    double scale, bool zero, int t, std::vector<T>& g) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (zero) {
      g[i] = T(0);
      continue;
    }
    const T n = static_cast<T>(0.05 * static_cast<double>(((7 * static_cast<int>(i) + 3 * t) % 11) - 5));
    const T inner = static_cast<T>(s) * a[i] * (p[i] - c[i]) + n;
    g[i] = static_cast<T>(scale) * inner;
  }
}

double audit_factor(int schedule, std::int64_t t) {
  switch (schedule) {
    case 1: return 1.0 / (1.0 + 0.1 * static_cast<double>(t));
    case 2: return std::pow(0.5, static_cast<double>(t / 30));
    case 3: return (t >= 10 && t < 20) ? 0.0 : 1.0;
    default: return 1.0;
  }
}

template <class T>
void run_audit_case(const std::string& name) {
  const auto& ref = audit();
  const std::string dtype = std::is_same_v<T, float> ? "float" : "double";
  std::vector<T> W = cast<T>(ref["init/W/p0"]), b = cast<T>(ref["init/b/p0"]);
  const std::vector<T> aW = cast<T>(ref["init/W/a"]), ab = cast<T>(ref["init/b/a"]);
  const std::vector<T> cW = cast<T>(ref["init/W/c"]), cb = cast<T>(ref["init/b/c"]);
  std::vector<T> gW(W.size()), gb(b.size());
  pare::tensor_view<T> Wv(W.data(), {3, 4}), bv(b.data(), {5});
  pare::tensor_view<const T> gWv(gW.data(), {3, 4}), gbv(gb.data(), {5});
  const double s = ref.scalar(name + "/negate") != 0 ? -1.0 : 1.0;
  const double scale = ref.scalar(name + "/grad_scale");
  const int zero_every = static_cast<int>(ref.scalar(name + "/zero_every"));
  const int steps = static_cast<int>(ref.scalar(name + "/steps"));
  const int schedule = static_cast<int>(ref.scalar(name + "/schedule"));

  with_kind<T>(static_cast<int>(ref.scalar(name + "/kind")), [&]<class Opt>() {
    using traits = typename Opt::traits_type;
    const auto o = options_from<traits>(ref[name + "/options"]);
    auto make = [&] {
      Opt opt(o);
      opt.add(Wv, gWv);
      if (ref.has(name + "/group"))
        opt.add(bv, gbv, group_from<traits>(ref[name + "/group"]));
      else
        opt.add(bv, gbv);
      if (schedule != 0)
        opt.set_schedule([lr = o.lr, schedule](std::int64_t t) { return lr * audit_factor(schedule, t); });
      return opt;
    };
    Opt opt = make();
    for (int t = 0; t < steps; ++t) {
      const bool zero = zero_every > 0 && t % zero_every == zero_every - 1;
      audit_gradient(W, aW, cW, s, scale, zero, t, gW);
      audit_gradient(b, ab, cb, s, scale, zero, t, gb);
      opt.step();
      if (t + 1 == 37) {  // save mid-run, continue with a fresh optimizer loaded from it
        std::stringstream state;
        opt.save(state);
        Opt fresh = make();
        fresh.load(state);
        opt = std::move(fresh);
      }
      const std::string suffix = "/step_" + std::to_string(t + 1);
      if (!ref.has(name + "/" + dtype + "/W" + suffix)) continue;
      for (const auto& [pname, values] : {std::pair{"W", &W}, std::pair{"b", &b}}) {
        const auto& r = ref[name + "/" + dtype + "/" + pname + suffix];
        double top = 0;
        for (double x : r) top = std::max(top, std::abs(x));
        const double err = relative_error(*values, r, 1e-2 * top);
        INFO(name << " (" << dtype << ") " << pname << " after step " << t + 1 << ": relative error " << err);
        CHECK(err <= tolerance<T>);
      }
    }
  });
}

}  // namespace

TEMPLATE_TEST_CASE("audit: named optimizers follow torch 1.13 on option corners, with a save/load mid-run",
                   "[optim][reference][audit]", float, double) {
  const auto names = audit_cases();
  REQUIRE(names.size() >= 50);
  for (const auto& name : names) {
    INFO("case " << name);
    run_audit_case<TestType>(name);
  }
}
