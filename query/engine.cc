// The embedded library (include/cascade/engine.h) over index/ and query/.
#include "cascade/engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "index/dense/vector_field.h"
#include "index/document_json.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/merge_policy.h"
#include "index/segment_merger.h"
#include "index/store.h"
#include "query/cascade_spec.h"
#include "query/dense_search.h"
#include "query/engine_internal.h"
#include "query/query_parser.h"
#include "query/searcher.h"
#include "query/snippet.h"
#include "query/tilde_index.h"
#include "rerank/batch_queue.h"
#include "rerank/neural_model.h"
#include "rerank/pipeline.h"
#include "rerank/tilde_query.h"

namespace cascade {

namespace {

// Starts `thread` running `body`; Internal naming `what` when it cannot.
template <typename Body>
Status StartThread(std::thread& thread, const char* what, Body body) {
  try {
    thread = std::thread(std::move(body));
  } catch (const std::system_error& e) {
    return Status::Internal(std::string("cannot start the ") + what + " thread", e.what());
  }
  return Status::OK();
}

// Sets `stop` under `mu`, wakes `cv`'s waiters and joins `thread` (nothing
// when it never started).
void StopThread(std::thread& thread, std::mutex& mu, bool& stop, std::condition_variable& cv) {
  if (!thread.joinable()) return;
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  thread.join();
}

}  // namespace

struct Index::Impl {
  std::shared_ptr<index::Store> store;
  std::unique_ptr<index::IndexWriter> writer;  // null when read-only
  std::mutex write_mu;                         // serialises writer use
  mutable std::shared_mutex reader_mu;         // guards `reader`
  std::shared_ptr<const index::IndexReader> reader;

  // Reranking. The TILDE tokenizer is the index's (loaded when the index
  // gets one); models are loaded once at Open.
  std::unique_ptr<rerank::NeuralModel> tilde_model;   // weigher, for adds
  // The cross-encoder behind a queue that merges concurrent searches'
  // pairs; owned here (OpenOptions) or attached by the HTTP server.
  std::shared_ptr<rerank::BatchQueue> ce_queue;
  std::shared_ptr<const rerank::WordPieceTokenizer> tilde_tokenizer;
  std::shared_ptr<const rerank::TildeQueryEncoder> tilde_encoder;
  std::string default_cascade;                        // guarded by reader_mu
  bool tilde_in_memory = false;                       // OpenOptions
  bool merge_on_commit = false;                       // OpenOptions::merge
  index::TieredMergeOptions merge_policy;
  // One merger at a time: the merge thread, MaybeMerge, ForceMerge. Taken
  // before write_mu, never while holding it.
  std::mutex merge_mu;

  // Changes made through the writer, counted under write_mu, and how many
  // of them the current view shows. They differ after an add or delete,
  // including ones already flushed to a segment (a full RAM buffer,
  // DeleteByQuery) that pending_changes() no longer counts, and after a
  // commit whose Reopen failed.
  uint64_t changes = 0;          // guarded by write_mu
  uint64_t visible_changes = 0;  // guarded by write_mu
  // A background merge was written since the last commit: the next
  // refresh reopens even without changes, to show it. Guarded by write_mu.
  bool merged_unseen = false;
  // IndexInternals::TEST_FailNextBackgroundCommit; guarded by write_mu.
  Status TEST_background_fault;
  // Serialises Reopen, so that views are swapped in the order they were
  // opened and a slow Reopen never replaces a newer view with an older one
  // (Commit and the refresh thread may both reopen). Never held while
  // taking write_mu.
  std::mutex reopen_mu;

  // OpenOptions::refresh_interval_ms: a thread that commits every interval.
  std::mutex refresh_mu;              // guards stop_refresh, background_error
  std::condition_variable refresh_cv;
  bool stop_refresh = false;
  Status background_error;            // the last failed background commit
  std::thread refresher;              // not joinable when off

  // OpenOptions::merge.background: a thread that runs the tiered policy
  // after each commit, beside the writer. Each merge is prepared from a
  // snapshot without write_mu, then written under it (ApplyMerge carries
  // over the deletes made meanwhile); searches see it after the next
  // refresh (Commit or a refresh tick).
  std::mutex merge_state_mu;  // guards the four below
  std::condition_variable merge_cv;
  bool merge_requested = false;
  bool merge_running = false;
  bool stop_merges = false;
  // IndexInternals::TEST_BeforeMergeCommit; set before any merge runs.
  std::function<void()> TEST_before_merge_commit;
  std::thread merger;  // not joinable when off

  ~Impl() {
    StopRefresh();
    StopMerges();
  }

