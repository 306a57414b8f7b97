// Dense retrieval against FAISS, in one process on the same data
// (bench/README.md, "Dense retrieval"): clustered unit vectors and queries
// as `cascade gen-vectors` draws them (index/dense/synthetic.h), exact
// top-k by brute force (a float shortlist re-scored in double), then
//   Cascade flat   VectorIndex without IVF (exact scan)
//   Cascade IVF    TrainKMeans + VectorIndex with the centroids
//   FAISS flat     IndexFlatIP
//   FAISS IVF      IndexIVFFlat over an IndexFlatIP quantizer
// with the same nlist, the same k-means iterations and training sample
// (--train-points per centroid, spherical centroids, as Cascade's cosine
// k-means), searched with nprobe 1, 4, 16, 64 on one thread and on all
// threads (Cascade's SearchBatch threads; FAISS's omp_set_num_threads and
// OpenBLAS's thread count). Optionally (--store 1, the default) the same
// vectors indexed into a real RocksDB index in a temporary folder,
// TrainIvf'ed and loaded with LoadVectorIndex (index/dense/vector_store.h).
//
// Prints Markdown tables: recall@k against the exact top-k (with Cascade
// IVF's difference from FAISS IVF and its standard error over the
// queries), queries/s (the best of three runs of the whole query batch),
// build and train seconds, bytes of each structure and the resident-memory
// growth while it was built, and Cascade/FAISS ratios.
//
// It also measures, in the same run, single-core read bandwidth (the best
// of several sums of a buffer far larger than the last-level cache) and
// single-query latency: queries one at a time (Cascade Search, FAISS
// search with nq = 1), p50 and mean; for Cascade flat search with each
// row storage (f32, f16, int8) it sets the one-query scan time beside the
// time to stream that storage's bytes once at the measured bandwidth, and
// beside reads of the index's own rows interleaved with the queries
// (FlatAgainstStream).
//
// Usage: vector_bench [--n 200000] [--dim 128] [--queries 1000]
//   [--clusters 100] [--spread 0.5] [--seed 1] [--nlist 1024] [--k 10]
//   [--iterations 20] [--threads 0 (all)] [--store 1] [--faiss-only 0]
//   [--train-points 256] [--seeding-points 16] [--latency-queries 100]
//   [--ivf-storages f32,f16] [--bandwidth-mib 1024] [--cascade-only 0]
//   [--cascade-iterations (--iterations)] [--cascade-train-points
//   (--train-points)] [--cascade-full-passes (KMeansOptions's default)]
//   [--cascade-kmeans-seed (--seed)] [--recall-only 0]
// --faiss-only 1 prints just FAISS IVF recall (for choosing the data).
// --recall-only 1 trains both IVF indexes and prints just their recall at
// each nprobe with the paired difference (no flat, no timed searches: for
// runs with many queries).
// --cascade-only 1 prints just Cascade IVF recall at each nprobe, its train
// and add seconds, and how many queries' nprobe-1 list is not their exact
// (double) best centroid's: no FAISS, no timed searches (for screening
// k-means variants; FAISS's figures depend only on the data and --seed).
// --train-points: k-means trains on at most nlist x this many points, for
// both (FAISS's cp.max_points_per_centroid). --seeding-points: Cascade's
// k-means++ seeds from at most nlist x this many of them.
// --cascade-iterations, --cascade-train-points: Cascade's alone, where
// they differ from FAISS's. --cascade-full-passes: Cascade's Lloyd updates
// over all n vectors after the sample's iterations (KMeansOptions).
// --cascade-kmeans-seed: Cascade's k-means sample and seeding alone, the
// data unchanged (to see how much recall moves between k-means draws).
// --ivf-storages: the row storages of the Cascade IVF indexes searched
// (one k-means, one list assignment for all).
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>
#include <unistd.h>

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "index/dense/kernels.h"
#include "index/dense/kmeans.h"
#include "index/dense/synthetic.h"
#include "index/dense/vector_index.h"
#include "index/dense/vector_store.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"

extern "C" void openblas_set_num_threads(int);

