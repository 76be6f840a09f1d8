#include "storage/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace vigil::storage {
namespace {

constexpr int kFrameHeaderBytes = 24;  // WAL file format: every frame starts with one
// Collected bytes are written out once they pass this size even without a
// commit (a transaction larger than this writes in 1 MiB pieces).
constexpr size_t kMaxBufferedBytes = size_t{1} << 20;
// The default unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
// length with 0x1ffff and reports SQLITE_FULL for the rest), so collected
// bytes go out in pieces of this size: 4 to 5 writes for a typical ingest
// commit instead of 260.
constexpr size_t kMaxWriteBytes = 0x1ffff;

std::atomic<uint64_t> g_buffered{0};
std::atomic<uint64_t> g_flushes{0};
std::atomic<uint64_t> g_passthrough{0};

// Memory SQLite allocates for a WAL file opened through this VFS: this struct,
// then the default VFS's file object.
struct ShimFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  sqlite3_file* real;
  std::vector<char>* buf;
  sqlite3_int64 buf_offset;
  bool after_header;  // the last collected write was a non-commit frame header
};
constexpr size_t kShimBytes = (sizeof(ShimFile) + 7) & ~size_t{7};

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real; }
sqlite3_vfs* BaseVfs(sqlite3_vfs* v) { return static_cast<sqlite3_vfs*>(v->pAppData); }

int Flush(ShimFile* f) {
  f->after_header = false;
  if (f->buf->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->buf->size() && rc == SQLITE_OK;) {
    const size_t n = std::min(kMaxWriteBytes, f->buf->size() - done);
    rc = f->real->pMethods->xWrite(f->real, f->buf->data() + done, static_cast<int>(n),
                                   f->buf_offset + static_cast<sqlite3_int64>(done));
    done += n;
    g_flushes.fetch_add(1, std::memory_order_relaxed);
  }
  f->buf->clear();
  return rc;
}

void Collect(ShimFile* f, const void* data, int amount, sqlite3_int64 offset) {
  if (f->buf->empty()) f->buf_offset = offset;
  const char* p = static_cast<const char*>(data);
  f->buf->insert(f->buf->end(), p, p + amount);
  g_buffered.fetch_add(1, std::memory_order_relaxed);
}

int ShimWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  ShimFile* f = Shim(file);
  const bool contiguous = !f->buf->empty() && offset == f->buf_offset + static_cast<sqlite3_int64>(f->buf->size());
  if (amount == kFrameHeaderBytes) {
    if (!f->buf->empty() && !contiguous) {
      if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    }
    Collect(f, data, amount, offset);
    // Bytes 4..7 hold the database size after a commit, zero in other frames.
    const auto* h = static_cast<const unsigned char*>(data);
    const bool commit = (h[4] | h[5] | h[6] | h[7]) != 0;
    if (commit) return Flush(f);  // the commit's page then goes straight through
    f->after_header = true;
    return SQLITE_OK;
  }
  if (f->after_header && contiguous) {  // the page of the frame just collected
    Collect(f, data, amount, offset);
    f->after_header = false;
    return f->buf->size() >= kMaxBufferedBytes ? Flush(f) : SQLITE_OK;
  }
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  g_passthrough.fetch_add(1, std::memory_order_relaxed);
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

int ShimClose(sqlite3_file* file) {
  ShimFile* f = Shim(file);
  int flush_rc = Flush(f);
  int rc = f->real->pMethods->xClose(f->real);
  delete f->buf;
  f->buf = nullptr;
  return rc != SQLITE_OK ? rc : flush_rc;
}

int ShimRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xRead(Real(file), out, amount, offset);
}

int ShimTruncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xTruncate(Real(file), size);
}

int ShimSync(sqlite3_file* file, int flags) {
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xSync(Real(file), flags);
}

int ShimFileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xFileSize(Real(file), size);
}

int ShimFileControl(sqlite3_file* file, int op, void* arg) {
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}

int ShimLock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int ShimUnlock(sqlite3_file* file, int level) { return Real(file)->pMethods->xUnlock(Real(file), level); }
int ShimCheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int ShimSectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int ShimDeviceCharacteristics(sqlite3_file* file) { return Real(file)->pMethods->xDeviceCharacteristics(Real(file)); }

// SQLite keeps the WAL index in shared memory through the database file, not
// the WAL file, and maps only database files; these are here because the
// methods table has slots for them.
int ShimShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  sqlite3_file* r = Real(file);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmMap(r, page, size, extend, out) : SQLITE_IOERR_SHMMAP;
}
int ShimShmLock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* r = Real(file);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmLock(r, offset, n, flags) : SQLITE_IOERR_SHMLOCK;
}
void ShimShmBarrier(sqlite3_file* file) {
  sqlite3_file* r = Real(file);
  if (r->pMethods->iVersion >= 2) r->pMethods->xShmBarrier(r);
}
int ShimShmUnmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* r = Real(file);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmUnmap(r, delete_flag) : SQLITE_OK;
}
int ShimFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = Real(file);
  if (r->pMethods->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  if (int rc = Flush(Shim(file)); rc != SQLITE_OK) return rc;
  return r->pMethods->xFetch(r, offset, amount, out);
}
int ShimUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  sqlite3_file* r = Real(file);
  return r->pMethods->iVersion >= 3 ? r->pMethods->xUnfetch(r, offset, p) : SQLITE_OK;
}

