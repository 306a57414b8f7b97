#include "tools/vector_input.h"

#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "index/dense/vector_field.h"

namespace cascade::tools {

namespace {

enum class Format { kFvecs, kNpy, kJsonLines };

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Checks that every value is finite; `where` prefixes the message.
Status CheckFinite(const std::vector<float>& values, const std::string& where) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Status::InvalidArgument(where + ": value " + std::to_string(i) + " is not finite (" +
                                     (std::isnan(values[i]) ? "NaN" : "Inf") + ")");
    }
  }
  return Status::OK();
}

Status ParseJsonVector(simdjson::dom::element value, VectorRecord* out, const std::string& where) {
  simdjson::dom::array array;
  simdjson::dom::object object;
  out->id.clear();
  out->values.clear();
  if (value.get(object) == simdjson::SUCCESS) {
    // A string or integer id, spelt as the corpus reader spells ids.
    for (const char* key : {"_id", "id"}) {
      simdjson::dom::element id;
      if (object.at_key(key).get(id) != simdjson::SUCCESS) continue;
      std::string_view text;
      int64_t number;
      uint64_t unsigned_number;
      if (id.get(text) == simdjson::SUCCESS) {
        out->id = std::string(text);
      } else if (id.get(number) == simdjson::SUCCESS) {
        out->id = std::to_string(number);
      } else if (id.get(unsigned_number) == simdjson::SUCCESS) {
        out->id = std::to_string(unsigned_number);
      }
      if (!out->id.empty()) break;
    }
    if (object.at_key("vector").get(array) != simdjson::SUCCESS) {
      return Status::InvalidArgument(where + ": expected \"vector\": [numbers]");
    }
  } else if (value.get(array) != simdjson::SUCCESS) {
    return Status::InvalidArgument(where + ": expected an array of numbers");
  }
  for (auto element : array) {
    double x;
    if (out->values.size() == dense::kMaxDimension) {
      return Status::InvalidArgument(where + ": more than " +
                                     std::to_string(dense::kMaxDimension) + " values");
    }
    if (element.get(x) != simdjson::SUCCESS || !std::isfinite(x) || std::fabs(x) > 3.4e38) {
      return Status::InvalidArgument(where + ": value " + std::to_string(out->values.size()) +
                                     " is not a finite number");
    }
    out->values.push_back(static_cast<float>(x));
  }
  if (out->values.empty()) return Status::InvalidArgument(where + ": empty vector");
  return Status::OK();
}

}  // namespace

struct VectorFileReader::Impl {
  std::string path;
  Format format = Format::kJsonLines;
  std::ifstream in;
  uint64_t rows = 0;
  uint64_t line = 0;       // JSON lines: the last line read
  uint64_t npy_rows = 0;   // .npy: rows and columns from the header
  uint64_t npy_cols = 0;
  simdjson::dom::parser parser;
  std::string text;  // JSON lines: the current line

  std::string RowWhere(uint64_t row) const {
    return format == Format::kJsonLines ? path + ":" + std::to_string(line)
                                        : path + ": row " + std::to_string(row);
  }
  Status OpenNpy();
  Result<bool> NextFvecs(VectorRecord* record);
  Result<bool> NextNpy(VectorRecord* record);
  Result<bool> NextJson(VectorRecord* record);
};

Status VectorFileReader::Impl::OpenNpy() {
  // Magic, version, header length, then a Python dict header.
  char prefix[12];
  in.read(prefix, 10);
  if (in.gcount() != 10 || std::memcmp(prefix, "\x93NUMPY", 6) != 0) {
    return Status::InvalidArgument("not a .npy file", path);
  }
  const bool v1 = prefix[6] == 1;
  size_t header_len = uint8_t(prefix[8]) | (uint8_t(prefix[9]) << 8);
  if (!v1) {
    in.read(prefix + 10, 2);
    if (in.gcount() != 2) return Status::InvalidArgument("truncated .npy header", path);
    header_len |= (uint8_t(prefix[10]) << 16) | (size_t(uint8_t(prefix[11])) << 24);
  }
  if (header_len > (1 << 20)) return Status::InvalidArgument("bad .npy header", path);
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (size_t(in.gcount()) != header_len) {
    return Status::InvalidArgument("truncated .npy header", path);
  }
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
  if (cols > dense::kMaxDimension) {
    return Status::InvalidArgument(".npy rows have " + std::to_string(cols) +
                                       " columns, more than " +
                                       std::to_string(dense::kMaxDimension),
                                   path);
  }
  const std::streamoff start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(start);
  if (!in || uint64_t(size - start) != uint64_t(rows) * cols * 4) {
    return Status::InvalidArgument(".npy data size does not match its shape", path);
  }
  npy_rows = rows;
  npy_cols = cols;
  return Status::OK();
}

