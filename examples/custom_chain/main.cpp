// A user-defined optimizer: clip by global norm → AdamW with a cosine schedule → keep a pruning
// mask, built from pare::optim's transforms, fused into one pass per step.
//
// The problem: least squares on 16 features of which only 8 matter; a pruning mask (here given,
// as a pruner would produce it) keeps those 8, and the pruned weights stay exactly zero.
#include <pare/optim.hpp>

#include <fmt/core.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <sstream>
#include <vector>

namespace po = pare::optim;

int main() {
  constexpr int rows = 256, cols = 16;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf x(rows, cols);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  Eigen::VectorXf truth = Eigen::VectorXf::Zero(cols);
  std::vector<std::uint8_t> mask(cols, 0);
  for (int j = 0; j < cols; j += 2) {
    truth(j) = 0.5f * static_cast<float>(j + 1) / cols;
    mask[j] = 1;
  }
  Eigen::VectorXf y = x * truth;
  for (int i = 0; i < rows; ++i) y(i) += 0.01f * normal(rng);

  // The model's weight and gradient live in our memory; the optimizer only views them.
  Eigen::VectorXf w = Eigen::VectorXf::Constant(cols, 0.3f), g(cols);
  const auto loss_and_gradient = [&] {
    const Eigen::VectorXf r = x * w - y;
    g = (2.0f / rows) * (x.transpose() * r);
    return r.squaredNorm() / rows;
  };

  const int steps = 300;
  auto cosine = [](std::int64_t t) {  // from 0.05 down to 0 over the run
    return 0.025 * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / 300.0));
  };
  auto opt = po::chain<float>(po::clip_by_global_norm{.max_norm = 1.0},
                              po::scale_by_adam{.beta1 = 0.9, .beta2 = 0.999},
                              po::add_decayed_weights{.weight_decay = 1e-3},
                              po::scale_by_learning_rate{.lr = cosine},
                              po::keep_mask({po::mask_view(mask.data(), {cols})}));
  opt.add(pare::view(w), pare::view(std::as_const(g)));

  fmt::print("chain: {}\n", opt.kind());
  for (int t = 0; t < steps; ++t) {
    const float loss = loss_and_gradient();
    opt.step();
    const auto& clip = opt.status<po::clip_by_global_norm>();
    if (t % 60 == 0)
      fmt::print("step {:3d}  loss {:.6f}  gradient norm {:.4f}  clip factor {:.3f}  lr {:.4f}\n", t, loss,
                 clip.norm, clip.factor, cosine(t));
  }
  fmt::print("final loss {:.6f}\n", loss_and_gradient());
  int zeros = 0;
  float worst = 0;
  for (int j = 0; j < cols; ++j) {
    zeros += w(j) == 0.0f;
    worst = std::max(worst, std::abs(w(j) - truth(j)));
  }
  fmt::print("pruned weights exactly zero: {} of {}; largest error to the true weights: {:.4f}\n", zeros,
             cols - 8, worst);

  // The whole state (Adam's moments, step count, clip status) saves and loads.
  std::stringstream state;
  opt.save(state);
  fmt::print("saved state: {} bytes\n", state.str().size());
  return zeros == cols - 8 && worst < 0.05f ? 0 : 1;
}
