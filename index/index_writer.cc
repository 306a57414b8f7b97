#include "index/index_writer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include <rocksdb/write_batch.h>

#include "index/dense/kmeans.h"
#include "index/dense/vector_field.h"
#include "index/document_json.h"
#include "index/field_values.h"
#include "index/index_reader.h"
#include "index/keys.h"
#include "index/positions_codec.h"
#include "index/posting_codec.h"
#include "index/segment_merger.h"
#include "index/segment_sink.h"
#include "rerank/tilde.h"

namespace cascade::index {

namespace {

// Rough per-entry overheads of the in-memory buffer, for the flush trigger.
constexpr size_t kPerDocOverhead = 96;
constexpr size_t kPerTermOverhead = 112;
constexpr size_t kPerPosting = 8;
// Marks an id in Buffer::ids whose document was deleted (no successor yet).
constexpr uint32_t kDeletedInBuffer = UINT32_MAX;

}  // namespace

IndexWriter::IndexWriter(std::shared_ptr<Store> store,
                         const WriterOptions& options)
    : store_(std::move(store)), options_(options) {}

// The analysis threads of AddBatch, started once and parked between
// batches (starting two threads per batch cost about 0.7 ms each here, most
// of it initialising the thread-local storage of the linked libraries).
struct IndexWriter::AnalysisPool {
  std::mutex mu;
  std::condition_variable work_cv;  // a batch, or shutdown
  std::condition_variable done_cv;  // busy reached 0
  uint64_t generation = 0;          // one per batch
  bool shutdown = false;
  size_t busy = 0;                  // threads still in the current batch
  std::function<void(size_t)> job;  // the current batch's work for thread t
  std::vector<std::thread> threads;

  void Run(size_t t) {
    uint64_t seen = 0;
    for (;;) {
      std::function<void(size_t)> work;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return shutdown || generation != seen; });
        if (shutdown) return;
        seen = generation;
        work = job;
      }
      work(t);
      std::lock_guard<std::mutex> lock(mu);
      if (--busy == 0) done_cv.notify_all();
    }
  }
  // Runs job(t) on every thread t and returns when all are done.
  void RunAll(std::function<void(size_t)> work) {
    {
      std::lock_guard<std::mutex> lock(mu);
      job = std::move(work);
      busy = threads.size();
      ++generation;
    }
    work_cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    done_cv.wait(lock, [&] { return busy == 0; });
    job = nullptr;
  }
  ~AnalysisPool() {
    {
      std::lock_guard<std::mutex> lock(mu);
      shutdown = true;
    }
    work_cv.notify_all();
    for (std::thread& t : threads) t.join();
  }
};

IndexWriter::~IndexWriter() {
  pool_threads_.reset();
  store_->ReleaseWriter();
}

Result<std::unique_ptr<IndexWriter>> IndexWriter::Open(
    std::shared_ptr<Store> store, const WriterOptions& options) {
  if (store->read_only()) {
    return Status::InvalidArgument("index is open read-only", store->path());
  }
  if (options.ram_buffer_bytes < (size_t{1} << 20) ||
      options.ram_buffer_bytes > (size_t{4} << 30)) {
    return Status::InvalidArgument("ram_buffer_bytes must be between 1 MiB and 4 GiB");
  }
  if (!store->TryAcquireWriter()) {
    return Status::Unavailable("another writer is open on", store->path());
  }
  std::unique_ptr<IndexWriter> writer(new IndexWriter(store, options));
  unsigned threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  writer->options_.threads = threads;
  writer->positions_ =
      store->options().positions && store->cf(Cf::kPositions) != nullptr;
  for (unsigned i = 0; i < threads; ++i) {
    CASCADE_ASSIGN_OR_RETURN(auto analyzer,
                             Analyzer::Create(store->options().analyzer));
    writer->analyzers_.push_back(std::move(analyzer));
  }
  CASCADE_RETURN_IF_ERROR(writer->LoadCounters());
  // Files staged by a flush that a crash interrupted were never ingested.
  CASCADE_RETURN_IF_ERROR(ClearIngestDir(writer->IngestDir()));
  return writer;
}

Status IndexWriter::LoadCounters() {
  auto* db = store_->db();
  std::string value;
  for (auto [key, out] : {std::pair{kMetaNextDocId, &next_doc_},
                          std::pair{kMetaNextSegmentId, &next_segment_}}) {
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), std::string(key), &value);
    CASCADE_RETURN_IF_ERROR(FromRocks(s, "read " + std::string(key)));
    if (value.size() != 4) return Status::Corruption("bad counter", key);
    *out = DecodeFixed32(value.data());
  }
  CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> scale,
                           store_->GetMeta(kMetaTildeScale));
  if (scale) {
    char* end = nullptr;
    const float v = std::strtof(scale->c_str(), &end);
    if (end == scale->c_str() || !(v > 0) || !std::isfinite(v)) {
      return Status::Corruption("bad TILDE scale", *scale);
    }
    tilde_scale_ = v;
  }
  return Status::OK();
}