Result<bool> VectorFileReader::Impl::NextFvecs(VectorRecord* record) {
  int32_t dim;
  in.read(reinterpret_cast<char*>(&dim), 4);
  if (in.gcount() == 0 && in.eof()) return false;
  const std::string where = RowWhere(rows + 1);
  if (in.gcount() != 4) return Status::InvalidArgument(where + ": truncated .fvecs record");
  if (dim <= 0 || uint32_t(dim) > dense::kMaxDimension) {
    return Status::InvalidArgument(where + ": bad .fvecs dimension " + std::to_string(dim));
  }
  record->id.clear();
  record->values.resize(dim);
  in.read(reinterpret_cast<char*>(record->values.data()), std::streamsize(dim) * 4);
  if (in.gcount() != std::streamsize(dim) * 4) {
    return Status::InvalidArgument(where + ": truncated .fvecs record");
  }
  CASCADE_RETURN_IF_ERROR(CheckFinite(record->values, where));
  ++rows;
  return true;
}

Result<bool> VectorFileReader::Impl::NextNpy(VectorRecord* record) {
  if (rows == npy_rows) return false;
  const std::string where = RowWhere(rows + 1);
  record->id.clear();
  record->values.resize(npy_cols);
  in.read(reinterpret_cast<char*>(record->values.data()), std::streamsize(npy_cols) * 4);
  if (in.gcount() != std::streamsize(npy_cols) * 4) {
    return Status::IOError(where + ": short read");
  }
  CASCADE_RETURN_IF_ERROR(CheckFinite(record->values, where));
  ++rows;
  return true;
}

Result<bool> VectorFileReader::Impl::NextJson(VectorRecord* record) {
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = RowWhere(rows + 1);
    simdjson::dom::element value;
    if (parser.parse(text).get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument(where + ": invalid JSON");
    }
    CASCADE_RETURN_IF_ERROR(ParseJsonVector(value, record, where));
    ++rows;
    return true;
  }
  if (in.bad()) return Status::IOError("read " + path);
  return false;
}

VectorFileReader::VectorFileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorFileReader::~VectorFileReader() = default;

Result<std::unique_ptr<VectorFileReader>> VectorFileReader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->format = EndsWith(path, ".fvecs") ? Format::kFvecs
                 : EndsWith(path, ".npy") ? Format::kNpy
                                          : Format::kJsonLines;
  impl->in.open(path, std::ios::binary);
  if (!impl->in) return Status::NotFound("cannot open vector file", path);
  if (impl->format == Format::kNpy) CASCADE_RETURN_IF_ERROR(impl->OpenNpy());
  return std::unique_ptr<VectorFileReader>(new VectorFileReader(std::move(impl)));
}

Result<bool> VectorFileReader::Next(VectorRecord* record) {
  switch (impl_->format) {
    case Format::kFvecs:
      return impl_->NextFvecs(record);
    case Format::kNpy:
      return impl_->NextNpy(record);
    case Format::kJsonLines:
      return impl_->NextJson(record);
  }
  return false;
}

std::string VectorFileReader::Where() const { return impl_->RowWhere(impl_->rows); }
uint64_t VectorFileReader::rows() const { return impl_->rows; }
const std::string& VectorFileReader::path() const { return impl_->path; }

Result<std::vector<VectorRecord>> ReadVectorFile(const std::string& path) {
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<VectorFileReader> reader,
                           VectorFileReader::Open(path));
  std::vector<VectorRecord> out;
  VectorRecord record;
  while (true) {
    CASCADE_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) return out;
    out.push_back(std::move(record));
    record = VectorRecord{};
  }
}

Result<std::vector<float>> ReadQueryVector(const std::string& spec) {
  if (!spec.empty() && spec[0] == '[') {
    simdjson::dom::parser parser;
    simdjson::dom::element value;
    if (parser.parse(spec).get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument("--vector: invalid JSON array");
    }
    VectorRecord r;
    CASCADE_RETURN_IF_ERROR(ParseJsonVector(value, &r, "--vector"));
    return r.values;
  }
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<VectorFileReader> reader,
                           VectorFileReader::Open(spec));
  VectorRecord first;
  CASCADE_ASSIGN_OR_RETURN(bool got, reader->Next(&first));
  if (!got) return Status::InvalidArgument("no vector in", spec);
  return first.values;
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
