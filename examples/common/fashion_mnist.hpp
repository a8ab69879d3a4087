#pragma once
/// \file
/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28×28 images of clothing in 10
/// classes, 60,000 for training and 10,000 for testing, read from the four IDX files that
/// Debian's package `dataset-fashion-mnist` installs in /usr/share/datasets/fashion-mnist/.
///
///     auto data = pare_examples::load_fashion_mnist();          // or load_fashion_mnist(dir)
///     // data.train.size() == 60000, data.train.features == 784, labels 0…9
///
/// Pixels become floats standardized with the training set's own mean and standard deviation,
/// x = (p/255 − mean)/std (about 0.286 and 0.353), the same for training and test images.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "common/dataset.hpp"
#include "common/idx.hpp"

namespace pare_examples {

/// Where Debian's `dataset-fashion-mnist` puts the files.
inline constexpr std::string_view fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

/// The class names, in label order.
inline constexpr std::string_view fashion_mnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// The training and test sets, standardized with the training set's pixel statistics.
struct fashion_mnist {
  dataset<float> train, test;
  double pixel_mean = 0, pixel_std = 1;  // of p/255 over the training images
};

/// Reads one IDX images file and its labels file into raw bytes and labels, checking that they
/// agree (same count, labels below `classes`, images of rank 3). Throws `data_error`.
inline void read_idx_pair(const std::string& images_path, const std::string& labels_path,
                          idx_array& images, std::vector<std::int64_t>& labels,
                          std::int64_t classes) {
  images = read_idx(images_path);
  if (images.dims.size() != 3)
    throw data_error(fmt::format("{}: wrong shape: expected 3 dimensions (count, rows, columns), "
                                 "got {}",
                                 images_path, images.dims.size()));
  const idx_array l = read_idx(labels_path);
  if (l.dims.size() != 1)
    throw data_error(fmt::format("{}: wrong shape: expected 1 dimension (count), got {}",
                                 labels_path, l.dims.size()));
  if (l.dims[0] != images.dims[0])
    throw data_error(fmt::format("{}: wrong count: {} labels for the {} images of {}",
                                 labels_path, l.dims[0], images.dims[0], images_path));
  labels.assign(l.bytes.begin(), l.bytes.end());
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= classes)
      throw data_error(fmt::format("{}: corrupt: label {} of item {} is not below {}",
                                   labels_path, labels[i], i, classes));
}

/// Loads Fashion-MNIST from `dir` (the four `*-ubyte.gz` files). A missing file throws
/// `missing_file_error` whose one-line message says which Debian package installs the data;
/// a malformed one throws `data_error`.
inline fashion_mnist load_fashion_mnist(std::string_view dir = fashion_mnist_default_dir) {
  const auto path = [&](std::string_view name) { return fmt::format("{}/{}", dir, name); };
  idx_array train_images, test_images;
  fashion_mnist out;
  try {
    read_idx_pair(path("train-images-idx3-ubyte.gz"), path("train-labels-idx1-ubyte.gz"),
                  train_images, out.train.y, 10);
    read_idx_pair(path("t10k-images-idx3-ubyte.gz"), path("t10k-labels-idx1-ubyte.gz"),
                  test_images, out.test.y, 10);
  } catch (const missing_file_error& e) {
    throw missing_file_error(fmt::format(
        "{}; install the Debian package dataset-fashion-mnist (apt-get install "
        "dataset-fashion-mnist)",
        e.what()));
  }
  if (train_images.dims[1] != test_images.dims[1] || train_images.dims[2] != test_images.dims[2])
    throw data_error(fmt::format("{}: training images are {}×{} but test images {}×{}", dir,
                                 train_images.dims[1], train_images.dims[2], test_images.dims[1],
                                 test_images.dims[2]));
  if (train_images.bytes.empty())
    throw data_error(fmt::format("{}: the training set is empty", dir));

  // Statistics in double: 47M terms would lose digits in a float sum.
  double sum = 0, sum_sq = 0;
  for (const std::uint8_t p : train_images.bytes) {
    const double v = p / 255.0;
    sum += v;
    sum_sq += v * v;
  }
  const auto n = static_cast<double>(train_images.bytes.size());
  out.pixel_mean = sum / n;
  out.pixel_std = std::sqrt(std::max(sum_sq / n - out.pixel_mean * out.pixel_mean, 1e-12));

  const auto convert = [&](const idx_array& images, dataset<float>& d) {
    d.features = images.dims[1] * images.dims[2];
    d.x.resize(images.bytes.size());
    const float scale = static_cast<float>(1.0 / (255.0 * out.pixel_std));
    const float shift = static_cast<float>(out.pixel_mean / out.pixel_std);
    for (std::size_t i = 0; i < images.bytes.size(); ++i)
      d.x[i] = static_cast<float>(images.bytes[i]) * scale - shift;
  };
  convert(train_images, out.train);
  convert(test_images, out.test);
  return out;
}

}  // namespace pare_examples
