// libFuzzer target: the worker's event spool reader (src/worker/event_spool.cc).
//
// The input becomes the files of a spool directory in an in-memory Env; the
// spool is opened (recovery), every pending event is read back, a new event
// is appended, everything is acknowledged, and the spool is reopened. Damage
// must be reported through SpoolRecovery or a Status, never by a crash, and
// the spool's indexes must stay consistent with what it reports.
//
// Input layout (so that mutations reach the payload parser behind the CRC):
//   byte 0: bit 0 = "framed": the harness frames each record with a valid
//           magic, CRC-32C and length; bit 1 = the first piece is counters.json.
//   rest:   pieces separated by "SEG!", one per segment file (at most 8).
//           In framed mode a segment is records separated by "REC!", each
//           being one type byte followed by the payload.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/logging.h"
#include "worker/crc32c.h"
#include "worker/env.h"
#include "worker/event_spool.h"

namespace {

using vigil::Result;
using vigil::Status;
using vigil::worker::Env;
using vigil::worker::WritableFile;
using vigil::worker::WritableFilePtr;

// Files in a map; directories are implicit.
class MemEnv final : public Env {
 public:
  std::map<std::string, std::string> files;

  class File final : public WritableFile {
   public:
    File(MemEnv& env, std::string path) : env_(env), path_(std::move(path)) {}
    Status Append(std::string_view data) override {
      env_.files[path_].append(data);
      return Status::Ok();
    }
    Status Sync() override { return Status::Ok(); }
    Status Close() override { return Status::Ok(); }

   private:
    MemEnv& env_;
    std::string path_;
  };

  Result<WritableFilePtr> NewAppendableFile(const std::string& path) override {
    files[path];  // creates it empty when absent
    return WritableFilePtr(new File(*this, path));
  }
  Result<std::string> ReadFile(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return vigil::NotFound(path);
    return it->second;
  }
  Result<std::string> ReadRange(const std::string& path, uint64_t offset, size_t n) override {
    auto it = files.find(path);
    if (it == files.end()) return vigil::NotFound(path);
    if (offset > it->second.size() || it->second.size() - offset < n) return vigil::DataLoss(path + ": short read");
    return it->second.substr(offset, n);
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    std::vector<std::string> names;
    std::string prefix = dir + "/";
    for (const auto& [path, data] : files) {
      if (path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos) {
        names.push_back(path.substr(prefix.size()));
      }
    }
    return names;
  }
  Status RemoveFile(const std::string& path) override {
    if (files.erase(path) == 0) return vigil::NotFound(path);
    return Status::Ok();
  }
  Status CreateDirs(const std::string&) override { return Status::Ok(); }
  Status WriteFileAtomic(const std::string& path, std::string_view data, bool) override {
    files[path] = std::string(data);
    return Status::Ok();
  }
};

std::vector<std::string_view> Split(std::string_view s, std::string_view sep, size_t max_pieces) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_pieces) {
    size_t p = s.find(sep);
    if (p == std::string_view::npos) break;
    out.push_back(s.substr(0, p));
    s.remove_prefix(p + sep.size());
  }
  out.push_back(s);
  return out;
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The record framing of docs/spool.md, with a correct CRC.
std::string Frame(std::string_view rec) {
  std::string body;
  uint8_t type = rec.empty() ? 1 : static_cast<uint8_t>(rec[0]);
  std::string_view payload = rec.empty() ? rec : rec.substr(1);
  PutU32(body, static_cast<uint32_t>(payload.size()));
  body.push_back(static_cast<char>(type));
  body.append(payload);
  std::string out;
  PutU32(out, 0x4C475356u);
  PutU32(out, vigil::worker::Crc32c(body));
  return out + body;
}

std::string SegmentName(int n) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%08d.log", n);
  return name;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vigil::LogOptions quiet;
  quiet.level = "off";  // recovery logs every damaged input
  vigil::InitLogging(quiet);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string dir = "/spool";
  const bool framed = data[0] & 1;
  const bool counters = data[0] & 2;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  MemEnv env;
  auto pieces = Split(rest, "SEG!", 9);
  int segment = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i == 0 && counters) {
      env.files[dir + "/counters.json"] = std::string(pieces[i]);
      continue;
    }
    std::string file;
    if (framed) {
      for (auto rec : Split(pieces[i], "REC!", 64)) file += Frame(rec);
    } else {
      file = std::string(pieces[i]);
    }
    env.files[dir + "/" + SegmentName(++segment)] = std::move(file);
  }

  vigil::worker::SpoolOptions options;
  options.dir = dir;
  options.max_bytes = 1 << 20;
  options.sync_appends = false;
  auto spool = vigil::worker::EventSpool::Open(options, env);
  if (!spool.ok()) return 0;  // reported as a Status: fine

  // Every event the spool says it holds can be read back.
  auto pending = (*spool)->PendingAfter(0, SIZE_MAX);
  Check(static_cast<int64_t>(pending.size()) == (*spool)->counters().spooled);
  std::vector<std::string> ids;
  uint64_t last_seq = 0;
  for (const auto& [seq, id] : pending) {
    Check(seq > last_seq);
    last_seq = seq;
    auto e = (*spool)->Read(id);
    Check(e.ok() && e->event_id == id);
    ids.push_back(id);
  }

  // New events go after everything recovered.
  vigil::worker::SpooledEvent fresh{"fuzz-fresh-event", "{\"type\":\"event\"}", "jpeg"};
  Check((*spool)->Append(fresh).ok());
  auto after = (*spool)->PendingAfter(last_seq, SIZE_MAX);
  Check(!after.empty() && after.back().second == fresh.event_id);
  ids.push_back(fresh.event_id);

  // Acknowledging everything empties the spool, also after a reopen.
  (*spool)->Ack(ids);
  Check((*spool)->counters().spooled == 0);
  spool->reset();
  auto again = vigil::worker::EventSpool::Open(options, env);
  Check(again.ok());
  Check((*again)->counters().spooled == 0 && (*again)->PendingAfter(0, SIZE_MAX).empty());
  return 0;
}
