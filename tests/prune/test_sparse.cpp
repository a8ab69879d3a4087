// Export of pruned weights: CSR and compact N:M forms hold exactly the weight, and their
// matrix-vector products equal the dense one.
#include <pare/prune/pruner.hpp>
#include <pare/prune/sparse.hpp>

#include <cstdint>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"

namespace pp = pare::prune;
using pare::tensor_view;

namespace {
using prune_test::tol;

template <class T>
std::vector<T> dense_matvec(const std::vector<T>& w, std::int64_t rows, std::int64_t cols,
                            const std::vector<T>& x) {
  std::vector<T> y(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (std::int64_t c = 0; c < cols; ++c)
      acc += static_cast<double>(w[static_cast<std::size_t>(r * cols + c)]) * x[static_cast<std::size_t>(c)];
    y[static_cast<std::size_t>(r)] = static_cast<T>(acc);
  }
  return y;
}
template <class T>
void check_close(const std::vector<T>& y, const std::vector<T>& want) {
  REQUIRE(y.size() == want.size());
  for (std::size_t r = 0; r < y.size(); ++r)
    CHECK(static_cast<double>(y[r]) ==
          pare_test::Approx(static_cast<double>(want[r])).epsilon(tol<T>()).margin(tol<T>()));
}
}  // namespace

TEMPLATE_TEST_CASE("to_csr stores exactly the nonzeros, and its matvec is the dense one", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 81;
  INFO("seed " << seed);
  for (double s : {0.0, 0.5, 0.9, 0.99, 1.0}) {
    INFO("sparsity " << s);
    auto w = pare_test::random_normal<T>(37 * 53, seed);
    pp::pruner<T> p;
    p.add(tensor_view<T>(w.data(), {37, 53}));
    p.prune_to(s);
    const auto a = pp::to_csr(tensor_view<const T>(w.data(), {37, 53}));
    CHECK(a.rows() == 37);
    CHECK(a.cols() == 53);
    CHECK(a.isCompressed());
    CHECK(a.nonZeros() == 37 * 53 - p.pruned(0));
    for (int r = 0; r < 37; ++r)
      for (int c = 0; c < 53; ++c) REQUIRE(a.coeff(r, c) == w[static_cast<std::size_t>(r * 53 + c)]);
    const auto x = pare_test::random_normal<T>(53, seed + 1);
    std::vector<T> y(37, T(99));
    pp::matvec(a, tensor_view<const T>(x.data(), {53}), tensor_view<T>(y.data(), {37}));
    check_close(y, dense_matvec(w, 37, 53, x));
  }
}

TEMPLATE_TEST_CASE("to_csr with a mask keeps the mask's structure, zeros included", "", float,
                   double) {
  using T = TestType;
  std::vector<T> w{T(1), T(0), T(2), T(0), T(0), T(3)};
  const std::vector<std::uint8_t> mask{1, 1, 0, 0, 1, 1};
  const auto a = pp::to_csr(tensor_view<T>(w.data(), {2, 3}),
                            tensor_view<const std::uint8_t>(mask.data(), {2, 3}));
  CHECK(a.nonZeros() == 4);  // (0,0)=1, (0,1)=0, (1,1)=0, (1,2)=3
  CHECK(a.coeff(0, 2) == T(0));
  CHECK(a.coeff(1, 2) == T(3));
  CHECK(a.outerIndexPtr()[1] == 2);
  // rank-4 convolution weights are [out, in·kh·kw]
  std::vector<T> conv(2 * 3 * 2 * 2, T(1));
  CHECK(pp::to_csr(tensor_view<T>(conv.data(), {2, 3, 2, 2})).cols() == 12);
}

