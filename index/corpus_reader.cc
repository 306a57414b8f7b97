#include "index/corpus_reader.h"

#include "index/document_json.h"

#include <simdjson.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

namespace cascade::index {
namespace {

namespace fs = std::filesystem;

// Reads are this large so that the per-read overhead (a syscall, or a gzread
// call that inflates into our buffer) vanishes next to the parsing cost.
constexpr size_t kReadChunk = size_t{1} << 20;
// Below this much free room the line buffer grows instead of reading a
// dribble after each compaction.
constexpr size_t kMinRead = size_t{64} << 10;
// An oversized text file is sniffed this far for a NUL byte, to tell a large
// binary (skipped silently) from a large text (reported).
constexpr size_t kBinarySniffBytes = size_t{64} << 10;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kStdinName = "<stdin>";

enum class SourceKind {
  kJsonl,     // a plain JSONL file
  kJsonlGz,   // a gzipped JSONL file
  kStdin,     // JSONL on stdin
  kPipe,      // JSONL from a pipe or device: like a file, size unknown
  kTextFile,  // one whole file is one document
};

struct Source {
  SourceKind kind = SourceKind::kJsonl;
  std::string path;    // what to open
  std::string name;    // what messages call it
  std::string id;      // kTextFile: the document id
  std::string title;   // kTextFile: the document title (its file name)
  uint64_t size = 0;   // bytes on disk (compressed for .gz); 0 if unknown
  bool named = false;  // kTextFile given directly as an input, not found
                       // by walking a folder
};

std::string ErrnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A source of raw bytes. One virtual call per megabyte read, not per line.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to `n` bytes; 0 means end of input.
  virtual Result<size_t> Read(char* dst, size_t n) = 0;
  // Bytes of the underlying input consumed so far (compressed bytes for gzip).
  virtual uint64_t Offset() const = 0;
};

class FileStream final : public ByteStream {
 public:
  // Takes ownership of `file` unless it is stdin.
  FileStream(FILE* file, std::string name)
      : file_(file), name_(std::move(name)) {}
  ~FileStream() override {
    if (file_ != stdin) std::fclose(file_);
  }

  Result<size_t> Read(char* dst, size_t n) override {
    size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_)) {
      return Status::IOError("read " + name_, ErrnoText(errno));
    }
    offset_ += got;
    return got;
  }
  uint64_t Offset() const override { return offset_; }

 private:
  FILE* file_;
  std::string name_;
  uint64_t offset_ = 0;
};

class GzStream final : public ByteStream {
 public:
  GzStream(gzFile gz, std::string name) : gz_(gz), name_(std::move(name)) {}
  ~GzStream() override { gzclose(gz_); }

  Result<size_t> Read(char* dst, size_t n) override {
    // gzread takes an unsigned and returns an int.
    unsigned want = static_cast<unsigned>(std::min<size_t>(n, INT_MAX));
    int got = gzread(gz_, dst, want);
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR)) {
      if (err == Z_ERRNO)
        return Status::IOError("read " + name_, ErrnoText(errno));
      return Status::Corruption("corrupt gzip stream in " + name_, msg);
    }
    // zlib signals a stream cut short by ending the input with Z_BUF_ERROR
    // pending; without this check a truncated download would read as a
    // shorter, valid corpus.
    if (got == 0 && err == Z_BUF_ERROR) {
      return Status::Corruption("truncated gzip stream in " + name_, msg);
    }
    return static_cast<size_t>(got);
  }
  uint64_t Offset() const override {
    z_off_t off = gzoffset(gz_);
    return off < 0 ? 0 : static_cast<uint64_t>(off);
  }

 private:
  gzFile gz_;
  std::string name_;
};

