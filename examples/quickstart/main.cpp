// pare in a few lines: views over your own memory, Eigen maps, and errors that say what is wrong.
#include <pare/pare.hpp>

#include <fmt/core.h>

#include <vector>

int main() {
  // A layer's weight [out, in] and its gradient live in your memory; pare views them.
  std::vector<float> w(4 * 3), g(4 * 3);
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = 0.1f * static_cast<float>(i) - 0.5f;
    g[i] = 0.01f * static_cast<float>(i % 5);
  }
  pare::tensor_view<float> wv(w.data(), {4, 3});
  pare::tensor_view<const float> gv(g.data(), {4, 3});

  // Eigen maps, no copies: one plain SGD step, then the layer applied to an input.
  wv.array() -= 0.1f * gv.array();
  Eigen::VectorXf x = Eigen::VectorXf::Ones(3);
  Eigen::VectorXf y = wv.matrix() * x;
  fmt::print("pare {}.{}.{}: y = [{:.4f}, {:.4f}, {:.4f}, {:.4f}]\n", pare::version.major,
             pare::version.minor, pare::version.patch, y(0), y(1), y(2), y(3));

  // Bad input is a pare::error that names the component, the argument and the value.
  try {
    pare::tensor_view<float> bad(w, {5, 3});
  } catch (const pare::error& e) {
    fmt::print("as expected: {}\n", e.what());
  }
  return 0;
}
