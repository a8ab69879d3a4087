#pragma once
/// \file
/// Reading IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed or not.
///
/// An IDX file is a 4-byte magic number — two zero bytes, the element type (0x08 = unsigned
/// byte) and the number of dimensions — then each dimension as a big-endian 32-bit count, then
/// the elements in row-major order (LeCun et al., "The MNIST database", 1998). zlib's gz* reader
/// reads both the `.gz` files Debian ships and plain files.
///
///     pare_examples::idx_array a = pare_examples::read_idx("train-images-idx3-ubyte.gz");
///     // a.dims == {60000, 28, 28}, a.bytes.size() == 47040000
///
/// Every problem is a `pare_examples::data_error` whose message is one line naming the file:
/// a missing file, a file that is not IDX (bad magic, unsupported element type), a truncated or
/// corrupt stream, extra bytes after the data.

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace pare_examples {

/// Thrown for a missing, unreadable or malformed data file; `what()` is one line.
class data_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The contents of an IDX file of unsigned bytes: its dimensions and its elements, row-major.
struct idx_array {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;
};

/// Thrown by `read_idx` when the file cannot be opened (a subclass, so a caller can add advice
/// such as which package installs the data).
class missing_file_error : public data_error {
 public:
  using data_error::data_error;
};

namespace detail {

/// The largest element count `read_idx` accepts (1 GiB): a corrupt header must not make it
/// allocate the 2^32 · … bytes its dimensions claim.
inline constexpr std::int64_t max_idx_elements = std::int64_t{1} << 30;

struct gz_closer {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};
using gz_handle = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_closer>;

/// Reads up to `n` bytes; returns how many it read, or throws for a stream error (corrupt
/// gzip data, I/O error). A short count means the stream ended.
inline std::size_t gz_read(gzFile f, const std::string& path, void* out, std::size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t total = 0;
  while (total < n) {
    const auto want = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
    const int got = gzread(f, p + total, want);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw data_error(fmt::format("{}: corrupt or unreadable compressed data ({})", path,
                                   msg ? msg : "zlib error"));
    }
    if (got == 0) break;
    total += static_cast<std::size_t>(got);
  }
  // zlib reports a gzip stream that stops mid-way as a clean end of file plus Z_BUF_ERROR.
  int code = 0;
  gzerror(f, &code);
  if (total < n && code == Z_BUF_ERROR)
    throw data_error(fmt::format("{}: truncated: the compressed stream ends early", path));
  return total;
}

}  // namespace detail

/// Reads an IDX file of unsigned bytes (gzip-compressed or plain). Throws `missing_file_error`
/// when the file cannot be opened and `data_error` when its content is not a complete IDX array
/// of unsigned bytes.
inline idx_array read_idx(const std::string& path) {
  detail::gz_handle f(gzopen(path.c_str(), "rb"));
  if (!f) {
    const int e = errno;
    throw missing_file_error(fmt::format("{}: cannot open ({})", path,
                                         e ? std::strerror(e) : "zlib could not open it"));
  }
  std::array<unsigned char, 4> magic{};
  if (detail::gz_read(f.get(), path, magic.data(), 4) != 4)
    throw data_error(fmt::format("{}: truncated: no IDX header", path));
  const unsigned magic_value = (unsigned{magic[0]} << 24) | (unsigned{magic[1]} << 16) |
                               (unsigned{magic[2]} << 8) | unsigned{magic[3]};
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0 || magic[3] > 4)
    throw data_error(fmt::format(
        "{}: not an IDX file: bad magic number 0x{:08X} (expected 0x000008NN with 1 to 4 "
        "dimensions NN)",
        path, magic_value));
  if (magic[2] != 0x08)
    throw data_error(fmt::format(
        "{}: unsupported IDX element type 0x{:02X} (only unsigned bytes, 0x08, are read)", path,
        unsigned{magic[2]}));

  idx_array a;
  std::int64_t count = 1;
  for (int d = 0; d < magic[3]; ++d) {
    std::array<unsigned char, 4> b{};
    if (detail::gz_read(f.get(), path, b.data(), 4) != 4)
      throw data_error(fmt::format("{}: truncated: the header ends inside dimension {}", path, d));
    const std::int64_t n = (std::int64_t{b[0]} << 24) | (std::int64_t{b[1]} << 16) |
                           (std::int64_t{b[2]} << 8) | std::int64_t{b[3]};
    a.dims.push_back(n);
    count *= n;
    if (count > detail::max_idx_elements)
      throw data_error(fmt::format("{}: implausible IDX header: more than {} elements", path,
                                   detail::max_idx_elements));
  }
  a.bytes.resize(static_cast<std::size_t>(count));
  const std::size_t got = detail::gz_read(f.get(), path, a.bytes.data(), a.bytes.size());
  if (got != a.bytes.size())
    throw data_error(fmt::format("{}: truncated: the header promises {} bytes of data, the file "
                                 "holds {}",
                                 path, a.bytes.size(), got));
  unsigned char extra = 0;
  if (detail::gz_read(f.get(), path, &extra, 1) != 0)
    throw data_error(fmt::format("{}: corrupt: extra bytes after the {} bytes of data the header "
                                 "promises",
                                 path, a.bytes.size()));
  return a;
}

}  // namespace pare_examples
