#include "worker/event_spool.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "core/json_util.h"
#include "core/logging.h"
#include "worker/crc32c.h"

namespace vigil::worker {
namespace {

// Record framing (docs/spool.md): magic, CRC-32C of everything after the CRC
// field, payload length, type, payload. All integers little-endian.
constexpr uint32_t kMagic = 0x4C475356u;  // "VSGL" read as little-endian bytes
constexpr size_t kHeaderBytes = 13;
constexpr uint8_t kTypeEvent = 1;
constexpr uint8_t kTypeAck = 2;
constexpr const char* kCountersFile = "counters.json";
// Counters and sequence numbers above this are damage, not history: 2^53 is
// exact in JSON, and sums of a few such values cannot overflow int64.
constexpr int64_t kMaxCount = int64_t{1} << 53;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void PutBytes(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Reads length-prefixed fields from a payload; any overrun marks it bad.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view p) : p_(p) {}
  uint64_t U64() {
    if (p_.size() < 8) return Fail();
    uint64_t v = GetU64(p_.data());
    p_.remove_prefix(8);
    return v;
  }
  uint32_t U32() {
    if (p_.size() < 4) return static_cast<uint32_t>(Fail());
    uint32_t v = GetU32(p_.data());
    p_.remove_prefix(4);
    return v;
  }
  std::string Bytes() {
    uint32_t n = U32();
    if (!ok_ || p_.size() < n) {
      Fail();
      return {};
    }
    std::string s(p_.substr(0, n));
    p_.remove_prefix(n);
    return s;
  }
  bool ok() const { return ok_ && p_.empty(); }
  bool ok_so_far() const { return ok_; }

 private:
  uint64_t Fail() {
    ok_ = false;
    return 0;
  }
  std::string_view p_;
  bool ok_ = true;
};

std::string FrameRecord(uint8_t type, std::string_view payload) {
  std::string body;
  body.reserve(5 + payload.size());
  PutU32(body, static_cast<uint32_t>(payload.size()));
  body.push_back(static_cast<char>(type));
  body.append(payload);
  std::string rec;
  rec.reserve(8 + body.size());
  PutU32(rec, kMagic);
  PutU32(rec, Crc32c(body));
  rec.append(body);
  return rec;
}

struct ParsedRecord {
  uint8_t type = 0;
  std::string_view payload;
  size_t length = 0;  // whole record
};

enum class ParseOutcome { kOk, kTruncated, kCorrupt };

// Parses the record at the start of `data`.
ParseOutcome ParseRecord(std::string_view data, ParsedRecord* out) {
  if (data.size() < kHeaderBytes) return ParseOutcome::kTruncated;
  if (GetU32(data.data()) != kMagic) return ParseOutcome::kCorrupt;
  uint32_t crc = GetU32(data.data() + 4);
  uint32_t len = GetU32(data.data() + 8);
  if (len > data.size() - kHeaderBytes) return ParseOutcome::kTruncated;
  std::string_view body = data.substr(8, 5 + len);
  if (Crc32c(body) != crc) return ParseOutcome::kCorrupt;
  out->type = static_cast<uint8_t>(data[12]);
  out->payload = data.substr(kHeaderBytes, len);
  out->length = kHeaderBytes + len;
  return ParseOutcome::kOk;
}

// Position of the next record magic at or after `from`; npos when none.
size_t FindMagic(std::string_view data, size_t from) {
  char m[4];
  for (int i = 0; i < 4; ++i) m[i] = static_cast<char>((kMagic >> (8 * i)) & 0xFF);
  return data.find(std::string_view(m, 4), from);
}

std::string EncodeEventPayload(uint64_t seq, const SpooledEvent& e) {
  std::string p;
  p.reserve(8 + 12 + e.event_id.size() + e.json.size() + e.snapshot.size());
  PutU64(p, seq);
  PutBytes(p, e.event_id);
  PutBytes(p, e.json);
  PutBytes(p, e.snapshot);
  return p;
}

bool DecodeEventPayload(std::string_view payload, uint64_t* seq, SpooledEvent* e) {
  PayloadReader r(payload);
  *seq = r.U64();
  e->event_id = r.Bytes();
  e->json = r.Bytes();
  e->snapshot = r.Bytes();
  return r.ok() && !e->event_id.empty();
}

bool ParseSegmentName(const std::string& name, uint64_t* number) {
  unsigned long long n = 0;
  char tail[8] = {0};
  if (name.size() != 16 || name.rfind("seg-", 0) != 0) return false;
  if (std::sscanf(name.c_str(), "seg-%8llu.%3s", &n, tail) != 2 || std::strcmp(tail, "log") != 0) return false;
  *number = n;
  return true;
}

}  // namespace

