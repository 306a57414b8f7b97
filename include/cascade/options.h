// Options of the embedded Cascade library. Every field gives its meaning,
// unit and default. Index::Open checks them once and returns
// InvalidArgument naming each bad one.
#ifndef CASCADE_OPTIONS_H_
#define CASCADE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cascade {

// How a new index analyses text. Fixed when the index is created (stored in
// it); ignored when opening an existing index.
struct AnalysisOptions {
  // libstemmer algorithm ("porter", "english", "french", "russian", ...) or
  // "none". Default: "porter", as Anserini.
  std::string stemmer = "porter";
  // Remove Lucene's 33 English stopwords. Default: true.
  bool stopwords = true;
  // Store term positions, which phrase queries need. Default: true.
  bool positions = true;
};

// Segment merging (README "Merging and durability"): a tiered policy after
// Lucene's TieredMergePolicy that merges adjacent segments and drops
// deleted documents. Sizes are live documents.
struct MergeOptions {
  // Run the policy after each Commit, in the committing call. Default: off
  // (Index::MaybeMerge and Index::ForceMerge merge on demand).
  bool merge_on_commit = false;
  // Run the policy on a thread of its own after each commit, beside the
  // writer: adds, deletes, commits and searches go on
  // while segments merge; deletes made meanwhile are carried over to the
  // merged segment. Merges show in searches after the next refresh (Commit,
  // or a tick of refresh_interval_ms); Index::WaitForMerges waits for them.
  // Not with merge_on_commit or read_only. Default: off.
  bool background = false;
  // Segments allowed per size tier before a merge is due (>= 2). Default 10.
  size_t segments_per_tier = 10;
  // Most segments one merge takes (>= 2). Default 10.
  size_t max_merge_at_once = 10;
  // Live documents a merged segment may reach (>= 1); larger segments are
  // only rewritten to drop deletes. Default 5,000,000.
  uint64_t max_merged_segment_docs = 5'000'000;
  // Segments below this many documents count as this size. Default 1,000.
  uint64_t floor_segment_docs = 1'000;
  // A segment with more than this percentage of deleted documents is
  // rewritten even when too large to merge, in [0, 100]. Default 33.
  double deletes_pct_allowed = 33.0;
};

struct OpenOptions {
  // Create the index when the folder does not exist or is empty.
  bool create_if_missing = false;
  // Open for searching only (Add/Commit then fail). Several processes may
  // open one index read-only while one process writes it.
  bool read_only = false;
  // For a new index: analysis, and the default BM25 parameters.
  AnalysisOptions analysis;
  double k1 = 0.9;  // BM25 term-frequency saturation, >= 0
  double b = 0.4;   // BM25 length normalisation, in [0, 1]
  // Flush a segment when buffered documents use about this much memory
  // (MiB, 1 to 4096). Default 256.
  size_t ram_buffer_mb = 256;
  // A flush of at least this much buffered memory (MiB) writes its segment
  // as table files ingested in one atomic step, skipping the write-ahead
  // log and the memtables (bulk loads); smaller flushes, such as a server's
  // refreshes, go through the log. 0: every flush ingests. Default 16.
  size_t ingest_min_mb = 16;
  // Threads that analyse documents in AddBatch; 0 = all cores. Default 1.
  unsigned threads = 1;
  // RocksDB block cache (MiB). Default 256.
  size_t block_cache_mb = 256;

  // Reranking (README "Reranking cascade"). Models are Hugging Face
  // checkpoint folders, loaded once here.
  // The "ce" stage's cross-encoder. Empty: searches cannot use "ce".
  std::string cross_encoder_model;
  // A TILDEv2 token weigher, run over every document added without "tilde"
  // weights (batched like AddBatch). Its tokenizer becomes the index's TILDE
  // tokenizer (stored in the index; one vocabulary per index).
  std::string tilde_model;
  // Only a tokenizer folder, for indexes whose TILDE weights all come with
  // the documents ({"tilde": {"token": weight}}). Ignored with tilde_model.
  std::string tilde_tokenizer;
  // Where models run: "cpu", "cuda" or "auto" (a GPU when one is present).
  std::string device = "auto";
  // CPU threads for models; 0 = all cores.
  unsigned model_threads = 0;
  // Hold the index's TILDE weights in memory (read at open and after each
  // Commit, about 3 bytes per stored weight): the tilde stage then makes no
  // storage lookups. For read-mostly indexes. Default: off.
  bool tilde_in_memory = false;
  // When not empty, stored in the index as the cascade searches run when
  // they name none, e.g. "bm25:1000,tilde:200,ce:50" (checked here).
  std::string default_cascade;
  // For a new index: its dense vector fields, each
  // "name:dim:metric[:storage[:ivf_auto_threshold]]" with metric cosine,
  // dot or l2 and storage f32 (default), f16 or int8, e.g.
  // "emb:384:cosine". Every document must then carry each field's vector.
  std::vector<std::string> vector_fields;
  // For a new index: its keyword fields (exact, unanalysed strings: tags,
  // categories, ids) and numeric fields (doubles), by name, for filters
  // ("tags:red", "year:[1990 TO 2000]" in the Lucene syntax) and returned
  // with hits (Hit::keywords, Hit::numbers). A name is letters, digits and
  // '_' (then also '.' and '-'), at most 64 bytes, not id, _id, title, text,
  // contents, tilde or vectors; at most 64 fields in all. Documents may give
  // each field several values, or none. Ignored for an existing index (its
  // own are kept: IndexStats).
  std::vector<std::string> keyword_fields;
  std::vector<std::string> numeric_fields;
  // For a new index: text fields analysed and scored on their own, each
  // "name" or "name^weight" (weight in [0, 1000], default 1; at most 16
  // fields). "title" and "text" take the document's title and text, any
  // other name the record's string field of that name (Document::texts).
  // Every index also has "contents" (title + text together, as without
  // text fields), weighted by contents_weight. A query word without a field
  // scores the sum over contents and the text fields of weight > 0 of each
  // field's BM25 times its weight (per-field BM25, summed; not BM25F);
  // "title:word" searches one field. Names follow keyword_fields' rules
  // (title and text allowed). Ignored for an existing index.
  std::vector<std::string> text_fields;
  double contents_weight = 1;
  // For a new index: store documents' other fields (Document::extra) and
  // return them with hits. Default: true. Ignored for an existing index.
  bool store_extra = true;
  // A bi-encoder checkpoint folder (Hugging Face, as `cascade model embed`
  // runs) that embeds the query text of dense and hybrid searches given no
  // SearchOptions::vector. Its embedding size must equal the searched
  // field's dimension (InvalidArgument at search time otherwise). Runs on
  // `device` with `model_threads`. Empty (the default): searches must bring
  // their vectors.
  std::string embedding_model;
  // Segment merging; see MergeOptions.
  MergeOptions merge;
  // Near-real-time refresh (ms, in [0, 86,400,000]): every this many
  // milliseconds a background thread owned by the Index commits its
  // changes, as Index::Commit does (durable and visible to searches, then
  // merge_on_commit's merges), when there are any since the last commit.
  // 0 (the default): off, changes wait for an explicit Commit(). An index
  // opened read_only refuses a non-zero value (InvalidArgument). Its errors
  // are kept for the next Commit() (engine.h).
  int64_t refresh_interval_ms = 0;
};