namespace cascade::dense {
namespace {

using FaissId = faiss::Index::idx_t;  // FAISS 1.7 names it here

struct Flags {
  size_t n = 200000, dim = 128, queries = 1000, clusters = 100;
  double spread = 0.5;
  uint64_t seed = 1;
  size_t nlist = 1024, k = 10;
  int iterations = 20;
  unsigned threads = 0;
  bool store = true;
  bool faiss_only = false;
  bool cascade_only = false;
  bool recall_only = false;
  // Cascade's k-means only; -1: as the shared flags or the library.
  int cascade_iterations = -1;
  long cascade_train_points = -1;
  int cascade_full_passes = -1;
  long long cascade_kmeans_seed = -1;
  size_t train_points = 256, seeding_points = 16, latency_queries = 100;
  std::vector<Storage> ivf_storages = {Storage::kF32, Storage::kF16};
  size_t bandwidth_mib = 1024;
};

std::string LoadAverage() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[128] = {0};
  if (std::fgets(buf, sizeof buf, f) == nullptr) buf[0] = 0;
  std::fclose(f);
  std::string s(buf);
  // "0.59 1.74 1.97 ..." -> the 1, 5 and 15 minute averages.
  size_t cut = 0;
  for (int field = 0; field < 3 && cut != std::string::npos; ++field) {
    cut = s.find(' ', cut + (field ? 1 : 0));
  }
  return s.substr(0, cut);
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Resident memory now, in bytes (/proc/self/statm).
double RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, resident = 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return double(resident) * double(sysconf(_SC_PAGESIZE));
}

double Mib(double bytes) { return bytes / (1024.0 * 1024.0); }

void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "vector_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Exact top-k ids by inner product (the vectors are unit: cosine), ties
// to the lower id: the best 4k of each query by float scores (the f32 row
// kernel), re-scored with double sums. A true top-k row missing from the
// float shortlist would need a float error larger than the gap between
// ranks k and 4k.
std::vector<std::vector<uint32_t>> GroundTruth(const std::vector<float>& base,
                                               const std::vector<float>& queries, size_t dim,
                                               size_t k, unsigned threads) {
  const size_t n = base.size() / dim, nq = queries.size() / dim;
  const size_t shortlist = std::min(n, 4 * k);
  const RowSpan rows{RowType::kF32, base.data(), nullptr, dim};
  std::vector<std::vector<uint32_t>> out(nq);
  ParallelFor(nq, threads, [&](size_t begin, size_t end) {
    constexpr size_t kGroup = 16, kTile = 2048;
    std::vector<float> scores(kGroup * kTile);
    std::vector<std::vector<std::pair<float, uint32_t>>> best(kGroup);
    for (size_t q0 = begin; q0 < end; q0 += kGroup) {
      const size_t m = std::min(kGroup, end - q0);
      std::vector<const float*> qs;
      for (size_t i = 0; i < m; ++i) {
        qs.push_back(queries.data() + (q0 + i) * dim);
        best[i].clear();
      }
      for (size_t r = 0; r < n; r += kTile) {
        const size_t t = std::min(kTile, n - r);
        Kernels().score_block(rows, false, qs.data(), m, r, t, scores.data(), kTile);
        for (size_t i = 0; i < m; ++i) {
          auto& b = best[i];
          for (size_t j = 0; j < t; ++j) {
            const float sc = scores[i * kTile + j];
            if (b.size() == shortlist && sc < -b.front().first) continue;
            b.emplace_back(-sc, uint32_t(r + j));
            std::push_heap(b.begin(), b.end());
            if (b.size() > shortlist) {
              std::pop_heap(b.begin(), b.end());
              b.pop_back();
            }
          }
        }
      }
      for (size_t i = 0; i < m; ++i) {
        std::vector<std::pair<double, uint32_t>> exact;
        for (const auto& [neg, id] : best[i]) {
          const float* x = base.data() + size_t{id} * dim;
          double s = 0;
          for (size_t j = 0; j < dim; ++j) s += double(qs[i][j]) * double(x[j]);
          exact.emplace_back(-s, id);
        }
        std::sort(exact.begin(), exact.end());
        for (size_t j = 0; j < std::min(k, exact.size()); ++j) {
          out[q0 + i].push_back(exact[j].second);
        }
      }
    }
  });
  return out;
}

// Sums `bytes` of memory as 64-bit integers, 512 bits at a time with
// eight accumulators (or word by word where the CPU lacks AVX-512F), on
// this thread, prefetching `ahead` bytes ahead of the loads when `ahead`
// > 0. Integer adds: the bytes may be f16 or int8 rows, whose bit
// patterns read as floats could be denormals that slow float adds.
__attribute__((target("avx512f"))) uint64_t SumAvx512(const std::byte* p, size_t bytes,
                                                      size_t ahead) {
  __m512i acc[8];
  for (auto& a : acc) a = _mm512_setzero_si512();
  // Addresses, not pointers: a prefetch past the end is harmless.
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  for (size_t i = 0; i + 512 <= bytes; i += 512) {
    if (ahead > 0) {
      for (size_t l = 0; l < 8; ++l) {
        _mm_prefetch(reinterpret_cast<const char*>(base + i + ahead + 64 * l), _MM_HINT_T0);
      }
    }
    for (int j = 0; j < 8; ++j) {
      acc[j] = _mm512_add_epi64(acc[j], _mm512_loadu_si512(p + i + 64 * j));
    }
  }
  uint64_t lanes[8], sum = 0;
  for (auto& a : acc) {
    _mm512_storeu_si512(lanes, a);
    for (uint64_t x : lanes) sum += x;
  }
  return sum;
}

uint64_t SumWords(const std::byte* p, size_t bytes, size_t ahead) {
  uint64_t acc[8] = {0};
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  for (size_t i = 0; i + 64 <= bytes; i += 64) {
    if (ahead > 0) __builtin_prefetch(reinterpret_cast<const void*>(base + i + ahead));
    for (int j = 0; j < 8; ++j) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * j, 8);
      acc[j] += w;
    }
  }
  uint64_t sum = 0;
  for (uint64_t a : acc) sum += a;
  return sum;
}

// The ways StreamSeconds reads: no software prefetch, and prefetching
// 4 KiB and 32 KiB ahead. Which is fastest depends on the host and the
// moment (on the development VM the prefetching reads were the faster,
// and the plain loop slower than the flat scan, which prefetches too), so
// a bandwidth figure is the best of them, not one method's.
constexpr size_t kReadAheads[] = {0, size_t{4} << 10, size_t{32} << 10};

// Seconds to read `bytes` at `p` once, prefetching `ahead` bytes ahead.
double StreamSeconds(const std::byte* p, size_t bytes, size_t ahead) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static volatile uint64_t sink = 0;  // keeps the sums
  const double t0 = Now();
  sink = sink + (avx512 ? SumAvx512(p, bytes, ahead) : SumWords(p, bytes, ahead));
  return Now() - t0;
}

// Single-core read bandwidth, bytes/s: the best of 7 reads in each of
// the kReadAheads ways of a buffer of `mib` MiB (far beyond the last-level
// cache), after one untimed pass that also faults its pages in.
double ReadBandwidth(size_t mib) {
  std::vector<std::byte> buf(mib << 20, std::byte{1});
  StreamSeconds(buf.data(), buf.size(), 0);
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {
    for (size_t ahead : kReadAheads) {
      best = std::min(best, StreamSeconds(buf.data(), buf.size(), ahead));
    }
  }
  return double(buf.size()) / best;
}

struct Latency {
  double p50_ms = 0, mean_ms = 0;
};

Latency Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Latency l;
  l.p50_ms = ms[ms.size() / 2];
  for (double x : ms) l.mean_ms += x;
  l.mean_ms /= double(ms.size());
  return l;
}

// Flat single-query scans, each beside reads of the same stored rows.
struct ScanAgainstStream {
  Latency scan;          // every timed query
  Latency stream;        // per query, the fastest of its three reads of the rows
  double ratio_p50 = 0;  // median over the queries of (fastest scan / fastest read)
};