EventSpool::EventSpool(SpoolOptions options, Env& env) : options_(std::move(options)), env_(env) {
  if (options_.segment_bytes <= 0) {
    options_.segment_bytes = std::clamp<int64_t>(options_.max_bytes / 8, 16 << 10, 16 << 20);
  }
}

EventSpool::~EventSpool() {
  std::lock_guard<std::mutex> lock(mu_);
  SaveCountersLocked();
  if (active_) (void)active_->Close();
}

Result<std::unique_ptr<EventSpool>> EventSpool::Open(const SpoolOptions& options, Env& env) {
  if (options.dir.empty()) return InvalidArgument("spool directory is empty");
  if (options.max_bytes < 4096) return InvalidArgument("spool bound must be at least 4 KiB");
  std::unique_ptr<EventSpool> spool(new EventSpool(options, env));
  VIGIL_RETURN_IF_ERROR(spool->Recover());
  return spool;
}

std::string EventSpool::SegmentPath(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%08" PRIu64 ".log", number);
  return options_.dir + "/" + name;
}

Status EventSpool::LoadCounters() {
  auto text = env_.ReadFile(options_.dir + "/" + kCountersFile);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
    return text.status();
  }
  auto j = ParseJsonObject(*text);
  if (!j.ok()) {
    // A damaged counters file only costs history; the spool itself is intact.
    GetLogger("spool")->warn("counters file unreadable, starting from the spool's contents dir={}",
                             LogValue(options_.dir));
    return Status::Ok();
  }
  int64_t created = GetInt(*j, "created").value_or(0);
  int64_t acked = GetInt(*j, "acked").value_or(0);
  int64_t dropped = GetInt(*j, "dropped").value_or(0);
  for (int64_t v : {created, acked, dropped}) {
    if (v < 0 || v > kMaxCount) {
      GetLogger("spool")->warn("counters file out of range, starting from the spool's contents dir={}",
                               LogValue(options_.dir));
      return Status::Ok();
    }
  }
  created_ = created;
  acked_ = acked;
  dropped_ = dropped;
  return Status::Ok();
}

void EventSpool::SaveCountersLocked() {
  Json j = {{"created", created_}, {"acked", acked_}, {"dropped", dropped_}};
  // Not fsynced: a process crash keeps the page cache; see docs/spool.md.
  Status st = env_.WriteFileAtomic(options_.dir + "/" + kCountersFile, j.dump(), false);
  if (!st.ok()) GetLogger("spool")->warn("cannot save counters: {}", st.message());
}