  Status StartMerges() {
    return StartThread(merger, "merge", [this] { MergeLoop(); });
  }
  // Lets the merge in progress finish (a prepared one not yet written is
  // dropped) and joins the thread.
  void StopMerges() { StopThread(merger, merge_state_mu, stop_merges, merge_cv); }
  void RequestMerges() {
    if (!merger.joinable()) return;
    {
      std::lock_guard lock(merge_state_mu);
      merge_requested = true;
    }
    merge_cv.notify_all();
  }
  bool StoppingMerges() {
    std::lock_guard lock(merge_state_mu);
    return stop_merges;
  }
  void MergeLoop() {
    std::unique_lock lock(merge_state_mu);
    while (true) {
      merge_cv.wait(lock, [this] { return stop_merges || merge_requested; });
      if (stop_merges) break;
      merge_requested = false;
      merge_running = true;
      lock.unlock();
      Status merged = RunBackgroundMerges();
      if (!merged.ok()) {
        std::lock_guard error_lock(refresh_mu);
        background_error = std::move(merged);  // reported by the next Commit
      }
      lock.lock();
      merge_running = false;
      merge_cv.notify_all();
    }
    merge_running = false;
    merge_cv.notify_all();
  }
  // Rounds of the tiered policy over a fresh snapshot, as
  // IndexWriter::MaybeMerge runs them, until it picks nothing.
  Status RunBackgroundMerges() {
    std::lock_guard merging(merge_mu);
    constexpr int kMaxRounds = 64;
    for (int round = 0; round < kMaxRounds && !StoppingMerges(); ++round) {
      CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<index::IndexReader> view,
                               index::IndexReader::Open(store));
      const std::vector<std::vector<uint32_t>> merges = index::PlanMerges(
          *view, [this](std::span<const index::SegmentSize> sizes) {
            return index::FindTieredMerges(sizes, merge_policy);
          });
      if (merges.empty()) return Status::OK();
      for (const std::vector<uint32_t>& ids : merges) {
        if (StoppingMerges()) return Status::OK();
        CASCADE_ASSIGN_OR_RETURN(index::PreparedMerge merge,
                                 index::PrepareMerge(*store, *view, ids));
        std::function<void()> hook;
        {
          std::lock_guard state(merge_state_mu);
          hook = TEST_before_merge_commit;
        }
        if (hook) hook();
        std::lock_guard lock(write_mu);
        CASCADE_RETURN_IF_ERROR(writer->ApplyMerge(merge));
        merged_unseen = merged_unseen || !merge.empty();
      }
    }
    return Status::OK();
  }
  // Waits until the merge thread has nothing left to do.
  void WaitForMerges() {
    std::unique_lock lock(merge_state_mu);
    merge_cv.wait(lock, [this] {
      return !merger.joinable() || stop_merges || (!merge_requested && !merge_running);
    });
  }

  Status StartRefresh(std::chrono::milliseconds interval) {
    return StartThread(refresher, "refresh", [this, interval] { RefreshLoop(interval); });
  }
  // Wakes the refresh thread and waits for it: at once when it is waiting,
  // else after the commit it is running. Changes not yet committed stay
  // uncommitted.
  void StopRefresh() { StopThread(refresher, refresh_mu, stop_refresh, refresh_cv); }
  void RefreshLoop(std::chrono::milliseconds interval) {
    std::unique_lock lock(refresh_mu);
    // The interval runs from the end of one tick to the start of the next.
    while (!refresh_cv.wait_for(lock, interval, [this] { return stop_refresh; })) {
      lock.unlock();
      Status committed = CommitAndReopen(/*only_if_changed=*/true, [this] {
        return merge_on_commit ? writer->MaybeMerge(merge_policy) : Status::OK();
      });
      lock.lock();
      // Kept for the next Commit(); the next tick tries again meanwhile.
      if (!committed.ok()) background_error = std::move(committed);
    }
  }
  // The failed background commit not yet reported, cleared.
  Status TakeBackgroundError() {
    std::lock_guard lock(refresh_mu);
    Status error = std::move(background_error);
    background_error = Status::OK();
    return error;
  }

  // Commits the writer (durable), runs `merge` (its error is returned
  // after the reopen; the commit stands) and makes the result visible.
  // With only_if_changed, does nothing when the view already shows every
  // change.
  template <typename Merge>
  Status CommitAndReopen(bool only_if_changed, Merge merge) {
    Status merged;
    uint64_t committed = 0;
    {
      std::lock_guard lock(write_mu);
      if (only_if_changed) {
        if (changes == visible_changes && writer->pending_changes() == 0 && !merged_unseen) {
          return Status::OK();
        }
        if (!TEST_background_fault.ok()) return std::exchange(TEST_background_fault, Status());
      }
      CASCADE_RETURN_IF_ERROR(writer->Commit());
      committed = changes;
      merged_unseen = false;
      merged = merge();
    }
    RequestMerges();
    CASCADE_RETURN_IF_ERROR(Reopen());
    {
      std::lock_guard lock(write_mu);
      visible_changes = std::max(visible_changes, committed);
    }
    return merged;
  }