Status IndexWriter::Check(const Document& doc) const {
  if (doc.id.empty()) return Status::InvalidArgument("document has an empty id");
  if (doc.title.empty() && doc.text.empty() && doc.texts.empty()) {
    return Status::InvalidArgument(store_->options().fields.text_fields.empty()
                                       ? "empty document: no title or text, id"
                                       : "empty document: no title, text or text field, id",
                                   doc.id);
  }
  if (!doc.tilde_terms.empty() && doc.tilde.empty()) {
    return Status::InvalidArgument(
        "document " + doc.id +
        " has \"tilde\" weights but the index has no TILDE tokenizer to map "
        "them (index with --tilde-model DIR or --tilde-tokenizer DIR)");
  }
  for (const auto& [id, weight] : doc.tilde) {
    if (id < 0 || !std::isfinite(weight) || weight < 0) {
      return Status::InvalidArgument("document " + doc.id +
                                     ": bad TILDE weight for token id " +
                                     std::to_string(id));
    }
  }
  const auto& fields = store_->options().vector_fields;
  for (size_t i = 0; i < doc.vectors.size(); ++i) {
    const auto& [name, values] = doc.vectors[i];
    auto field = std::find_if(fields.begin(), fields.end(),
                              [&](const dense::VectorField& f) { return f.name == name; });
    if (field == fields.end()) {
      return Status::InvalidArgument("document " + doc.id + ": the index has no vector field \"" +
                                     name + "\"" +
                                     (fields.empty() ? " (it was created without vector fields)"
                                                     : ""));
    }
    for (size_t j = 0; j < i; ++j) {
      if (doc.vectors[j].first == name) {
        return Status::InvalidArgument("document " + doc.id + ": vector \"" + name +
                                       "\" given twice");
      }
    }
    CASCADE_RETURN_IF_ERROR(dense::CheckVector(*field, values, doc.id));
  }
  for (const dense::VectorField& field : fields) {
    bool found = false;
    for (const auto& v : doc.vectors) found |= (v.first == field.name);
    if (!found) {
      return Status::InvalidArgument("document " + doc.id + ": missing vector \"" +
                                     field.name + "\" (every document needs one)");
    }
  }
  CASCADE_RETURN_IF_ERROR(CheckFieldValues(store_->options().fields, doc));
  size_t bytes = doc.id.size() + doc.title.size() + doc.text.size();
  for (const auto& [name, values] : doc.keywords) {
    for (const std::string& v : values) bytes += v.size();
  }
  for (const auto& [name, values] : doc.numbers) bytes += 8 * values.size();
  for (const auto& [name, value] : doc.texts) bytes += value.size();
  // Other fields count as the JSON object text they are stored as; an
  // index that drops them neither checks nor counts them.
  if (store_->options().store_extra) {
    CASCADE_RETURN_IF_ERROR(CheckExtraJson(store_->options().fields, doc));
    bytes += doc.extra.size();
  }
  if (bytes > options_.max_document_bytes) {
    return Status::InvalidArgument(
        "document " + doc.id + " has " + std::to_string(bytes) +
        " bytes, over the limit of " + std::to_string(options_.max_document_bytes));
  }
  return Status::OK();
}

void IndexWriter::AnalyzeDocument(Analyzer& analyzer, const Document& doc,
                                  std::vector<std::string>* terms,
                                  std::vector<uint32_t>* positions,
                                  std::vector<uint32_t>* field_lengths) const {
  if (!positions_) {
    analyzer.Analyze(doc.title, terms);
    analyzer.Analyze(doc.text, terms);
  } else {
    analyzer.Analyze(doc.title, terms, positions);
    const size_t title_terms = positions->size();
    const uint32_t base = title_terms == 0 ? 0 : positions->back() + 1;
    analyzer.Analyze(doc.text, terms, positions);
    for (size_t i = title_terms; i < positions->size(); ++i) (*positions)[i] += base;
  }
  field_lengths->clear();
  const std::vector<TextField>& fields = store_->options().fields.text_fields;
  for (size_t f = 0; f < fields.size(); ++f) {
    const size_t begin = terms->size();
    if (positions_) {
      analyzer.Analyze(TextFieldValue(doc, fields[f].name), terms, positions);
    } else {
      analyzer.Analyze(TextFieldValue(doc, fields[f].name), terms);
    }
    const std::string key = FieldTerm(static_cast<uint8_t>(f), "");
    for (size_t i = begin; i < terms->size(); ++i) (*terms)[i].insert(0, key);
    field_lengths->push_back(static_cast<uint32_t>(terms->size() - begin));
  }
}