// Splits a ByteStream into lines without copying them: a line is a view into
// the buffer, valid until the next call. A line longer than `max_line` is not
// kept: its bytes are counted and dropped as they stream past, so memory stays
// about max_line + kReadChunk whatever the input holds.
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteStream> in, size_t max_line)
      : in_(std::move(in)), max_line_(max_line) {}

  // Sets `*line` to the next line without its '\n' and returns true, or
  // returns false at end of input. For an oversized line, `*line` is empty
  // and `*oversize` holds its length; otherwise `*oversize` is 0.
  Result<bool> Next(std::string_view* line, uint64_t* oversize) {
    *oversize = 0;
    while (true) {
      size_t from = begin_ + scanned_;
      const void* nl = from < end_
                           ? std::memchr(buf_.get() + from, '\n', end_ - from)
                           : nullptr;
      if (nl != nullptr) {
        size_t len = static_cast<const char*>(nl) - (buf_.get() + begin_);
        TakeLine(len, line, oversize);
        begin_ += len + 1;
        return true;
      }
      scanned_ = end_ - begin_;
      if (eof_) {
        if (begin_ == end_) return false;
        TakeLine(end_ - begin_, line, oversize);  // last line, no '\n'
        begin_ = end_;
        return true;
      }
      if (end_ - begin_ > max_line_) return Discard(line, oversize);
      CASCADE_RETURN_IF_ERROR(Fill());
    }
  }

  uint64_t line_number() const { return line_number_; }
  uint64_t Offset() const { return in_->Offset(); }

 private:
  void TakeLine(size_t len, std::string_view* line, uint64_t* oversize) {
    ++line_number_;
    scanned_ = 0;
    if (len > max_line_) {
      *line = {};
      *oversize = len;
    } else {
      *line = std::string_view(buf_.get() + begin_, len);
    }
  }

  // Moves the partial line to the front, grows the buffer when it is nearly
  // full of one partial line, and reads more.
  Status Fill() {
    if (begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (capacity_ - end_ < kMinRead) {
      size_t capacity = std::max(kReadChunk, capacity_ * 2);
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      if (end_ > 0) std::memcpy(bigger.get(), buf_.get(), end_);
      buf_ = std::move(bigger);
      capacity_ = capacity;
    }
    CASCADE_ASSIGN_OR_RETURN(size_t got,
                             in_->Read(buf_.get() + end_, capacity_ - end_));
    if (got == 0) eof_ = true;
    end_ += got;
    return Status::OK();
  }

  // The pending partial line is already longer than max_line_: count the
  // rest of it up to its '\n' without keeping it.
  Result<bool> Discard(std::string_view* line, uint64_t* oversize) {
    uint64_t length = end_ - begin_;
    begin_ = end_ = scanned_ = 0;
    ++line_number_;
    *line = {};
    while (true) {
      CASCADE_ASSIGN_OR_RETURN(size_t got, in_->Read(buf_.get(), capacity_));
      if (got == 0) {
        eof_ = true;
        break;
      }
      const void* nl = std::memchr(buf_.get(), '\n', got);
      if (nl != nullptr) {
        size_t head = static_cast<const char*>(nl) - buf_.get();
        length += head;
        begin_ = head + 1;
        end_ = got;
        break;
      }
      length += got;
    }
    *oversize = length;
    return true;
  }

  std::unique_ptr<ByteStream> in_;
  size_t max_line_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t begin_ = 0;    // start of the unread bytes
  size_t end_ = 0;      // end of the bytes read
  size_t scanned_ = 0;  // bytes after begin_ known to hold no '\n'
  bool eof_ = false;
  uint64_t line_number_ = 0;
};

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

}  // namespace

std::string CorpusProblem::ToString() const {
  std::string out = source;
  if (line != 0) {
    out.push_back(':');
    out.append(std::to_string(line));
  }
  out.append(": ");
  out.append(message);
  return out;
}

