#include "gallery/match.h"

#include <cmath>
#include <string_view>
#include <unordered_set>

namespace vigil::gallery {

Status CheckVector(std::span<const float> v, size_t dim, bool nonzero) {
  if (v.size() != dim) {
    return InvalidArgument("vector has " + std::to_string(v.size()) + " dimensions, expected " + std::to_string(dim));
  }
  double norm2 = 0;
  for (float x : v) {
    if (!std::isfinite(x)) return InvalidArgument("vector holds a non-finite value");
    norm2 += static_cast<double>(x) * x;
  }
  if (nonzero && !(norm2 > 0)) return InvalidArgument("vector is zero");
  return Status::Ok();
}

std::vector<float> Normalized(std::span<const float> v) {
  double norm2 = 0;
  for (float x : v) norm2 += static_cast<double>(x) * x;
  const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i] * inv);
  return out;
}

std::vector<Match> BestPerOwner(const std::vector<Match>& matches, size_t k) {
  std::vector<Match> out;
  std::unordered_set<std::string_view> seen;
  for (const auto& m : matches) {
    if (out.size() >= k) break;
    if (!m.owner.empty() && !seen.insert(m.owner).second) continue;
    out.push_back(m);
  }
  return out;
}

}  // namespace vigil::gallery