  Status Reopen() {
    std::lock_guard reopening(reopen_mu);
    CASCADE_ASSIGN_OR_RETURN(auto fresh, index::IndexReader::Open(store, tilde_in_memory));
    std::shared_ptr<const rerank::WordPieceTokenizer> tokenizer;
    std::shared_ptr<const rerank::TildeQueryEncoder> encoder;
    {
      std::shared_lock lock(reader_mu);
      tokenizer = tilde_tokenizer;
      encoder = tilde_encoder;
    }
    if (!tokenizer) {
      CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<rerank::WordPieceTokenizer> loaded,
                               query::LoadTildeTokenizer(*store));
      if (loaded) {
        tokenizer = std::move(loaded);
        encoder = std::make_shared<rerank::TildeQueryEncoder>(tokenizer.get());
      }
    }
    CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> spec,
                             store->GetMeta(index::kMetaDefaultCascade));
    std::unique_lock lock(reader_mu);
    reader = std::move(fresh);
    tilde_tokenizer = std::move(tokenizer);
    tilde_encoder = std::move(encoder);
    default_cascade = spec.value_or("");
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
  // Vector fields' in-memory indexes for dense and hybrid searches.
  mutable query::DenseCache dense_cache;
  // OpenOptions::embedding_model: embeds the query text of dense and hybrid
  // searches that bring no vector. A NeuralModel runs one call at a time,
  // hence the mutex; `embedder.embed` is empty without a model.
  std::unique_ptr<rerank::NeuralModel> embedding_model;
  std::mutex embed_mu;
  query::QueryEmbedder embedder;

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

  Status OpenModels(const OpenOptions& options) {
    rerank::ModelOptions model_options;
    CASCADE_ASSIGN_OR_RETURN(model_options.device, rerank::ParseDevice(options.device));
    model_options.threads = options.model_threads;
    if (!options.default_cascade.empty()) {
      CASCADE_RETURN_IF_ERROR(query::ParseCascadeSpec(options.default_cascade).status());
      CASCADE_RETURN_IF_ERROR(
          store->PutMeta(index::kMetaDefaultCascade, options.default_cascade));
    }
    if (!options.cross_encoder_model.empty()) {
      CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<rerank::NeuralModel> model,
                               rerank::NeuralModel::Open(options.cross_encoder_model,
                                                         model_options));
      if (model->config().kind != gpu::ModelKind::kCrossEncoder) {
        return Status::InvalidArgument(
            "cross_encoder_model " + options.cross_encoder_model + " is a " +
            std::string(gpu::ModelKindName(model->config().kind)) +
            ", not a cross-encoder");
      }
      // The queue keeps a raw pointer to the model: both live in one holder,
      // the queue destroyed first.
      struct Holder {
        std::unique_ptr<rerank::NeuralModel> model;
        std::unique_ptr<rerank::BatchQueue> queue;
      };
      auto holder = std::make_shared<Holder>();
      holder->model = std::move(model);
      holder->queue = std::make_unique<rerank::BatchQueue>(holder->model.get(),
                                                           rerank::BatchQueueOptions());
      ce_queue = std::shared_ptr<rerank::BatchQueue>(holder, holder->queue.get());
    }
    std::string tokenizer_dir = options.tilde_tokenizer;
    if (!options.tilde_model.empty()) {
      if (store->read_only()) {
        return Status::InvalidArgument("tilde_model needs an index open for writing");
      }
      CASCADE_ASSIGN_OR_RETURN(tilde_model, rerank::NeuralModel::Open(
                                                options.tilde_model, model_options));
      if (tilde_model->config().kind != gpu::ModelKind::kTokenWeigher) {
        return Status::InvalidArgument(
            "tilde_model " + options.tilde_model + " is a " +
            std::string(gpu::ModelKindName(tilde_model->config().kind)) +
            ", not a TILDEv2 token weigher");
      }
      tokenizer_dir = options.tilde_model;
    }
    if (!options.embedding_model.empty()) {
      CASCADE_ASSIGN_OR_RETURN(embedding_model, rerank::NeuralModel::Open(
                                                    options.embedding_model, model_options));
      if (embedding_model->config().kind != gpu::ModelKind::kBiEncoder) {
        return Status::InvalidArgument(
            "embedding_model " + options.embedding_model + " is a " +
            std::string(gpu::ModelKindName(embedding_model->config().kind)) +
            ", not a bi-encoder");
      }
      embedder.name = options.embedding_model;
      embedder.embed = [this](std::string_view text) -> Result<std::vector<float>> {
        const std::string texts[1] = {std::string(text)};
        std::lock_guard lock(embed_mu);
        CASCADE_ASSIGN_OR_RETURN(std::vector<std::vector<float>> embeddings,
                                 embedding_model->Embed(texts));
        if (embeddings.size() != 1) {
          return Status::Internal("embedding model returned " +
                                  std::to_string(embeddings.size()) + " vectors for 1 text");
        }
        return std::move(embeddings[0]);
      };
    }
    if (!tokenizer_dir.empty()) {
      if (store->read_only()) {
        return Status::InvalidArgument("tilde_tokenizer needs an index open for writing");
      }
      CASCADE_ASSIGN_OR_RETURN(rerank::TokenizerFiles files,
                               rerank::ReadTokenizerFiles(tokenizer_dir));
      CASCADE_RETURN_IF_ERROR(query::AttachTildeTokenizer(*store, files, tokenizer_dir));
    }
    return Status::OK();
  }

  // The models a search's reranking stages use.
  static rerank::RerankModels Models(const index::IndexReader& current,
                                     const rerank::TildeQueryEncoder* encoder,
                                     const std::shared_ptr<rerank::BatchQueue>& ce_queue) {
    rerank::RerankModels models;
    models.tilde = encoder;
    if (auto scale = current.tilde_scale()) {
      models.tilde_quantizer = rerank::TildeQuantizer(*scale);
    }
    if (ce_queue) {
      models.ce_tokenizer = &ce_queue->model().tokenizer();
      models.ce_max_length = ce_queue->model().max_length();
      std::shared_ptr<rerank::BatchQueue> queue = ce_queue;
      models.ce_run = [queue](gpu::PairBatch batch) { return queue->Run(std::move(batch)); };
    }
    return models;
  }
};