void IndexWriter::Analyze(Analyzer& analyzer, const Document& doc,
                          AnalyzeScratch& scratch, AnalyzedDoc* out) const {
  out->check = Check(doc);
  if (!out->check.ok()) return;
  scratch.terms.clear();
  scratch.positions.clear();
  AnalyzeDocument(analyzer, doc, &scratch.terms, &scratch.positions, &out->field_lengths);
  const size_t n = scratch.terms.size();
  uint32_t field_terms = 0;
  for (uint32_t length : out->field_lengths) field_terms += length;
  out->length = static_cast<uint32_t>(n) - field_terms;

  // Distinct terms and their frequencies, through a table sized for this
  // document (at most half full).
  size_t capacity = 64;
  while (capacity < 2 * n) capacity <<= 1;
  const size_t mask = capacity - 1;
  constexpr uint32_t kEmpty = UINT32_MAX;
  scratch.slots.assign(capacity, kEmpty);
  scratch.term_of.resize(n);
  out->terms.clear();
  out->distinct.clear();
  for (size_t i = 0; i < n; ++i) {
    const std::string& term = scratch.terms[i];
    const uint64_t hash = HashTerm(term);
    for (size_t j = hash & mask;; j = (j + 1) & mask) {
      uint32_t& slot = scratch.slots[j];
      if (slot == kEmpty) {
        slot = static_cast<uint32_t>(out->distinct.size());
        out->terms.append(term);
        out->distinct.push_back({hash, static_cast<uint32_t>(out->terms.size()), 1});
        scratch.term_of[i] = slot;
        break;
      }
      AnalyzedDoc::Term& t = out->distinct[slot];
      if (t.hash == hash) {
        const uint32_t begin = slot == 0 ? 0 : out->distinct[slot - 1].end;
        if (SameTerm(std::string_view(out->terms).substr(begin, t.end - begin), term)) {
          ++t.tf;
          scratch.term_of[i] = slot;
          break;
        }
      }
    }
  }
  out->positions.clear();
  if (positions_) {
    // Grouped by term; tokens come in position order, so each group is
    // ascending.
    scratch.cursor.resize(out->distinct.size());
    uint32_t offset = 0;
    for (size_t t = 0; t < out->distinct.size(); ++t) {
      scratch.cursor[t] = offset;
      offset += out->distinct[t].tf;
    }
    out->positions.resize(n);
    for (size_t i = 0; i < n; ++i) {
      out->positions[scratch.cursor[scratch.term_of[i]]++] = scratch.positions[i];
    }
  }

  std::string& value = out->record;
  value.clear();
  value.reserve(doc.id.size() + doc.title.size() + doc.text.size() + 16);
  PutVarint32(&value, static_cast<uint32_t>(doc.id.size()));
  value.append(doc.id);
  PutVarint32(&value, static_cast<uint32_t>(doc.title.size()));
  value.append(doc.title);
  PutVarint32(&value, static_cast<uint32_t>(doc.text.size()));
  value.append(doc.text);
  EncodeStoredFields(store_->options().fields, doc, store_->options().store_extra, &value);
}

Status IndexWriter::Add(const Document& doc) {
  Analyze(*analyzers_[0], doc, scratch_, &analyzed_);
  return AddAnalyzed(doc, analyzed_);
}

