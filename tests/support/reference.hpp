#pragma once
// Reader for reference data under tests/reference/ (written by tests/reference/refio.py).
//
// Format: one record per line, `key n v0 v1 ... v(n-1)`, numbers in shortest round-trip form
// (17 significant digits), '#' starts a comment line. Keys are free text without spaces, by
// convention "case/field" (e.g. "adam_amsgrad/param_step_100").

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pare_test {

class reference {
 public:
  /// Loads tests/reference/<relative_path>.
  explicit reference(const std::string& relative_path)
      : path_(std::string(PARE_TEST_REFERENCE_DIR) + "/" + relative_path) {
    std::ifstream in(path_);
    if (!in) throw std::runtime_error("cannot open reference file " + path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string key;
      std::size_t n = 0;
      if (!(ls >> key >> n)) throw std::runtime_error("bad line in " + path_ + ": " + line);
      std::vector<double> v(n);
      for (auto& x : v) {
        std::string tok;
        if (!(ls >> tok)) throw std::runtime_error("short record " + key + " in " + path_);
        x = std::strtod(tok.c_str(), nullptr);  // accepts nan, inf, -inf
      }
      order_.push_back(key);
      data_[key] = std::move(v);
    }
  }
  [[nodiscard]] bool has(const std::string& key) const { return data_.count(key) != 0; }
  [[nodiscard]] const std::vector<double>& operator[](const std::string& key) const {
    auto it = data_.find(key);
    if (it == data_.end()) throw std::runtime_error("no key " + key + " in " + path_);
    return it->second;
  }
  /// A scalar record.
  [[nodiscard]] double scalar(const std::string& key) const { return (*this)[key].at(0); }
  /// Keys in file order.
  [[nodiscard]] const std::vector<std::string>& keys() const { return order_; }

 private:
  std::string path_;
  std::map<std::string, std::vector<double>> data_;
  std::vector<std::string> order_;
};

}  // namespace pare_test