// Queries one at a time (the first `count`, after one untimed query),
// each scanned three times, each scan right after a read of the index's
// stored rows in one of the kReadAheads ways; per query, the fastest scan
// over the fastest read. Interleaving makes the scan and the read it is
// held against see the machine in the same state: on a shared host the
// read bandwidth one core gets moves by a third from one run to the next
// (28.1 and 36.1 GB/s in two runs of this benchmark half an hour apart on
// the development VM: bench/README), so a scan
// timed minutes away from a bandwidth figure says more about the host
// than about the scan. Three of each, fastest against fastest, keeps the
// two sides' samples alike (the fastest of three reads against one scan
// would favour the read whenever the host is noisy).
ScanAgainstStream FlatAgainstStream(const VectorIndex& index, const std::vector<float>& queries,
                                    size_t dim, size_t k, size_t count) {
  VectorSearchParams params;
  params.k = k;
  const std::span<const std::byte> rows = index.row_storage();
  std::vector<double> scan_ms, stream_ms, ratios;
  for (size_t q = 0; q <= count; ++q) {
    const std::span<const float> query{queries.data() + (q % count) * dim, dim};
    double best_read = 1e30, best_scan = 1e30;
    for (size_t ahead : kReadAheads) {
      best_read = std::min(best_read, StreamSeconds(rows.data(), rows.size(), ahead));
      const double t0 = Now();
      auto hits = index.Search(query, params);
      const double t = Now() - t0;
      if (!hits.ok()) Die("Search", hits.status());
      best_scan = std::min(best_scan, t);
      if (q > 0) scan_ms.push_back(t * 1e3);
    }
    if (q == 0) continue;
    stream_ms.push_back(best_read * 1e3);
    ratios.push_back(best_scan / best_read);
  }
  ScanAgainstStream out;
  out.scan = Summarize(scan_ms);
  out.stream = Summarize(stream_ms);
  out.ratio_p50 = Summarize(ratios).p50_ms;
  return out;
}

Latency FaissLatency(faiss::Index& index, const std::vector<float>& queries, size_t dim,
                     size_t k, size_t count) {
  std::vector<float> distances(k);
  std::vector<FaissId> labels(k);
  std::vector<double> ms;
  for (size_t q = 0; q <= count; ++q) {
    const double t0 = Now();
    index.search(1, queries.data() + (q % count) * dim, FaissId(k), distances.data(),
                 labels.data());
    const double t = Now() - t0;
    if (q > 0) ms.push_back(t * 1e3);
  }
  return Summarize(ms);
}

// Fraction of the exact top-k found, per query; hits[q] holds k ids (or
// fewer).
std::vector<double> QueryRecalls(const std::vector<std::vector<uint32_t>>& truth,
                                 const std::vector<std::vector<uint32_t>>& hits, size_t k) {
  std::vector<double> out(truth.size());
  for (size_t q = 0; q < truth.size(); ++q) {
    size_t found = 0;
    for (uint32_t id : hits[q]) {
      found += std::find(truth[q].begin(), truth[q].end(), id) != truth[q].end();
    }
    out[q] = double(found) / double(k);
  }
  return out;
}

double Mean(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  return x.empty() ? 0 : sum / double(x.size());
}

// Mean fraction of the exact top-k found.
double Recall(const std::vector<std::vector<uint32_t>>& truth,
              const std::vector<std::vector<uint32_t>>& hits, size_t k) {
  return Mean(QueryRecalls(truth, hits, k));
}

// Mean of a[q] - b[q] over the queries and its standard error (sample
// standard deviation of the differences over sqrt(n)): how far the
// difference of two recalls measured on the same queries could move with
// another sample of queries from the same distribution.
struct PairedDifference {
  double mean = 0, se = 0;
};

PairedDifference Paired(const std::vector<double>& a, const std::vector<double>& b) {
  PairedDifference d;
  const size_t n = a.size();
  if (n == 0) return d;
  std::vector<double> diff(n);
  for (size_t q = 0; q < n; ++q) diff[q] = a[q] - b[q];
  d.mean = Mean(diff);
  if (n < 2) return d;
  double ss = 0;
  for (double v : diff) ss += (v - d.mean) * (v - d.mean);
  d.se = std::sqrt(ss / double(n - 1)) / std::sqrt(double(n));
  return d;
}

// Each timed search runs this many times and the fastest counts: a batch
// at nprobe 1 lasts tens of milliseconds, which other load on the machine
// easily doubles.
constexpr int kRepeats = 3;

struct SearchRun {
  double recall = 0, qps = 0;
  std::vector<double> per_query;  // recall@k of each query
};

SearchRun RunCascade(const VectorIndex& index, const std::vector<float>& queries, size_t k,
                     size_t nprobe, unsigned threads,
                     const std::vector<std::vector<uint32_t>>& truth,
                     const std::vector<uint32_t>* doc_to_row = nullptr,
                     int repeats = kRepeats) {
  VectorSearchParams params;
  params.k = k;
  params.nprobe = nprobe;
  std::vector<std::vector<Neighbor>> out;
  double seconds = 1e30;
  for (int rep = 0; rep < repeats; ++rep) {
    const double t0 = Now();
    Status s = index.SearchBatch(queries, params, threads, &out);
    seconds = std::min(seconds, Now() - t0);
    if (!s.ok()) Die("SearchBatch", s);
  }
  std::vector<std::vector<uint32_t>> hits(out.size());
  for (size_t q = 0; q < out.size(); ++q) {
    for (const Neighbor& nb : out[q]) {
      hits[q].push_back(doc_to_row ? (*doc_to_row)[nb.doc] : nb.doc);
    }
  }
  std::vector<double> per_query = QueryRecalls(truth, hits, k);
  return {Mean(per_query), double(out.size()) / seconds, std::move(per_query)};
}

SearchRun RunFaiss(faiss::Index& index, const std::vector<float>& queries, size_t dim, size_t k,
                   const std::vector<std::vector<uint32_t>>& truth, int repeats = kRepeats) {
  const size_t nq = queries.size() / dim;
  std::vector<float> distances(nq * k);
  std::vector<FaissId> labels(nq * k);
  double seconds = 1e30;
  for (int rep = 0; rep < repeats; ++rep) {
    const double t0 = Now();
    index.search(FaissId(nq), queries.data(), FaissId(k), distances.data(), labels.data());
    seconds = std::min(seconds, Now() - t0);
  }
  std::vector<std::vector<uint32_t>> hits(nq);
  for (size_t q = 0; q < nq; ++q) {
    for (size_t i = 0; i < k; ++i) {
      if (labels[q * k + i] >= 0) hits[q].push_back(uint32_t(labels[q * k + i]));
    }
  }
  std::vector<double> per_query = QueryRecalls(truth, hits, k);
  return {Mean(per_query), double(nq) / seconds, std::move(per_query)};
}