Status EventSpool::Recover() {
  auto log = GetLogger("spool");
  VIGIL_RETURN_IF_ERROR(env_.CreateDirs(options_.dir));
  VIGIL_RETURN_IF_ERROR(LoadCounters());
  VIGIL_ASSIGN_OR_RETURN(auto names, env_.ListDir(options_.dir));
  std::vector<uint64_t> numbers;
  for (const auto& n : names) {
    uint64_t num = 0;
    if (ParseSegmentName(n, &num)) numbers.push_back(num);
  }
  std::sort(numbers.begin(), numbers.end());

  uint64_t max_seq = 0;
  int64_t max_acked_total = 0;
  for (uint64_t num : numbers) {
    VIGIL_ASSIGN_OR_RETURN(std::string data, env_.ReadFile(SegmentPath(num)));
    segments_.push_back(Segment{num, static_cast<int64_t>(data.size()), 0, 0});
    std::string_view all(data);
    size_t pos = 0;
    while (pos < all.size()) {
      ParsedRecord rec;
      ParseOutcome outcome = ParseRecord(all.substr(pos), &rec);
      if (outcome != ParseOutcome::kOk) {
        // Resynchronise on the next magic; if none follows, what is left is
        // the torn tail of an interrupted write.
        size_t next = FindMagic(all, pos + 1);
        if (next == std::string_view::npos) {
          ++recovery_.torn_tails;
          break;
        }
        ++recovery_.corrupted_records;
        pos = next;
        continue;
      }
      if (rec.type == kTypeEvent) {
        uint64_t seq = 0;
        SpooledEvent e;
        auto taken = by_seq_.end();
        bool decoded = DecodeEventPayload(rec.payload, &seq, &e);
        if (decoded) taken = by_seq_.find(seq);
        // The writer numbers events 1, 2, ...: a sequence number out of range
        // or held by another event is damage (it would corrupt the indexes).
        if (!decoded || seq == 0 || seq > static_cast<uint64_t>(kMaxCount) ||
            (taken != by_seq_.end() && taken->second != e.event_id)) {
          ++recovery_.corrupted_records;
        } else {
          // A later copy (compaction) supersedes an earlier one.
          auto it = by_id_.find(e.event_id);
          if (it != by_id_.end()) by_seq_.erase(it->second.seq);
          by_id_[e.event_id] = Location{seq, num, pos, static_cast<uint32_t>(rec.length)};
          by_seq_[seq] = e.event_id;
          max_seq = std::max(max_seq, seq);
        }
      } else if (rec.type == kTypeAck) {
        PayloadReader r(rec.payload);
        int64_t total = static_cast<int64_t>(r.U64());
        uint32_t n = r.U32();
        for (uint32_t i = 0; i < n && r.ok_so_far(); ++i) {
          std::string id = r.Bytes();
          auto it = by_id_.find(id);
          if (it != by_id_.end()) {
            by_seq_.erase(it->second.seq);
            by_id_.erase(it);
          }
        }
        if (r.ok() && total <= kMaxCount) {
          max_acked_total = std::max(max_acked_total, total);
        } else {
          ++recovery_.corrupted_records;
        }
      } else {
        ++recovery_.corrupted_records;
      }
      pos += rec.length;
    }
  }
  for (const auto& [id, loc] : by_id_) {
    Segment* s = FindSegmentLocked(loc.segment);
    if (s) {
      ++s->live;
      s->live_bytes += loc.length;
    }
  }
  next_seq_ = max_seq + 1;
  // The counters file is written after the records, so a crash in between
  // leaves it one step behind; the records themselves carry the totals.
  created_ = std::max<int64_t>(created_, static_cast<int64_t>(max_seq));
  acked_ = std::max(acked_, max_acked_total);
  if (created_ < acked_ + dropped_ + static_cast<int64_t>(by_id_.size())) {
    created_ = acked_ + dropped_ + static_cast<int64_t>(by_id_.size());
  }
  recovery_.segments = static_cast<int64_t>(segments_.size());
  recovery_.pending = static_cast<int64_t>(by_id_.size());

  std::lock_guard<std::mutex> lock(mu_);
  VIGIL_RETURN_IF_ERROR(OpenNewSegmentLocked());
  ReclaimLocked();
  SaveCountersLocked();
  if (recovery_.pending || recovery_.corrupted_records || recovery_.torn_tails) {
    log->info("spool recovered dir={} pending={} corrupted_records={} torn_tails={}", LogValue(options_.dir),
              recovery_.pending, recovery_.corrupted_records, recovery_.torn_tails);
  }
  return Status::Ok();
}

EventSpool::Segment* EventSpool::FindSegmentLocked(uint64_t number) {
  for (auto& s : segments_) {
    if (s.number == number) return &s;
  }
  return nullptr;
}

Status EventSpool::OpenNewSegmentLocked() {
  if (active_) {
    (void)active_->Close();
    active_.reset();
  }
  uint64_t number = segments_.empty() ? 1 : segments_.back().number + 1;
  VIGIL_ASSIGN_OR_RETURN(active_, env_.NewAppendableFile(SegmentPath(number)));
  segments_.push_back(Segment{number, 0, 0, 0});
  return Status::Ok();
}