TEMPLATE_TEST_CASE("the 2:4 form holds the pruned weight in 2.5 bytes a weight, and multiplies",
                   "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 91;
  INFO("seed " << seed);
  auto w = pare_test::random_normal<T>(24 * 40, seed);
  pp::pruner<T, pp::magnitude, pp::n_of_m<2, 4>> p;
  p.add(tensor_view<T>(w.data(), {24, 40}));
  p.prune_to(0.5);
  w[3] = T(0);  // a group with a single nonzero left (a kept weight that happens to be 0)
  const auto a = pp::to_n_of_m<2, 4>(tensor_view<const T>(w.data(), {24, 40}));
  CHECK(a.rows == 24);
  CHECK(a.cols == 40);
  CHECK(a.values.size() == 24 * 40 / 2);
  CHECK(a.bytes() == static_cast<std::int64_t>(24 * 40 / 2 * (sizeof(T) + 1)));
  std::vector<T> back(w.size(), T(7));
  pp::to_dense(a, tensor_view<T>(back.data(), {24, 40}));
  CHECK(back == w);
  const auto x = pare_test::random_normal<T>(40, seed + 1);
  std::vector<T> y(24);
  pp::matvec(a, tensor_view<const T>(x.data(), {40}), tensor_view<T>(y.data(), {24}));
  check_close(y, dense_matvec(w, 24, 40, x));
  // other patterns: the generic kernel (3:8) and an unrolled one (1:4)
  auto v = pare_test::random_normal<T>(6 * 16, seed + 2);
  pp::pruner<T, pp::magnitude, pp::n_of_m<3, 8>> q;
  q.add(tensor_view<T>(v.data(), {6, 16}));
  q.prune_to(1 - 3.0 / 8);
  const auto b = pp::to_n_of_m<3, 8>(tensor_view<T>(v.data(), {6, 16}));
  const auto x2 = pare_test::random_normal<T>(16, seed + 3);
  std::vector<T> y2(6);
  pp::matvec(b, tensor_view<const T>(x2.data(), {16}), tensor_view<T>(y2.data(), {6}));
  check_close(y2, dense_matvec(v, 6, 16, x2));
  pp::pruner<T, pp::magnitude, pp::n_of_m<1, 4>> q1;
  q1.add(tensor_view<T>(v.data(), {6, 16}));
  q1.prune_to(0.75);
  const auto c = pp::to_n_of_m<1, 4>(tensor_view<T>(v.data(), {6, 16}));
  pp::matvec(c, tensor_view<const T>(x2.data(), {16}), tensor_view<T>(y2.data(), {6}));
  check_close(y2, dense_matvec(v, 6, 16, x2));
}

TEST_CASE("sparse export errors") {
  std::vector<float> w{1, 2, 3, 0, 1, 0, 0, 1};
  PARE_REQUIRE_ERROR((pp::to_n_of_m<2, 4>(tensor_view<float>(w.data(), {2, 4}))),
                     "pare::prune::to_n_of_m", "nonzeros of w", "at most n = 2",
                     "got 3 in row 0, columns 0 to 3");
  PARE_REQUIRE_ERROR((pp::to_n_of_m<2, 4>(tensor_view<float>(w.data(), {8}))),
                     "pare::prune::to_n_of_m", "rank of w", "at least 2", "1 [8]");
  PARE_REQUIRE_ERROR((pp::to_n_of_m<2, 3>(tensor_view<float>(w.data(), {2, 4}))),
                     "pare::prune::to_n_of_m", "columns of w", "multiple of m = 3", "got 4");
  PARE_REQUIRE_ERROR((pp::to_n_of_m<5, 4>(tensor_view<float>(w.data(), {2, 4}))),
                     "pare::prune::to_n_of_m", "n", "got 5");
  PARE_REQUIRE_ERROR(pp::to_csr(tensor_view<float>(w.data(), {8})), "pare::prune::to_csr",
                     "rank of w", "1 [8]");
  const std::vector<std::uint8_t> m(6, 1);
  PARE_REQUIRE_ERROR(pp::to_csr(tensor_view<float>(w.data(), {2, 4}),
                                tensor_view<const std::uint8_t>(m.data(), {2, 3})),
                     "pare::prune::to_csr", "mask", "[2, 4]", "[2, 3]");
  const auto a = pp::to_csr(tensor_view<float>(w.data(), {2, 4}));
  std::vector<float> x(4), y(2), big(8);
  PARE_REQUIRE_ERROR(pp::matvec(a, tensor_view<const float>(x.data(), {3}), tensor_view<float>(y.data(), {2})),
                     "pare::prune::matvec", "size of x", "(4)", "got 3");
  PARE_REQUIRE_ERROR(pp::matvec(a, tensor_view<const float>(x.data(), {4}), tensor_view<float>(y.data(), {1})),
                     "pare::prune::matvec", "size of y", "(2)", "got 1");
  PARE_REQUIRE_ERROR(pp::matvec(a, tensor_view<const float>(big.data(), {4}),
                                tensor_view<float>(big.data() + 2, {2})),
                     "pare::prune::matvec", "y", "overlap");
}