void SetFaissThreads(unsigned threads) {
  omp_set_num_threads(int(threads));
  openblas_set_num_threads(int(threads));
}

size_t FaissIvfBytes(const faiss::IndexIVFFlat& ivf) {
  size_t bytes = ivf.nlist * ivf.d * sizeof(float);  // quantizer's centroids
  for (size_t l = 0; l < ivf.nlist; ++l) {
    bytes += ivf.invlists->list_size(l) * (ivf.code_size + sizeof(FaissId));
  }
  return bytes;
}

uint64_t DiskBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "vector_bench: %s needs a value\n", name.c_str());
      std::exit(2);
    }
    const char* v = argv[++i];
    if (name == "--n") f.n = std::strtoull(v, nullptr, 10);
    else if (name == "--dim") f.dim = std::strtoull(v, nullptr, 10);
    else if (name == "--queries") f.queries = std::strtoull(v, nullptr, 10);
    else if (name == "--clusters") f.clusters = std::strtoull(v, nullptr, 10);
    else if (name == "--spread") f.spread = std::strtod(v, nullptr);
    else if (name == "--seed") f.seed = std::strtoull(v, nullptr, 10);
    else if (name == "--nlist") f.nlist = std::strtoull(v, nullptr, 10);
    else if (name == "--k") f.k = std::strtoull(v, nullptr, 10);
    else if (name == "--iterations") f.iterations = std::atoi(v);
    else if (name == "--threads") f.threads = unsigned(std::strtoul(v, nullptr, 10));
    else if (name == "--store") f.store = std::atoi(v) != 0;
    else if (name == "--faiss-only") f.faiss_only = std::atoi(v) != 0;
    else if (name == "--cascade-only") f.cascade_only = std::atoi(v) != 0;
    else if (name == "--recall-only") f.recall_only = std::atoi(v) != 0;
    else if (name == "--cascade-iterations") f.cascade_iterations = std::atoi(v);
    else if (name == "--cascade-train-points") f.cascade_train_points = std::atol(v);
    else if (name == "--cascade-full-passes") f.cascade_full_passes = std::atoi(v);
    else if (name == "--cascade-kmeans-seed") f.cascade_kmeans_seed = std::atoll(v);
    else if (name == "--train-points") f.train_points = std::strtoull(v, nullptr, 10);
    else if (name == "--seeding-points") f.seeding_points = std::strtoull(v, nullptr, 10);
    else if (name == "--latency-queries") f.latency_queries = std::strtoull(v, nullptr, 10);
    else if (name == "--bandwidth-mib") f.bandwidth_mib = std::strtoull(v, nullptr, 10);
    else if (name == "--ivf-storages") {
      f.ivf_storages.clear();
      std::string list = v;
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        auto storage = ParseStorage(list.substr(at, comma - at));
        if (!storage.ok()) Die("--ivf-storages", storage.status());
        f.ivf_storages.push_back(*storage);
        at = comma + 1;
      }
    }
    else {
      std::fprintf(stderr, "vector_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  if (f.n == 0 || f.dim == 0 || f.queries == 0 || f.clusters == 0 || f.k == 0 ||
      f.nlist == 0 || f.nlist > f.n || f.iterations < 1 || f.latency_queries == 0 ||
      f.ivf_storages.empty() || f.bandwidth_mib == 0) {
    std::fprintf(stderr, "vector_bench: bad sizes\n");
    std::exit(2);
  }
  if (f.threads == 0) f.threads = std::max(1u, std::thread::hardware_concurrency());
  f.latency_queries = std::min(f.latency_queries, f.queries);
  return f;
}

// Cascade's k-means options: the shared flags, then the Cascade-only ones.
// The benchmark's vector field: cosine (the rows are unit already).
VectorField BenchField(size_t dim) {
  VectorField field;
  field.name = "emb";
  field.dim = uint32_t(dim);
  field.metric = Metric::kCosine;
  return field;
}

// Doc ids 0..n-1, one per row.
std::vector<uint32_t> DocIds(size_t n) {
  std::vector<uint32_t> docs(n);
  for (size_t i = 0; i < n; ++i) docs[i] = uint32_t(i);
  return docs;
}

KMeansOptions CascadeKMeans(const Flags& f) {
  KMeansOptions kmeans;
  kmeans.k = f.nlist;
  kmeans.iterations = f.cascade_iterations > 0 ? f.cascade_iterations : f.iterations;
  kmeans.seed = f.cascade_kmeans_seed >= 0 ? uint64_t(f.cascade_kmeans_seed) : f.seed;
  kmeans.max_points_per_centroid =
      f.cascade_train_points >= 0 ? size_t(f.cascade_train_points) : f.train_points;
  kmeans.seeding_points_per_centroid = f.seeding_points;
  kmeans.threads = f.threads;
  if (f.cascade_full_passes >= 0) kmeans.full_passes = f.cascade_full_passes;
  return kmeans;
}

