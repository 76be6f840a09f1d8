// A VFS shim over SQLite's default VFS that turns the writer's many small
// WAL writes into a few large ones.
//
// SQLite appends each WAL frame with two pwrite calls (a 24-byte frame header,
// then the page), so an ingest transaction that dirties 130 pages costs 260
// system calls. Through this VFS, a WAL file collects frame headers and the
// pages that follow them in memory and writes them with one call when the
// transaction's commit frame header arrives (in pieces of up to 128 KiB, the
// most the default VFS writes per call); the commit frame's page follows with
// one more. Everything else — every other file, reads, syncs, truncation,
// a page rewritten in place, any write of an unexpected shape — flushes what is
// buffered first and then goes straight to the default VFS.
//
// Why this is safe: readers learn about new frames only from the WAL index
// header, which SQLite updates in shared memory after the last frame of a
// commit is written. By then the buffer holds nothing of that commit: the
// commit header flushed it, and the commit page was written through. Frames of
// a transaction that has not committed yet are invisible to everyone, as they
// are without this VFS; SQLite's own reads of its WAL flush first. Durability
// is unchanged: nothing is acknowledged to SQLite as synced that is not, and a
// write error surfaces from the xWrite call that flushes — the commit frame's
// at the latest — so the transaction fails and rolls back as usual. It relies
// on SQLite writing a frame's header and page in separate calls (true of every
// release since WAL appeared, 3.7.0); if a release ever wrote them together,
// those writes would simply go through unbuffered.
//
// Thread-safety: registration is thread-safe and idempotent. Each buffered
// file belongs to one connection, which SQLite never uses from two threads at
// once (the repository serialises access).
#pragma once

#include <cstdint>

namespace vigil::storage {

// Registers the VFS on first use (not as the default) and returns its name for
// sqlite3_open_v2. Returns nullptr — use the default VFS — when the
// environment variable VIGIL_SQLITE_WAL_BUFFER is "0", a switch for comparing
// the two in benchmarks.
const char* WalBufferVfsName();

// Process-wide counters, for tests and diagnostics.
struct WalBufferCounters {
  uint64_t buffered_writes = 0;  // xWrite calls that were collected in memory
  uint64_t flushes = 0;          // writes (of up to 128 KiB each) that carried collected bytes to the file
  uint64_t passthrough_writes = 0;
};
WalBufferCounters GetWalBufferCounters();

}  // namespace vigil::storage
