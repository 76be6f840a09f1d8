// Result type of gallery searches and the vector helpers shared by the indexes.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::gallery {

struct Match {
  std::string id;        // the vector's id (a face id)
  std::string owner;     // who the vector belongs to (a staff or customer id); may be empty
  float similarity = 0;  // inner product; cosine for the L2-normalised vectors a Gallery keeps
  friend bool operator==(const Match&, const Match&) = default;
};

// InvalidArgument unless `v` has `dim` finite values (and, when `nonzero`, is
// not the zero vector).
Status CheckVector(std::span<const float> v, size_t dim, bool nonzero);

// `v` scaled to unit L2 norm. The caller has checked it with CheckVector(..., true).
std::vector<float> Normalized(std::span<const float> v);

// Keeps the best match of each owner (entries with an empty owner stand for
// themselves), in descending similarity, at most `k`. `matches` must be sorted
// by descending similarity.
std::vector<Match> BestPerOwner(const std::vector<Match>& matches, size_t k);

}  // namespace vigil::gallery