// --cascade-only 1: Cascade's k-means and f32 IVF, recall at each nprobe,
// and how often the probed list at nprobe 1 is not the query's best
// centroid by exact (double) inner product. No FAISS, no timed searches.
int CascadeOnly(const Flags& f, const std::vector<float>& base,
                const std::vector<float>& queries,
                const std::vector<std::vector<uint32_t>>& truth) {
  const KMeansOptions kmeans = CascadeKMeans(f);
  std::printf("Cascade k-means: iterations %d, train points/list %zu, full passes %d, "
              "seed %llu\n",
              kmeans.iterations, kmeans.max_points_per_centroid, kmeans.full_passes,
              (unsigned long long)kmeans.seed);
  double t0 = Now();
  std::vector<uint32_t> lists;
  auto centroids = TrainKMeans(base, f.dim, Metric::kCosine, kmeans, &lists);
  if (!centroids.ok()) Die("TrainKMeans", centroids.status());
  const double train = Now() - t0;
  t0 = Now();
  const VectorField field = BenchField(f.dim);
  const std::vector<uint32_t> docs = DocIds(f.n);
  auto ivf = VectorIndex::Build(field, docs, base, *centroids, lists, f.threads);
  if (!ivf.ok()) Die("Build IVF", ivf.status());
  const double add = Now() - t0;
  // The exact best centroid of each query, in double.
  const size_t nq = queries.size() / f.dim;
  std::vector<uint32_t> best(nq);
  ParallelFor(nq, f.threads, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) {
      double best_score = -1e300;
      for (size_t c = 0; c < f.nlist; ++c) {
        double sc = 0;
        for (size_t j = 0; j < f.dim; ++j) {
          sc += double(queries[q * f.dim + j]) * double((*centroids)[c * f.dim + j]);
        }
        if (sc > best_score) {
          best_score = sc;
          best[q] = uint32_t(c);
        }
      }
    }
  });
  VectorSearchParams params;
  params.k = f.k;
  params.nprobe = 1;
  std::vector<std::vector<Neighbor>> out;
  Status s = (*ivf)->SearchBatch(queries, params, f.threads, &out);
  if (!s.ok()) Die("SearchBatch", s);
  size_t wrong = 0;
  for (size_t q = 0; q < nq; ++q) {
    bool off = out[q].empty();
    for (const Neighbor& nb : out[q]) off |= lists[nb.doc] != best[q];
    wrong += off;
  }
  const IvfStats stats = (*ivf)->ivf_stats();
  std::printf("train %.2f s, add %.2f s (load average %s); imbalance %.3f, %zu empty lists; "
              "nprobe 1 probed a list other than the exact best centroid's for %zu of %zu "
              "queries\n",
              train, add, LoadAverage().c_str(), stats.imbalance, stats.empty_lists, wrong, nq);
  std::printf("| nprobe | Cascade recall@%zu |\n|---|---|\n", f.k);
  for (size_t nprobe : {1, 4, 16, 64}) {
    params.nprobe = nprobe;
    s = (*ivf)->SearchBatch(queries, params, f.threads, &out);
    if (!s.ok()) Die("SearchBatch", s);
    std::vector<std::vector<uint32_t>> hits(nq);
    for (size_t q = 0; q < nq; ++q) {
      for (const Neighbor& nb : out[q]) hits[q].push_back(nb.doc);
    }
    std::printf("| %zu | %.4f |\n", nprobe, Recall(truth, hits, f.k));
  }
  return 0;
}

// For each of `nprobes`, the mean number of vectors in the lists a query
// probes: its best nprobe centroids by float inner product (both indexes'
// coarse search, to within rounding), their list sizes summed. Lumpier
// lists put more vectors behind a probe: a query falls in a big list more
// often, and so do its neighbours.
std::vector<double> MeanScanned(const std::vector<float>& queries, const float* centroids,
                                size_t nlist, size_t dim, const std::vector<size_t>& sizes,
                                const std::vector<size_t>& nprobes, unsigned threads) {
  const size_t nq = queries.size() / dim;
  const size_t most = *std::max_element(nprobes.begin(), nprobes.end());
  const RowSpan rows{RowType::kF32, centroids, nullptr, dim};
  std::vector<double> totals(nprobes.size() * nq, 0.0);
  ParallelFor(nq, threads, [&](size_t begin, size_t end) {
    std::vector<float> scores(nlist);
    std::vector<uint32_t> order(nlist);
    for (size_t q = begin; q < end; ++q) {
      Kernels().score_rows(rows, false, queries.data() + q * dim, 0, nlist, scores.data());
      std::iota(order.begin(), order.end(), 0u);
      std::partial_sort(order.begin(), order.begin() + std::min(most, nlist), order.end(),
                        [&](uint32_t a, uint32_t b) {
                          return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
                        });
      for (size_t i = 0; i < nprobes.size(); ++i) {
        double sum = 0;
        for (size_t j = 0; j < std::min(nprobes[i], nlist); ++j) sum += double(sizes[order[j]]);
        totals[i * nq + q] = sum;
      }
    }
  });
  std::vector<double> mean(nprobes.size(), 0.0);
  for (size_t i = 0; i < nprobes.size(); ++i) {
    for (size_t q = 0; q < nq; ++q) mean[i] += totals[i * nq + q];
    mean[i] /= double(std::max<size_t>(nq, 1));
  }
  return mean;
}

// Both IVF indexes' mean vectors scanned per query at each nprobe.
struct Scanned {
  std::vector<double> cascade, faiss;
};

Scanned BothScanned(const std::vector<float>& queries, size_t dim, size_t nlist,
                    const std::vector<float>& centroids, const std::vector<uint32_t>& lists,
                    faiss::IndexIVFFlat& faiss_ivf, const std::vector<size_t>& nprobes,
                    unsigned threads) {
  std::vector<size_t> sizes(nlist, 0);
  for (uint32_t l : lists) ++sizes[l];
  Scanned out;
  out.cascade = MeanScanned(queries, centroids.data(), nlist, dim, sizes, nprobes, threads);
  auto* quantizer = dynamic_cast<faiss::IndexFlat*>(faiss_ivf.quantizer);
  if (quantizer == nullptr) Die("FAISS quantizer", Status::Internal("not an IndexFlat"));
  for (size_t l = 0; l < nlist; ++l) sizes[l] = faiss_ivf.invlists->list_size(l);
  out.faiss = MeanScanned(queries, quantizer->get_xb(), nlist, dim, sizes, nprobes, threads);
  return out;
}

// Table rows of the paired recall difference (Cascade - FAISS) at one
// nprobe.
std::string DifferenceRow(const std::string& index, size_t nprobe, const SearchRun& c,
                          const SearchRun& x, double c_scanned, double x_scanned) {
  const PairedDifference d = Paired(c.per_query, x.per_query);
  size_t more = 0, fewer = 0;
  for (size_t q = 0; q < c.per_query.size(); ++q) {
    more += c.per_query[q] > x.per_query[q];
    fewer += c.per_query[q] < x.per_query[q];
  }
  char row[256];
  std::snprintf(row, sizeof row,
                "| %s | %zu | %.4f | %.4f | %+.4f | %.4f | [%+.4f, %+.4f] | %zu | %zu | %.1f / "
                "%.1f |\n",
                index.c_str(), nprobe, c.recall, x.recall, d.mean, d.se, d.mean - 1.96 * d.se,
                d.mean + 1.96 * d.se, more, fewer, c_scanned, x_scanned);
  return row;
}