namespace {

// OpenOptions::refresh_interval_ms's upper bound, a day: longer is surely a
// mistake (seconds for milliseconds), and wait_for's deadline cannot
// overflow.
constexpr int64_t kMaxRefreshIntervalMs = 86'400'000;

// The words of a parsed query's term, phrase and prefix leaves outside
// prohibited clauses, space-separated: the text rerankers score.
void AppendPositiveText(const query::QueryNode& node, const index::FieldSchema& fields,
                        std::string* out) {
  switch (node.kind) {
    case query::QueryKind::kTerm:
    case query::QueryKind::kPhrase:
    case query::QueryKind::kPrefix:
      // Keyword and numeric filters are not words of the passage.
      if (fields.KeywordOrdinal(node.field) >= 0 || fields.NumericOrdinal(node.field) >= 0) {
        break;
      }
      if (!out->empty()) out->push_back(' ');
      out->append(node.text);
      break;
    case query::QueryKind::kBoolean:
      for (const query::QueryClause& clause : node.clauses) {
        if (clause.occur != query::Occur::kMustNot) {
          AppendPositiveText(*clause.query, fields, out);
        }
      }
      break;
    case query::QueryKind::kRange:
    case query::QueryKind::kMatchAll:
      break;
  }
}

std::string PositiveText(const query::QueryNode& node, const index::FieldSchema& fields) {
  std::string out;
  AppendPositiveText(node, fields, &out);
  return out;
}

// The index as the reranking stages read it.
class ReaderSource : public rerank::CandidateSource {
 public:
  explicit ReaderSource(const index::IndexReader* reader) : reader_(reader) {}
  Status ReadTermWeights(std::span<const uint32_t> docs,
                     std::vector<std::optional<std::string>>* out) override {
    return reader_->ReadTermWeights(docs, out);
  }
  Result<std::string> Passage(uint32_t doc) override {
    CASCADE_ASSIGN_OR_RETURN(index::Document d, reader_->ReadDocument(doc));
    if (d.title.empty()) return std::move(d.text);
    if (d.text.empty()) return std::move(d.title);
    return d.title + " " + d.text;
  }

 private:
  const index::IndexReader* reader_;
};

}  // namespace

Result<Document> ParseDocumentJson(std::string_view json, bool numeric_ids,
                                   std::span<const std::string> keyword_fields,
                                   std::span<const std::string> numeric_fields,
                                   std::span<const std::string> text_fields) {
  thread_local index::DocumentJsonParser with_numbers(/*numeric_ids=*/true);
  thread_local index::DocumentJsonParser strings_only(/*numeric_ids=*/false);
  index::DocumentJsonParser& parser = numeric_ids ? with_numbers : strings_only;
  index::FieldSchema schema;
  schema.keyword_fields.assign(keyword_fields.begin(), keyword_fields.end());
  schema.numeric_fields.assign(numeric_fields.begin(), numeric_fields.end());
  for (const std::string& name : text_fields) schema.text_fields.push_back({name, 1});
  parser.SetFields(schema);
  index::Document doc;
  std::string problem;
  if (!parser.Parse(json, &doc, &problem)) {
    return Status::InvalidArgument(problem);
  }
  Document out{std::move(doc.id), std::move(doc.title), std::move(doc.text), {}, {}};
  out.tilde = std::move(doc.tilde_terms);
  out.vectors = std::move(doc.vectors);
  out.keywords = std::move(doc.keywords);
  out.numbers = std::move(doc.numbers);
  out.texts = std::move(doc.texts);
  CASCADE_RETURN_IF_ERROR(index::SplitExtraJson(doc.extra, &out.extra));
  return out;
}