Status IndexWriter::AddBatch(std::span<const Document> docs) {
  if (analyzers_.size() <= 1 || docs.size() <= 1) {
    for (const Document& doc : docs) CASCADE_RETURN_IF_ERROR(Add(doc));
    return Status::OK();
  }
  if (pool_threads_ == nullptr) {
    pool_threads_ = std::make_unique<AnalysisPool>();
    pool_threads_->threads.reserve(analyzers_.size());
    worker_scratch_.resize(analyzers_.size());
    for (size_t t = 0; t < analyzers_.size(); ++t) {
      pool_threads_->threads.emplace_back([pool = pool_threads_.get(), t] { pool->Run(t); });
    }
  }
  // The workers analyse chunks of the batch, each taking the next chunk not
  // yet taken; this thread adds the chunks to the buffer in document order
  // as soon as each is analysed, so that the serial part (the term
  // dictionary) overlaps the analysis of the chunks after it. The result
  // does not depend on the threads' timing.
  constexpr size_t kChunk = 32;
  const size_t nchunks = (docs.size() + kChunk - 1) / kChunk;
  std::vector<AnalyzedDoc> analysed(docs.size());
  std::vector<uint8_t> ready(nchunks, 0);  // guarded by mu
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<size_t> next_chunk{0};
  std::atomic<bool> stop{false};
  pool_threads_->RunAll([&](size_t t) {
    Analyzer& analyzer = *analyzers_[t];
    AnalyzeScratch& scratch = worker_scratch_[t];
    for (size_t c; !stop.load(std::memory_order_relaxed) &&
                   (c = next_chunk.fetch_add(1)) < nchunks;) {
      const size_t end = std::min(docs.size(), (c + 1) * kChunk);
      for (size_t i = c * kChunk; i < end; ++i) {
        Analyze(analyzer, docs[i], scratch, &analysed[i]);
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ready[c] = 1;
      }
      cv.notify_all();
    }
  });
  Status status;
  for (size_t c = 0; c < nchunks && status.ok(); ++c) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return ready[c] != 0; });
    }
    const size_t end = std::min(docs.size(), (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end && status.ok(); ++i) {
      status = AddAnalyzed(docs[i], analysed[i]);
      analysed[i] = AnalyzedDoc();
    }
  }
  stop.store(true);
  pool_threads_->Wait();
  return status;
}

Status IndexWriter::AddAnalyzed(const Document& doc, AnalyzedDoc& analyzed) {
  CASCADE_RETURN_IF_ERROR(analyzed.check);
  if (next_doc_ == UINT32_MAX) {
    return Status::ResourceExhausted("index is full (2^32 - 1 documents)");
  }
  const uint32_t base = next_doc_ - static_cast<uint32_t>(buffer_.docs.size());
  const auto local = static_cast<uint32_t>(buffer_.docs.size());

  // Replace an earlier document with the same id, buffered or committed.
  std::erase(buffer_.removed_ids, doc.id);  // deleted, then added again
  auto [it, inserted] = buffer_.ids.try_emplace(doc.id, local);
  if (it->second == kDeletedInBuffer) {
    it->second = local;  // its committed predecessor is already deleted
  } else if (!inserted) {
    buffer_.deletes.push_back(base + it->second);
    it->second = local;
    ++stats_.replaced;
  } else {
    std::string value;
    rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(),
                                          store_->cf(Cf::kIds), doc.id, &value);
    if (s.ok()) {
      if (value.size() != 4) return Status::Corruption("bad id entry", doc.id);
      buffer_.deletes.push_back(DecodeFixed32(value.data()));
      ++stats_.replaced;
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "look up id " + doc.id);
    }
  }

  // First the term ids, each probe's slot fetched a few terms ahead; then
  // the appends, each term's stream header fetched 8 terms ahead and its
  // write position 4 ahead. Either way the cache misses of several terms
  // overlap instead of queueing.
  constexpr size_t kAhead = 4;
  const std::span<const AnalyzedDoc::Term> distinct = analyzed.distinct;
  const size_t n = distinct.size();
  term_ids_.resize(n);
  for (size_t i = 0; i < std::min(kAhead, n); ++i) buffer_.terms.Prefetch(distinct[i].hash);
  uint32_t begin = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) buffer_.terms.Prefetch(distinct[i + kAhead].hash);
    const AnalyzedDoc::Term& t = distinct[i];
    const std::string_view term(analyzed.terms.data() + begin, t.end - begin);
    begin = t.end;
    bool added = false;
    term_ids_[i] = buffer_.terms.FindOrAdd(term, t.hash, &added);
    if (added) {
      buffer_.postings.emplace_back();
      buffer_.bytes += kPerTermOverhead + term.size();
    }
  }
  std::vector<TermPostings>& postings = buffer_.postings;
  for (size_t i = 0; i < std::min(2 * kAhead, n); ++i) __builtin_prefetch(&postings[term_ids_[i]]);
  const uint32_t* positions = analyzed.positions.data();
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 * kAhead < n) __builtin_prefetch(&postings[term_ids_[i + 2 * kAhead]]);
    if (i + kAhead < n) {
      const uint32_t* next = pool_.Next(postings[term_ids_[i + kAhead]].doc_tf);
      if (next != nullptr) __builtin_prefetch(next, 1);
    }
    TermPostings& p = postings[term_ids_[i]];
    const uint32_t tf = distinct[i].tf;
    pool_.Append(p.doc_tf, local);
    pool_.Append(p.doc_tf, tf);
    if (positions_) {
      for (uint32_t j = 0; j < tf; ++j) pool_.Append(p.positions, positions[j]);
      positions += tf;
    }
  }
  if (positions_) buffer_.bytes += 4 * analyzed.positions.size();
  buffer_.bytes += kPerDocOverhead + analyzed.record.size() +
                   kPerPosting * distinct.size() + kPerPosting * doc.tilde.size();
  for (const auto& v : doc.vectors) buffer_.bytes += 4 * v.second.size();
  const FieldSchema& schema = store_->options().fields;
  for (const auto& [name, values] : doc.keywords) {
    const char ordinal = static_cast<char>(schema.KeywordOrdinal(name));
    for (const std::string& value : values) {
      std::string key(1, ordinal);
      key.append(value);
      auto [list, added] = buffer_.keywords.try_emplace(std::move(key));
      if (added) buffer_.bytes += kPerTermOverhead + value.size();
      // A value given twice by one document is indexed once.
      if (list->second.empty() || list->second.back() != local) {
        list->second.push_back(local);
        buffer_.bytes += kPerPosting;
      }
    }
  }
  for (const auto& [name, values] : doc.numbers) {
    const auto ordinal = static_cast<char>(schema.NumericOrdinal(name));
    for (double value : values) {
      std::string key(1, ordinal);
      PutSortableDouble(&key, value);
      PutFixed32BE(&key, local);
      buffer_.bytes += kPerPosting + key.size() + sizeof(std::string);
      buffer_.numerics.push_back(std::move(key));
    }
  }
  stats_.terms += distinct.size();
  buffer_.docs.push_back({std::move(analyzed.record), analyzed.length,
                          std::move(analyzed.field_lengths), doc.tilde, doc.vectors});
  ++next_doc_;
  ++stats_.added;
  if (buffer_.bytes >= options_.ram_buffer_bytes) return Flush();
  return Status::OK();
}

