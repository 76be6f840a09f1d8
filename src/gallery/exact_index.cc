#include "gallery/exact_index.h"

#include <algorithm>
#include <array>
#include <utility>

#include "gallery/dot_kernels.h"

namespace vigil::gallery {
namespace {

// Scores are computed a block at a time into a stack buffer, then filtered
// against the current k-th best: the kernel stays a tight loop and the heap is
// touched only by rows that can enter the top k.
// A multiple of kBlockLanes, so every chunk starts on a block.
constexpr size_t kBlockRows = 256;
static_assert(kBlockRows % kBlockLanes == 0);

using Scored = std::pair<float, size_t>;  // (score, row)
// Min-heap on score, so the front is the weakest of the current top k.
// Ties prefer the lower row, which keeps results deterministic.
struct WorseFirst {
  bool operator()(const Scored& a, const Scored& b) const {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }
};

}  // namespace

ExactIndex::ExactIndex(size_t dim) : dim_(dim) {}

bool ExactIndex::Contains(std::string_view id) const { return row_of_.find(id) != row_of_.end(); }

Status ExactIndex::Upsert(std::string_view id, std::string_view owner, std::span<const float> v) {
  if (id.empty()) return InvalidArgument("vector id must not be empty");
  VIGIL_RETURN_IF_ERROR(CheckVector(v, dim_, false));
  auto it = row_of_.find(id);
  size_t row;
  if (it != row_of_.end()) {
    row = it->second;
    owners_[row].assign(owner);
  } else {
    row = ids_.size();
    if (row % kBlockLanes == 0) data_.resize(data_.size() + dim_ * kBlockLanes, 0.0f);  // a new block
    ids_.emplace_back(id);
    owners_.emplace_back(owner);
    row_of_.emplace(std::string(id), row);
  }
  SetRow(row, v.data());
  return Status::Ok();
}

float* ExactIndex::Lane(size_t row) {
  return data_.data() + (row / kBlockLanes) * dim_ * kBlockLanes + row % kBlockLanes;
}

const float* ExactIndex::Lane(size_t row) const {
  return data_.data() + (row / kBlockLanes) * dim_ * kBlockLanes + row % kBlockLanes;
}

void ExactIndex::SetRow(size_t row, const float* v) {
  float* p = Lane(row);
  for (size_t j = 0; j < dim_; ++j) p[j * kBlockLanes] = v[j];
}

void ExactIndex::GetRow(size_t row, float* v) const {
  const float* p = Lane(row);
  for (size_t j = 0; j < dim_; ++j) v[j] = p[j * kBlockLanes];
}

void ExactIndex::RemoveRow(size_t row) {
  const size_t last = ids_.size() - 1;
  row_of_.erase(row_of_.find(ids_[row]));
  if (row != last) {
    float* to = Lane(row);
    const float* from = Lane(last);
    for (size_t j = 0; j < dim_; ++j) to[j * kBlockLanes] = from[j * kBlockLanes];
    ids_[row] = std::move(ids_[last]);
    owners_[row] = std::move(owners_[last]);
    row_of_.find(ids_[row])->second = row;
  }
  ids_.pop_back();
  owners_.pop_back();
  if (last % kBlockLanes == 0) {
    data_.resize(last / kBlockLanes * dim_ * kBlockLanes);  // the last block is empty now
  } else {
    float* gone = Lane(last);
    for (size_t j = 0; j < dim_; ++j) gone[j * kBlockLanes] = 0.0f;  // unused lanes stay zero
  }
}

bool ExactIndex::Remove(std::string_view id) {
  auto it = row_of_.find(id);
  if (it == row_of_.end()) return false;
  RemoveRow(it->second);
  return true;
}

size_t ExactIndex::RemoveOwner(std::string_view owner) {
  size_t removed = 0;
  // Walk backwards: a swap-remove only moves rows from behind the cursor.
  for (size_t row = ids_.size(); row-- > 0;) {
    if (owners_[row] == owner) {
      RemoveRow(row);
      ++removed;
    }
  }
  return removed;
}

void ExactIndex::Clear() {
  data_.clear();
  ids_.clear();
  owners_.clear();
  row_of_.clear();
}

void ExactIndex::Reserve(size_t n) {
  data_.reserve((n + kBlockLanes - 1) / kBlockLanes * kBlockLanes * dim_);
  ids_.reserve(n);
  owners_.reserve(n);
  row_of_.reserve(n);
}

Result<std::vector<Match>> ExactIndex::Search(std::span<const float> q, size_t k) const {
  VIGIL_RETURN_IF_ERROR(CheckVector(q, dim_, false));
  const size_t n = ids_.size();
  k = std::min(k, n);
  std::vector<Match> out;
  if (k == 0) return out;

  std::vector<Scored> heap;
  heap.reserve(k);
  std::array<float, kBlockRows> scores;
  for (size_t start = 0; start < n; start += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - start);
    BlockedInnerProducts(data_.data() + start * dim_, (rows + kBlockLanes - 1) / kBlockLanes, dim_, q.data(), 1,
                         scores.data());
    for (size_t i = 0; i < rows; ++i) {
      const float s = scores[i];
      if (heap.size() < k) {
        heap.emplace_back(s, start + i);
        std::push_heap(heap.begin(), heap.end(), WorseFirst{});
      } else if (s > heap.front().first) {
        std::pop_heap(heap.begin(), heap.end(), WorseFirst{});
        heap.back() = {s, start + i};
        std::push_heap(heap.begin(), heap.end(), WorseFirst{});
      }
    }
  }
  std::sort_heap(heap.begin(), heap.end(), WorseFirst{});  // best first
  out.reserve(heap.size());
  for (const auto& [score, row] : heap) out.push_back({ids_[row], owners_[row], score});
  return out;
}

