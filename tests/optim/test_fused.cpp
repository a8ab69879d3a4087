// The fused pass is invisible: a parameter spanning many chunks gets exactly the updates it
// would get as many small parameters, whatever the chunk boundaries.
#include <cstdint>
#include <vector>

#include "common.hpp"
#include "support/numeric.hpp"

namespace po = pare::optim;

TEMPLATE_TEST_CASE("chunking does not change results: one big parameter equals its pieces, bit for bit",
                   "[optim][fused]", float, double) {
  using T = TestType;
  const std::int64_t c = po::detail::optim_chunk<T>;
  const std::int64_t n = 3 * c + 123;
  // Piece sizes that cut across the chunk boundaries at odd places.
  const std::vector<std::int64_t> pieces = {1, c - 5, 7, c + 3, c / 2, n - (1 + c - 5 + 7 + c + 3 + c / 2)};
  optim_test::for_each_kind<T>([&]<class Opt>() {
    INFO(Opt().kind());
    std::vector<T> big = pare_test::random_normal<T>(static_cast<std::size_t>(n), 21), split = big;
    std::vector<T> g(big.size());
    std::vector<std::uint8_t> mask(big.size(), 1);
    for (std::size_t i = 0; i < mask.size(); i += 17) mask[i] = 0;
    auto make = [&](std::vector<T>& w, const std::vector<std::int64_t>& sizes) {
      std::vector<po::mask_view> masks;
      for (std::int64_t b = 0, i = 0; i < static_cast<std::int64_t>(sizes.size()); b += sizes[i++])
        masks.emplace_back(mask.data() + b, std::initializer_list<std::int64_t>{sizes[i]});
      auto opt = po::chain<T>(po::as_chain(Opt().options()), po::keep_mask(masks));
      for (std::int64_t b = 0, i = 0; i < static_cast<std::int64_t>(sizes.size()); b += sizes[i++])
        opt.add(pare::tensor_view<T>(w.data() + b, {sizes[i]}), pare::tensor_view<const T>(g.data() + b, {sizes[i]}));
      return opt;
    };
    auto one = make(big, {n});
    auto many = make(split, pieces);
    for (int t = 0; t < 3; ++t) {
      for (std::int64_t i = 0; i < n; ++i) g[i] = T(0.5) * big[i] + T(0.01) * T(t);
      one.step();
      many.step();
      REQUIRE(big == split);
    }
  });
}
