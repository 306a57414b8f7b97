// `cascade index`: builds or extends an index from corpus files; and
// `cascade update`, the same run over an existing index whose documents
// must all exist already.
//
// Bad records (malformed JSON, missing id, invalid UTF-8, over 1 MiB, ...)
// are reported as file:line and skipped; the run goes on and the summary
// counts them (skip-with-count). I/O errors stop the run; segments written
// before the error stay intact, the buffered documents of the failed run
// are not committed. `update` skips (and reports) a record whose id is not
// in the index, and exits with kExitNotFound when there was one.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <span>

#include "index/corpus_reader.h"
#include "index/dense/vector_store.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/store.h"
#include "query/cascade_spec.h"
#include "query/tilde_index.h"
#include "rerank/neural_model.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/side_vectors.h"

namespace cascade::tools {

namespace {

struct IndexFlags {
  std::string index;
  std::vector<std::string> inputs;
  unsigned threads = 1;
  std::string stemmer = "porter";
  bool no_stopwords = false;
  bool no_positions = false;
  bool no_store_extra = false;
  double k1 = 0.9;
  double b = 0.4;
  std::string length_norm = "lucene";
  size_t ram_buffer_mb = 256;
  size_t batch = 2048;
  size_t max_errors_shown = 20;
  bool quiet = false;
  std::string tilde_model;
  std::string tilde_tokenizer;
  std::string default_rerank;
  std::string device = "auto";
  unsigned model_threads = 0;
  std::vector<std::string> vector_fields;
  std::vector<std::string> keyword_fields;
  std::vector<std::string> numeric_fields;
  std::vector<std::string> text_fields;  // "name[^weight]"
  std::optional<double> contents_weight;
  std::vector<std::string> side_vectors;  // FIELD=FILE
  size_t ivf_lists = 0;
};

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(NowSeconds()) {}
  void Update(uint64_t docs, uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const double now = NowSeconds();
    if (now - last_ < 0.5) return;
    last_ = now;
    const double elapsed = now - start_;
    const double rate = elapsed > 0 ? docs / elapsed : 0;
    if (total > 0 && done > 0) {
      const double frac = static_cast<double>(done) / total;
      const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
      std::fprintf(stderr, "\r  %llu docs  %.0f docs/s  %3.0f%%  ETA %.0fs   ",
                   static_cast<unsigned long long>(docs), rate, 100 * frac, eta);
    } else {
      std::fprintf(stderr, "\r  %llu docs  %.0f docs/s   ",
                   static_cast<unsigned long long>(docs), rate);
    }
    shown_ = true;
  }
  void Done() {
    if (shown_) std::fprintf(stderr, "\r%60s\r", "");
  }

