#include "integration/worker_process_helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace vigil::worker_it {

Process::Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_), log_path_(std::move(o.log_path_)) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && running()) {
      ::kill(pid_, SIGKILL);
      Wait(std::chrono::seconds(5));
    }
    pid_ = o.pid_;
    status_ = o.status_;
    log_path_ = std::move(o.log_path_);
    o.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(5));
  }
}

Process Process::Start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       const std::string& log_path) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> envs;
  for (const auto& [k, v] : merged) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  Process p;
  p.log_path_ = log_path;
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  p.pid_ = pid;
  return p;
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  WaitUntil([this] { return !running(); }, timeout);
  return status_;
}

std::string Process::Log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval, not a wait for an outcome
  }
}

ApiStartup StartApi(Process& api, const std::map<std::string, std::string>& env, const std::string& log_path,
                    std::chrono::milliseconds timeout, const std::function<bool(int port)>& ready) {
  ApiStartup out;
  api = Process::Start({VIGIL_BINARY, "api"}, env, log_path);
  // Text logs say `port=8080`, JSON logs `"port":8080`.
  static const std::regex kPort(R"(listening.*port\D{1,4}(\d+))");
  const bool logged = WaitUntil(
      [&] {
        std::smatch m;
        const std::string text = api.Log();
        if (std::regex_search(text, m, kPort)) {
          out.port = std::stoi(m[1]);
          return true;
        }
        return !api.running();
      },
      timeout);
  if (!logged || out.port == 0 || !api.running()) {
    out.log = api.Log();
    out.not_built = out.log.find("not built yet") != std::string::npos;
    return out;
  }
  const int port = out.port;
  out.up = WaitUntil(ready ? std::function<bool()>([&] { return ready(port); })
                           : std::function<bool()>([&] { return Http(port, "GET", "/healthz", "").status == 200; }),
                     timeout);
  if (!out.up) out.log = api.Log();
  return out;
}

HttpResponse Http(int port, const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body, const std::string& content_type) {
  HttpResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
    // Stop once a Content-Length body is complete (keep-alive servers).
    size_t hdr_end = resp.find("\r\n\r\n");
    if (hdr_end != std::string::npos) {
      std::string head = resp.substr(0, hdr_end);
      for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t cl = head.find("content-length:");
      if (cl != std::string::npos && resp.size() >= hdr_end + 4 + std::stoul(head.substr(cl + 15))) break;
    }
  }
  ::close(fd);
  if (resp.size() < 12) return out;
  out.status = std::atoi(resp.substr(9, 3).c_str());
  size_t hdr_end = resp.find("\r\n\r\n");
  if (hdr_end == std::string::npos) return out;
  std::string head = resp.substr(0, hdr_end);
  std::string raw = resp.substr(hdr_end + 4);
  std::string lower = head;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    size_t pos = 0;
    while (pos < raw.size()) {
      size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t n = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (n == 0) break;
      out.body += raw.substr(eol + 2, n);
      pos = eol + 2 + n + 2;
    }
  } else {
    size_t cl = lower.find("content-length:");
    out.body = cl == std::string::npos ? raw : raw.substr(0, std::stoul(lower.substr(cl + 15)));
  }
  return out;
}

std::vector<Json> ListAll(int port, const std::string& path, const std::string& token) {
  std::vector<Json> items;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    std::string p = path + sep + "limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto r = Http(port, "GET", p, token);
    if (r.status != 200) break;
    auto j = r.json();
    if (!j.ok() || !j->contains("items")) break;
    for (const auto& it : (*j)["items"]) items.push_back(it);
    if (!j->contains("next_cursor") || (*j)["next_cursor"].is_null()) break;
    cursor = (*j)["next_cursor"].get<std::string>();
  }
  return items;
}

std::vector<std::string> ListeningSockets(pid_t pid) {
  std::set<std::string> inodes;
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fd_dir, ec)) {
    auto target = std::filesystem::read_symlink(e.path(), ec);
    std::string t = target.string();
    if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
  }
  std::vector<std::string> found;
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/net/" + proto);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream ss(line);
      std::string sl, local, remote, st, txrx, trwhen, retr, uid, timeout, inode;
      ss >> sl >> local >> remote >> st >> txrx >> trwhen >> retr >> uid >> timeout >> inode;
      if (!inodes.count(inode)) continue;
      bool tcp = proto[0] == 't';
      std::string port = local.substr(local.find(':') + 1);
      if ((tcp && st == "0A") || (!tcp && st == "07" && port != "0000"))
        found.push_back(std::string(proto) + ":" + inode);
    }
  }
  std::ifstream u("/proc/" + std::to_string(pid) + "/net/unix");
  std::string line;
  std::getline(u, line);
  while (std::getline(u, line)) {
    std::istringstream ss(line);
    std::string num, ref, proto, flags, type, st, inode;
    ss >> num >> ref >> proto >> flags >> type >> st >> inode;
    if (inodes.count(inode) && (std::strtoul(flags.c_str(), nullptr, 16) & 0x10000u)) found.push_back("unix:" + inode);
  }
  return found;
}

ScratchDir::ScratchDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vigil-worker-it-XXXXXX";
  if (::mkdtemp(tmpl.data())) path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty() && !std::getenv("VIGIL_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

Process StartMockWorker(int api_port, const std::string& worker_key, const std::string& id,
                        const std::string& state_dir, const std::string& log_path,
                        const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = {
      {"API_URL", "http://127.0.0.1:" + std::to_string(api_port)},
      {"WORKER_API_KEY", worker_key},
      {"WORKER_ID", id},
      {"MOCK_MODE", "true"},
      {"VIGIL_STATE_DIR", state_dir},
      {"WORKER_FPS", "8"},
      {"EVENT_COOLDOWN", "1s"},
      {"LOG_LEVEL", "info"},
  };
  for (const auto& [k, v] : env) all[k] = v;
  return Process::Start({VIGIL_BINARY, "worker"}, all, log_path);
}

Json ListWorkers(int port, const std::string& token) {
  auto j = Http(port, "GET", "/api/v1/workers", token).json();
  return j.ok() && j->contains("items") ? (*j)["items"] : Json::array();
}

Json WorkerById(int port, const std::string& token, const std::string& id) {
  for (const auto& w : ListWorkers(port, token)) {
    if (w.value("id", "") == id) return w;
  }
  return Json::object();
}

Json SpoolCounters(const std::string& state_dir, const std::string& worker_id) {
  std::ifstream f(state_dir + "/" + worker_id + "/spool/counters.json");
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = ParseJson(ss.str());
  return j.ok() && j->is_object() ? *j : Json::object();
}

}  // namespace vigil::worker_it
