// The embedded library (include/cascade/engine.h) over index/ and query/.
#include "cascade/engine.h"

#include <chrono>
#include <mutex>
#include <shared_mutex>

#include "index/document_json.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/store.h"
#include "query/searcher.h"

namespace cascade {

struct Index::Impl {
  std::shared_ptr<index::Store> store;
  std::unique_ptr<index::IndexWriter> writer;  // null when read-only
  std::mutex write_mu;                         // serialises writer use
  mutable std::shared_mutex reader_mu;         // guards `reader`
  std::shared_ptr<const index::IndexReader> reader;

  Status Reopen() {
    CASCADE_ASSIGN_OR_RETURN(auto fresh, index::IndexReader::Open(store));
    std::unique_lock lock(reader_mu);
    reader = std::move(fresh);
    return Status::OK();
  }
  std::shared_ptr<const index::IndexReader> Current() const {
    std::shared_lock lock(reader_mu);
    return reader;
  }

  // Searchers hold an analyzer (ICU, libstemmer), costly to build per
  // query: idle ones wait here for the next search on the same reader.
  mutable std::mutex pool_mu;
  mutable std::vector<std::unique_ptr<query::Searcher>> pool;

  Result<std::unique_ptr<query::Searcher>> AcquireSearcher(
      const std::shared_ptr<const index::IndexReader>& current) const {
    {
      std::lock_guard lock(pool_mu);
      while (!pool.empty()) {
        std::unique_ptr<query::Searcher> searcher = std::move(pool.back());
        pool.pop_back();
        if (&searcher->reader() == current.get()) return searcher;
      }
    }
    return query::Searcher::Create(current);
  }
  void ReleaseSearcher(std::unique_ptr<query::Searcher> searcher) const {
    std::lock_guard lock(pool_mu);
    pool.push_back(std::move(searcher));
  }
};

Result<Document> ParseDocumentJson(std::string_view json, bool numeric_ids) {
  thread_local index::DocumentJsonParser with_numbers(/*numeric_ids=*/true);
  thread_local index::DocumentJsonParser strings_only(/*numeric_ids=*/false);
  index::Document doc;
  std::string problem;
  if (!(numeric_ids ? with_numbers : strings_only).Parse(json, &doc, &problem)) {
    return Status::InvalidArgument(problem);
  }
  return Document{std::move(doc.id), std::move(doc.title), std::move(doc.text)};
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::Open(const std::string& path,
                                           const OpenOptions& options) {
  std::string bad;
  if (options.ram_buffer_mb < 1) bad += " ram_buffer_mb (must be >= 1)";
  if (options.block_cache_mb < 1) bad += " block_cache_mb (must be >= 1)";
  if (options.read_only && options.create_if_missing) {
    bad += " read_only with create_if_missing";
  }
  if (!bad.empty()) return Status::InvalidArgument("bad open options:" + bad);

  index::StoreOptions store_options;
  store_options.create_if_missing = options.create_if_missing;
  store_options.read_only = options.read_only;
  store_options.block_cache_mb = options.block_cache_mb;
  store_options.create_options.analyzer.stemmer = options.analysis.stemmer;
  store_options.create_options.analyzer.stopwords = options.analysis.stopwords;
  store_options.create_options.k1 = options.k1;
  store_options.create_options.b = options.b;

  auto impl = std::make_unique<Impl>();
  CASCADE_ASSIGN_OR_RETURN(impl->store, index::Store::Open(path, store_options));
  if (!options.read_only) {
    index::WriterOptions writer_options;
    writer_options.ram_buffer_bytes = options.ram_buffer_mb << 20;
    writer_options.threads = options.threads;
    CASCADE_ASSIGN_OR_RETURN(impl->writer,
                             index::IndexWriter::Open(impl->store, writer_options));
  }
  CASCADE_RETURN_IF_ERROR(impl->Reopen());
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

Status Index::Add(const Document& doc) {
  return AddBatch({&doc, 1});
}

Status Index::AddBatch(std::span<const Document> docs) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  std::vector<index::Document> converted;
  converted.reserve(docs.size());
  for (const Document& d : docs) converted.push_back({d.id, d.title, d.text});
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->AddBatch(converted);
}

Status Index::Delete(std::string_view id) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Delete(id);
}

Status Index::Commit() {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  {
    std::lock_guard lock(impl_->write_mu);
    CASCADE_RETURN_IF_ERROR(impl_->writer->Commit());
  }
  return impl_->Reopen();
}

Result<SearchResult> Index::Search(std::string_view query,
                                   const SearchOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  auto reader = impl_->Current();
  CASCADE_ASSIGN_OR_RETURN(auto searcher, impl_->AcquireSearcher(reader));
  if (options.offset > query::kMaxK || options.k > query::kMaxK - options.offset) {
    return Status::InvalidArgument("offset + k must be at most " +
                                   std::to_string(query::kMaxK));
  }
  query::SearchParams params;
  params.k = options.k + options.offset;
  params.k1 = options.k1;
  params.b = options.b;
  if (options.k == 0) return Status::InvalidArgument("k must be at least 1");
  auto searched = searcher->Search(query, params);
  impl_->ReleaseSearcher(std::move(searcher));
  CASCADE_ASSIGN_OR_RETURN(query::TopDocs top, std::move(searched));
  SearchResult result;
  result.total_hits = top.total_hits;
  for (size_t i = options.offset; i < top.hits.size(); ++i) {
    CASCADE_ASSIGN_OR_RETURN(index::Document doc,
                             reader->ReadDocument(top.hits[i].doc));
    Hit hit;
    hit.id = std::move(doc.id);
    hit.score = top.hits[i].score;
    hit.title = std::move(doc.title);
    if (options.load_text) hit.text = std::move(doc.text);
    result.hits.push_back(std::move(hit));
  }
  result.took_ms = std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return result;
}

Result<std::optional<Document>> Index::Get(std::string_view id) const {
  auto reader = impl_->Current();
  CASCADE_ASSIGN_OR_RETURN(std::optional<uint32_t> doc, reader->Lookup(id));
  if (!doc) return std::optional<Document>();
  CASCADE_ASSIGN_OR_RETURN(index::Document d, reader->ReadDocument(*doc));
  return std::optional<Document>(Document{d.id, d.title, d.text});
}

IndexStats Index::Stats() const {
  auto reader = impl_->Current();
  const auto& s = reader->stats();
  IndexStats out;
  out.documents = s.live_docs;
  out.deleted_documents = s.deleted_docs;
  out.segments = s.segments;
  out.average_length = s.docs_with_terms
                           ? static_cast<double>(s.sum_lengths) / s.docs_with_terms
                           : 0;
  out.format_version = index::kFormatVersion;
  if (impl_->writer) {
    std::lock_guard lock(impl_->write_mu);
    out.pending_changes = impl_->writer->pending_changes();
  }
  return out;
}

}  // namespace cascade
