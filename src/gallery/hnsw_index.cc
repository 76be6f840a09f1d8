#include "gallery/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
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
  // Loads a saved graph. hnswlib 0.6.2's loading constructor leaves
  // num_deleted_ uninitialised before counting deleted nodes into it, so the
  // empty constructor is used and the counter zeroed first. Throws what
  // loadIndex throws (std::runtime_error for a truncated file).
  //
  // The empty constructor also leaves the pointers the destructor frees
  // uninitialised, and loadIndex throws on a truncated file after it has read
  // the element count: both are reset so that a failed load destroys cleanly
  // (what a failure past the checks had allocated, only on out-of-memory, leaks).
  Impl(size_t d, HnswOptions o, const std::string& path) : dim(d), options(o), space(d), graph(&space) {
    graph.num_deleted_ = 0;
    graph.cur_element_count = 0;
    graph.data_level0_memory_ = nullptr;
    graph.linkLists_ = nullptr;
    graph.visited_list_pool_ = nullptr;
    try {
      graph.loadIndex(path, &space);
    } catch (...) {
      graph.cur_element_count = 0;
      throw;
    }
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

namespace {

// The ".ids" sidecar: magic, dim, slot count, then per slot a live flag and
// the length-prefixed id and owner. Host byte order: a cache, not an
// interchange format.
constexpr char kIdsMagic[8] = {'V', 'G', 'H', 'N', 'S', 'W', '1', '\n'};

void PutU64(std::ofstream& out, uint64_t v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); }
bool GetU64(std::ifstream& in, uint64_t* v) { return static_cast<bool>(in.read(reinterpret_cast<char*>(v), sizeof *v)); }
void PutString(std::ofstream& out, const std::string& s) {
  PutU64(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
bool GetString(std::ifstream& in, std::string* s, uint64_t limit) {
  uint64_t n = 0;
  if (!GetU64(in, &n) || n > limit) return false;
  s->resize(n);
  return static_cast<bool>(in.read(s->data(), static_cast<std::streamsize>(n)));
}

}  // namespace

Status HnswIndex::Save(const std::string& path) const {
  const Impl& s = *impl_;
  try {
    // saveIndex only reads the graph but is not declared const in hnswlib
    // 0.6.2. It does not report write errors either: the checks below do.
    const_cast<hnswlib::HierarchicalNSW<float>&>(s.graph).saveIndex(path);
  } catch (const std::exception& e) {
    return Internal("cannot save the HNSW graph to " + path + ": " + e.what());
  }
  std::ofstream out(path + ".ids", std::ios::binary | std::ios::trunc);
  out.write(kIdsMagic, sizeof kIdsMagic);
  PutU64(out, s.dim);
  PutU64(out, s.slots.size());
  for (const Impl::Slot& slot : s.slots) {
    out.put(slot.live ? 1 : 0);
    PutString(out, slot.id);
    PutString(out, slot.owner);
  }
  out.close();
  std::error_code ec;
  if (!out || std::filesystem::file_size(path, ec) == 0 || ec) {
    return Internal("cannot write the HNSW index files " + path + "[.ids]");
  }
  return Status::Ok();
}

Result<HnswIndex> HnswIndex::Load(const std::string& path, size_t dim, HnswOptions options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || !std::filesystem::is_regular_file(path + ".ids", ec)) {
    return NotFound("no saved HNSW index at " + path);
  }
  std::ifstream in(path + ".ids", std::ios::binary);
  char magic[sizeof kIdsMagic] = {};
  uint64_t saved_dim = 0, count = 0;
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kIdsMagic, sizeof magic) != 0 || !GetU64(in, &saved_dim) ||
      !GetU64(in, &count)) {
    return DataLoss(path + ".ids: not a saved HNSW id table");
  }
  if (saved_dim != dim) {
    return InvalidArgument(path + " holds " + std::to_string(saved_dim) + "-D vectors, expected " + std::to_string(dim));
  }
  const auto ids_size = std::filesystem::file_size(path + ".ids", ec);
  if (ec || count > ids_size) return DataLoss(path + ".ids: truncated");
  std::vector<Impl::Slot> slots(count);
  for (Impl::Slot& slot : slots) {
    const int live = in.get();
    if (live != 0 && live != 1) return DataLoss(path + ".ids: truncated or corrupt");
    slot.live = live == 1;
    if (!GetString(in, &slot.id, ids_size) || !GetString(in, &slot.owner, ids_size)) {
      return DataLoss(path + ".ids: truncated or corrupt");
    }
  }

  HnswOptions tiny;  // replaced by the loaded graph just below
  tiny.initial_capacity = 1;
  HnswIndex index(dim, tiny);
  try {
    index.impl_ = std::make_unique<Impl>(dim, options, path);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory loading the HNSW index " + path);
  } catch (const std::exception& e) {
    return DataLoss("cannot load the HNSW graph " + path + ": " + e.what());
  }
  Impl& s = *index.impl_;
  if (s.graph.data_size_ != dim * sizeof(float) || s.graph.cur_element_count > count) {
    return DataLoss(path + ": the graph and its id table disagree (" + std::to_string(s.graph.cur_element_count) +
                    " nodes, " + std::to_string(count) + " ids)");
  }
  s.ef = options.ef_search;
  s.slots = std::move(slots);
  for (size_t label = 0; label < s.slots.size(); ++label) {
    if (s.slots[label].live) {
      if (!s.label_of.emplace(s.slots[label].id, label).second) return DataLoss(path + ".ids: duplicate id");
    } else {
      s.free_labels.push_back(label);
    }
  }
  return index;
}

}  // namespace vigil::gallery