Status IndexWriter::Delete(std::string_view id) {
  const uint32_t base = next_doc_ - static_cast<uint32_t>(buffer_.docs.size());
  auto it = buffer_.ids.find(std::string(id));
  if (it != buffer_.ids.end()) {
    if (it->second == kDeletedInBuffer) {
      return Status::NotFound("no document with id", id);
    }
    buffer_.deletes.push_back(base + it->second);
    it->second = kDeletedInBuffer;
    buffer_.removed_ids.emplace_back(id);
    ++stats_.deleted;
    return Status::OK();
  }
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Cf::kIds), id, &value);
  if (s.IsNotFound()) return Status::NotFound("no document with id", id);
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "look up id " + std::string(id)));
  if (value.size() != 4) return Status::Corruption("bad id entry", id);
  buffer_.deletes.push_back(DecodeFixed32(value.data()));
  buffer_.ids.emplace(std::string(id), kDeletedInBuffer);
  buffer_.removed_ids.emplace_back(id);
  ++stats_.deleted;
  return Status::OK();
}

Result<bool> IndexWriter::Contains(std::string_view id) const {
  auto it = buffer_.ids.find(std::string(id));
  if (it != buffer_.ids.end()) return it->second != kDeletedInBuffer;
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Cf::kIds), id, &value);
  if (s.IsNotFound()) return false;
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "look up id " + std::string(id)));
  return true;
}