Result<Document> Index::ParseDocument(std::string_view json, bool numeric_ids) const {
  const index::FieldSchema& schema = impl_->store->options().fields;
  std::vector<std::string> text_fields;
  for (const index::TextField& field : schema.text_fields) text_fields.push_back(field.name);
  return ParseDocumentJson(json, numeric_ids, schema.keyword_fields, schema.numeric_fields,
                           text_fields);
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::Open(const std::string& path,
                                           const OpenOptions& options) {
  std::string bad;
  if (options.ram_buffer_mb < 1 || options.ram_buffer_mb > 4096) {
    bad += " ram_buffer_mb (must be in [1, 4096])";
  }
  if (options.block_cache_mb < 1) bad += " block_cache_mb (must be >= 1)";
  if (options.read_only && options.create_if_missing) {
    bad += " read_only with create_if_missing";
  }
  if (options.refresh_interval_ms < 0 || options.refresh_interval_ms > kMaxRefreshIntervalMs) {
    bad += " refresh_interval_ms (must be in [0, " + std::to_string(kMaxRefreshIntervalMs) +
           "])";
  } else if (options.read_only && options.refresh_interval_ms > 0) {
    bad += " refresh_interval_ms with read_only";
  }
  if (!bad.empty()) return Status::InvalidArgument("bad open options:" + bad);

  index::StoreOptions store_options;
  store_options.create_if_missing = options.create_if_missing;
  store_options.read_only = options.read_only;
  store_options.block_cache_mb = options.block_cache_mb;
  store_options.create_options.analyzer.stemmer = options.analysis.stemmer;
  store_options.create_options.analyzer.stopwords = options.analysis.stopwords;
  store_options.create_options.positions = options.analysis.positions;
  store_options.create_options.k1 = options.k1;
  store_options.create_options.b = options.b;
  for (const std::string& spec : options.vector_fields) {
    CASCADE_ASSIGN_OR_RETURN(dense::VectorField field, dense::ParseVectorFieldSpec(spec));
    store_options.create_options.vector_fields.push_back(std::move(field));
  }
  store_options.create_options.fields.keyword_fields = options.keyword_fields;
  store_options.create_options.fields.numeric_fields = options.numeric_fields;
  for (const std::string& spec : options.text_fields) {
    CASCADE_ASSIGN_OR_RETURN(index::TextField field, index::ParseTextField(spec));
    store_options.create_options.fields.text_fields.push_back(std::move(field));
  }
  store_options.create_options.fields.contents_weight = options.contents_weight;
  store_options.create_options.store_extra = options.store_extra;

  auto impl = std::make_unique<Impl>();
  if (options.merge.background && options.merge.merge_on_commit) {
    return Status::InvalidArgument(
        "bad open options: merge.background with merge.merge_on_commit (pick one)");
  }
  if (options.merge.background && options.read_only) {
    return Status::InvalidArgument("bad open options: merge.background with read_only");
  }
  impl->merge_on_commit = options.merge.merge_on_commit;
  impl->merge_policy.segments_per_tier = options.merge.segments_per_tier;
  impl->merge_policy.max_merge_at_once = options.merge.max_merge_at_once;
  impl->merge_policy.max_merged_segment_docs = options.merge.max_merged_segment_docs;
  impl->merge_policy.floor_segment_docs = options.merge.floor_segment_docs;
  impl->merge_policy.deletes_pct_allowed = options.merge.deletes_pct_allowed;
  CASCADE_RETURN_IF_ERROR(index::ValidateTieredMergeOptions(impl->merge_policy));
  CASCADE_ASSIGN_OR_RETURN(impl->store, index::Store::Open(path, store_options));
  if (!options.read_only) {
    index::WriterOptions writer_options;
    writer_options.ram_buffer_bytes = options.ram_buffer_mb << 20;
    writer_options.ingest_min_bytes = options.ingest_min_mb << 20;
    writer_options.threads = options.threads;
    CASCADE_ASSIGN_OR_RETURN(impl->writer,
                             index::IndexWriter::Open(impl->store, writer_options));
  }
  impl->tilde_in_memory = options.tilde_in_memory;
  CASCADE_RETURN_IF_ERROR(impl->OpenModels(options));
  CASCADE_RETURN_IF_ERROR(impl->Reopen());
  if (options.merge.background) {
    CASCADE_RETURN_IF_ERROR(impl->StartMerges());
  }
  if (options.refresh_interval_ms > 0) {
    CASCADE_RETURN_IF_ERROR(
        impl->StartRefresh(std::chrono::milliseconds(options.refresh_interval_ms)));
  }
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

Status Index::Add(const Document& doc) {
  return AddBatch({&doc, 1});
}

Status Index::AddBatch(std::span<const Document> docs) {
  return AddDocuments(docs, /*must_exist=*/false);
}

Status Index::Update(const Document& doc) {
  return AddDocuments({&doc, 1}, /*must_exist=*/true);
}

Status Index::AddDocuments(std::span<const Document> docs, bool must_exist) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  std::vector<index::Document> converted;
  converted.reserve(docs.size());
  for (const Document& d : docs) {
    index::Document doc;
    doc.id = d.id;
    doc.title = d.title;
    doc.text = d.text;
    doc.tilde_terms = d.tilde;
    doc.vectors = d.vectors;
    doc.keywords = d.keywords;
    doc.numbers = d.numbers;
    doc.texts = d.texts;
    doc.extra = index::JoinExtraJson(d.extra);
    converted.push_back(std::move(doc));
  }
  std::shared_ptr<const rerank::WordPieceTokenizer> tokenizer;
  {
    std::shared_lock lock(impl_->reader_mu);
    tokenizer = impl_->tilde_tokenizer;
  }
  if (tokenizer) {
    for (index::Document& doc : converted) {
      CASCADE_RETURN_IF_ERROR(query::MapTildeTerms(*tokenizer, &doc));
    }
  }
  std::lock_guard lock(impl_->write_mu);
  // Checked under the lock, so that no delete comes between the check and
  // the replacement.
  if (must_exist) {
    for (const index::Document& doc : converted) {
      CASCADE_ASSIGN_OR_RETURN(bool exists, impl_->writer->Contains(doc.id));
      if (!exists) return Status::NotFound("no document with id", doc.id);
    }
  }
  if (impl_->tilde_model) {
    std::vector<index::Document*> targets;
    for (index::Document& doc : converted) targets.push_back(&doc);
    CASCADE_RETURN_IF_ERROR(query::WeighDocuments(*impl_->tilde_model, targets));
  }
  // Counted even when the batch fails part way: the documents before the
  // bad one were added.
  ++impl_->changes;
  return impl_->writer->AddBatch(converted);
}

Status Index::Delete(std::string_view id) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  std::lock_guard lock(impl_->write_mu);
  Status deleted = impl_->writer->Delete(id);
  if (deleted.ok()) ++impl_->changes;
  return deleted;
}

