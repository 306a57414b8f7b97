// Dense vectors in the index: loading a field's VectorIndex from RocksDB
// (keys.h, "vectors" and "ivf"), training its IVF lists, and their stats.
//
// Loading reads the field's whole key range once (a reader's point-in-time
// view: documents it sees, minus its deletes) into the in-memory
// VectorIndex; searches then touch no RocksDB. IVF lists come from their
// prefix ranges in "ivf".
//
// Thread-safety: LoadVectorIndex may run from many threads. TrainIvf
// rewrites a field's lists: run it while no IndexWriter adds documents to
// the store (the CLI opens the index for itself; documents added after
// training go to their nearest list at flush).
#ifndef CASCADE_INDEX_DENSE_VECTOR_STORE_H_
#define CASCADE_INDEX_DENSE_VECTOR_STORE_H_

#include <memory>
#include <optional>
#include <string_view>

#include "cascade/status.h"
#include "index/dense/kmeans.h"
#include "index/dense/vector_index.h"
#include "index/index_reader.h"
#include "index/store.h"

namespace cascade::dense {

// The field's ordinal in the index's schema; NotFound naming the fields
// there are.
Result<size_t> FindVectorField(const index::Store& store, std::string_view name);

// The live vectors of `field` as `reader` sees them, with the field's IVF
// lists when it has centroids. Corruption for a bad record.
Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(const index::Store& store,
                                                     const index::IndexReader& reader,
                                                     std::string_view field,
                                                     unsigned threads = 0);

struct IvfTrainOptions {
  // nlist; 0: 4 * sqrt(live vectors), at most one per 39 vectors, >= 1.
  size_t lists = 0;
  KMeansOptions kmeans = {};  // k is set from `lists`
};

struct IvfTrainReport {
  size_t vectors = 0;  // live vectors assigned to lists
  size_t lists = 0;
  size_t sample = 0;   // vectors k-means trained on
  double seconds = 0;
};

// Trains `field`'s centroids with k-means on its live vectors and rewrites
// its lists in one atomic WriteBatch (old centroids and lists are replaced,
// deleted documents dropped). InvalidArgument when there are fewer live
// vectors than lists or the store is read-only.
Result<IvfTrainReport> TrainIvf(const std::shared_ptr<index::Store>& store,
                                std::string_view field, const IvfTrainOptions& options);

// Trains every field whose ivf_auto_threshold is reached and that has no
// centroids yet (lists: the IvfTrainOptions default). Returns the fields
// trained, e.g. for a log line.
Result<std::vector<std::string>> MaybeAutoTrainIvf(const std::shared_ptr<index::Store>& store,
                                                   unsigned threads = 0);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_VECTOR_STORE_H_