std::vector<std::optional<Match>> ExactIndex::BestMany(std::span<const float> queries, size_t nq) const {
  std::vector<std::optional<Match>> out(nq);
  const size_t n = ids_.size();
  if (n == 0 || nq == 0 || queries.size() < nq * dim_) return out;
  std::vector<float> best_score(nq, 0.0f);
  std::vector<size_t> best_row(nq, n);  // n: none yet
  // Row blocks small enough to stay in L2 while every query tile passes over them.
  constexpr size_t kQueryTile = 64;
  std::vector<float> scores(kQueryTile * kBlockRows);
  for (size_t start = 0; start < n; start += kBlockRows) {
    const size_t rows = std::min(kBlockRows, n - start);
    const size_t blocks = (rows + kBlockLanes - 1) / kBlockLanes;
    for (size_t q0 = 0; q0 < nq; q0 += kQueryTile) {
      const size_t tile = std::min(kQueryTile, nq - q0);
      BlockedInnerProducts(data_.data() + start * dim_, blocks, dim_, queries.data() + q0 * dim_, tile, scores.data());
      for (size_t t = 0; t < tile; ++t) {
        const float* s = scores.data() + t * blocks * kBlockLanes;
        for (size_t i = 0; i < rows; ++i) {
          if (best_row[q0 + t] == n || s[i] > best_score[q0 + t]) {
            best_score[q0 + t] = s[i];
            best_row[q0 + t] = start + i;
          }
        }
      }
    }
  }
  for (size_t q = 0; q < nq; ++q) {
    if (best_row[q] < n) out[q] = Match{ids_[best_row[q]], owners_[best_row[q]], best_score[q]};
  }
  return out;
}

void ExactIndex::ForEach(
    const std::function<void(const std::string&, const std::string&, std::span<const float>)>& fn) const {
  std::vector<float> v(dim_);
  for (size_t row = 0; row < ids_.size(); ++row) {
    GetRow(row, v.data());
    fn(ids_[row], owners_[row], std::span<const float>(v));
  }
}

}  // namespace vigil::gallery