int64_t EventSpool::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t total = 0;
  for (const auto& s : segments_) total += s.size;
  return total;
}

void EventSpool::DropOldestSegmentLocked() {
  Segment seg = segments_.front();
  int64_t lost = 0;
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->second.segment == seg.number) {
      by_seq_.erase(it->second.seq);
      it = by_id_.erase(it);
      ++lost;
    } else {
      ++it;
    }
  }
  dropped_ += lost;
  Status st = env_.RemoveFile(SegmentPath(seg.number));
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    GetLogger("spool")->warn("cannot delete segment {}: {}", seg.number, st.message());
  }
  segments_.erase(segments_.begin());
  // Debug only: the worker logs once when dropping starts and once when it
  // stops, instead of a line per dropped segment.
  GetLogger("spool")->debug("spool full: dropped the oldest events dropped={} total_dropped={} max_bytes={}", lost,
                           dropped_, options_.max_bytes);
}

Status EventSpool::MakeRoomLocked(int64_t record_bytes) {
  auto total = [&] {
    int64_t t = 0;
    for (const auto& s : segments_) t += s.size;
    return t;
  };
  while (total() + record_bytes > options_.max_bytes) {
    if (segments_.size() <= 1) {
      if (segments_.empty() || segments_.back().size == 0) break;
      // The active segment is the oldest: start a new one so it can go.
      VIGIL_RETURN_IF_ERROR(OpenNewSegmentLocked());
    }
    DropOldestSegmentLocked();
  }
  return Status::Ok();
}

Status EventSpool::WriteRecordLocked(uint8_t type, const std::string& payload, Location* loc) {
  std::string rec = FrameRecord(type, payload);
  int64_t n = static_cast<int64_t>(rec.size());
  if (!active_ || segments_.empty() ||
      (segments_.back().size > 0 && segments_.back().size + n > options_.segment_bytes)) {
    VIGIL_RETURN_IF_ERROR(OpenNewSegmentLocked());
  }
  Segment& seg = segments_.back();
  uint64_t offset = static_cast<uint64_t>(seg.size);
  Status st = active_->Append(rec);
  if (!st.ok()) {
    // Part of the record may be on disk: the reader skips it by its checksum.
    // Later records go to a fresh segment.
    seg.size += n;
    (void)active_->Close();
    active_.reset();
    return st;
  }
  seg.size += n;
  if (type == kTypeEvent && options_.sync_appends) {
    Status sync = active_->Sync();
    if (!sync.ok()) {
      (void)active_->Close();
      active_.reset();
      return sync;
    }
  }
  if (loc) {
    loc->segment = seg.number;
    loc->offset = offset;
    loc->length = static_cast<uint32_t>(n);
  }
  return Status::Ok();
}

Status EventSpool::Append(const SpooledEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  ++created_;
  uint64_t seq = next_seq_++;
  std::string payload = EncodeEventPayload(seq, event);
  int64_t rec_bytes = static_cast<int64_t>(kHeaderBytes + payload.size());
  Status st;
  if (event.event_id.empty()) {
    st = InvalidArgument("event without an id");
  } else if (by_id_.count(event.event_id)) {
    st = AlreadyExists("event " + event.event_id + " is already spooled");
  } else if (rec_bytes > options_.max_bytes / 2) {
    st = ResourceExhausted("event of " + std::to_string(rec_bytes) + " bytes exceeds half the spool bound");
  } else {
    st = MakeRoomLocked(rec_bytes);
  }
  Location loc;
  if (st.ok()) st = WriteRecordLocked(kTypeEvent, payload, &loc);
  if (!st.ok()) {
    ++dropped_;
    SaveCountersLocked();
    return st.WithContext("spool append");
  }
  loc.seq = seq;
  by_id_[event.event_id] = loc;
  by_seq_[seq] = event.event_id;
  Segment& seg = segments_.back();
  ++seg.live;
  seg.live_bytes += loc.length;
  SaveCountersLocked();
  return Status::Ok();
}

