// EventSpool: the worker's on-disk, bounded, append-only store of face events
// that the API has not acknowledged yet (format and fsync policy: docs/spool.md).
//
//   Append(event)   writes the event (JSON text + snapshot JPEG) as one
//                   CRC-32C framed record and fsyncs it before returning, so an
//                   event is durable before it is sent;
//   Ack(ids)        records a tombstone for each acknowledged event; segment
//                   files whose events are all acknowledged are deleted;
//   PendingAfter()  the unacknowledged events in creation order, for sending
//                   and for replay after a reconnect or a restart.
//
// Bounded by SpoolOptions::max_bytes: when an append would exceed it, the
// oldest segment is deleted and its unacknowledged events are counted as
// dropped (and logged). A failed write (disk full, I/O error) loses only that
// event, which is counted as dropped; the spool stays usable.
//
// Counters (created, acked, dropped) are kept in `counters.json` next to the
// segments, so they are cumulative since the directory was created;
// spooled() is the number of events currently held.
//
// Thread-safety: all methods are safe to call concurrently (one internal mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "worker/env.h"

namespace vigil::worker {

struct SpoolOptions {
  std::string dir;                   // created when absent
  int64_t max_bytes = 256LL << 20;   // bound of all segment files together
  int64_t segment_bytes = 0;         // 0: max_bytes / 8, clamped to [16 KiB, 16 MiB]
  bool sync_appends = true;          // fdatasync after each event append
};

struct SpooledEvent {
  std::string event_id;   // the idempotency key (a UUID)
  std::string json;       // the encoded `event` text frame
  std::string snapshot;   // JPEG face crop; may be empty
};

struct SpoolCounters {
  int64_t created = 0;    // events handed to Append (including those that failed)
  int64_t acked = 0;      // events acknowledged by the API
  int64_t spooled = 0;    // events held now, waiting for an ack
  int64_t dropped = 0;    // events lost: spool full, or a failed write
};

// What Open found on disk.
struct SpoolRecovery {
  int64_t segments = 0;
  int64_t pending = 0;            // unacknowledged events to replay
  int64_t corrupted_records = 0;  // skipped records whose checksum or framing was bad
  int64_t torn_tails = 0;         // segments that ended in a partial record
};

class EventSpool {
 public:
  // Opens (or creates) the spool in options.dir and indexes what is there.
  // New records always go to a fresh segment, never after a torn tail.
  static Result<std::unique_ptr<EventSpool>> Open(const SpoolOptions& options, Env& env);
  ~EventSpool();

  EventSpool(const EventSpool&) = delete;
  EventSpool& operator=(const EventSpool&) = delete;

  // Appends one event. On failure the event is counted as created and
  // dropped and the error is returned (the caller logs it and carries on).
  Status Append(const SpooledEvent& event);

  // Removes the listed events; ids not held (already acked, dropped, or
  // unknown) are ignored. Returns how many were removed.
  int64_t Ack(const std::vector<std::string>& event_ids);

  // Up to `max` pending events with a sequence number > `after_seq`, oldest
  // first: (seq, event_id). Sequence numbers increase with every Append.
  std::vector<std::pair<uint64_t, std::string>> PendingAfter(uint64_t after_seq, size_t max) const;

  // The stored event; NotFound when it is no longer held.
  Result<SpooledEvent> Read(const std::string& event_id) const;

  SpoolCounters counters() const;
  SpoolRecovery recovery() const { return recovery_; }
  // Bytes of all segment files.
  int64_t bytes() const;
  // Writes counters.json now (also done after every change).
  Status Flush();

 private:
  struct Segment {
    uint64_t number = 0;
    int64_t size = 0;
    int64_t live = 0;        // unacknowledged events in it
    int64_t live_bytes = 0;
  };
  struct Location {
    uint64_t seq = 0;
    uint64_t segment = 0;
    uint64_t offset = 0;     // of the record header
    uint32_t length = 0;     // of the whole record
  };

  EventSpool(SpoolOptions options, Env& env);
  Status Recover();
  Status LoadCounters();
  void SaveCountersLocked();
  std::string SegmentPath(uint64_t number) const;
  Status OpenNewSegmentLocked();
  Status WriteRecordLocked(uint8_t type, const std::string& payload, Location* loc);
  Status MakeRoomLocked(int64_t record_bytes);
  void DropOldestSegmentLocked();
  void ReclaimLocked();
  Segment* FindSegmentLocked(uint64_t number);
  Result<SpooledEvent> ReadLocked(const Location& loc) const;

  SpoolOptions options_;
  Env& env_;
  SpoolRecovery recovery_;

  mutable std::mutex mu_;
  std::vector<Segment> segments_;  // oldest first; back() is the active one
  WritableFilePtr active_;         // null after a write error (reopened lazily)
  std::map<uint64_t, std::string> by_seq_;             // pending: seq -> id
  std::unordered_map<std::string, Location> by_id_;    // pending: id -> where
  uint64_t next_seq_ = 1;
  int64_t created_ = 0;
  int64_t acked_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace vigil::worker