struct SearchOptions {
  size_t k = 10;              // hits to return, 1..100000
  size_t offset = 0;          // hits to skip (for paging)
  std::optional<double> k1;   // BM25 k1 for this search; default: the index's
  std::optional<double> b;    // BM25 b for this search; default: the index's
  bool load_text = false;     // fill Hit::text (title is always filled)
  // Fill Hit::snippet with the best window of this many words of each
  // hit's text (its title when it has no text), the query's terms marked
  // <b>...</b>, in 0..1000; 0 (the default): no snippet. BM25 mode only.
  size_t snippet_words = 0;
  // First-stage (BM25) top-k algorithm: "auto", "exhaustive", "wand", "bmw"
  // (block-max WAND) or "maxscore" (block-max MaxScore). All return the
  // same hits and scores; the pruning ones are faster on long lists and may
  // report total_hits as a lower bound (SearchResult::total_hits_exact).
  std::string algorithm = "auto";
  // How the query text is read: "plain" (default), a bag of words where
  // operators and punctuation are just text; or "lucene", Lucene's classic
  // query syntax (+must -not AND OR NOT, (groups), boost^2, prefix*,
  // title:/text:/contents: as aliases of the one text field, *:*, and the
  // index's keyword and numeric fields as constant-score filters:
  // tags:red, year:[1990 TO 2000}), run exhaustively with Lucene's
  // BooleanQuery scoring. A syntax error is InvalidArgument naming the
  // column; so is an unknown field or a query that does not fit a field's
  // type (a range on a keyword field). README "Query syntax" has the
  // details.
  std::string syntax = "plain";

  // The stages to run, "bm25:DEPTH[,tilde:DEPTH][,ce:DEPTH]" with an
  // optional per-stage budget in ms ("ce:50:20"). Empty: the index's default
  // cascade, else BM25 alone with depth k + offset. Hits are taken from the
  // final order; at most the first stage's depth exist.
  std::string cascade;
  // Fill Hit::explain with each hit's rank and score at every stage.
  bool explain = false;
  // TILDE stage: alpha * tilde + (1 - alpha) * previous score, alpha in
  // [0, 1]. Default 1: TILDE alone.
  double tilde_alpha = 1.0;
  // Cross-encoder stage: passages longer than the model's maximum length
  // are "truncate"d or split into overlapping windows ("chunk"), the
  // passage taking its best window's score.
  std::string long_passages = "truncate";
  size_t chunk_overlap = 64;  // tokens shared by consecutive windows

  // Dense retrieval (README "Dense retrieval"). mode: "bm25" (the above),
  // "dense" (k nearest neighbours of `vector`; a non-empty query text keeps
  // only documents matching it, at most 100,000) or "hybrid" (the top
  // dense_depth of BM25 and of kNN, fused). Rerank stages do not run in
  // dense and hybrid modes.
  std::string mode = "bm25";
  // The query vector (dense, hybrid). Empty with OpenOptions::embedding_model:
  // the query text is embedded instead, and in "dense" mode it is then not
  // a lexical filter.
  std::vector<float> vector;
  std::string vector_field;   // empty: the index's first vector field
  size_t nprobe = 0;          // IVF lists to probe; 0: exact search
  bool quantized = false;     // score 8-bit codes, re-score rescore * k exactly
  size_t rescore = 4;
  size_t dense_depth = 100;   // hybrid: candidates taken from each side
  // Hybrid fusion: "rrf" (sum of 1 / (rrf_k + rank)) or "weighted"
  // (dense_weight * dense + (1 - dense_weight) * bm25 after each side's
  // scores are normalised: "minmax" or "zscore").
  std::string fusion = "rrf";
  double rrf_k = 60;
  double dense_weight = 0.5;
  std::string normalization = "minmax";
};

// Index::DeleteByQuery.
struct DeleteByQueryOptions {
  // How the query text is read, as SearchOptions::syntax: "plain"
  // (default; a bag of words: documents holding any of its analysed terms)
  // or "lucene" (Lucene's classic syntax; "*:*" is every document).
  std::string syntax = "plain";
};

}  // namespace cascade

#endif  // CASCADE_OPTIONS_H_
