// Dense-vector subcommands: `cascade train-ivf` (k-means IVF lists for a
// vector field, then their balance), `cascade ivf-stats` (balance only) and
// `cascade gen-vectors` (clustered synthetic vectors with queries).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "index/dense/synthetic.h"
#include "index/dense/vector_store.h"
#include "index/index_reader.h"
#include "index/store.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/vector_input.h"

namespace cascade::tools {

namespace {

struct TrainFlags {
  std::string index;
  std::string field;
  size_t lists = 0;
  uint64_t seed = 1234;
  int iterations = 20;
  unsigned threads = 0;
};

Status PrintStats(const std::shared_ptr<index::Store>& store, const std::string& field) {
  CASCADE_ASSIGN_OR_RETURN(auto reader, index::IndexReader::Open(store));
  CASCADE_ASSIGN_OR_RETURN(auto vectors, dense::LoadVectorIndex(*store, *reader, field));
  const dense::IvfStats s = vectors->ivf_stats();
  if (s.lists == 0) {
    std::printf("field %s: %zu vectors, no IVF lists (exact search only)\n", field.c_str(),
                vectors->size());
    return Status::OK();
  }
  std::printf(
      "field %s: %zu vectors in %zu lists: size min %zu, mean %.1f, max %zu, stddev %.1f, "
      "%zu empty, imbalance %.3f (1 = even)\n",
      field.c_str(), s.vectors, s.lists, s.min_size, s.mean_size, s.max_size, s.stddev_size,
      s.empty_lists, s.imbalance);
  return Status::OK();
}

std::string FieldOrFirst(const index::Store& store, const std::string& field) {
  if (!field.empty() || store.options().vector_fields.empty()) return field;
  return store.options().vector_fields[0].name;
}

int RunTrain(const TrainFlags& flags) {
  index::StoreOptions options;
  auto store = index::Store::Open(flags.index, options);
  if (!store.ok()) return ReportError("train-ivf", store.status());
  const std::string field = FieldOrFirst(**store, flags.field);
  dense::IvfTrainOptions train;
  train.lists = flags.lists;
  train.kmeans.seed = flags.seed;
  train.kmeans.iterations = flags.iterations;
  train.kmeans.threads = flags.threads;
  auto report = dense::TrainIvf(*store, field, train);
  if (!report.ok()) return ReportError("train-ivf", report.status());
  std::printf("trained %zu IVF lists for field %s on %zu of %zu vectors in %.2f s\n",
              report->lists, field.c_str(), report->sample, report->vectors, report->seconds);
  Status s = PrintStats(*store, field);
  return s.ok() ? kExitOk : ReportError("train-ivf", s);
}

struct StatsFlags {
  std::string index;
  std::string field;
};

int RunStats(const StatsFlags& flags) {
  index::StoreOptions options;
  options.read_only = true;
  auto store = index::Store::Open(flags.index, options);
  if (!store.ok()) return ReportError("ivf-stats", store.status());
  const std::string field = FieldOrFirst(**store, flags.field);
  Status s = PrintStats(*store, field);
  return s.ok() ? kExitOk : ReportError("ivf-stats", s);
}

struct GenFlags {
  std::string out;
  size_t n = 10000;
  size_t dim = 128;
  size_t clusters = 100;
  double spread = 0.5;
  uint64_t seed = 1;
  size_t queries = 1000;
  std::string field = "emb";
};

int RunGen(const GenFlags& flags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(flags.out, ec);
  if (ec) return ReportError("gen-vectors", Status::IOError("cannot create", flags.out));
  dense::ClusteredSpec spec{flags.n, flags.dim, flags.clusters, flags.spread, flags.seed};
  const std::vector<float> base = dense::ClusteredVectors(spec);
  spec.n = flags.queries;
  const std::vector<float> queries = dense::ClusteredVectors(spec);
  Status s = WriteFvecs((fs::path(flags.out) / "base.fvecs").string(), base, flags.dim);
  if (s.ok()) s = WriteFvecs((fs::path(flags.out) / "queries.fvecs").string(), queries, flags.dim);
  if (!s.ok()) return ReportError("gen-vectors", s);
  // A corpus for `cascade index --vector-field emb:DIM:cosine`.
  std::ofstream corpus(fs::path(flags.out) / "corpus.jsonl");
  std::string line;
  char buf[32];
  for (size_t i = 0; i < flags.n; ++i) {
    line = "{\"_id\":\"v" + std::to_string(i) + "\",\"text\":\"vector " + std::to_string(i) +
           "\",\"vectors\":{\"" + flags.field + "\":[";
    for (size_t j = 0; j < flags.dim; ++j) {
      std::snprintf(buf, sizeof(buf), "%s%.7g", j ? "," : "", base[i * flags.dim + j]);
      line += buf;
    }
    line += "]}}\n";
    corpus << line;
  }
  if (!corpus) return ReportError("gen-vectors", Status::IOError("cannot write corpus.jsonl"));
  std::printf("wrote %zu vectors (dim %zu, %zu clusters, spread %.3f, seed %llu) and %zu "
              "queries to %s: base.fvecs, queries.fvecs, corpus.jsonl\n",
              flags.n, flags.dim, flags.clusters, flags.spread,
              static_cast<unsigned long long>(flags.seed), flags.queries, flags.out.c_str());
  return kExitOk;
}

}  // namespace

void RegisterDenseCommands(CLI::App& app, int* exit_code) {
  auto train = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train-ivf", "Train a vector field's IVF lists (k-means) and show their balance");
  WithEnv(cmd->add_option("--index", train->index, "Index folder")->required());
  WithEnv(cmd->add_option("--field", train->field, "Vector field (default: the first)"));
  WithEnv(cmd->add_option("--lists", train->lists,
                          "IVF lists (0: 4 * sqrt(vectors), at most one per 39)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--seed", train->seed, "k-means seed")->capture_default_str());
  WithEnv(cmd->add_option("--iterations", train->iterations, "k-means iterations")
              ->capture_default_str());
  WithEnv(cmd->add_option("--threads", train->threads, "Threads (0 = all cores)")
              ->capture_default_str());
  cmd->callback([train, exit_code] { *exit_code = RunTrain(*train); });

  auto stats = std::make_shared<StatsFlags>();
  cmd = app.add_subcommand("ivf-stats", "Show the balance of a vector field's IVF lists");
  WithEnv(cmd->add_option("--index", stats->index, "Index folder")->required());
  WithEnv(cmd->add_option("--field", stats->field, "Vector field (default: the first)"));
  cmd->callback([stats, exit_code] { *exit_code = RunStats(*stats); });

  auto gen = std::make_shared<GenFlags>();
  cmd = app.add_subcommand("gen-vectors",
                           "Write clustered unit vectors (base.fvecs, corpus.jsonl) and "
                           "queries (queries.fvecs) drawn around the same centres");
  WithEnv(cmd->add_option("--out", gen->out, "Output folder")->required());
  WithEnv(cmd->add_option("--n", gen->n, "Vectors")->capture_default_str());
  WithEnv(cmd->add_option("--dim", gen->dim, "Dimension")->capture_default_str()
              ->check(CLI::Range(1, 65536)));
  WithEnv(cmd->add_option("--clusters", gen->clusters, "Gaussian centres")
              ->capture_default_str()->check(CLI::Range(1, 1 << 24)));
  WithEnv(cmd->add_option("--spread", gen->spread, "Point spread around a centre")
              ->capture_default_str());
  WithEnv(cmd->add_option("--seed", gen->seed, "Random seed")->capture_default_str());
  WithEnv(cmd->add_option("--queries", gen->queries, "Query vectors")->capture_default_str());
  WithEnv(cmd->add_option("--field", gen->field, "Vector field name in corpus.jsonl")
              ->capture_default_str());
  cmd->callback([gen, exit_code] { *exit_code = RunGen(*gen); });
}

}  // namespace cascade::tools
