// Deterministic random vectors and a brute-force reference for gallery tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace vigil::gallery::testing {

inline std::vector<float> RandomUnit(std::mt19937& rng, size_t dim) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> v(dim);
  double s = 0;
  for (auto& x : v) {
    x = n(rng);
    s += double(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(s));
  return v;
}

inline double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Indices of `rows` ordered by descending inner product with q (double precision).
inline std::vector<size_t> BruteForceOrder(const std::vector<std::vector<float>>& rows, const std::vector<float>& q) {
  std::vector<size_t> idx(rows.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::vector<double> s(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) s[i] = Dot(rows[i], q);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  return idx;
}

}  // namespace vigil::gallery::testing