void PrintDifferenceHeader(const Flags& f) {
  std::printf("### Recall@%zu, Cascade - FAISS, paired over the %zu queries\n\n"
              "Standard error: the standard deviation of the per-query differences over "
              "sqrt(queries); the interval, the difference +- 1.96 standard errors, is where "
              "another sample of queries from the same distribution would put it.\n\n"
              "| index | nprobe | Cascade | FAISS | difference | standard error | 95%% interval "
              "| queries Cascade found more | queries FAISS found more | vectors scanned per "
              "query C / F |\n|---|---|---|---|---|---|---|---|---|---|\n",
              f.k, f.queries);
}

// --recall-only 1: both IVF indexes trained as in the full run, then
// recall at each nprobe with the paired difference; no flat indexes and no
// timed searches (for runs with many queries).
int RecallOnly(const Flags& f, const std::vector<float>& base, const std::vector<float>& queries,
               const std::vector<std::vector<uint32_t>>& truth, faiss::IndexIVFFlat& faiss_ivf) {
  const KMeansOptions kmeans = CascadeKMeans(f);
  double t0 = Now();
  std::vector<uint32_t> lists;
  auto centroids = TrainKMeans(base, f.dim, Metric::kCosine, kmeans, &lists);
  if (!centroids.ok()) Die("TrainKMeans", centroids.status());
  const double train = Now() - t0;
  auto ivf = VectorIndex::Build(BenchField(f.dim), DocIds(f.n), base, *centroids, lists,
                                f.threads);
  if (!ivf.ok()) Die("Build IVF", ivf.status());
  std::printf("Cascade IVF train %.2f s (load average %s); list imbalance Cascade %.3f, FAISS "
              "%.3f\n\n",
              train, LoadAverage().c_str(), (*ivf)->ivf_stats().imbalance,
              faiss_ivf.invlists->imbalance_factor());
  PrintDifferenceHeader(f);
  SetFaissThreads(f.threads);
  const std::vector<size_t> nprobes = {1, 4, 16, 64};
  const Scanned scanned =
      BothScanned(queries, f.dim, f.nlist, *centroids, lists, faiss_ivf, nprobes, f.threads);
  for (size_t i = 0; i < nprobes.size(); ++i) {
    faiss_ivf.nprobe = nprobes[i];
    const SearchRun x = RunFaiss(faiss_ivf, queries, f.dim, f.k, truth, 1);
    const SearchRun c =
        RunCascade(**ivf, queries, f.k, nprobes[i], f.threads, truth, nullptr, 1);
    std::printf("%s", DifferenceRow("IVF" + std::to_string(f.nlist) + " f32", nprobes[i], c, x,
                                    scanned.cascade[i], scanned.faiss[i])
                          .c_str());
  }
  return 0;
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped to a file
  const std::vector<size_t> nprobes = {1, 4, 16, 64};
  std::vector<unsigned> thread_counts = {1};
  if (f.threads > 1) thread_counts.push_back(f.threads);

  std::printf("data: n %zu, dim %zu, queries %zu, clusters %zu, spread %.3f, seed %llu; "
              "nlist %zu, k %zu, k-means iterations %d, train points/list %zu, threads 1 and "
              "%u; kernels %s; load average %s\n",
              f.n, f.dim, f.queries, f.clusters, f.spread, (unsigned long long)f.seed, f.nlist,
              f.k, f.iterations, f.train_points, f.threads,
              std::string(IsaName(Kernels().isa)).c_str(), LoadAverage().c_str());
  const double run_start = Now();
  ClusteredSpec spec{f.n, f.dim, f.clusters, f.spread, f.seed};
  double t0 = Now();
  const std::vector<float> base = ClusteredVectors(spec);
  spec.n = f.queries;
  const std::vector<float> queries = ClusteredVectors(spec);
  std::printf("generated in %.2f s\n", Now() - t0);
  t0 = Now();
  const auto truth = GroundTruth(base, queries, f.dim, f.k, f.threads);
  std::printf("exact top-%zu (float shortlist of %zu re-scored in double, %u threads) in "
              "%.2f s\n\n", f.k, 4 * f.k, f.threads, Now() - t0);
  if (f.cascade_only) return CascadeOnly(f, base, queries, truth);

  // FAISS: flat and IVF, trained with all threads.
  SetFaissThreads(f.threads);
  double rss0 = RssBytes();
  t0 = Now();
  faiss::IndexFlatIP faiss_flat(int(f.dim));
  if (!f.faiss_only && !f.recall_only) faiss_flat.add(FaissId(f.n), base.data());
  const double faiss_flat_build = Now() - t0;
  const double faiss_flat_rss = RssBytes() - rss0;
  rss0 = RssBytes();
  faiss::IndexFlatIP faiss_quantizer(int(f.dim));
  faiss::IndexIVFFlat faiss_ivf(&faiss_quantizer, f.dim, f.nlist, faiss::METRIC_INNER_PRODUCT);
  faiss_ivf.cp.niter = f.iterations;
  faiss_ivf.cp.spherical = true;
  faiss_ivf.cp.max_points_per_centroid = int(f.train_points);
  faiss_ivf.cp.seed = int(f.seed);
  faiss_ivf.verbose = false;
  t0 = Now();
  faiss_ivf.train(FaissId(f.n), base.data());
  const double faiss_train = Now() - t0;
  t0 = Now();
  faiss_ivf.add(FaissId(f.n), base.data());
  const double faiss_add = Now() - t0;
  const double faiss_ivf_rss = RssBytes() - rss0;
  if (f.recall_only) {
    std::printf("FAISS IVF train %.2f s, add %.2f s\n", faiss_train, faiss_add);
    return RecallOnly(f, base, queries, truth, faiss_ivf);
  }
  if (f.faiss_only) {
    std::printf("FAISS IVF train %.2f s, add %.2f s\n", faiss_train, faiss_add);
    SetFaissThreads(f.threads);
    for (size_t nprobe : nprobes) {
      faiss_ivf.nprobe = nprobe;
      const SearchRun r = RunFaiss(faiss_ivf, queries, f.dim, f.k, truth);
      std::printf("FAISS IVF nprobe %zu: recall@%zu %.4f, %.0f qps\n", nprobe, f.k, r.recall,
                  r.qps);
    }
    return 0;
  }

  // Cascade: flat and IVF.
  const VectorField field = BenchField(f.dim);
  const std::vector<uint32_t> docs = DocIds(f.n);
  rss0 = RssBytes();
  t0 = Now();
  auto flat = VectorIndex::Build(field, docs, base, {}, {}, f.threads);
  if (!flat.ok()) Die("Build flat", flat.status());
  const double cascade_flat_build = Now() - t0;
  const double cascade_flat_rss = RssBytes() - rss0;
  rss0 = RssBytes();
  const KMeansOptions kmeans = CascadeKMeans(f);
  // The lists come with the centroids (TrainKMeans's assignment: with full
  // passes, the last pass's, so training includes assigning every vector);
  // one assignment serves the IVF index of every storage.
  t0 = Now();
  std::vector<uint32_t> lists;
  auto centroids = TrainKMeans(base, f.dim, Metric::kCosine, kmeans, &lists);
  if (!centroids.ok()) Die("TrainKMeans", centroids.status());
  const double cascade_train = Now() - t0;
  t0 = Now();
  std::vector<std::unique_ptr<VectorIndex>> ivfs;
  for (Storage storage : f.ivf_storages) {
    VectorField sf = field;
    sf.storage = storage;
    auto built = VectorIndex::Build(sf, docs, base, *centroids, lists, f.threads);
    if (!built.ok()) Die("Build IVF", built.status());
    ivfs.push_back(std::move(*built));
  }
  const double cascade_add = Now() - t0;  // grouping rows into lists, all storages
  const double cascade_ivf_rss = RssBytes() - rss0;
  const std::unique_ptr<VectorIndex>& ivf = ivfs.front();
  const IvfStats stats = ivf->ivf_stats();
  const double faiss_imbalance = faiss_ivf.invlists->imbalance_factor();
  auto storage_name = [](Storage s) { return std::string(StorageName(s)); };

  std::printf("### Build (%u threads)\n\n", f.threads);
  std::printf("| index | Cascade train s | Cascade add s | FAISS train s | FAISS add s | "
              "train+add ratio C/F | Cascade MiB (bytes held) | FAISS MiB | Cascade RSS "
              "growth MiB | FAISS RSS growth MiB |\n|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| flat | - | %.2f | - | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f |\n",
              cascade_flat_build, faiss_flat_build,
              cascade_flat_build / std::max(faiss_flat_build, 1e-9),
              Mib((*flat)->memory_bytes()), Mib(double(faiss_flat.codes.size())),
              Mib(cascade_flat_rss), Mib(faiss_flat_rss));
  std::string ivf_mib;
  for (size_t i = 0; i < ivfs.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.1f", i ? ", " : "",
                  storage_name(f.ivf_storages[i]).c_str(), Mib(ivfs[i]->memory_bytes()));
    ivf_mib += buf;
  }
  std::printf("| IVF%zu | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.1f | %.1f | %.1f |\n\n",
              f.nlist, cascade_train, cascade_add, faiss_train, faiss_add,
              (cascade_train + cascade_add) / (faiss_train + faiss_add), ivf_mib.c_str(),
              Mib(FaissIvfBytes(faiss_ivf)), Mib(cascade_ivf_rss), Mib(faiss_ivf_rss));
  std::printf("Cascade IVF: train includes the full passes (%d; each assigns every vector, "
              "and the last assignment gives the lists), add builds the index of each storage "
              "(%zu); list imbalance (1 = even): Cascade %.3f (%zu empty lists), "
              "FAISS %.3f\n\n",
              kmeans.full_passes, ivfs.size(), stats.imbalance, stats.empty_lists,
              faiss_imbalance);

  // Flat scans against memory bandwidth, and single-query latency.
  SetFaissThreads(1);
  const double bandwidth = ReadBandwidth(f.bandwidth_mib);
  std::printf("### Single query, flat (1 thread; %zu queries one at a time; load average "
              "%s)\n\n",
              f.latency_queries, LoadAverage().c_str());
  std::printf("single-core read bandwidth: %.2f GB/s (the best of 7 x 3 reads of a %zu MiB "
              "buffer: plain, and prefetching 4 KiB and 32 KiB ahead)\n\n",
              bandwidth / 1e9, f.bandwidth_mib);
  const Latency faiss_flat_latency =
      FaissLatency(faiss_flat, queries, f.dim, f.k, f.latency_queries);
  std::printf("p50 / stream: the p50 against the time to stream the rows once at that "
              "bandwidth. Each query is scanned three times, each scan right after a read of "
              "the index's own rows (plain, prefetching 4 KiB and 32 KiB ahead); rows read "
              "p50: the p50 of each query's fastest read; scan / read: the median over the "
              "queries of the fastest scan over the fastest read\n\n");
  std::printf("| index | storage | row MiB | stream once ms | p50 ms | mean ms | p50 / stream | "
              "rows read p50 ms | scan / read | recall@%zu | p50 ratio C/F |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|\n",
              f.k);
  std::printf("| FAISS IndexFlatIP | f32 | %.1f | %.2f | %.2f | %.2f | %.2f | - | - | - | - |\n",
              Mib(double(faiss_flat.codes.size())),
              double(faiss_flat.codes.size()) / bandwidth * 1e3, faiss_flat_latency.p50_ms,
              faiss_flat_latency.mean_ms,
              faiss_flat_latency.p50_ms / (double(faiss_flat.codes.size()) / bandwidth * 1e3));
  for (Storage storage : {Storage::kF32, Storage::kF16, Storage::kInt8}) {
    std::unique_ptr<VectorIndex> other;
    if (storage != Storage::kF32) {
      VectorField sf = field;
      sf.storage = storage;
      auto built = VectorIndex::Build(sf, docs, base, {}, {}, f.threads);
      if (!built.ok()) Die("Build flat", built.status());
      other = std::move(*built);
    }
    const VectorIndex& index = other ? *other : **flat;
    const ScanAgainstStream l = FlatAgainstStream(index, queries, f.dim, f.k, f.latency_queries);
    const SearchRun r = RunCascade(index, queries, f.k, 0, f.threads, truth);
    const double stream_ms = double(index.row_bytes()) / bandwidth * 1e3;
    std::printf("| Cascade flat | %s | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.4f | "
                "%.2f |\n",
                storage_name(storage).c_str(), Mib(double(index.row_bytes())), stream_ms,
                l.scan.p50_ms, l.scan.mean_ms, l.scan.p50_ms / stream_ms, l.stream.p50_ms,
                l.ratio_p50, r.recall, l.scan.p50_ms / faiss_flat_latency.p50_ms);
    std::fflush(stdout);
  }
  std::printf("\n");

  std::printf("### Search (%zu queries as one batch, k %zu)\n\n", f.queries, f.k);
  std::printf("| index | nprobe | threads | Cascade recall@%zu | FAISS recall@%zu | Cascade "
              "QPS | FAISS QPS | QPS ratio C/F |\n|---|---|---|---|---|---|---|---|\n",
              f.k, f.k);
  // Recall does not depend on the thread count: the first pass's
  // differences are kept for the table after this one.
  std::vector<std::string> diff_rows;
  const Scanned scanned =
      BothScanned(queries, f.dim, f.nlist, *centroids, lists, faiss_ivf, nprobes, f.threads);
  for (unsigned threads : thread_counts) {
    SetFaissThreads(threads);
    const SearchRun c = RunCascade(**flat, queries, f.k, 0, threads, truth);
    const SearchRun x = RunFaiss(faiss_flat, queries, f.dim, f.k, truth);
    std::printf("| flat f32 | - | %u | %.4f | %.4f | %.1f | %.1f | %.2f |\n", threads,
                c.recall, x.recall, c.qps, x.qps, c.qps / x.qps);
    std::fflush(stdout);
    for (size_t nprobe : nprobes) {
      faiss_ivf.nprobe = nprobe;
      const SearchRun xi = RunFaiss(faiss_ivf, queries, f.dim, f.k, truth);
      for (size_t i = 0; i < ivfs.size(); ++i) {
        const SearchRun ci = RunCascade(*ivfs[i], queries, f.k, nprobe, threads, truth);
        std::printf("| IVF%zu %s | %zu | %u | %.4f | %.4f | %.1f | %.1f | %.2f |\n", f.nlist,
                    storage_name(f.ivf_storages[i]).c_str(), nprobe, threads, ci.recall,
                    xi.recall, ci.qps, xi.qps, ci.qps / xi.qps);
        std::fflush(stdout);
        if (threads == thread_counts.front()) {
          const size_t at = size_t(std::find(nprobes.begin(), nprobes.end(), nprobe) -
                                   nprobes.begin());
          diff_rows.push_back(DifferenceRow(
              "IVF" + std::to_string(f.nlist) + " " + storage_name(f.ivf_storages[i]), nprobe,
              ci, xi, scanned.cascade[at], scanned.faiss[at]));
        }
      }
    }
  }
  std::printf("\n");
  PrintDifferenceHeader(f);
  for (const std::string& row : diff_rows) std::printf("%s", row.c_str());
  std::printf("\nsearch phases done at load average %s, %.0f s into the run\n\n",
              LoadAverage().c_str(), Now() - run_start);
  if (!f.store) return 0;

  // The same vectors in a real index: IndexWriter, TrainIvf, LoadVectorIndex.
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("cascade_vector_bench_" + std::to_string(getpid()));
  fs::remove_all(dir);
  {
    index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options.vector_fields.push_back(field);
    auto store = index::Store::Open((dir / "index").string(), options);
    if (!store.ok()) Die("Store::Open", store.status());
    t0 = Now();
    {
      auto writer = index::IndexWriter::Open(*store, {});
      if (!writer.ok()) Die("IndexWriter::Open", writer.status());
      index::Document doc;
      for (size_t i = 0; i < f.n; ++i) {
        doc.id = "v" + std::to_string(i);
        doc.text = "vector " + std::to_string(i);
        doc.vectors = {{"emb", std::vector<float>(base.begin() + i * f.dim,
                                                  base.begin() + (i + 1) * f.dim)}};
        Status s = (*writer)->Add(doc);
        if (!s.ok()) Die("Add", s);
      }
      Status s = (*writer)->Commit();
      if (!s.ok()) Die("Commit", s);
    }
    const double index_seconds = Now() - t0;
    IvfTrainOptions train;
    train.lists = f.nlist;
    train.kmeans = kmeans;
    auto report = TrainIvf(*store, "emb", train);
    if (!report.ok()) Die("TrainIvf", report.status());
    const uint64_t disk = DiskBytes(dir);
    auto reader = index::IndexReader::Open(*store);
    if (!reader.ok()) Die("IndexReader::Open", reader.status());
    t0 = Now();
    // The loaded index reads the field's schema: f32 rows.
    auto loaded = LoadVectorIndex(**store, **reader, "emb", f.threads);
    if (!loaded.ok()) Die("LoadVectorIndex", loaded.status());
    const double load_seconds = Now() - t0;
    // Doc ids -> rows of `base` (outside the timed searches).
    std::vector<uint32_t> doc_to_row(f.n);
    for (uint32_t d = 0; d < f.n; ++d) {
      auto document = (*reader)->ReadDocument(d);
      if (!document.ok()) Die("ReadDocument", document.status());
      doc_to_row[d] = uint32_t(std::strtoul(document->id.c_str() + 1, nullptr, 10));
    }
    std::printf("### Cascade IVF in RocksDB (temporary index)\n\n");
    std::printf("indexed %zu documents (text + f32 vector) in %.2f s; TrainIvf %.2f s "
                "(sample %zu); index on disk %.1f MiB; LoadVectorIndex %.2f s\n\n",
                f.n, index_seconds, report->seconds, report->sample, Mib(double(disk)),
                load_seconds);
    std::printf("| nprobe | threads | recall@%zu | QPS |\n|---|---|---|---|\n", f.k);
    for (unsigned threads : thread_counts) {
      for (size_t nprobe : nprobes) {
        const SearchRun r =
            RunCascade(**loaded, queries, f.k, nprobe, threads, truth, &doc_to_row);
        std::printf("| %zu | %u | %.4f | %.1f |\n", nprobe, threads, r.recall, r.qps);
        std::fflush(stdout);
      }
    }
  }
  fs::remove_all(dir);
  std::printf("\nend: load average %s, %.0f s\n", LoadAverage().c_str(), Now() - run_start);
  return 0;
}

}  // namespace
}  // namespace cascade::dense

int main(int argc, char** argv) { return cascade::dense::Main(argc, argv); }
