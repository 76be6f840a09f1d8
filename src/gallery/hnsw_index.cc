#include "gallery/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <list>
#include <mutex>
#include <new>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gallery/dot_kernels.h"

// hnswlib 0.6.2 issues prefetch hints for the link *after* the last one of a
// list (`*(datal + j + 1)` in searchBaseLayer), reading 4 bytes past a
// malloc'd block: AddressSanitizer reports it as a heap-buffer-overflow. Its
// prefetches and its SSE code are both enabled by __SSE__, and we use neither
// (distances come from our own kernel), so hnswlib is compiled as if SSE were
// absent. The standard headers it needs are included above, before the trick.
#pragma push_macro("__SSE__")
#undef __SSE__
#include <hnswlib/hnswlib.h>
#pragma pop_macro("__SSE__")

namespace vigil::gallery {
namespace {

// hnswlib's own InnerProductSpace picks SSE or AVX at compile time from -m
// flags; this space routes distances through our kernel, which picks the
// instruction set at run time.
float IpDistance(const void* a, const void* b, const void* dim) {
  return 1.0f -
         InnerProduct(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const size_t*>(dim));
}

class KernelIpSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit KernelIpSpace(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &IpDistance; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
};

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct HnswIndex::Impl {
  Impl(size_t d, HnswOptions o)
      : dim(d),
        options(o),
        space(d),
        graph(&space, std::max<size_t>(o.initial_capacity, 1), o.m, o.ef_construction, o.seed) {
    graph.setEf(o.ef_search);
  }

  struct Slot {
    std::string id;
    std::string owner;
    bool live = false;
  };

  size_t dim;
  HnswOptions options;
  KernelIpSpace space;  // must outlive graph (declared before it)
  hnswlib::HierarchicalNSW<float> graph;
  std::vector<Slot> slots;          // by hnswlib label
  std::vector<size_t> free_labels;  // deleted slots, reused by new ids
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> label_of;
  size_t ef = 0;

  Status Grow(size_t need) {
    size_t cap = graph.max_elements_;
    if (need <= cap) return Status::Ok();
    while (cap < need) cap *= 2;
    try {
      graph.resizeIndex(cap);
    } catch (const std::bad_alloc&) {
      return ResourceExhausted("out of memory growing the HNSW index to " + std::to_string(cap) + " vectors");
    } catch (const std::exception& e) {
      return ResourceExhausted(std::string("cannot grow the HNSW index: ") + e.what());
    }
    return Status::Ok();
  }

  void RemoveLabel(size_t label) {
    Slot& s = slots[label];
    graph.markDelete(label);
    label_of.erase(label_of.find(s.id));
    s.live = false;
    s.id.clear();
    s.owner.clear();
    free_labels.push_back(label);
  }
};

HnswIndex::HnswIndex(size_t dim, HnswOptions options) : impl_(std::make_unique<Impl>(dim, options)) {
  impl_->ef = options.ef_search;
}
HnswIndex::~HnswIndex() = default;
HnswIndex::HnswIndex(HnswIndex&&) noexcept = default;
HnswIndex& HnswIndex::operator=(HnswIndex&&) noexcept = default;

size_t HnswIndex::dim() const { return impl_->dim; }
size_t HnswIndex::size() const { return impl_->label_of.size(); }
bool HnswIndex::Contains(std::string_view id) const { return impl_->label_of.find(id) != impl_->label_of.end(); }

Status HnswIndex::Reserve(size_t n) { return impl_->Grow(n); }

Status HnswIndex::Upsert(std::string_view id, std::string_view owner, std::span<const float> v) {
  if (id.empty()) return InvalidArgument("vector id must not be empty");
  VIGIL_RETURN_IF_ERROR(CheckVector(v, impl_->dim, false));
  Impl& s = *impl_;
  size_t label;
  bool fresh = false;
  if (auto it = s.label_of.find(id); it != s.label_of.end()) {
    label = it->second;
  } else if (!s.free_labels.empty()) {
    label = s.free_labels.back();
    fresh = true;
  } else {
    label = s.slots.size();
    VIGIL_RETURN_IF_ERROR(s.Grow(label + 1));
    fresh = true;
  }
  try {
    // An existing (or deleted, reused) label is updated in place by hnswlib.
    s.graph.addPoint(v.data(), label);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory adding to the HNSW index");
  } catch (const std::exception& e) {
    return Internal(std::string("HNSW insert failed: ") + e.what());
  }
  if (fresh) {
    if (label == s.slots.size()) {
      s.slots.emplace_back();
    } else {
      s.free_labels.pop_back();
    }
    s.slots[label].id.assign(id);
    s.slots[label].live = true;
    s.label_of.emplace(std::string(id), label);
  }
  s.slots[label].owner.assign(owner);
  return Status::Ok();
}

Status HnswIndex::AddBatch(std::span<const std::string> ids, std::span<const std::string> owners,
                           std::span<const float> rows) {
  Impl& s = *impl_;
  const size_t n = ids.size();
  if (!owners.empty() && owners.size() != n) return InvalidArgument("owners must be empty or one per id");
  if (rows.size() != n * s.dim) return InvalidArgument("rows must hold ids.size() x dim floats");
  std::unordered_set<std::string_view> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (ids[i].empty()) return InvalidArgument("vector id must not be empty");
    if (Contains(ids[i]) || !batch.insert(ids[i]).second) {
      return InvalidArgument("id '" + ids[i] + "' is already present");
    }
    VIGIL_RETURN_IF_ERROR(CheckVector(rows.subspan(i * s.dim, s.dim), s.dim, false));
  }
  const size_t base = s.slots.size();
  VIGIL_RETURN_IF_ERROR(s.Grow(base + n));