const sqlite3_io_methods kWalMethods = {
    3,
    ShimClose,
    ShimRead,
    ShimWrite,
    ShimTruncate,
    ShimSync,
    ShimFileSize,
    ShimLock,
    ShimUnlock,
    ShimCheckReservedLock,
    ShimFileControl,
    ShimSectorSize,
    ShimDeviceCharacteristics,
    ShimShmMap,
    ShimShmLock,
    ShimShmBarrier,
    ShimShmUnmap,
    ShimFetch,
    ShimUnfetch,
};

int ShimOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = BaseVfs(vfs);
  // Everything but WAL files is the default VFS's own file object, untouched.
  if ((flags & SQLITE_OPEN_WAL) == 0) return base->xOpen(base, name, file, flags, out_flags);
  ShimFile* f = Shim(file);
  f->base.pMethods = nullptr;  // SQLite calls no method of a file whose open failed
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kShimBytes);
  f->buf = nullptr;
  f->buf_offset = 0;
  f->after_header = false;
  f->real->pMethods = nullptr;
  int rc = base->xOpen(base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The same contract one level down: a file whose methods were set is closed.
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  f->buf = new (std::nothrow) std::vector<char>();
  if (f->buf == nullptr) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return BaseVfs(v)->xDelete(BaseVfs(v), name, sync_dir);
}
int VfsAccess(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return BaseVfs(v)->xAccess(BaseVfs(v), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return BaseVfs(v)->xFullPathname(BaseVfs(v), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* v, const char* name) { return BaseVfs(v)->xDlOpen(BaseVfs(v), name); }
void VfsDlError(sqlite3_vfs* v, int n, char* out) { BaseVfs(v)->xDlError(BaseVfs(v), n, out); }
using DlSymbol = void (*)();
DlSymbol VfsDlSym(sqlite3_vfs* v, void* handle, const char* symbol) {
  return BaseVfs(v)->xDlSym(BaseVfs(v), handle, symbol);
}
void VfsDlClose(sqlite3_vfs* v, void* handle) { BaseVfs(v)->xDlClose(BaseVfs(v), handle); }
int VfsRandomness(sqlite3_vfs* v, int n, char* out) { return BaseVfs(v)->xRandomness(BaseVfs(v), n, out); }
int VfsSleep(sqlite3_vfs* v, int micros) { return BaseVfs(v)->xSleep(BaseVfs(v), micros); }
int VfsCurrentTime(sqlite3_vfs* v, double* out) { return BaseVfs(v)->xCurrentTime(BaseVfs(v), out); }
int VfsGetLastError(sqlite3_vfs* v, int n, char* out) {
  return BaseVfs(v)->xGetLastError ? BaseVfs(v)->xGetLastError(BaseVfs(v), n, out) : 0;
}
int VfsCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  sqlite3_vfs* b = BaseVfs(v);
  if (b->iVersion >= 2 && b->xCurrentTimeInt64 != nullptr) return b->xCurrentTimeInt64(b, out);
  double days = 0;
  int rc = b->xCurrentTime(b, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

constexpr const char* kVfsName = "vigil-walbuf";

}  // namespace

const char* WalBufferVfsName() {
  static const char* name = []() -> const char* {
    const char* env = std::getenv("VIGIL_SQLITE_WAL_BUFFER");
    if (env != nullptr && std::strcmp(env, "0") == 0) return nullptr;
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base == nullptr) return nullptr;
    static sqlite3_vfs vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(kShimBytes) + base->szOsFile;
    vfs.mxPathname = base->mxPathname;
    vfs.zName = kVfsName;
    vfs.pAppData = base;
    vfs.xOpen = ShimOpen;
    vfs.xDelete = VfsDelete;
    vfs.xAccess = VfsAccess;
    vfs.xFullPathname = VfsFullPathname;
    vfs.xDlOpen = VfsDlOpen;
    vfs.xDlError = VfsDlError;
    vfs.xDlSym = VfsDlSym;
    vfs.xDlClose = VfsDlClose;
    vfs.xRandomness = VfsRandomness;
    vfs.xSleep = VfsSleep;
    vfs.xCurrentTime = VfsCurrentTime;
    vfs.xGetLastError = VfsGetLastError;
    vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
    return kVfsName;
  }();
  return name;
}

WalBufferCounters GetWalBufferCounters() {
  WalBufferCounters c;
  c.buffered_writes = g_buffered.load(std::memory_order_relaxed);
  c.flushes = g_flushes.load(std::memory_order_relaxed);
  c.passthrough_writes = g_passthrough.load(std::memory_order_relaxed);
  return c;
}

}  // namespace vigil::storage