Result<uint64_t> Index::DeleteByQuery(std::string_view query,
                                      const DeleteByQueryOptions& options,
                                      std::vector<std::string>* deleted_ids) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  CASCADE_ASSIGN_OR_RETURN(query::QuerySyntax syntax,
                           query::ParseQuerySyntax(options.syntax));
  if (syntax == query::QuerySyntax::kLucene) {
    // A syntax error is refused before the flush below writes anything.
    query::ParserOptions parser_options;
    parser_options.max_bytes = query::kMaxQueryBytes;
    parser_options.max_clauses = query::kMaxQueryTerms;
    CASCADE_RETURN_IF_ERROR(query::ParseLuceneQuery(query, parser_options).status());
  }
  std::lock_guard lock(impl_->write_mu);
  // The query runs on a view of everything written so far: buffered adds
  // and deletes are flushed first, as a RAM-buffer flush would, and the
  // view is private (searches keep the last Commit's until the next one).
  CASCADE_RETURN_IF_ERROR(impl_->writer->Flush());
  CASCADE_ASSIGN_OR_RETURN(std::shared_ptr<const index::IndexReader> view,
                           index::IndexReader::Open(impl_->store));
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<query::Searcher> searcher,
                           query::Searcher::Create(view));
  CASCADE_ASSIGN_OR_RETURN(std::vector<uint32_t> matches, searcher->Match(query, syntax));
  if (!matches.empty()) ++impl_->changes;
  // The writer deletes by external id (it keeps the id map in step).
  for (uint32_t doc : matches) {
    CASCADE_ASSIGN_OR_RETURN(index::Document stored, view->ReadDocument(doc));
    CASCADE_RETURN_IF_ERROR(impl_->writer->Delete(stored.id));
    if (deleted_ids != nullptr) deleted_ids->push_back(std::move(stored.id));
  }
  return static_cast<uint64_t>(matches.size());
}

Status Index::Commit() {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  Impl& impl = *impl_;
  CASCADE_RETURN_IF_ERROR(impl.CommitAndReopen(/*only_if_changed=*/false, [&impl] {
    return impl.merge_on_commit ? impl.writer->MaybeMerge(impl.merge_policy) : Status::OK();
  }));
  // This commit's own error comes first; a background one waits for the
  // next successful Commit.
  return impl.TakeBackgroundError();
}

Status Index::MaybeMerge() {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  Impl& impl = *impl_;
  std::lock_guard merging(impl.merge_mu);
  return impl.CommitAndReopen(/*only_if_changed=*/false,
                              [&impl] { return impl.writer->MaybeMerge(impl.merge_policy); });
}

Status Index::ForceMerge(size_t max_segments) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  if (max_segments == 0) return Status::InvalidArgument("max_segments must be at least 1");
  Impl& impl = *impl_;
  std::lock_guard merging(impl.merge_mu);
  return impl.CommitAndReopen(/*only_if_changed=*/false,
                              [&impl, max_segments] { return impl.writer->ForceMerge(max_segments); });
}

Status Index::WaitForMerges() {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  impl_->WaitForMerges();
  return impl_->TakeBackgroundError();
}

