// The IDX reader and the Fashion-MNIST loader: valid files, and one clear error for each way a
// file can be missing or broken.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/fashion_mnist.hpp"
#include "common/idx.hpp"
#include "support/catch.hpp"

namespace ex = pare_examples;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system's temporary directory, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() /
           ("pare_idx_test_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "_" +
            std::to_string(std::rand()));
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, std::vector<std::uint32_t> dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (const auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write_gz(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(f) == Z_OK);
}

void write_raw(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return v;
}

/// Requires that `f()` throws E whose message contains every given part.
template <class E, class F>
void require_throws(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL("no exception");
  } catch (const E& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(what.find('\n') == std::string::npos);
    for (const auto& p : parts) CHECK(what.find(p) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("read_idx reads gzip and plain IDX files of unsigned bytes") {
  temp_dir dir;
  const auto data = ramp(2 * 3 * 4);
  const auto bytes = idx_bytes(0x08, {2, 3, 4}, data);
  write_gz(dir.file("a.gz"), bytes);
  write_raw(dir.file("a.idx"), bytes);
  for (const auto* name : {"a.gz", "a.idx"}) {
    const ex::idx_array a = ex::read_idx(dir.file(name));
    CHECK(a.dims == std::vector<std::int64_t>{2, 3, 4});
    CHECK(a.bytes == data);
  }
  write_gz(dir.file("labels.gz"), idx_bytes(0x08, {5}, {1, 2, 3, 4, 5}));
  CHECK(ex::read_idx(dir.file("labels.gz")).bytes == std::vector<std::uint8_t>{1, 2, 3, 4, 5});
}

TEST_CASE("read_idx names the file and the problem for every broken file") {
  temp_dir dir;
  const auto good = idx_bytes(0x08, {2, 3, 4}, ramp(24));

  SECTION("missing") {
    require_throws<ex::missing_file_error>([&] { (void)ex::read_idx(dir.file("none.gz")); },
                                           {dir.file("none.gz"), "cannot open"});
  }
  SECTION("bad magic") {
    auto b = good;
    b[0] = 0x12;
    write_gz(dir.file("m.gz"), b);
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("m.gz")); },
                                   {dir.file("m.gz"), "bad magic number 0x12000803"});
  }
  SECTION("zero dimensions in the magic") {
    write_gz(dir.file("z.gz"), {0, 0, 8, 0});
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("z.gz")); },
                                   {"bad magic number 0x00000800"});
  }
  SECTION("an element type other than unsigned bytes") {
    write_gz(dir.file("f.gz"), idx_bytes(0x0D, {2}, ramp(8)));
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("f.gz")); },
                                   {"unsupported IDX element type 0x0D"});
  }
  SECTION("empty file") {
    write_gz(dir.file("e.gz"), {});
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("e.gz")); },
                                   {"truncated", "no IDX header"});
  }
  SECTION("header cut inside the dimensions") {
    write_gz(dir.file("h.gz"), std::vector<std::uint8_t>(good.begin(), good.begin() + 9));
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("h.gz")); },
                                   {"truncated", "dimension 1"});
  }
  SECTION("data shorter than the header promises") {
    write_gz(dir.file("d.gz"), std::vector<std::uint8_t>(good.begin(), good.end() - 4));
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("d.gz")); },
                                   {"truncated", "promises 24 bytes", "holds 20"});
  }
  SECTION("extra bytes after the data") {
    auto b = good;
    b.push_back(7);
    write_gz(dir.file("x.gz"), b);
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("x.gz")); },
                                   {"extra bytes", "24 bytes"});
  }
  SECTION("an implausible header does not allocate what it claims") {
    write_gz(dir.file("big.gz"), idx_bytes(0x08, {60000, 60000, 60000}, {}));
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("big.gz")); },
                                   {"implausible IDX header"});
  }
  SECTION("a gzip stream cut short") {
    write_gz(dir.file("full.gz"), idx_bytes(0x08, {64, 64}, ramp(64 * 64)));
    const auto gz = read_raw(dir.file("full.gz"));
    write_raw(dir.file("cut.gz"), std::vector<std::uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("cut.gz")); },
                                   {dir.file("cut.gz"), "truncated"});
  }
  SECTION("corrupt compressed data") {
    write_gz(dir.file("full.gz"), idx_bytes(0x08, {64, 64}, ramp(64 * 64)));
    auto gz = read_raw(dir.file("full.gz"));
    // Right after the 10-byte gzip header: 0xFF is a deflate block of the reserved type 3.
    auto bad = gz;
    for (std::size_t i = 10; i < bad.size() - 8; ++i) bad[i] = 0xFF;
    write_raw(dir.file("bad.gz"), bad);
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("bad.gz")); },
                                   {dir.file("bad.gz"), "corrupt"});
    // Intact data with a wrong CRC-32 in the trailer: caught at the end of the stream.
    auto crc = gz;
    crc[crc.size() - 8] ^= 0x01;
    write_raw(dir.file("crc.gz"), crc);
    require_throws<ex::data_error>([&] { (void)ex::read_idx(dir.file("crc.gz")); },
                                   {dir.file("crc.gz"), "corrupt", "incorrect data check"});
  }
}

