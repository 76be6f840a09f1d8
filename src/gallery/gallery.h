// Gallery: the embedding indexes of one process, one per embedding model.
//
// Used by the worker (staff gallery pushed by the API) and by the API server
// (customer index rebuilt from the database). Vectors carry the id of the model
// that made them, and only vectors of the same model are ever compared: each
// model has its own index with a fixed dimension (set by RegisterModel or by the
// first vector), a vector or query of another dimension is InvalidArgument, and
// a search on a model the gallery does not know is NotFound — never a crash.
//
// Every vector has an id (unique across the gallery; upserting an id under
// another model moves it) and an owner (a staff member or customer has several
// face vectors; the owner groups them). Vectors and queries are L2-normalised on
// the way in, so similarities are cosine similarities in [-1, 1].
//
// A model's index is exact (ExactIndex) and also gets an HNSW index
// (HnswIndex) once it holds options.hnsw_min_size vectors; searches then use
// HNSW. The exact index remains the source of truth.
//
// Thread-safety: all methods are safe to call concurrently. Searches share a
// std::shared_mutex; writers (Upsert, Remove, ReplaceModel, ...) take it
// exclusively, so a search never sees a half-applied change. glibc's shared
// mutex prefers readers, so a steady stream of searches would starve writers;
// a turnstile mutex in front of it lets a waiting writer in as soon as the
// searches already running finish. ReplaceModel builds the new index before
// taking the lock.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "gallery/hnsw_index.h"
#include "gallery/match.h"

namespace vigil::gallery {

struct GalleryOptions {
  // Give a model an HNSW index once it holds this many vectors (0: never).
  // Exact search over 100k × 128-D takes a few ms on one core; HNSW pays off
  // beyond that. Building the graph happens under the write lock.
  size_t hnsw_min_size = 200'000;
  HnswOptions hnsw;
};

struct GalleryEntry {
  std::string id;
  std::string owner;
  std::vector<float> vector;
};

class Gallery {
 public:
  explicit Gallery(GalleryOptions options = {});
  ~Gallery();
  Gallery(const Gallery&) = delete;
  Gallery& operator=(const Gallery&) = delete;

  // Declares `model` with dimension `dim` (> 0). AlreadyExists-free: OK when the
  // model is already known with the same dimension, InvalidArgument otherwise.
  Status RegisterModel(std::string_view model, size_t dim);

  // Inserts or replaces vector `id` of `owner` under `model`. InvalidArgument
  // for an empty model or id, a dimension other than the model's, a non-finite
  // or zero vector.
  Status Upsert(std::string_view model, std::string_view id, std::string_view owner, std::span<const float> v);
  // Removes vector `id` (whatever its model); false when absent.
  bool Remove(std::string_view id);
  // Removes all vectors of `owner` in every model; returns how many.
  size_t RemoveOwner(std::string_view owner);
  // Atomically replaces everything under `model` with `entries` (a full
  // snapshot). All entries are validated first; on error nothing changes.
  Status ReplaceModel(std::string_view model, const std::vector<GalleryEntry>& entries);
  // Drops `model` and its vectors; false when unknown.
  bool RemoveModel(std::string_view model);

  // The k best vectors for `query`, best first.
  Result<std::vector<Match>> Search(std::string_view model, std::span<const float> query, size_t k) const;
  // The k best owners for `query`: each owner's best vector, best first
  // (vectors with an empty owner count as their own owner).
  Result<std::vector<Match>> SearchOwners(std::string_view model, std::span<const float> query, size_t k) const;

  // For each query, its best owner (the owner of its best vector): the same
  // as SearchOwners(model, query, 1) for each, but an exact index is scanned
  // once per four queries. nullopt for a query that is invalid (wrong
  // dimension, non-finite, zero) or when the model is unknown or empty.
  std::vector<std::optional<Match>> BestOwnerMany(std::string_view model,
                                                  const std::vector<std::span<const float>>& queries) const;
  size_t size() const;                        // vectors in all models
  size_t size(std::string_view model) const;  // 0 for an unknown model
  std::optional<size_t> Dimension(std::string_view model) const;
  std::vector<std::string> Models() const;

  // Sets HNSW ef for every model's HNSW index, present and future.
  void SetHnswEf(size_t ef);

 private:
  struct ModelIndex;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ModelMap = std::unordered_map<std::string, std::unique_ptr<ModelIndex>, Hash, std::equal_to<>>;

  Result<std::vector<Match>> SearchLocked(const ModelIndex& index, std::span<const float> query, size_t k) const;
  static Status MaybeBuildHnsw(ModelIndex& index, const GalleryOptions& options);
  ModelIndex* Find(std::string_view model) const;
  std::shared_lock<std::shared_mutex> ReadLock() const;
  std::unique_lock<std::shared_mutex> WriteLock() const;

  GalleryOptions options_;
  mutable std::mutex turnstile_;  // taken briefly by every locker; see the file comment
  mutable std::shared_mutex mu_;
  ModelMap models_;                                                               // guarded by mu_
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> model_of_;  // id -> model; guarded by mu_
};

}  // namespace vigil::gallery