Result<SearchResult> Index::Search(std::string_view query,
                                   const SearchOptions& options) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::shared_ptr<const index::IndexReader> reader;
  std::shared_ptr<const rerank::TildeQueryEncoder> encoder;
  std::shared_ptr<rerank::BatchQueue> ce_queue;
  std::string default_cascade;
  {
    std::shared_lock lock(impl_->reader_mu);
    reader = impl_->reader;
    encoder = impl_->tilde_encoder;
    ce_queue = impl_->ce_queue;
    default_cascade = impl_->default_cascade;
  }
  if (options.mode != "bm25") {  // dense or hybrid (query/dense_search.h)
    CASCADE_ASSIGN_OR_RETURN(auto searcher, impl_->AcquireSearcher(reader));
    auto result = query::DenseSearch(query, options, *impl_->store, reader, *searcher,
                                     impl_->dense_cache, &impl_->embedder);
    impl_->ReleaseSearcher(std::move(searcher));
    return result;
  }
  if (options.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (options.snippet_words > query::kMaxSnippetWords) {
    return Status::InvalidArgument("snippet_words must be at most " +
                                   std::to_string(query::kMaxSnippetWords));
  }
  if (options.offset > query::kMaxK || options.k > query::kMaxK - options.offset) {
    return Status::InvalidArgument("offset + k must be at most " +
                                   std::to_string(query::kMaxK));
  }
  std::vector<query::StageSpec> stages;
  const std::string& spec = options.cascade.empty() ? default_cascade : options.cascade;
  if (spec.empty()) {
    stages.push_back({query::StageKind::kBm25, options.k + options.offset, std::nullopt});
  } else {
    CASCADE_ASSIGN_OR_RETURN(stages, query::ParseCascadeSpec(spec));
  }
  rerank::RerankOptions rerank_options;
  rerank_options.tilde_alpha = options.tilde_alpha;
  CASCADE_ASSIGN_OR_RETURN(rerank_options.long_passages,
                           rerank::ParseLongPassages(options.long_passages));
  rerank_options.chunk_overlap = options.chunk_overlap;
  const rerank::RerankModels models = Impl::Models(*reader, encoder.get(), ce_queue);
  // Refuse a stage that cannot run before doing any work.
  CASCADE_RETURN_IF_ERROR(rerank::CheckRerankModels(stages, models));

  CASCADE_ASSIGN_OR_RETURN(query::Algorithm algorithm,
                           query::ParseAlgorithm(options.algorithm));
  CASCADE_ASSIGN_OR_RETURN(query::QuerySyntax syntax,
                           query::ParseQuerySyntax(options.syntax));
  CASCADE_ASSIGN_OR_RETURN(auto searcher, impl_->AcquireSearcher(reader));
  query::SearchParams params;
  params.k = stages[0].depth;
  params.k1 = options.k1;
  params.b = options.b;
  params.algorithm = algorithm;
  params.syntax = syntax;
  auto searched = searcher->Search(query, params);
  impl_->ReleaseSearcher(std::move(searcher));
  CASCADE_ASSIGN_OR_RETURN(query::TopDocs top, std::move(searched));

  SearchResult result;
  result.total_hits = top.total_hits;
  result.total_hits_exact = top.total_hits_exact;
  result.cascade = query::FormatCascadeSpec(stages);
  const double first_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  StageInfo first;
  first.stage = std::string(query::StageName(stages[0].kind));
  first.depth = stages[0].depth;
  first.candidates = first.scored = top.hits.size();
  first.took_ms = first_ms;
  first.budget_ms = stages[0].budget_ms;
  result.stages.push_back(first);

  std::vector<rerank::RankedCandidate> candidates(top.hits.size());
  for (size_t i = 0; i < top.hits.size(); ++i) {
    candidates[i].doc = top.hits[i].doc;
    candidates[i].score = top.hits[i].score;
    if (options.explain) {
      candidates[i].stages.resize(stages.size());
      candidates[i].stages[0] = rerank::RankedCandidate::StageScore{i + 1, top.hits[i].score};
    }
  }
  if (stages.size() > 1) {
    ReaderSource source(reader.get());
    std::vector<rerank::StageReport> reports;
    // Rerankers read what the user asked for, not the syntax: with Lucene
    // syntax, the words of the clauses that are not prohibited.
    std::string rerank_text(query);
    if (syntax == query::QuerySyntax::kLucene) {
      auto tree = query::ParseLuceneQuery(query, query::ParserOptions());
      if (tree.ok()) rerank_text = PositiveText(**tree, reader->options().fields);
    }
    CASCADE_RETURN_IF_ERROR(rerank::RunRerankStages(rerank_text, stages, source, models,
                                                    rerank_options, options.explain,
                                                    &candidates, &reports));
    for (const rerank::StageReport& r : reports) {
      StageInfo info;
      info.stage = std::string(query::StageName(r.kind));
      info.depth = r.depth;
      info.candidates = r.candidates;
      info.scored = r.scored;
      info.sequences = r.sequences;
      info.took_ms = r.took_ms;
      info.budget_ms = r.budget_ms;
      info.budget_exhausted = r.budget_exhausted;
      info.error = r.error;
      result.stages.push_back(std::move(info));
    }
  }

  const size_t end = std::min(candidates.size(), options.offset + options.k);
  std::unique_ptr<index::Analyzer> snippet_analyzer;
  std::vector<std::string> snippet_terms;
  if (options.snippet_words > 0 && end > options.offset) {
    CASCADE_ASSIGN_OR_RETURN(snippet_analyzer,
                             index::Analyzer::Create(reader->options().analyzer));
    for (const auto& term : top.terms) snippet_terms.push_back(term.first);
  }
  for (size_t i = options.offset; i < end; ++i) {
    const rerank::RankedCandidate& c = candidates[i];
    CASCADE_ASSIGN_OR_RETURN(index::Document doc, reader->ReadDocument(c.doc));
    Hit hit;
    hit.id = std::move(doc.id);
    hit.score = c.score;
    if (snippet_analyzer) {
      query::SnippetOptions snippet;
      snippet.window_words = options.snippet_words;
      // The text, else the title, else the first text field with a value.
      const std::string& source = !doc.text.empty() || !doc.title.empty() || doc.texts.empty()
                                      ? (doc.text.empty() ? doc.title : doc.text)
                                      : doc.texts.front().second;
      hit.snippet = query::MakeSnippet(source, snippet_terms, *snippet_analyzer, snippet);
    }
    hit.title = std::move(doc.title);
    if (options.load_text) hit.text = std::move(doc.text);
    hit.keywords = std::move(doc.keywords);
    hit.numbers = std::move(doc.numbers);
    hit.texts = std::move(doc.texts);
    CASCADE_RETURN_IF_ERROR(index::SplitExtraJson(doc.extra, &hit.extra));
    if (options.explain) {
      for (size_t s = 0; s < stages.size(); ++s) {
        StageScore entry;
        entry.stage = std::string(query::StageName(stages[s].kind));
        if (s < c.stages.size() && c.stages[s]) {
          entry.scored = true;
          entry.rank = c.stages[s]->rank;
          entry.score = c.stages[s]->score;
        }
        hit.explain.push_back(std::move(entry));
      }
    }
    result.hits.push_back(std::move(hit));
  }
  result.took_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return result;
}