  std::vector<char> added(n, 0);
  Status err;
  for (size_t i = 0; i < n && err.ok(); ++i) {
    try {
      s.graph.addPoint(rows.data() + i * s.dim, base + i);
      added[i] = 1;
    } catch (const std::bad_alloc&) {
      err = ResourceExhausted("out of memory adding to the HNSW index");
    } catch (const std::exception& e) {
      err = Internal(std::string("HNSW insert failed: ") + e.what());
    }
  }

  s.slots.resize(base + n);
  for (size_t i = 0; i < n; ++i) {
    const size_t label = base + i;
    if (added[i]) {
      s.slots[label] = {ids[i], owners.empty() ? std::string() : owners[i], true};
      s.label_of.emplace(ids[i], label);
    } else {
      s.free_labels.push_back(label);  // never inserted: a plain free slot
    }
  }
  return err;
}

bool HnswIndex::Remove(std::string_view id) {
  auto it = impl_->label_of.find(id);
  if (it == impl_->label_of.end()) return false;
  impl_->RemoveLabel(it->second);
  return true;
}

size_t HnswIndex::RemoveOwner(std::string_view owner) {
  size_t removed = 0;
  for (size_t label = 0; label < impl_->slots.size(); ++label) {
    if (impl_->slots[label].live && impl_->slots[label].owner == owner) {
      impl_->RemoveLabel(label);
      ++removed;
    }
  }
  return removed;
}

void HnswIndex::SetEf(size_t ef) {
  impl_->ef = std::max<size_t>(ef, 1);
  impl_->graph.setEf(impl_->ef);
}
size_t HnswIndex::ef() const { return impl_->ef; }

Result<std::vector<Match>> HnswIndex::Search(std::span<const float> q, size_t k) const {
  VIGIL_RETURN_IF_ERROR(CheckVector(q, impl_->dim, false));
  std::vector<Match> out;
  k = std::min(k, size());
  if (k == 0) return out;
  try {
    auto pq = impl_->graph.searchKnn(q.data(), k);  // worst first
    out.resize(pq.size());
    for (size_t i = pq.size(); i-- > 0;) {
      const auto [dist, label] = pq.top();
      pq.pop();
      const auto& slot = impl_->slots[label];
      out[i] = {slot.id, slot.owner, 1.0f - dist};
    }
  } catch (const std::exception& e) {
    return Internal(std::string("HNSW search failed: ") + e.what());
  }
  return out;
}

}  // namespace vigil::gallery
