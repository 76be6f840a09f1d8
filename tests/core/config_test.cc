#include "core/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace vigil {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("vigil-config-test-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) {
    auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

Result<WorkerConfig> Worker(std::map<std::string, std::string> env, std::map<std::string, std::string> flags = {},
                            const std::string& env_file = "/nonexistent-dir/.env-not-here") {
  // An explicitly named missing file is an error, so default to a file that
  // exists but is empty when no .env is wanted.
  static TempDir dir;
  std::string file = env_file == "/nonexistent-dir/.env-not-here" ? dir.Write("empty.env", "") : env_file;
  auto src = ConfigSource::Load(ConfigVarsFor("worker"), flags, file, FakeEnv(std::move(env)));
  if (!src.ok()) return src.status();
  return BuildWorkerConfig(*src);
}

TEST(ConfigTest, WorkerDefaults) {
  auto c = Worker({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->api_url, "http://localhost:8080");
  EXPECT_DOUBLE_EQ(c->fps, 5);
  EXPECT_DOUBLE_EQ(c->confidence_threshold, 0.7);
  EXPECT_FALSE(c->staff_match_threshold.has_value());
  EXPECT_FALSE(c->mock_mode);
  EXPECT_EQ(c->detector_type, "auto");
  EXPECT_EQ(c->spool_max_bytes, 256LL << 20);
  EXPECT_EQ(c->shutdown_deadline, std::chrono::seconds(10));
}

TEST(ConfigTest, BadFpsNamesVariableAndExpectedForm) {
  auto c = Worker({{"WORKER_FPS", "abc"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "WORKER_FPS: expected a number between 0.1 and 120, got 'abc'");
}

TEST(ConfigTest, BadValuesAreRejected) {
  EXPECT_FALSE(Worker({{"WORKER_FPS", "0"}}).ok());
  EXPECT_FALSE(Worker({{"WORKER_FPS", "5fps"}}).ok());
  EXPECT_FALSE(Worker({{"CONFIDENCE_THRESHOLD", "1.5"}}).ok());
  EXPECT_FALSE(Worker({{"MOCK_MODE", "maybe"}}).ok());
  EXPECT_FALSE(Worker({{"DETECTOR_TYPE", "hog"}}).ok());
  EXPECT_FALSE(Worker({{"API_URL", "ftp://x"}}).ok());
  EXPECT_FALSE(Worker({{"WORKER_ID", "bad id with spaces"}}).ok());
  EXPECT_FALSE(Worker({{"SPOOL_MAX_BYTES", "12XB"}}).ok());
  EXPECT_FALSE(Worker({{"WORKER_SHUTDOWN_DEADLINE", "-3s"}}).ok());
  auto det = Worker({{"DETECTOR_TYPE", "hog"}});
  EXPECT_NE(det.status().message().find("DETECTOR_TYPE: expected one of yunet|ssd|mock|auto"), std::string::npos);
}

TEST(ConfigTest, TypedValuesParse) {
  auto c = Worker({{"WORKER_FPS", "2.5"},
                   {"MOCK_MODE", "1"},
                   {"STAFF_MATCH_THRESHOLD", "0.55"},
                   {"SPOOL_MAX_BYTES", "64MB"},
                   {"WORKER_SHUTDOWN_DEADLINE", "1500ms"},
                   {"DETECTOR_TYPE", "YuNet"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_DOUBLE_EQ(c->fps, 2.5);
  EXPECT_TRUE(c->mock_mode);
  EXPECT_DOUBLE_EQ(*c->staff_match_threshold, 0.55);
  EXPECT_EQ(c->spool_max_bytes, 64LL << 20);
  EXPECT_EQ(c->shutdown_deadline, std::chrono::milliseconds(1500));
  EXPECT_EQ(c->detector_type, "yunet");
}

TEST(ConfigTest, PrecedenceFlagOverEnvOverDotEnvOverDefault) {
  TempDir dir;
  std::string file = dir.Write(".env", "WORKER_FPS=3\nWORKER_ID=from-dotenv\nCONFIDENCE_THRESHOLD=0.6\n");
  auto src = ConfigSource::Load(ConfigVarsFor("worker"), {{"WORKER_FPS", "9"}}, file,
                                FakeEnv({{"WORKER_FPS", "7"}, {"WORKER_ID", "from-env"}}));
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(src->Get("WORKER_FPS"), "9");
  EXPECT_EQ(src->Origin("WORKER_FPS"), "flag");
  EXPECT_EQ(src->Get("WORKER_ID"), "from-env");
  EXPECT_EQ(src->Origin("WORKER_ID"), "env");
  EXPECT_EQ(src->Get("CONFIDENCE_THRESHOLD"), "0.6");
  EXPECT_EQ(src->Origin("CONFIDENCE_THRESHOLD"), ".env");
  EXPECT_EQ(src->Get("API_URL"), "http://localhost:8080");
  EXPECT_EQ(src->Origin("API_URL"), "default");
}

TEST(ConfigTest, MissingExplicitEnvFileIsAnError) {
  auto src = ConfigSource::Load(ConfigVarsFor("worker"), {}, "/definitely/not/here.env", FakeEnv({}));
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("/definitely/not/here.env"), std::string::npos);
}

TEST(ConfigTest, DotEnvSyntax) {
  auto m = ParseDotEnv(
      "# comment\n\nexport A=1\nB = \"two words\"\nC='single # not comment'\nD=plain # trailing comment\nE=\n",
      "test.env");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->at("A"), "1");
  EXPECT_EQ(m->at("B"), "two words");
  EXPECT_EQ(m->at("C"), "single # not comment");
  EXPECT_EQ(m->at("D"), "plain");
  EXPECT_EQ(m->at("E"), "");
}

TEST(ConfigTest, DotEnvErrorsNameFileAndLine) {
  auto bad = ParseDotEnv("A=1\nnot a pair\n", "my.env");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("my.env:2"), std::string::npos);
  EXPECT_FALSE(ParseDotEnv("X=\"unterminated\n", "e").ok());
  EXPECT_FALSE(ParseDotEnv("BAD-NAME=1\n", "e").ok());
}

TEST(ConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDurationVar("D", "30"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseDurationVar("D", "5m"), std::chrono::minutes(5));
  EXPECT_EQ(*ParseDurationVar("D", "2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseDurationVar("D", "250ms"), std::chrono::milliseconds(250));
  EXPECT_FALSE(ParseDurationVar("D", "5 parsecs").ok());
  EXPECT_FALSE(ParseDurationVar("D", "").ok());
  EXPECT_EQ(*ParseBytesVar("B", "1KB"), 1024);
  EXPECT_EQ(*ParseBytesVar("B", "1.5GB"), 1610612736);
  EXPECT_FALSE(ParseBytesVar("B", "lots").ok());
  EXPECT_EQ(*ParseIntVar("I", " 42 ", 0, 100), 42);
  EXPECT_FALSE(ParseIntVar("I", "101", 0, 100).ok());
  EXPECT_FALSE(ParseIntVar("I", "4.2", 0, 100).ok());
}

TEST(ConfigTest, ApiConfigDefaultsAndErrors) {
  TempDir dir;
  std::string empty = dir.Write("e.env", "");
  auto load = [&](std::map<std::string, std::string> env) {
    auto src = ConfigSource::Load(ConfigVarsFor("api"), {}, empty, FakeEnv(std::move(env)));
    EXPECT_TRUE(src.ok());
    return BuildApiConfig(*src);
  };
  auto c = load({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->database_url, "sqlite:///./data/vigil.db");
  EXPECT_EQ(c->snapshot_retention_days, 30);
  EXPECT_EQ(c->visit_merge_window, std::chrono::minutes(30));
  EXPECT_FALSE(load({{"API_PORT", "70000"}}).ok());
  EXPECT_FALSE(load({{"DATABASE_URL", "mysql://x"}}).ok());
  EXPECT_FALSE(load({{"API_TLS_CERT", "/c.pem"}}).ok());  // key missing
  EXPECT_EQ(c->ingest_pause_queue, 2000u);
  EXPECT_EQ(c->ingest_resume_queue, 500u);
  auto marks = load({{"INGEST_PAUSE_QUEUE", "100"}, {"INGEST_RESUME_QUEUE", "10"}});
  ASSERT_TRUE(marks.ok()) << marks.status().ToString();
  EXPECT_EQ(marks->ingest_pause_queue, 100u);
  EXPECT_EQ(marks->ingest_resume_queue, 10u);
  auto inverted = load({{"INGEST_PAUSE_QUEUE", "100"}, {"INGEST_RESUME_QUEUE", "100"}});
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(inverted.status().message().find("INGEST_RESUME_QUEUE"), std::string::npos);
  EXPECT_FALSE(load({{"INGEST_PAUSE_QUEUE", "0"}}).ok());
  auto tok = load({{"API_ADMIN_TOKEN", "short"}});
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().message().find("short"), std::string::npos) << "secrets never appear in errors";
}

TEST(ConfigTest, FlagNames) {
  EXPECT_EQ(FlagNameFor("WORKER_FPS"), "worker-fps");
  EXPECT_EQ(FlagNameFor("API_PORT"), "api-port");
}

TEST(ConfigTest, EnvExampleListsEveryVariable) {
  std::ifstream f(std::string(VIGIL_SOURCE_DIR) + "/.env.example");
  ASSERT_TRUE(f.good()) << ".env.example is missing";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  std::set<std::string> names;
  for (const auto& v : AllConfigVars()) {
    ASSERT_TRUE(names.insert(v.name).second) << "duplicate variable " << v.name;
    // Each variable appears as "NAME=default" (commented out or not).
    EXPECT_NE(text.find(v.name + "=" + v.default_value + "\n"), std::string::npos)
        << v.name << " with its default is missing from .env.example";
  }
}

}  // namespace
}  // namespace vigil
