#include <fstream>
#include <iostream>

#include "api/load_generator.h"
#include "cli/commands.h"

namespace vigil::cli {

namespace {
// VmHWM (peak resident set) of a process, in kB; -1 when unreadable.
long PeakRssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}
}  // namespace

// `vigil loadgen`: simulated workers against a running API.
void AddLoadgenCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("loadgen", "Drive a running API with simulated workers and measure ingestion");
  auto o = std::make_shared<api::LoadOptions>();
  auto url = std::make_shared<std::string>("http://127.0.0.1:8080");
  auto pid = std::make_shared<int>(0);
  auto json = std::make_shared<bool>(false);
  auto no_reconnect = std::make_shared<bool>(false);
  auto ids_path = std::make_shared<std::string>();
  cmd->add_option("--workers", o->workers, "simulated workers")->default_val(10);
  cmd->add_option("--rate", o->rate, "events per second, all workers together")->default_val(1000);
  cmd->add_option("--duration", o->duration_s, "seconds of sending")->default_val(10);
  cmd->add_option("--api", *url, "API base URL")->default_val("http://127.0.0.1:8080");
  cmd->add_option("--key", o->worker_key, "worker key (default: $WORKER_API_KEY)");
  cmd->add_option("--api-pid", *pid, "pid of the API process, to report its peak RSS");
  cmd->add_option("--people", o->people, "distinct synthetic faces")->default_val(500);
  cmd->add_option("--drain", o->drain_s, "seconds to wait for the last acks after sending")->default_val(10);
  cmd->add_flag("--no-reconnect", *no_reconnect,
                "a simulated worker whose connection drops stops (default: reconnect and re-send unacked events)");
  cmd->add_flag("--json", *json, "print the report as one JSON object");
  cmd->add_option("--acked-ids", *ids_path, "write the id of every acknowledged event to this file, one a line");
  cmd->callback([&ctx, o, url, pid, json, no_reconnect, ids_path] {
    Status st = api::ParseApiUrl(*url, &o->host, &o->port);
    if (!st.ok()) {
      PrintError("loadgen", st);
      ctx.exit_code = 2;
      return;
    }
    if (o->worker_key.empty()) {
      if (const char* k = std::getenv("WORKER_API_KEY")) o->worker_key = k;
    }
    o->reconnect = !*no_reconnect;
    o->collect_ids = !ids_path->empty();
    auto r = api::RunLoad(*o);
    if (!r.ok()) {
      PrintError("loadgen", r.status());
      ctx.exit_code = 1;
      return;
    }
    ctx.exit_code = (r->workers_connected == o->workers && r->events_acked == r->events_sent) ? 0 : 1;
    if (!ids_path->empty()) {
      std::ofstream out(*ids_path, std::ios::trunc);
      for (const auto& id : r->acked_ids) out << id << "\n";
      out.flush();
      if (!out) {
        PrintError("loadgen", Internal("cannot write " + *ids_path));
        ctx.exit_code = 1;
      }
    }
    if (*json) {
      std::cout << api::LoadReportJson(*r) << std::endl;
      return;
    }
    std::cout << "workers connected: " << r->workers_connected << "/" << o->workers << "\n"
              << "events sent:       " << r->events_sent << "\n"
              << "events acked:      " << r->events_acked << "\n"
              << "events re-sent:    " << r->events_resent << " (after " << r->reconnects << " reconnects)\n"
              << "ingested:          " << static_cast<long>(r->acked_per_second) << " events/s\n"
              << "ack latency:       p50 " << r->p50_ms << " ms, p99 " << r->p99_ms << " ms, max " << r->max_ms
              << " ms\n";
    if (*pid > 0) {
      long kb = PeakRssKb(*pid);
      std::cout << "API peak RSS:      " << (kb < 0 ? std::string("unreadable") : std::to_string(kb / 1024) + " MiB")
                << "\n";
    } else {
      std::cout << "API peak RSS:      n/a (pass --api-pid)\n";
    }
  });
}

}  // namespace vigil::cli
