// Built with OpenMP (tests/optim/extra.cmake): the chunks of a step are shared among threads, and
// the results are bit-identical to one thread's, global norm included (partial sums are
// combined in chunk order, not thread order).
#include <omp.h>

#include <cstdint>
#include <vector>

#include "../common.hpp"
#include "support/numeric.hpp"

namespace po = pare::optim;

TEMPLATE_TEST_CASE("two threads give the same bits as one", "[optim][openmp]", float, double) {
  using T = TestType;
  REQUIRE(pare::max_threads() >= 1);
  const auto n = static_cast<std::size_t>(40 * po::detail::optim_chunk<T> + 11);
  optim_test::for_each_kind<T>([&]<class Opt>() {
    INFO(Opt().kind());
    std::vector<T> a = pare_test::random_normal<T>(n, 5), b = a, g(n);
    auto make = [](std::vector<T>& w, std::vector<T>& grad) {
      auto opt = po::chain<T>(po::clip_by_global_norm{.max_norm = 1.0}, po::as_chain(Opt().options()));
      opt.add(w, grad);
      return opt;
    };
    auto one = make(a, g);
    auto two = make(b, g);
    for (int t = 0; t < 3; ++t) {
      for (std::size_t i = 0; i < n; ++i) g[i] = T(0.5) * a[i] - T(0.001) * T(t);
      pare::set_threads(1);
      one.step();
      pare::set_threads(2);
      two.step();
      REQUIRE(a == b);
      CHECK(one.template status<po::clip_by_global_norm>().norm == two.template status<po::clip_by_global_norm>().norm);
    }
    pare::set_threads(1);
  });
}
