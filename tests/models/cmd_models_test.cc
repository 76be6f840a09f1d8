// Smoke tests of `vigil models ...` through the real executable (VIGIL_BINARY);
// they skip when it has not been built.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/json_util.h"
#include "models/faceapi_installer.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class CmdModels : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    if (!fs::exists(VIGIL_BINARY, ec)) GTEST_SKIP() << VIGIL_BINARY << " not built";
  }
  // Runs vigil with `args`; returns the exit status and fills `out` with stdout.
  int Vigil(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {VIGIL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path out_file = dir_.path() / "stdout.txt";
    auto rc = RunProgram(argv, out_file.string());
    EXPECT_TRUE(rc.ok()) << rc.status().ToString();
    *out = testing::ReadFile(out_file);
    return rc.ok() ? *rc : -1;
  }
  TempDir dir_;
};

TEST_F(CmdModels, ListOfAnEmptyDirectory) {
  std::string out;
  const std::string models = (dir_.path() / "models").string();
  ASSERT_EQ(Vigil({"models", "list", "--json", "--dir", models}, &out), 0);
  auto j = ParseJsonObject(out);
  ASSERT_TRUE(j.ok()) << out;
  EXPECT_TRUE((*j)["models"].is_array());
  EXPECT_TRUE((*j)["models"].empty());
  ASSERT_EQ(Vigil({"models", "list", "--dir", models}, &out), 0);
  EXPECT_NE(out.find("vigil models install"), std::string::npos) << out;
}

TEST_F(CmdModels, BadInputsExitOneWithoutCrashing) {
  std::string out;
  const std::string models = (dir_.path() / "models").string();
  testing::WriteFile(dir_.path() / "junk.onnx", std::string(1000, 'x'));
  EXPECT_EQ(Vigil({"models", "add", "sface", (dir_.path() / "junk.onnx").string(), "--dir", models}, &out), 1);
  EXPECT_EQ(Vigil({"models", "add", "yunet", (dir_.path() / "missing.onnx").string(), "--dir", models}, &out), 1);
  EXPECT_EQ(Vigil({"models", "install", "--from", (dir_.path() / "junk.onnx").string(), "--dir", models}, &out), 1);
  // An unknown kind is a usage error from the argument parser.
  EXPECT_NE(Vigil({"models", "add", "resnet", (dir_.path() / "junk.onnx").string(), "--dir", models}, &out), 0);
}

TEST_F(CmdModels, ListReportsATamperedModel) {
  std::string out;
  const fs::path models = dir_.path() / "models";
  fs::create_directories(models);
  testing::WriteFile(models / "m.onnx", "bytes");
  testing::WriteFile(models / "manifest.json",
                     R"({"version":1,"models":[{"id":"sface","kind":"sface","role":"embedder","file":"m.onnx",)"
                     R"("sha256":"00","input_width":112,"input_height":112,"output_dim":128,)"
                     R"("default_threshold":0.363,"source":"user:/x"}]})");
  EXPECT_EQ(Vigil({"models", "list", "--json", "--dir", models.string()}, &out), 1);
  auto j = ParseJsonObject(out);
  ASSERT_TRUE(j.ok()) << out;
  ASSERT_EQ((*j)["models"].size(), 1u);
  EXPECT_FALSE((*j)["models"][0]["verified"].get<bool>());
  EXPECT_NE((*j)["models"][0]["error"].get<std::string>().find("checksum"), std::string::npos);
}

}  // namespace
}  // namespace vigil::models
