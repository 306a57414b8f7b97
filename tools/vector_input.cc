#include "tools/vector_input.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cascade::tools {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open vector file", path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status ParseJsonVector(simdjson::dom::element value, VectorRecord* out, std::string* where) {
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (value.get(object) == simdjson::SUCCESS) {
    std::string_view id;
    if (object.at_key("_id").get(id) == simdjson::SUCCESS ||
        object.at_key("id").get(id) == simdjson::SUCCESS) {
      out->id = std::string(id);
    }
    if (object.at_key("vector").get(array) != simdjson::SUCCESS) {
      return Status::InvalidArgument(*where + ": expected \"vector\": [numbers]");
    }
  } else if (value.get(array) != simdjson::SUCCESS) {
    return Status::InvalidArgument(*where + ": expected an array of numbers");
  }
  for (auto element : array) {
    double x;
    if (element.get(x) != simdjson::SUCCESS || !std::isfinite(x) || std::fabs(x) > 3.4e38) {
      return Status::InvalidArgument(*where + ": value " + std::to_string(out->values.size()) +
                                     " is not a finite number");
    }
    out->values.push_back(static_cast<float>(x));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<VectorRecord>> ReadVectorFile(const std::string& path) {
  CASCADE_ASSIGN_OR_RETURN(std::string bytes, Slurp(path));
  std::vector<VectorRecord> out;
  if (EndsWith(path, ".fvecs")) {
    size_t at = 0;
    while (at < bytes.size()) {
      int32_t dim;
      if (bytes.size() - at < 4) return Status::InvalidArgument("truncated .fvecs file", path);
      std::memcpy(&dim, bytes.data() + at, 4);
      at += 4;
      if (dim <= 0 || bytes.size() - at < size_t(dim) * 4) {
        return Status::InvalidArgument("bad or truncated .fvecs record " +
                                       std::to_string(out.size()) + " in", path);
      }
      VectorRecord r;
      r.values.resize(dim);
      std::memcpy(r.values.data(), bytes.data() + at, size_t(dim) * 4);
      at += size_t(dim) * 4;
      out.push_back(std::move(r));
    }
    return out;
  }
  if (EndsWith(path, ".npy")) {
    // Magic, version, header length, then a Python dict header.
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
      return Status::InvalidArgument("not a .npy file", path);
    }
    const bool v1 = bytes[6] == 1;
    size_t header_len = v1 ? (uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8))
                           : (uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8) |
                              (uint8_t(bytes[10]) << 16) | (size_t(uint8_t(bytes[11])) << 24));
    const size_t start = (v1 ? 10 : 12) + header_len;
    if (start > bytes.size()) return Status::InvalidArgument("truncated .npy header", path);
    const std::string header = bytes.substr(v1 ? 10 : 12, header_len);
    if (header.find("'<f4'") == std::string::npos ||
        header.find("'fortran_order': False") == std::string::npos) {
      return Status::InvalidArgument(".npy must be little-endian float32 in C order", path);
    }
    size_t rows = 0, cols = 0;
    const size_t shape = header.find("'shape': (");
    if (shape == std::string::npos ||
        std::sscanf(header.c_str() + shape + 10, "%zu, %zu", &rows, &cols) != 2 || cols == 0) {
      return Status::InvalidArgument(".npy must hold a 2-d array", path);
    }
    if (bytes.size() - start != rows * cols * 4) {
      return Status::InvalidArgument(".npy data size does not match its shape", path);
    }
    for (size_t r = 0; r < rows; ++r) {
      VectorRecord rec;
      rec.values.resize(cols);
      std::memcpy(rec.values.data(), bytes.data() + start + r * cols * 4, cols * 4);
      out.push_back(std::move(rec));
    }
    return out;
  }
  simdjson::dom::parser parser;
  size_t line_no = 0;
  std::istringstream lines(bytes);
  std::string line;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(line_no);
    simdjson::dom::element value;
    if (parser.parse(line).get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument(where + ": invalid JSON");
    }
    VectorRecord r;
    CASCADE_RETURN_IF_ERROR(ParseJsonVector(value, &r, &where));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<float>> ReadQueryVector(const std::string& spec) {
  if (!spec.empty() && spec[0] == '[') {
    simdjson::dom::parser parser;
    simdjson::dom::element value;
    if (parser.parse(spec).get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument("--vector: invalid JSON array");
    }
    VectorRecord r;
    std::string where = "--vector";
    CASCADE_RETURN_IF_ERROR(ParseJsonVector(value, &r, &where));
    return r.values;
  }
  CASCADE_ASSIGN_OR_RETURN(std::vector<VectorRecord> all, ReadVectorFile(spec));
  if (all.empty()) return Status::InvalidArgument("no vector in", spec);
  return all[0].values;
}

Status WriteFvecs(const std::string& path, const std::vector<float>& data, size_t dim) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IOError("cannot write", path);
  const int32_t d = static_cast<int32_t>(dim);
  for (size_t i = 0; i + dim <= data.size(); i += dim) {
    out.write(reinterpret_cast<const char*>(&d), 4);
    out.write(reinterpret_cast<const char*>(data.data() + i), dim * 4);
  }
  return out ? Status::OK() : Status::IOError("cannot write", path);
}

}  // namespace cascade::tools