int64_t EventSpool::Ack(const std::vector<std::string>& event_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> found;
  for (const auto& id : event_ids) {
    if (by_id_.count(id) && std::find(found.begin(), found.end(), id) == found.end()) found.push_back(id);
  }
  if (found.empty()) return 0;
  int64_t n = static_cast<int64_t>(found.size());
  std::string payload;
  PutU64(payload, static_cast<uint64_t>(acked_ + n));
  PutU32(payload, static_cast<uint32_t>(n));
  for (const auto& id : found) PutBytes(payload, id);
  // Tombstones are not fsynced: losing one only re-sends an event, which the
  // API de-duplicates by event_id.
  Status st = WriteRecordLocked(kTypeAck, payload, nullptr);
  if (!st.ok()) GetLogger("spool")->warn("cannot record acks (events may be re-sent after a restart): {}", st.message());
  for (const auto& id : found) {
    auto it = by_id_.find(id);
    Segment* seg = FindSegmentLocked(it->second.segment);
    if (seg) {
      --seg->live;
      seg->live_bytes -= it->second.length;
    }
    by_seq_.erase(it->second.seq);
    by_id_.erase(it);
  }
  acked_ += n;
  ReclaimLocked();
  SaveCountersLocked();
  return n;
}

void EventSpool::ReclaimLocked() {
  auto log = GetLogger("spool");
  while (segments_.size() > 1) {
    Segment& front = segments_.front();
    if (front.live > 0) {
      // Compaction: a few unacknowledged events must not pin a mostly dead
      // old segment. Their records are copied verbatim to the active segment.
      bool sparse = segments_.size() >= 3 && front.live_bytes * 4 < front.size;
      if (!sparse) break;
      std::vector<std::string> ids;
      for (const auto& [id, loc] : by_id_) {
        if (loc.segment == front.number) ids.push_back(id);
      }
      bool ok = true;
      for (const auto& id : ids) {
        Location& loc = by_id_[id];
        auto raw = env_.ReadRange(SegmentPath(loc.segment), loc.offset, loc.length);
        ParsedRecord rec;
        if (!raw.ok() || ParseRecord(*raw, &rec) != ParseOutcome::kOk) {
          ok = false;
          break;
        }
        Location moved;
        Status st = WriteRecordLocked(rec.type, std::string(rec.payload), &moved);
        if (!st.ok()) {
          ok = false;
          break;
        }
        Segment* old = FindSegmentLocked(loc.segment);
        if (old) {
          --old->live;
          old->live_bytes -= loc.length;
        }
        moved.seq = loc.seq;
        loc = moved;
        ++segments_.back().live;
        segments_.back().live_bytes += moved.length;
      }
      if (!ok) {
        log->warn("spool compaction failed; will retry later");
        break;
      }
      continue;  // front.live is 0 now
    }
    Status st = env_.RemoveFile(SegmentPath(front.number));
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      log->warn("cannot delete segment {}: {}", front.number, st.message());
      break;
    }
    segments_.erase(segments_.begin());
  }
}

std::vector<std::pair<uint64_t, std::string>> EventSpool::PendingAfter(uint64_t after_seq, size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<uint64_t, std::string>> out;
  for (auto it = by_seq_.upper_bound(after_seq); it != by_seq_.end() && out.size() < max; ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

Result<SpooledEvent> EventSpool::ReadLocked(const Location& loc) const {
  VIGIL_ASSIGN_OR_RETURN(std::string raw, env_.ReadRange(SegmentPath(loc.segment), loc.offset, loc.length));
  ParsedRecord rec;
  if (ParseRecord(raw, &rec) != ParseOutcome::kOk || rec.type != kTypeEvent) {
    return DataLoss("spooled event record is damaged");
  }
  uint64_t seq = 0;
  SpooledEvent e;
  if (!DecodeEventPayload(rec.payload, &seq, &e)) return DataLoss("spooled event payload is damaged");
  return e;
}

Result<SpooledEvent> EventSpool::Read(const std::string& event_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(event_id);
  if (it == by_id_.end()) return NotFound("event " + event_id + " is not in the spool");
  return ReadLocked(it->second);
}

SpoolCounters EventSpool::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return SpoolCounters{created_, acked_, static_cast<int64_t>(by_id_.size()), dropped_};
}

Status EventSpool::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  SaveCountersLocked();
  return Status::Ok();
}

}  // namespace vigil::worker
