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
  reference_problem<T> pr(ref);
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
      pr.add_to(opt, ref, name);
      if (schedule != 0)
        opt.set_schedule([lr = o.lr, schedule](std::int64_t t) { return lr * audit_factor(schedule, t); });
      return opt;
    };
    Opt opt = make();
    for (int t = 0; t < steps; ++t) {
      const bool zero = zero_every > 0 && t % zero_every == zero_every - 1;
      pr.gradient(s, t, scale, zero);
      opt.step();
      if (t + 1 == 37) {  // save mid-run, continue with a fresh optimizer loaded from it
        std::stringstream state;
        opt.save(state);
        Opt fresh = make();
        fresh.load(state);
        opt = std::move(fresh);
      }
      check_reference_step(audit(), name, t + 1, pr.W, pr.b);
    }
  });
}

}  // namespace

TEMPLATE_TEST_CASE("audit: named optimizers follow torch 1.13 on option corners, with a save/load mid-run",
                   "[optim][reference][audit]", float, double) {
  const auto names = reference_cases(audit());
  REQUIRE(names.size() >= 50);
  for (const auto& name : names) {
    INFO("case " << name);
    run_audit_case<TestType>(name);
  }
}