Status IndexWriter::Flush() {
  if (buffer_.docs.empty() && buffer_.deletes.empty()) return Status::OK();
  const uint32_t count = static_cast<uint32_t>(buffer_.docs.size());
  const uint32_t base = next_doc_ - count;
  const uint32_t segment = next_segment_;
  rocksdb::DB* db = store_->db();
  const bool ingest = count > 0 && buffer_.bytes >= options_.ingest_min_bytes;
  std::unique_ptr<SegmentSink> sink;
  if (ingest) {
    IngestSinkOptions o;
    o.dir = IngestDir();
    for (Cf cf : {Cf::kPostings, Cf::kPositions, Cf::kSegments, Cf::kDocs, Cf::kTilde,
                  Cf::kVectors}) {
      if (store_->cf(cf) != nullptr) o.sorted.push_back(store_->cf(cf));
    }
    o.cfs = o.sorted;
    for (Cf cf : {Cf::kIds, Cf::kDeletes, Cf::kKeywords, Cf::kNumerics, Cf::kIvf}) {
      if (store_->cf(cf) != nullptr) o.cfs.push_back(store_->cf(cf));
    }
    o.cfs.push_back(db->DefaultColumnFamily());
    CASCADE_ASSIGN_OR_RETURN(sink, NewIngestSink(db, o));
  } else {
    // Sized up front: growing a batch by doubling copies it over and over.
    sink = NewBatchSink(db, buffer_.bytes + (size_t{1} << 20));
  }

  // The stored records, on a thread of their own when ingesting (each
  // column family of an ingest sink may be fed by its own thread): their
  // table is compressed as it is written.
  Status docs_status;
  auto put_docs = [&] {
    for (uint32_t i = 0; i < count && docs_status.ok(); ++i) {
      docs_status = sink->Put(store_->cf(Cf::kDocs), DocKey(base + i), buffer_.docs[i].record);
    }
  };
  std::thread docs_thread;
  if (ingest) {
    docs_thread = std::thread(put_docs);
  }
  Status status = FlushPostings(segment, sink.get());
  if (ingest) {
    docs_thread.join();
  } else if (status.ok()) {
    put_docs();
  }
  CASCADE_RETURN_IF_ERROR(status);
  CASCADE_RETURN_IF_ERROR(docs_status);

  std::string value;
  if (count > 0) {
    PutFixed32(&value, base);
    PutFixed32(&value, count);
    for (const BufferedDoc& d : buffer_.docs) PutFixed32(&value, d.length);
    const size_t nfields = store_->options().fields.text_fields.size();
    for (size_t f = 0; f < nfields; ++f) {
      for (const BufferedDoc& d : buffer_.docs) PutFixed32(&value, d.field_lengths[f]);
    }
    CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kSegments), SegmentKey(segment), value));
  }
  CASCADE_RETURN_IF_ERROR(FlushFields(segment, sink.get()));
  CASCADE_RETURN_IF_ERROR(FlushTilde(base, sink.get()));
  CASCADE_RETURN_IF_ERROR(FlushVectors(base, sink.get()));
  for (const auto& [id, local] : buffer_.ids) {
    if (local == kDeletedInBuffer) continue;
    value.clear();
    PutFixed32(&value, base + local);
    CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kIds), id, value));
  }
  for (uint32_t doc : buffer_.deletes) {
    CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kDeletes), DocKey(doc), ""));
  }
  for (const std::string& id : buffer_.removed_ids) {
    CASCADE_RETURN_IF_ERROR(sink->Delete(store_->cf(Cf::kIds), id));
  }
  value.clear();
  PutFixed32(&value, next_doc_);
  CASCADE_RETURN_IF_ERROR(sink->Put(db->DefaultColumnFamily(), kMetaNextDocId, value));
  value.clear();
  const uint32_t next_segment = count > 0 ? segment + 1 : segment;
  PutFixed32(&value, next_segment);
  CASCADE_RETURN_IF_ERROR(sink->Put(db->DefaultColumnFamily(), kMetaNextSegmentId, value));

  CASCADE_RETURN_IF_ERROR(sink->Commit());
  next_segment_ = next_segment;
  if (count > 0) ++stats_.segments;
  if (ingest) ++stats_.ingested_segments;
  buffer_ = Buffer();
  pool_.Clear();
  return Status::OK();
}

Status IndexWriter::FlushPostings(uint32_t segment, SegmentSink* sink) {
  const auto count = static_cast<uint32_t>(buffer_.docs.size());
  // Terms in byte order: by their first 8 bytes as a big-endian number,
  // then, among equal prefixes, by the whole term.
  struct Ordered {
    uint64_t prefix;
    uint32_t id;
  };
  std::vector<Ordered> order(buffer_.terms.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    const std::string_view term = buffer_.terms.term(i);
    uint64_t prefix = 0;
    for (size_t b = 0; b < 8; ++b) {
      prefix = (prefix << 8) | (b < term.size() ? static_cast<uint8_t>(term[b]) : 0);
    }
    order[i] = {prefix, i};
  }
  std::sort(order.begin(), order.end(), [&](const Ordered& a, const Ordered& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return buffer_.terms.term(a.id) < buffer_.terms.term(b.id);
  });
  // Document lengths by local doc id, for the postings' block-max metadata:
  // contents' first, then each text field's.
  const size_t nfields = store_->options().fields.text_fields.size();
  std::vector<std::vector<uint32_t>> lengths(1 + nfields, std::vector<uint32_t>(count));
  for (uint32_t i = 0; i < count; ++i) {
    lengths[0][i] = buffer_.docs[i].length;
    for (size_t f = 0; f < nfields; ++f) lengths[1 + f][i] = buffer_.docs[i].field_lengths[f];
  }
  std::string key, value;
  std::vector<uint32_t> pairs, docs, tfs, term_positions;
  for (const auto [prefix, id] : order) {
    const TermPostings& p = buffer_.postings[id];
    key = PostingKey(segment, buffer_.terms.term(id));
    pairs.clear();
    pool_.Read(p.doc_tf, &pairs);
    docs.resize(pairs.size() / 2);
    tfs.resize(pairs.size() / 2);
    for (size_t i = 0; i < docs.size(); ++i) {
      docs[i] = pairs[2 * i];
      tfs[i] = pairs[2 * i + 1];
    }
    value.clear();
    // A field term's lengths are its field's (FieldOfTerm: -1 for contents).
    EncodePostings(docs, tfs, lengths[1 + FieldOfTerm(buffer_.terms.term(id))], &value);
    CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kPostings), key, value));
    if (positions_) {
      term_positions.clear();
      pool_.Read(p.positions, &term_positions);
      value.clear();
      EncodePositions(tfs, term_positions, &value);
      CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kPositions), key, value));
    }
  }
  return Status::OK();
}