namespace {

/// Writes a small Fashion-MNIST-shaped dataset (n_train and n_test images of 2×3 pixels).
void write_fake_fashion_mnist(const temp_dir& dir, std::uint32_t n_train, std::uint32_t n_test,
                              std::uint32_t n_test_labels, std::uint8_t bad_label = 0) {
  const auto labels = [](std::uint32_t n) {
    std::vector<std::uint8_t> l(n);
    for (std::uint32_t i = 0; i < n; ++i) l[i] = static_cast<std::uint8_t>(i % 10);
    return l;
  };
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(8, {n_train, 2, 3}, ramp(n_train * 6)));
  auto train_labels = labels(n_train);
  if (bad_label) train_labels.back() = bad_label;
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(8, {n_train}, train_labels));
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes(8, {n_test, 2, 3}, ramp(n_test * 6)));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes(8, {n_test_labels}, labels(n_test_labels)));
}

}  // namespace

TEST_CASE("load_fashion_mnist standardizes pixels with the training set's statistics") {
  temp_dir dir;
  write_fake_fashion_mnist(dir, 20, 7, 7);
  const auto fm = ex::load_fashion_mnist(dir.path.string());
  REQUIRE(fm.train.size() == 20);
  REQUIRE(fm.test.size() == 7);
  CHECK(fm.train.features == 6);
  CHECK(fm.train.y[13] == 3);
  // The training inputs have mean 0 and variance 1 (population), computed independently here.
  const auto raw = ramp(20 * 6);
  double mean = 0;
  for (const auto p : raw) mean += p / 255.0;
  mean /= static_cast<double>(raw.size());
  double var = 0;
  for (const auto p : raw) var += (p / 255.0 - mean) * (p / 255.0 - mean);
  var /= static_cast<double>(raw.size());
  CHECK(fm.pixel_mean == pare_test::Approx(mean).epsilon(1e-12));
  CHECK(fm.pixel_std == pare_test::Approx(std::sqrt(var)).epsilon(1e-9));
  double s = 0, s2 = 0;
  for (const float v : fm.train.x) {
    s += v;
    s2 += static_cast<double>(v) * v;
  }
  CHECK(s / 120 == pare_test::Approx(0).margin(1e-5));
  CHECK(s2 / 120 == pare_test::Approx(1).epsilon(1e-5));
  // Test pixels use the same transform.
  CHECK(fm.test.x[5] == pare_test::Approx((raw[5] / 255.0 - mean) / std::sqrt(var)).epsilon(1e-5));
}

TEST_CASE("load_fashion_mnist reports a missing dataset in one line with the package to install") {
  temp_dir dir;
  require_throws<ex::missing_file_error>(
      [&] { (void)ex::load_fashion_mnist((dir.path / "nowhere").string()); },
      {"train-images-idx3-ubyte.gz", "cannot open", "apt-get install dataset-fashion-mnist"});
}

TEST_CASE("load_fashion_mnist rejects files that disagree") {
  temp_dir dir;
  SECTION("label count differs from image count") {
    write_fake_fashion_mnist(dir, 20, 7, 6);
    require_throws<ex::data_error>([&] { (void)ex::load_fashion_mnist(dir.path.string()); },
                                   {"t10k-labels-idx1-ubyte.gz", "wrong count", "6 labels", "7 images"});
  }
  SECTION("a label outside 0…9") {
    write_fake_fashion_mnist(dir, 20, 7, 7, 12);
    require_throws<ex::data_error>([&] { (void)ex::load_fashion_mnist(dir.path.string()); },
                                   {"train-labels-idx1-ubyte.gz", "label 12 of item 19"});
  }
  SECTION("images that are not 3-D") {
    write_fake_fashion_mnist(dir, 20, 7, 7);
    write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(8, {20, 6}, ramp(120)));
    require_throws<ex::data_error>([&] { (void)ex::load_fashion_mnist(dir.path.string()); },
                                   {"expected 3 dimensions", "got 2"});
  }
}

TEST_CASE("the real Fashion-MNIST, when installed, has 60,000 + 10,000 balanced images") {
  if (!fs::exists(std::string(ex::fashion_mnist_default_dir) + "/train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  const auto fm = ex::load_fashion_mnist();
  CHECK(fm.train.size() == 60000);
  CHECK(fm.test.size() == 10000);
  CHECK(fm.train.features == 784);
  std::vector<int> counts(10);
  for (const auto y : fm.test.y) ++counts[static_cast<std::size_t>(y)];
  for (const int c : counts) CHECK(c == 1000);
  // Published statistics of the training pixels (x/255): mean 0.2860, std 0.3530.
  CHECK(fm.pixel_mean == pare_test::Approx(0.2860).margin(5e-4));
  CHECK(fm.pixel_std == pare_test::Approx(0.3530).margin(5e-4));
}