struct CorpusReader::Impl {
  CorpusOptions options;
  std::vector<Source> sources;
  size_t next_source = 0;
  const Source* current = nullptr;    // the source `lines` reads
  std::unique_ptr<LineReader> lines;  // null between JSONL sources
  DocumentJsonParser json;            // reused: its buffers grow once
  std::vector<CorpusProblem> problems;
  uint64_t skipped = 0;
  uint64_t binaries = 0;
  uint64_t records = 0;     // good and bad, as CorpusRecord::ordinal counts
  uint64_t done_bytes = 0;  // bytes of the sources already finished
  uint64_t total_bytes = 0;
  Status error;  // sticky: once an I/O error ends the run, it stays ended
  std::string problem;  // scratch for a record's problem message

  void AddProblem(std::string_view source, uint64_t line, std::string message) {
    ++skipped;
    if (problems.size() < options.max_problems_kept) {
      problems.push_back(
          CorpusProblem{std::string(source), line, std::move(message)});
    }
  }

  std::string OversizeMessage(uint64_t bytes) const {
    return "document of " + std::to_string(bytes) + " bytes exceeds the " +
           std::to_string(options.max_document_bytes) + "-byte limit";
  }

  Result<bool> NextRecord(CorpusRecord* record);
  Status OpenStream(const Source& source);
  bool ParseJsonLine(std::string_view line, Document* doc);
  Result<bool> ReadTextFile(const Source& source, CorpusRecord* record);
};

Status CorpusReader::Impl::OpenStream(const Source& source) {
  std::unique_ptr<ByteStream> stream;
  if (source.kind == SourceKind::kStdin) {
    stream = std::make_unique<FileStream>(stdin, source.name);
  } else if (source.kind == SourceKind::kJsonlGz) {
    gzFile gz = gzopen(source.path.c_str(), "rb");
    if (gz == nullptr)
      return Status::IOError("open " + source.path, ErrnoText(errno));
    // zlib's default 8 KiB input buffer costs a read syscall per 8 KiB.
    gzbuffer(gz, 256 << 10);
    stream = std::make_unique<GzStream>(gz, source.name);
  } else {
    FILE* file = std::fopen(source.path.c_str(), "rb");
    if (file == nullptr)
      return Status::IOError("open " + source.path, ErrnoText(errno));
    stream = std::make_unique<FileStream>(file, source.name);
  }
  lines = std::make_unique<LineReader>(std::move(stream),
                                       options.max_document_bytes);
  current = &source;
  return Status::OK();
}

bool CorpusReader::Impl::ParseJsonLine(std::string_view line, Document* doc) {
  return json.Parse(line, doc, &problem);
}

Result<bool> CorpusReader::Impl::ReadTextFile(const Source& source,
                                              CorpusRecord* record) {
  FILE* file = std::fopen(source.path.c_str(), "rb");
  if (file == nullptr)
    return Status::IOError("open " + source.path, ErrnoText(errno));
  std::unique_ptr<FILE, int (*)(FILE*)> closer(file, &std::fclose);

  // The size from Open may be stale; the open file's own size is not.
  struct stat st;
  if (fstat(fileno(file), &st) != 0)
    return Status::IOError("stat " + source.path, ErrnoText(errno));
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  auto binary = [&]() {
    if (source.named) {
      AddProblem(source.name, 0, "not a text file: invalid UTF-8 or NUL bytes");
    } else {
      ++binaries;
    }
    return false;
  };

  std::string& text = record->doc.text;
  if (size > options.max_document_bytes) {
    text.resize(std::min<uint64_t>(size, kBinarySniffBytes));
    size_t got = std::fread(text.data(), 1, text.size(), file);
    if (got < text.size() && std::ferror(file)) {
      return Status::IOError("read " + source.path, ErrnoText(errno));
    }
    if (std::memchr(text.data(), '\0', got) != nullptr) return binary();
    AddProblem(source.name, 0, OversizeMessage(size));
    return false;
  }

  text.resize(size);
  size_t got = std::fread(text.data(), 1, size, file);
  if (got < size && std::ferror(file)) {
    return Status::IOError("read " + source.path, ErrnoText(errno));
  }
  text.resize(got);
  if (std::memchr(text.data(), '\0', text.size()) != nullptr ||
      !simdjson::validate_utf8(text.data(), text.size())) {
    return binary();
  }
  if (std::string_view(text).starts_with(kUtf8Bom))
    text.erase(0, kUtf8Bom.size());
  record->doc.id = source.id;
  record->doc.title = source.title;
  // A reused record may still hold a JSONL document's extras.
  record->doc.tilde_terms.clear();
  record->doc.tilde.clear();
  record->doc.vectors.clear();
  record->source = source.name;
  record->line = 0;
  return true;
}