std::string IndexWriter::IngestDir() const {
  return store_->path() + "/ingest";
}

Status IndexWriter::FlushFields(uint32_t segment, SegmentSink* sink) {
  if (buffer_.keywords.empty() && buffer_.numerics.empty()) return Status::OK();
  rocksdb::ColumnFamilyHandle* keywords = store_->cf(Cf::kKeywords);
  rocksdb::ColumnFamilyHandle* numerics = store_->cf(Cf::kNumerics);
  if (keywords == nullptr || numerics == nullptr) {
    return Status::Internal("index has no keywords or numerics column family");
  }
  const std::string prefix = SegmentKey(segment);
  std::string key, value;
  for (const auto& [suffix, docs] : buffer_.keywords) {
    key.assign(prefix).append(suffix);
    value.clear();
    EncodeDocList(docs, &value);
    CASCADE_RETURN_IF_ERROR(sink->Put(keywords, key, value));
  }
  for (const std::string& suffix : buffer_.numerics) {
    key.assign(prefix).append(suffix);
    CASCADE_RETURN_IF_ERROR(sink->Put(numerics, key, {}));
  }
  return Status::OK();
}

Status IndexWriter::FlushTilde(uint32_t base, SegmentSink* sink) {
  float max_weight = 0;
  bool any = false;
  for (const BufferedDoc& d : buffer_.docs) {
    for (const auto& [id, weight] : d.tilde) max_weight = std::max(max_weight, weight);
    any |= !d.tilde.empty();
  }
  if (!any) return Status::OK();
  if (store_->cf(Cf::kTilde) == nullptr) {
    return Status::Internal("index has no TILDE column family");
  }
  if (!tilde_scale_) {
    // The first segment with weights fixes the scale: its largest weight
    // gets code 255; larger weights in later segments saturate there.
    tilde_scale_ = max_weight > 0 ? max_weight / 255.0f : 1.0f / 255.0f;
    char text[32];
    std::snprintf(text, sizeof(text), "%.9g", *tilde_scale_);
    CASCADE_RETURN_IF_ERROR(
        sink->Put(store_->db()->DefaultColumnFamily(), kMetaTildeScale, text));
  }
  const rerank::TildeQuantizer quantizer(*tilde_scale_);
  const float saturation = 255.5f * *tilde_scale_;
  rerank::TermWeights weights;
  std::vector<std::pair<int32_t, float>> sorted;
  std::string value;
  for (uint32_t i = 0; i < buffer_.docs.size(); ++i) {
    const BufferedDoc& doc = buffer_.docs[i];
    if (doc.tilde.empty()) continue;
    sorted.assign(doc.tilde.begin(), doc.tilde.end());
    std::sort(sorted.begin(), sorted.end());
    weights.ids.clear();
    weights.codes.clear();
    for (size_t j = 0; j < sorted.size(); ++j) {
      // A repeated id keeps its largest weight (the last, once sorted).
      if (j + 1 < sorted.size() && sorted[j + 1].first == sorted[j].first) continue;
      const uint8_t code = quantizer.Quantize(sorted[j].second);
      if (sorted[j].second >= saturation) ++stats_.tilde_saturated;
      if (code == 0) continue;
      weights.ids.push_back(sorted[j].first);
      weights.codes.push_back(code);
    }
    value.clear();
    rerank::EncodeTermWeights(weights, &value);
    CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kTilde), DocKey(base + i), value));
    ++stats_.tilde_documents;
  }
  return Status::OK();
}

