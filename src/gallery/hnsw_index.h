// Approximate top-k inner-product search (HNSW graph, hnswlib underneath).
//
// For galleries too large for exact search. Distances come from the same
// vectorised kernel as ExactIndex. Remove marks the graph node deleted (it is
// skipped by searches) and its slot is reused by the next new id, so memory
// stays bounded by the peak number of live vectors. Recall is tuned with ef:
// larger ef, higher recall, slower searches (ef below k is raised to k).
//
// hnswlib stays out of this header (pimpl), so including it is cheap.
//
// Thread-safety: like a standard container. Const methods (Search, size, ...)
// may run concurrently with each other; a non-const method (including SetEf)
// needs exclusive access. Gallery wraps its indexes in a std::shared_mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gallery/match.h"

namespace vigil::gallery {

struct HnswOptions {
  size_t m = 16;                   // graph degree (hnswlib M)
  size_t ef_construction = 200;    // build-time beam width
  size_t ef_search = 64;           // search-time beam width
  size_t initial_capacity = 1024;  // grows by doubling
  uint64_t seed = 100;             // level generator seed (single-threaded builds are reproducible)
  size_t build_threads = 0;        // AddBatch threads; 0: one per hardware thread
};

class HnswIndex {
 public:
  explicit HnswIndex(size_t dim, HnswOptions options = {});
  ~HnswIndex();
  HnswIndex(HnswIndex&&) noexcept;
  HnswIndex& operator=(HnswIndex&&) noexcept;

  size_t dim() const;
  size_t size() const;  // live vectors
  bool Contains(std::string_view id) const;

  // Inserts or replaces. InvalidArgument for a wrong-sized or non-finite vector
  // or an empty id; ResourceExhausted when memory for growth cannot be had.
  Status Upsert(std::string_view id, std::string_view owner, std::span<const float> v);
  bool Remove(std::string_view id);
  size_t RemoveOwner(std::string_view owner);
  // Grows capacity ahead of a bulk load.
  Status Reserve(size_t n);
  // Adds many new vectors at once. `rows` holds ids.size() × dim() floats;
  // `owners` is empty or one per id. Every id must be new and distinct;
  // everything is validated before anything is inserted. Insertion is serial:
  // hnswlib 0.6.2's concurrent addPoint races on its level generator and takes
  // neighbour locks in inconsistent order (ThreadSanitizer reports both).
  Status AddBatch(std::span<const std::string> ids, std::span<const std::string> owners, std::span<const float> rows);

  void SetEf(size_t ef);
  size_t ef() const;

  // Up to k approximate best matches by inner product, best first.
  Result<std::vector<Match>> Search(std::span<const float> q, size_t k) const;

  // Persists the graph to `path` (hnswlib's format) and the ids and owners to
  // `path` + ".ids", so a large graph need not be rebuilt (building 1M vectors
  // takes an hour on a small machine). Internal when a file cannot be written.
  Status Save(const std::string& path) const;
  // Loads what Save wrote. `dim` must match the saved graph; M and
  // ef_construction come from the file, ef_search from `options`. NotFound when
  // the files are absent, DataLoss when they are truncated or inconsistent.
  static Result<HnswIndex> Load(const std::string& path, size_t dim, HnswOptions options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::gallery