Result<bool> CorpusReader::Impl::NextRecord(CorpusRecord* record) {
  while (true) {
    if (lines != nullptr) {
      std::string_view line;
      uint64_t oversize = 0;
      CASCADE_ASSIGN_OR_RETURN(bool got, lines->Next(&line, &oversize));
      if (!got) {
        done_bytes += lines->Offset();
        lines.reset();
        current = nullptr;
        continue;
      }
      const uint64_t line_number = lines->line_number();
      if (oversize != 0) {
        ++records;
        AddProblem(current->name, line_number, OversizeMessage(oversize));
        continue;
      }
      if (line_number == 1 && line.starts_with(kUtf8Bom))
        line.remove_prefix(kUtf8Bom.size());
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (IsBlank(line)) continue;
      ++records;
      if (!ParseJsonLine(line, &record->doc)) {
        AddProblem(current->name, line_number, std::move(problem));
        continue;
      }
      record->source = current->name;
      record->line = line_number;
      record->ordinal = records - 1;
      return true;
    }

    if (next_source == sources.size()) return false;
    const Source& source = sources[next_source++];
    if (source.kind == SourceKind::kTextFile) {
      const uint64_t binaries_before = binaries;
      Result<bool> got = ReadTextFile(source, record);
      done_bytes += source.size;
      if (got.ok() && binaries == binaries_before) {
        record->ordinal = records++;
      }
      if (!got.ok() || *got) return got;
      continue;
    }
    CASCADE_RETURN_IF_ERROR(OpenStream(source));
  }
}

namespace {

// Lists the text-file candidates under `root` in sorted path order.
Status WalkFolder(const std::string& root, std::vector<Source>* out,
                  uint64_t* total) {
  std::vector<Source> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, ec);
  if (ec) return Status::IOError("list folder " + root, ec.message());
  const fs::recursive_directory_iterator end;
  while (it != end) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    std::error_code type_ec;
    const bool is_dir = it->is_directory(type_ec);
    if (is_dir) {
      // Hidden folders (.git) and build outputs hold no corpus text, and can
      // be huge.
      if (name.starts_with('.') || name.starts_with("build"))
        it.disable_recursion_pending();
    } else if (!name.starts_with('.') && it->is_regular_file(type_ec)) {
      Source source;
      source.kind = SourceKind::kTextFile;
      source.path = path.string();
      source.name = source.path;
      source.id = path.lexically_relative(root).generic_string();
      source.title = name;
      std::error_code size_ec;
      uint64_t size = it->file_size(size_ec);
      source.size = size_ec ? 0 : size;
      found.push_back(std::move(source));
    }
    it.increment(ec);
    if (ec) return Status::IOError("list folder " + root, ec.message());
  }
  if (found.empty())
    return Status::InvalidArgument("no indexable files in folder", root);
  std::sort(found.begin(), found.end(),
            [](const Source& a, const Source& b) { return a.id < b.id; });
  for (Source& source : found) {
    *total += source.size;
    out->push_back(std::move(source));
  }
  return Status::OK();
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace

Result<std::unique_ptr<CorpusReader>> CorpusReader::Open(
    const std::vector<std::string>& inputs, const CorpusOptions& options) {
  if (options.max_document_bytes == 0) {
    return Status::InvalidArgument(
        "CorpusOptions::max_document_bytes must be positive");
  }
  if (inputs.empty()) return Status::InvalidArgument("no corpus inputs given");

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->json.SetFields(options.fields);
  bool size_known = true;
  bool saw_stdin = false;
  for (const std::string& input : inputs) {
    Source source;
    if (input == "-") {
      if (saw_stdin)
        return Status::InvalidArgument("stdin (\"-\") given more than once");
      saw_stdin = true;
      size_known = false;
      source.kind = SourceKind::kStdin;
      source.name = kStdinName;
      impl->sources.push_back(std::move(source));
      continue;
    }

    std::error_code ec;
    const fs::file_status status = fs::status(input, ec);
    if (status.type() == fs::file_type::not_found) {
      return Status::NotFound("corpus input does not exist", input);
    }
    if (ec) return Status::IOError("stat " + input, ec.message());

    source.path = input;
    source.name = input;
    if (fs::is_directory(status)) {
      bool beir = false;
      for (std::string_view corpus : {"corpus.jsonl", "corpus.jsonl.gz"}) {
        fs::path file = fs::path(input) / corpus;
        if (fs::is_regular_file(file, ec)) {
          source.kind = EndsWith(corpus, ".gz") ? SourceKind::kJsonlGz
                                                : SourceKind::kJsonl;
          source.path = file.string();
          source.name = source.path;
          source.size = FileSize(source.path);
          beir = true;
          break;
        }
      }
      if (!beir) {
        CASCADE_RETURN_IF_ERROR(
            WalkFolder(input, &impl->sources, &impl->total_bytes));
        continue;
      }
    } else if (fs::is_regular_file(status)) {
      const std::string name = Lowercase(fs::path(input).filename().string());
      source.size = FileSize(input);
      if (EndsWith(name, ".jsonl") || EndsWith(name, ".json")) {
        source.kind = SourceKind::kJsonl;
      } else if (EndsWith(name, ".jsonl.gz") || EndsWith(name, ".json.gz")) {
        source.kind = SourceKind::kJsonlGz;
      } else {
        source.kind = SourceKind::kTextFile;
        source.id = fs::path(input).filename().string();
        source.title = source.id;
        source.named = true;
      }
    } else {
      // A pipe such as bash's <(zcat corpus.jsonl.gz), or a device: a stream
      // of JSONL with no size.
      source.kind = SourceKind::kPipe;
      size_known = false;
    }
    impl->total_bytes += source.size;
    impl->sources.push_back(std::move(source));
  }
  if (!size_known) impl->total_bytes = 0;
  return std::unique_ptr<CorpusReader>(new CorpusReader(std::move(impl)));
}

CorpusReader::CorpusReader(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
CorpusReader::~CorpusReader() = default;

Result<bool> CorpusReader::Next(CorpusRecord* record) {
  if (!impl_->error.ok()) return impl_->error;
  Result<bool> got = impl_->NextRecord(record);
  if (!got.ok()) {
    impl_->error = got.status();
    impl_->lines.reset();
    impl_->current = nullptr;
    impl_->next_source = impl_->sources.size();
  }
  return got;
}

const std::vector<CorpusProblem>& CorpusReader::problems() const {
  return impl_->problems;
}
uint64_t CorpusReader::skipped() const { return impl_->skipped; }
uint64_t CorpusReader::skipped_binary_files() const { return impl_->binaries; }
uint64_t CorpusReader::records() const { return impl_->records; }

uint64_t CorpusReader::bytes_done() const {
  return impl_->done_bytes +
         (impl_->lines != nullptr ? impl_->lines->Offset() : 0);
}
uint64_t CorpusReader::bytes_total() const { return impl_->total_bytes; }

}  // namespace cascade::index
