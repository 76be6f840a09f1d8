// Exact top-k inner-product search over a contiguous float array of transposed row blocks.
//
// Vectors live in one contiguous array (no per-entry allocation), in blocks of
// eight rows stored transposed (dot_kernels.h, BlockedInnerProducts), so a
// search is one sequential pass through memory that scores eight rows per
// vector instruction. Remove swaps the last row into the hole, keeping the
// array contiguous; row order is therefore not stable.
//
// The index stores vectors as given and scores by plain inner product; Gallery
// (gallery.h) normalises so that scores are cosine similarities.
//
// Thread-safety: like a standard container. Const methods (Search, size, ...)
// may run concurrently with each other; a non-const method needs exclusive
// access. Gallery wraps its indexes in a std::shared_mutex (many searches, one
// writer).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "gallery/match.h"

namespace vigil::gallery {

class ExactIndex {
 public:
  explicit ExactIndex(size_t dim);

  size_t dim() const { return dim_; }
  size_t size() const { return ids_.size(); }
  bool Contains(std::string_view id) const;

  // Inserts `v` under `id`, or replaces the vector and owner already there.
  // InvalidArgument unless `v` has dim() finite values or when `id` is empty.
  Status Upsert(std::string_view id, std::string_view owner, std::span<const float> v);
  // False when `id` is not present.
  bool Remove(std::string_view id);
  // Removes every vector of `owner`; returns how many.
  size_t RemoveOwner(std::string_view owner);
  void Clear();
  void Reserve(size_t n);

  // The k highest inner products with `q`, best first (fewer when the index
  // holds fewer). InvalidArgument when `q` does not have dim() finite values.
  Result<std::vector<Match>> Search(std::span<const float> q, size_t k) const;

  // The best entry for each of `nq` queries (row-major nq × dim(), already
  // checked and normalised by the caller), or nullopt for all when the index
  // is empty. Same result as Search(query, 1) for each query (ties go to the
  // earlier row), but the matrix is read once per four queries.
  std::vector<std::optional<Match>> BestMany(std::span<const float> queries, size_t nq) const;

  // Calls fn(id, owner, vector) for every entry, in storage order. `vector`
  // is a copy gathered from the blocks, valid only during that call.
  void ForEach(const std::function<void(const std::string&, const std::string&, std::span<const float>)>& fn) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void RemoveRow(size_t row);
  // Element 0 of `row`; element j is kBlockLanes floats further on per j.
  float* Lane(size_t row);
  const float* Lane(size_t row) const;
  void SetRow(size_t row, const float* v);
  void GetRow(size_t row, float* v) const;

  size_t dim_;
  std::vector<float> data_;          // ceil(size() / 8) blocks of dim_ × 8, unused lanes zero
  std::vector<std::string> ids_;     // per row
  std::vector<std::string> owners_;  // per row
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> row_of_;
};

}  // namespace vigil::gallery