Status IndexWriter::FlushVectors(uint32_t base, SegmentSink* sink) {
  const auto& fields = store_->options().vector_fields;
  if (fields.empty() || buffer_.docs.empty()) return Status::OK();
  if (store_->cf(Cf::kVectors) == nullptr || store_->cf(Cf::kIvf) == nullptr) {
    return Status::Internal("index has no vectors column family");
  }
  std::string value;
  std::vector<float> unit;
  for (size_t f = 0; f < fields.size(); ++f) {
    const dense::VectorField& field = fields[f];
    // Centroids are read at each flush: training (dense/vector_store.h) may
    // have replaced them since the last one.
    CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> meta,
                             store_->GetMeta(std::string(kMetaIvfCentroidsPrefix) + field.name));
    std::vector<float> centroids;
    if (meta) {
      CASCADE_ASSIGN_OR_RETURN(centroids, dense::DecodeCentroids(field, *meta));
    }
    const size_t nlist = centroids.size() / field.dim;
    for (uint32_t i = 0; i < buffer_.docs.size(); ++i) {
      for (const auto& [name, values] : buffer_.docs[i].vectors) {
        if (name != field.name) continue;
        value.clear();
        dense::EncodeVector(field, values, &value);
        CASCADE_RETURN_IF_ERROR(
            sink->Put(store_->cf(Cf::kVectors), VectorKey(static_cast<uint8_t>(f), base + i), value));
        ++stats_.vectors;
        if (nlist == 0) continue;
        // The list of the vector as readers decode it (storage precision).
        unit.resize(field.dim);
        CASCADE_RETURN_IF_ERROR(dense::DecodeVector(field, value, unit.data()));
        if (field.metric == dense::Metric::kCosine) dense::Normalize(unit.data(), field.dim);
        uint32_t list = 0;
        dense::AssignNearest(unit.data(), 1, centroids.data(), nlist, field.dim, field.metric,
                             1, &list);
        std::string key = IvfListPrefix(static_cast<uint8_t>(f), list);
        PutFixed32BE(&key, base + i);
        CASCADE_RETURN_IF_ERROR(sink->Put(store_->cf(Cf::kIvf), key, ""));
      }
    }
  }
  return Status::OK();
}

Status IndexWriter::Commit() {
  CASCADE_RETURN_IF_ERROR(Flush());
  return FromRocks(store_->db()->FlushWAL(/*sync=*/true), "sync index");
}

template <typename Plan>
Status IndexWriter::RunMerges(Plan plan) {
  CASCADE_RETURN_IF_ERROR(Flush());
  // Each round plans over a fresh view; its merges are disjoint, so each
  // reads only records no earlier merge of the round wrote. A policy
  // settles in a few rounds; the cap guards against one that never does.
  constexpr int kMaxRounds = 64;
  for (int round = 0; round < kMaxRounds; ++round) {
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<IndexReader> reader, IndexReader::Open(store_));
    const std::vector<std::vector<uint32_t>> merges = PlanMerges(*reader, plan);
    if (merges.empty()) return Status::OK();
    for (const std::vector<uint32_t>& ids : merges) {
      CASCADE_ASSIGN_OR_RETURN(MergeResult merged, MergeSegments(*store_, *reader, ids));
      ++stats_.merges;
      stats_.merged_segments += merged.segments;
      stats_.reclaimed += merged.reclaimed;
    }
  }
  return Status::OK();
}

Status IndexWriter::MaybeMerge(const TieredMergeOptions& options) {
  CASCADE_RETURN_IF_ERROR(ValidateTieredMergeOptions(options));
  return RunMerges([&](std::span<const SegmentSize> sizes) {
    return FindTieredMerges(sizes, options);
  });
}

Status IndexWriter::ApplyMerge(PreparedMerge& merge) {
  CASCADE_ASSIGN_OR_RETURN(MergeResult merged, CommitMerge(*store_, merge));
  if (merge.empty()) return Status::OK();
  // A buffered delete names a document live when it was buffered, so none
  // is gone; the erase only guards that.
  for (uint32_t& doc : buffer_.deletes) doc = merge.NewId(doc);
  std::erase(buffer_.deletes, PreparedMerge::kGone);
  ++stats_.merges;
  stats_.merged_segments += merged.segments;
  stats_.reclaimed += merged.reclaimed;
  return Status::OK();
}

Status IndexWriter::ForceMerge(size_t max_segments) {
  if (max_segments == 0) return Status::InvalidArgument("max_segments must be at least 1");
  return RunMerges([&](std::span<const SegmentSize> sizes) {
    return FindForcedMerges(sizes, max_segments);
  });
}

}  // namespace cascade::index