 private:
  bool enabled_;
  bool shown_ = false;
  double start_;
  double last_ = 0;
};

// What RunCorpus does with each record.
enum class CorpusMode {
  kIndex,   // add or replace (`cascade index`)
  kUpdate,  // replace only: an unknown id is skipped (`cascade update`)
};

int RunCorpus(const IndexFlags& flags, CorpusMode mode) {
  const bool update = mode == CorpusMode::kUpdate;
  const char* command = update ? "update" : "index";
  const double start = NowSeconds();
  // The RAM buffer is built, flushed and freed over and over: keep freed
  // memory in the heap for the next one rather than handing it back to the
  // kernel and taking page faults to get it again (measured: about 8% of
  // the CPU time of a bulk index went to page faults).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  index::StoreOptions store_options;
  store_options.create_if_missing = !update;
  store_options.create_options.analyzer.stemmer = flags.stemmer;
  store_options.create_options.analyzer.stopwords = !flags.no_stopwords;
  store_options.create_options.positions = !flags.no_positions;
  store_options.create_options.k1 = flags.k1;
  store_options.create_options.b = flags.b;
  auto norm = index::ParseLengthNorm(flags.length_norm);
  if (!norm.ok()) return ReportError(command, norm.status());
  store_options.create_options.length_norm = *norm;
  for (const std::string& spec : flags.vector_fields) {
    auto field = dense::ParseVectorFieldSpec(spec);
    if (!field.ok()) return ReportError(command, field.status());
    store_options.create_options.vector_fields.push_back(std::move(field).value());
  }
  store_options.create_options.fields.keyword_fields = flags.keyword_fields;
  store_options.create_options.fields.numeric_fields = flags.numeric_fields;
  for (const std::string& spec : flags.text_fields) {
    auto field = index::ParseTextField(spec);
    if (!field.ok()) return ReportError(command, field.status());
    store_options.create_options.fields.text_fields.push_back(std::move(field).value());
  }
  if (flags.contents_weight) {
    store_options.create_options.fields.contents_weight = *flags.contents_weight;
  }
  store_options.create_options.store_extra = !flags.no_store_extra;
  if (Status s = index::ValidateFieldSchema(store_options.create_options.fields); !s.ok()) {
    return ReportError(command, s);
  }

  // Check the inputs before creating anything.
  index::CorpusOptions corpus_options;
  corpus_options.fields = store_options.create_options.fields;
  auto reader = index::CorpusReader::Open(flags.inputs, corpus_options);
  if (!reader.ok()) return ReportError(command, reader.status());

  // Side files of vectors are read through with the corpus, and checked,
  // before any document is added: a bad row stops the run with nothing
  // written. A new index takes its fields from --vector-field, an existing
  // one from the store.
  std::vector<SideVectorSpec> side_specs;
  for (const std::string& spec : flags.side_vectors) {
    auto parsed = ParseSideVectorSpec(spec);
    if (!parsed.ok()) return ReportError(command, parsed.status());
    side_specs.push_back(std::move(parsed).value());
  }
  for (const std::string& input : flags.inputs) {
    if (side_specs.empty()) break;
    std::error_code ec;
    const auto type = std::filesystem::status(input, ec).type();
    if (input == "-" || (type != std::filesystem::file_type::regular &&
                         type != std::filesystem::file_type::directory)) {
      return ReportError(command, Status::InvalidArgument(
                                      "--vectors needs inputs that can be read twice (files or "
                                      "folders, not stdin or a pipe)",
                                      input));
    }
  }
  std::error_code exists_ec;
  const bool index_existed = std::filesystem::exists(flags.index, exists_ec);
  auto check_side_files = [&](std::span<const dense::VectorField> fields) {
    return side_specs.empty()
               ? Status::OK()
               : CheckSideVectors(flags.inputs, corpus_options, side_specs, fields);
  };
  if (!index_existed) {
    Status s = check_side_files(store_options.create_options.vector_fields);
    if (!s.ok()) return ReportError(command, s);
  }

  auto store = index::Store::Open(flags.index, store_options);
  if (!store.ok()) return ReportError(command, store.status());
  // An existing index keeps the fields it was created with; records are
  // read with those. Asking for others is a mistake, not a silent no-op.
  const index::FieldSchema& fields = (*store)->options().fields;
  if ((!flags.keyword_fields.empty() || !flags.numeric_fields.empty() ||
       !flags.text_fields.empty() || flags.contents_weight) &&
      fields != store_options.create_options.fields) {
    const auto names = [](const std::vector<std::string>& v) {
      std::string out;
      for (const std::string& n : v) out += (out.empty() ? "" : ",") + n;
      return out.empty() ? std::string("none") : out;
    };
    std::vector<std::string> texts;
    for (const index::TextField& f : fields.text_fields) texts.push_back(index::FormatTextField(f));
    return ReportError(command, Status::InvalidArgument(
                                    "--keyword-field/--numeric-field/--text-field/"
                                    "--contents-weight differ from the fields "
                                    "the index was created with (keyword: " +
                                    names(fields.keyword_fields) +
                                    "; numeric: " + names(fields.numeric_fields) +
                                    "; text: " + names(texts) + ")"));
  }
  if (flags.no_store_extra && (*store)->options().store_extra) {
    return ReportError(command, Status::InvalidArgument(
                                    "--no-store-extra: the index was created storing "
                                    "documents' other fields; the choice is fixed at creation"));
  }
  if (fields != corpus_options.fields) {
    corpus_options.fields = fields;
    reader = index::CorpusReader::Open(flags.inputs, corpus_options);
    if (!reader.ok()) return ReportError(command, reader.status());
  }
  if (index_existed) {
    Status s = check_side_files((*store)->options().vector_fields);
    if (!s.ok()) return ReportError(command, s);
  }
  std::unique_ptr<SideVectors> side_vectors;
  if (!side_specs.empty()) {
    auto opened = SideVectors::Open(side_specs, (*store)->options().vector_fields);
    if (!opened.ok()) return ReportError(command, opened.status());
    side_vectors = std::move(opened).value();
  }
  index::WriterOptions writer_options;
  writer_options.threads = flags.threads;
  writer_options.ram_buffer_bytes = flags.ram_buffer_mb << 20;
  writer_options.max_document_bytes = corpus_options.max_document_bytes;
  auto writer = index::IndexWriter::Open(*store, writer_options);
  if (!writer.ok()) return ReportError(command, writer.status());

  // TILDE: the weigher (or only its tokenizer) becomes the index's TILDE
  // tokenizer; documents' own "tilde" weights are mapped through it.
  std::unique_ptr<rerank::NeuralModel> weigher;
  const std::string tilde_dir =
      flags.tilde_model.empty() ? flags.tilde_tokenizer : flags.tilde_model;
  if (!flags.tilde_model.empty()) {
    rerank::ModelOptions model_options;
    auto device = rerank::ParseDevice(flags.device);
    if (!device.ok()) return ReportError(command, device.status());
    model_options.device = *device;
    model_options.threads = flags.model_threads;
    auto opened = rerank::NeuralModel::Open(flags.tilde_model, model_options);
    if (!opened.ok()) return ReportError(command, opened.status());
    if ((*opened)->config().kind != gpu::ModelKind::kTokenWeigher) {
      return ReportError(command, Status::InvalidArgument(
                                      "--tilde-model " + flags.tilde_model + " is a " +
                                      std::string(gpu::ModelKindName((*opened)->config().kind)) +
                                      ", not a TILDEv2 token weigher"));
    }
    weigher = std::move(opened).value();
  }
  if (!tilde_dir.empty()) {
    auto files = rerank::ReadTokenizerFiles(tilde_dir);
    if (!files.ok()) return ReportError(command, files.status());
    Status s = query::AttachTildeTokenizer(**store, *files, tilde_dir);
    if (!s.ok()) return ReportError(command, s);
  }
  auto tilde_tokenizer = query::LoadTildeTokenizer(**store);
  if (!tilde_tokenizer.ok()) return ReportError(command, tilde_tokenizer.status());
  if (!flags.default_rerank.empty()) {
    auto spec = query::ParseCascadeSpec(flags.default_rerank);
    if (!spec.ok()) return ReportError(command, spec.status());
    Status s = (*store)->PutMeta(index::kMetaDefaultCascade,
                                 query::FormatCascadeSpec(*spec));
    if (!s.ok()) return ReportError(command, s);
  }
  uint64_t tilde_skipped = 0;
  uint64_t rejected = 0;  // refused by the writer's checks (e.g. bad vectors)
  uint64_t not_found = 0;  // update: ids the index does not hold

  Progress progress(!flags.quiet && isatty(STDERR_FILENO));
  std::vector<index::Document> batch;
  batch.reserve(flags.batch);
  index::CorpusRecord record;
  size_t problems_shown = 0;
  auto show_problems = [&] {
    const auto& problems = (*reader)->problems();
    for (; problems_shown < problems.size(); ++problems_shown) {
      if (problems_shown < flags.max_errors_shown) {
        const auto& p = problems[problems_shown];
        progress.Done();
        std::fprintf(stderr, "cascade %s: %s:%llu: %s (skipped)\n", command,
                     p.source.c_str(), static_cast<unsigned long long>(p.line),
                     p.message.c_str());
      }
    }
  };
  uint64_t read = 0;
  while (true) {
    auto more = (*reader)->Next(&record);
    if (!more.ok()) {
      show_problems();
      return ReportError(command, more.status());
    }
    if (*more) {
      ++read;
      if (side_vectors) {
        // Checked by the first pass; a failure now means a file changed.
        Status attached = side_vectors->Attach(record, &record.doc);
        if (!attached.ok()) return ReportError(command, attached);
      }
      Status mapped = Status::OK();
      if (!record.doc.tilde_terms.empty() && *tilde_tokenizer) {
        mapped = query::MapTildeTerms(**tilde_tokenizer, &record.doc);
      } else if (!record.doc.tilde_terms.empty()) {
        mapped = Status::InvalidArgument(
            "\"tilde\" weights need a TILDE tokenizer: pass --tilde-model DIR "
            "or --tilde-tokenizer DIR");
      }
      // Bad vectors (and other refusals) skip the record, not the run.
      const bool tilde_problem = !mapped.ok();
      if (mapped.ok()) mapped = (*writer)->CheckDocument(record.doc);
      // update replaces, never adds: an id the index lacks is skipped.
      bool missing = false;
      if (mapped.ok() && update) {
        auto exists = (*writer)->Contains(record.doc.id);
        if (!exists.ok()) return ReportError(command, exists.status());
        missing = !*exists;
        if (missing) {
          mapped = Status::NotFound("no document with id \"" + record.doc.id +
                                    "\" in the index");
        }
      }
      if (mapped.ok()) {
        batch.push_back(std::move(record.doc));
      } else {
        ++(missing ? not_found : tilde_problem ? tilde_skipped : rejected);
        if (problems_shown + tilde_skipped + rejected + not_found <=
            flags.max_errors_shown) {
          progress.Done();
          std::fprintf(stderr, "cascade %s: %s:%llu: %s (skipped)\n", command,
                       record.source.c_str(),
                       static_cast<unsigned long long>(record.line),
                       mapped.message().c_str());
        }
      }
    }
    if (batch.size() == flags.batch || (!*more && !batch.empty())) {
      if (weigher) {
        std::vector<index::Document*> targets;
        for (index::Document& doc : batch) targets.push_back(&doc);
        Status weighed = query::WeighDocuments(*weigher, targets);
        if (!weighed.ok()) return ReportError(command, weighed);
      }
      Status s = (*writer)->AddBatch(batch);
      if (!s.ok()) return ReportError(command, s);
      batch.clear();
      progress.Update(read, (*reader)->bytes_done(), (*reader)->bytes_total());
    }
    show_problems();
    if (!*more) break;
  }
  if (side_vectors) {
    Status finished = side_vectors->Finish((*reader)->records());
    if (!finished.ok()) return ReportError(command, finished);
  }
  Status s = (*writer)->Commit();
  if (!s.ok()) return ReportError(command, s);
  progress.Done();
  // IVF lists: trained now when asked, else once a field's threshold is hit.
  for (const dense::VectorField& field :
       flags.ivf_lists > 0 ? (*store)->options().vector_fields : std::vector<dense::VectorField>{}) {
    dense::IvfTrainOptions train;
    train.lists = flags.ivf_lists;
    train.kmeans.threads = flags.threads;
    auto report = dense::TrainIvf(*store, field.name, train);
    if (!report.ok()) return ReportError(command, report.status());
    std::printf("trained %zu IVF lists for field %s on %zu vectors in %.2f s\n", report->lists,
                field.name.c_str(), report->vectors, report->seconds);
  }
  auto auto_trained = dense::MaybeAutoTrainIvf(*store, flags.threads);
  if (!auto_trained.ok()) return ReportError(command, auto_trained.status());
  for (const std::string& field : *auto_trained) {
    std::printf("trained IVF lists for field %s (past its ivf_auto_threshold)\n", field.c_str());
  }
  // The memtables go to table files now, so that the folder holds the
  // compressed index (and the size below is the index's, not the log's).
  s = (*store)->FlushMemtables();
  if (!s.ok()) return ReportError(command, s);
  const auto& problems = (*reader)->problems();
  if (problems.size() > flags.max_errors_shown) {
    std::fprintf(stderr, "cascade %s: ... and %zu more problems\n", command,
                 problems.size() - flags.max_errors_shown);
  }
  const double secs = NowSeconds() - start;
  const index::WriterStats stats = (*writer)->stats();  // a copy: the writer closes below
  writer->reset();
  store->reset();
  if (stats.tilde_documents > 0 || tilde_skipped > 0) {
    std::printf("TILDE weights stored for %llu documents (%llu above the index's "
                "scale, stored as its maximum; %llu documents skipped for bad "
                "\"tilde\" input)\n",
                static_cast<unsigned long long>(stats.tilde_documents),
                static_cast<unsigned long long>(stats.tilde_saturated),
                static_cast<unsigned long long>(tilde_skipped));
  }
  const auto skipped =
      static_cast<unsigned long long>((*reader)->skipped() + tilde_skipped + rejected);
  if (update) {
    std::printf("updated %llu documents (%llu not found, %llu skipped) ",
                static_cast<unsigned long long>(stats.added),
                static_cast<unsigned long long>(not_found), skipped);
  } else {
    std::printf("indexed %llu documents (%llu replaced an existing id, %llu skipped) ",
                static_cast<unsigned long long>(stats.added),
                static_cast<unsigned long long>(stats.replaced), skipped);
  }
  std::printf(
      "%s %s in %.2f s: %.0f docs/s, %llu segments, %.1f MiB on disk, "
      "peak memory %.0f MiB\n",
      update ? "in" : "into", flags.index.c_str(),
      secs, secs > 0 ? stats.added / secs : 0.0,
      static_cast<unsigned long long>(stats.segments),
      DiskUsageBytes(flags.index) / 1048576.0, PeakRssMib());
  if (not_found > 0) {
    std::fprintf(stderr, "cascade update: %llu documents not found in the index (skipped)\n",
                 static_cast<unsigned long long>(not_found));
    return kExitNotFound;
  }
  return kExitOk;
}

// The flags `index` and `update` share: reading the corpus and writing.
void AddCorpusFlags(CLI::App* cmd, IndexFlags* flags) {
  WithEnv(cmd->add_option("--threads", flags->threads,
                          "Analysis threads (0 = all cores)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--ram-buffer-mb", flags->ram_buffer_mb,
                          "Flush a segment when buffered documents use this much memory")
              ->check(CLI::Range(1, 4096))
              ->capture_default_str());
  WithEnv(cmd->add_option("--batch", flags->batch, "Documents analysed per batch")
              ->capture_default_str()
              ->check(CLI::Range(1, 1 << 20)));
  WithEnv(cmd->add_option("--max-errors-shown", flags->max_errors_shown,
                          "Problems printed in full (all are counted)")
              ->capture_default_str());
  WithEnv(cmd->add_flag("--quiet", flags->quiet, "No progress line"));
  WithEnv(cmd->add_option("--tilde-model", flags->tilde_model,
                          "TILDEv2 model folder: weigh every document without "
                          "\"tilde\" weights and store them (8-bit) for the tilde stage"));
  WithEnv(cmd->add_option("--device", flags->device, "Where --tilde-model runs: cpu, cuda, auto")
              ->capture_default_str());
  WithEnv(cmd->add_option("--model-threads", flags->model_threads,
                          "CPU threads for --tilde-model (0 = all cores)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--vectors", flags->side_vectors,
                          "FIELD=FILE: the field's vectors from a side file (.fvecs, .npy "
                          "float32 2-d, or JSON lines of [...] or {\"id\": ..., \"vector\": "
                          "[...]}), row i for the corpus's i-th non-blank line; checked "
                          "whole (row count, dimension, NaN/Inf, ids) before anything is "
                          "indexed. Repeat for several fields"));
}

}  // namespace

void RegisterIndexCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<IndexFlags>();
  CLI::App* cmd = app.add_subcommand(
      "index",
      "Create or extend an index from BEIR folders, .jsonl[.gz] files, folders "
      "of text files, or - (JSONL on stdin)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder (created if missing)")
              ->required());
  AddCorpusFlags(cmd, flags.get());
  WithEnv(cmd->add_option("--stemmer", flags->stemmer,
                          "New index: libstemmer algorithm (porter, english, "
                          "french, russian, ...) or none")
              ->capture_default_str());
  WithEnv(cmd->add_flag("--no-stopwords", flags->no_stopwords,
                        "New index: keep Lucene's 33 English stopwords"));
  WithEnv(cmd->add_flag("--no-positions", flags->no_positions,
                        "New index: store no term positions (smaller; phrase "
                        "queries are then refused)"));
  WithEnv(cmd->add_flag("--no-store-extra", flags->no_store_extra,
                        "New index: drop records' other top-level fields (by default "
                        "every field but id, title, text, tilde, vectors and the keyword "
                        "and numeric fields is stored as given and returned with hits)"));
  WithEnv(cmd->add_option("--k1", flags->k1, "New index: default BM25 k1")
              ->capture_default_str());
  WithEnv(cmd->add_option("--b", flags->b, "New index: default BM25 b")
              ->capture_default_str());
  WithEnv(cmd->add_option("--length-norm", flags->length_norm,
                          "New index: lucene (one-byte norms, as Anserini) or exact")
              ->capture_default_str());
  WithEnv(cmd->add_option("--tilde-tokenizer", flags->tilde_tokenizer,
                          "Tokenizer folder for documents' own \"tilde\" weights "
                          "(when no --tilde-model)"));
  WithEnv(cmd->add_option("--default-rerank", flags->default_rerank,
                          "Store this cascade as the index's default, e.g. "
                          "bm25:1000,tilde:200,ce:50"));
  WithEnv(cmd->add_option("--vector-field", flags->vector_fields,
                          "New index: a dense vector field name:dim:metric[:storage"
                          "[:ivf_auto_threshold]] (metric cosine|dot|l2, storage "
                          "f32|f16|int8); repeat for several. Documents carry "
                          "\"vectors\": {\"name\": [...]} or come from --vectors"));
  WithEnv(cmd->add_option("--keyword-field", flags->keyword_fields,
                          "New index: a keyword field (exact, unanalysed strings: tags, "
                          "categories); records carry it at the top level as a string or "
                          "an array of strings; filter with tags:red in --syntax lucene. "
                          "Repeat for several"));
  WithEnv(cmd->add_option("--numeric-field", flags->numeric_fields,
                          "New index: a numeric field (doubles); records carry a number or "
                          "an array of numbers; filter with year:[1990 TO 2000]. Repeat "
                          "for several"));
  WithEnv(cmd->add_option("--text-field", flags->text_fields,
                          "New index: a text field NAME or NAME^WEIGHT, analysed and "
                          "BM25-scored on its own (title and text take the record's "
                          "title and text; another name, the record's string of that "
                          "name); a word without a field scores the weighted sum over "
                          "contents and the text fields. Repeat for several"));
  WithEnv(cmd->add_option("--contents-weight", flags->contents_weight,
                          "New index with --text-field: the weight of contents (title + "
                          "text together) in that sum (default 1; 0: only by name)"));
  WithEnv(cmd->add_option("--ivf-lists", flags->ivf_lists,
                          "Train IVF lists (k-means) for every vector field after indexing")
              ->capture_default_str());
  cmd->add_option("inputs", flags->inputs, "Corpus inputs")->required();
  cmd->callback([flags, exit_code] { *exit_code = RunCorpus(*flags, CorpusMode::kIndex); });
}

void RegisterUpdateCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<IndexFlags>();
  CLI::App* cmd = app.add_subcommand(
      "update",
      "Replace documents of an existing index, read as `index` reads them; a "
      "document whose id the index lacks is reported and skipped (exit code 3)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder (must exist)")
              ->required());
  AddCorpusFlags(cmd, flags.get());
  cmd->add_option("inputs", flags->inputs, "Corpus inputs")->required();
  cmd->callback([flags, exit_code] { *exit_code = RunCorpus(*flags, CorpusMode::kUpdate); });
}

}  // namespace cascade::tools