Status Index::SetDefaultCascade(std::string_view spec) {
  if (!impl_->writer) return Status::InvalidArgument("index is open read-only");
  if (!spec.empty()) {
    CASCADE_RETURN_IF_ERROR(query::ParseCascadeSpec(spec).status());
  }
  CASCADE_RETURN_IF_ERROR(impl_->store->PutMeta(index::kMetaDefaultCascade, spec));
  std::unique_lock lock(impl_->reader_mu);
  impl_->default_cascade = std::string(spec);
  return Status::OK();
}

Result<std::optional<Document>> Index::Get(std::string_view id) const {
  auto reader = impl_->Current();
  CASCADE_ASSIGN_OR_RETURN(std::optional<uint32_t> doc, reader->Lookup(id));
  if (!doc) return std::optional<Document>();
  CASCADE_ASSIGN_OR_RETURN(index::Document d, reader->ReadDocument(*doc));
  Document out{d.id, d.title, d.text, {}, {}};
  out.keywords = std::move(d.keywords);
  out.numbers = std::move(d.numbers);
  out.texts = std::move(d.texts);
  CASCADE_RETURN_IF_ERROR(index::SplitExtraJson(d.extra, &out.extra));
  return std::optional<Document>(std::move(out));
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
  out.tilde = reader->tilde_scale().has_value();
  out.positions = reader->has_positions();
  for (const dense::VectorField& field : reader->options().vector_fields) {
    out.vector_fields.push_back(dense::FormatVectorFieldSpec(field));
  }
  out.keyword_fields = reader->options().fields.keyword_fields;
  out.numeric_fields = reader->options().fields.numeric_fields;
  for (size_t f = 0; f < reader->options().fields.text_fields.size(); ++f) {
    out.text_fields.push_back(index::FormatTextField(reader->options().fields.text_fields[f]));
    const index::FieldStats& field = s.text_fields[f];
    out.text_field_average_lengths.push_back(
        field.docs_with_terms ? static_cast<double>(field.sum_lengths) / field.docs_with_terms
                              : 0);
  }
  out.contents_weight = reader->options().fields.contents_weight;
  for (index::ColumnFamilySize& cf : impl_->store->ColumnFamilySizes()) {
    out.column_families.push_back({std::move(cf.name), cf.table_bytes, cf.memtable_bytes});
  }
  {
    std::shared_lock lock(impl_->reader_mu);
    out.default_cascade = impl_->default_cascade;
  }
  if (impl_->writer) {
    std::lock_guard lock(impl_->write_mu);
    out.pending_changes = impl_->writer->pending_changes();
    out.uncommitted_changes =
        out.pending_changes > 0 || impl_->changes != impl_->visible_changes;
  }
  return out;
}

Status IndexInternals::AttachCrossEncoder(Index& index,
                                          std::shared_ptr<rerank::BatchQueue> queue) {
  if (queue == nullptr) return Status::InvalidArgument("no cross-encoder queue");
  if (queue->model().config().kind != gpu::ModelKind::kCrossEncoder) {
    return Status::InvalidArgument("the attached model is not a cross-encoder");
  }
  std::unique_lock lock(index.impl_->reader_mu);
  index.impl_->ce_queue = std::move(queue);
  return Status::OK();
}

void IndexInternals::TEST_BeforeMergeCommit(Index& index, std::function<void()> hook) {
  std::lock_guard lock(index.impl_->merge_state_mu);
  index.impl_->TEST_before_merge_commit = std::move(hook);
}

void IndexInternals::TEST_FailNextBackgroundCommit(Index& index, Status error) {
  std::lock_guard lock(index.impl_->write_mu);
  index.impl_->TEST_background_fault = std::move(error);
}

}  // namespace cascade
