// `vigil models install | list | add`: wiring only; the work is in src/models.
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/json_util.h"
#include "models/faceapi_installer.h"
#include "models/model_registry.h"
#include "models/user_model.h"

namespace vigil::cli {

namespace {

struct ModelsFlags {
  std::string dir;  // --dir wins over VIGIL_MODELS_DIR
  std::string env_file;
};

// The models directory: --dir, else VIGIL_MODELS_DIR (environment or .env),
// else ./data/models.
Result<std::string> ModelsDir(const ModelsFlags& f) {
  if (!f.dir.empty()) return f.dir;
  std::vector<ConfigVar> vars;
  for (const auto& v : AllConfigVars()) {
    if (v.name == "VIGIL_MODELS_DIR") vars.push_back(v);
  }
  VIGIL_ASSIGN_OR_RETURN(auto src, ConfigSource::Load(vars, {}, f.env_file, ProcessEnv()));
  std::string dir = src.Get("VIGIL_MODELS_DIR");
  return dir.empty() ? std::string("./data/models") : dir;
}

void AddDirFlags(CLI::App* cmd, ModelsFlags* f) {
  cmd->add_option("--dir", f->dir, "models directory (default: VIGIL_MODELS_DIR, else ./data/models)");
  cmd->add_option("--env-file", f->env_file, "read VIGIL_MODELS_DIR from this file (default: ./.env when present)");
}

void AddInstall(CLI::App* parent, CommandContext& ctx) {
  auto* cmd = parent->add_subcommand("install", "Fetch @vladmandic/face-api and convert its models to ONNX");
  auto flags = std::make_shared<ModelsFlags>();
  auto from = std::make_shared<std::string>();
  AddDirFlags(cmd, flags.get());
  cmd->add_option("--from", *from, "install from this npm tarball instead of running `npm pack` (air-gapped hosts)");
  cmd->callback([&ctx, flags, from] {
    auto dir = ModelsDir(*flags);
    if (!dir.ok()) {
      PrintError("models install", dir.status());
      ctx.exit_code = 2;
      return;
    }
    models::InstallOptions o;
    o.models_dir = *dir;
    o.from_tarball = *from;
    o.progress = [](const std::string& line) { std::cout << line << std::endl; };
    auto report = models::InstallFaceApi(o);
    if (!report.ok()) {
      PrintError("models install", report.status());
      ctx.exit_code = 1;
    }
  });
}

void AddList(CLI::App* parent, CommandContext& ctx) {
  auto* cmd = parent->add_subcommand("list", "Show installed models and whether each verifies");
  auto flags = std::make_shared<ModelsFlags>();
  auto json = std::make_shared<bool>(false);
  AddDirFlags(cmd, flags.get());
  cmd->add_flag("--json", *json, "one JSON document on stdout");
  cmd->callback([&ctx, flags, json] {
    auto dir = ModelsDir(*flags);
    if (!dir.ok()) {
      PrintError("models list", dir.status());
      ctx.exit_code = 2;
      return;
    }
    auto reg = models::ModelRegistry::Open(*dir);
    if (!reg.ok()) {
      PrintError("models list", reg.status());
      ctx.exit_code = 1;
      return;
    }
    bool all_ok = true;
    Json arr = Json::array();
    std::vector<std::pair<models::ModelInfo, Status>> rows;
    for (const auto& m : reg->models()) {
      Status st = reg->Verify(m);
      all_ok = all_ok && st.ok();
      Json j = models::ModelInfoToJson(m);
      j["path"] = reg->PathOf(m);
      j["verified"] = st.ok();
      if (!st.ok()) j["error"] = st.message();
      arr.push_back(j);
      rows.emplace_back(m, st);
    }
    if (*json) {
      std::cout << DumpJson(Json{{"dir", *dir}, {"models", arr}}) << std::endl;
    } else if (rows.empty()) {
      std::cout << "no models installed in " << *dir << "; run `vigil models install`" << std::endl;
    } else {
      std::cout << "models in " << *dir << ":" << std::endl;
      for (const auto& [m, st] : rows) {
        std::cout << "  " << std::left << std::setw(26) << m.id << std::setw(21) << m.kind << std::setw(10) << m.role
                  << std::setw(38) << m.file << (st.ok() ? "ok" : "FAILED: " + st.message()) << std::endl;
      }
    }
    // A model that does not verify is something to act on: exit 1.
    if (!all_ok) ctx.exit_code = 1;
  });
}

void AddAdd(CLI::App* parent, CommandContext& ctx) {
  auto* cmd = parent->add_subcommand("add", "Register a user-supplied YuNet, ArcFace or SFace ONNX file");
  auto flags = std::make_shared<ModelsFlags>();
  auto kind = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  AddDirFlags(cmd, flags.get());
  cmd->add_option("kind", *kind, "yunet | arcface | sface")->required()->check(CLI::IsMember(models::UserModelKinds()));
  cmd->add_option("file", *file, "the ONNX file")->required();
  cmd->callback([&ctx, flags, kind, file] {
    auto dir = ModelsDir(*flags);
    if (!dir.ok()) {
      PrintError("models add", dir.status());
      ctx.exit_code = 2;
      return;
    }
    auto m = models::AddUserModel(*dir, *kind, *file);
    if (!m.ok()) {
      PrintError("models add", m.status());
      ctx.exit_code = 1;
      return;
    }
    std::cout << "added " << m->id << " (" << m->kind << ", " << m->role << ") as " << m->file << " in " << *dir
              << std::endl;
  });
}

}  // namespace

void AddModelsCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("models", "Install, list and add face models");
  cmd->require_subcommand(1);
  AddInstall(cmd, ctx);
  AddList(cmd, ctx);
  AddAdd(cmd, ctx);
}

}  // namespace vigil::cli
