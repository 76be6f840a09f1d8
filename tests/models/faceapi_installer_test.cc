// Installer tests. Those that install for real use the tarball cached by an
// earlier `vigil models install` (<models dir>/.cache) via --from, so they
// never touch the network; they skip when it is absent.
#include "models/faceapi_installer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "models/model_registry.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::optional<std::string> CachedTarball() {
  const fs::path p = fs::path(testing::ModelsDir()) / ".cache" / "vladmandic-face-api-1.7.15.tgz";
  std::error_code ec;
  if (fs::exists(p, ec)) return p.string();
  return std::nullopt;
}

TEST(NpmIntegrity, MatchesKnownDigest) {
  TempDir dir;
  testing::WriteFile(dir.path() / "abc", "abc");
  // sha512("abc") in base64, as npm writes dist.integrity.
  EXPECT_EQ(*NpmIntegrityOfFile((dir.path() / "abc").string()),
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==");
}

TEST(RunProgram, ReportsExitStatusAndMissingPrograms) {
  EXPECT_EQ(*RunProgram({"true"}), 0);
  EXPECT_EQ(*RunProgram({"false"}), 1);
  auto missing = RunProgram({"/nonexistent/program-vigil"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
}

TEST(FaceApiInstaller, RejectsATarballWithTheWrongDigest) {
  TempDir dir;
  testing::WriteFile(dir.path() / "fake.tgz", "not the face-api package");
  InstallOptions o;
  o.models_dir = (dir.path() / "models").string();
  o.from_tarball = (dir.path() / "fake.tgz").string();
  auto r = InstallFaceApi(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("integrity"), std::string::npos) << r.status().message();
  auto reg = ModelRegistry::Open(o.models_dir);
  ASSERT_TRUE(reg.ok());
  EXPECT_TRUE(reg->models().empty());
}

TEST(FaceApiInstaller, FailingNpmGivesAnActionableError) {
  TempDir dir;
  InstallOptions o;
  o.models_dir = dir.str();
  o.npm = "false";  // an "npm" that always fails, like one without network
  auto r = InstallFaceApi(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("--from"), std::string::npos) << r.status().message();
}

TEST(FaceApiInstaller, InstallsIsIdempotentAndRepairs) {
  auto tarball = CachedTarball();
  if (!tarball) GTEST_SKIP() << "no cached face-api tarball; run `vigil models install` first";
  TempDir dir;
  std::vector<std::string> lines;
  InstallOptions o;
  o.models_dir = dir.str();
  o.from_tarball = *tarball;
  o.progress = [&](const std::string& l) { lines.push_back(l); };

  auto first = InstallFaceApi(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->written.size(), 4u);
  EXPECT_FALSE(lines.empty());
  auto reg = ModelRegistry::Open(dir.str());
  ASSERT_TRUE(reg.ok());
  for (const char* id : {kSsdId, kSsdAnchorsId, kLandmarkId, kRecognitionId}) {
    auto m = reg->FindById(id);
    ASSERT_TRUE(m.has_value()) << id;
    EXPECT_TRUE(reg->Verify(*m).ok()) << id;
    EXPECT_EQ(m->source, "npm:@vladmandic/face-api@1.7.15");
  }
  auto rec = reg->FindByKind("faceapi_recognition");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->role, "embedder");
  EXPECT_EQ(rec->input_width, 150);
  EXPECT_EQ(rec->output_dim, 128);
  EXPECT_GT(rec->default_threshold, 0.0);
  EXPECT_LT(rec->default_threshold, 1.0);
  for (int i = 1; i <= 6; ++i) {
    EXPECT_TRUE(fs::exists(dir.path() / "samples" / ("sample" + std::to_string(i) + ".jpg"))) << i;
  }

  // Second run: everything verifies, nothing is written.
  const auto mtime = fs::last_write_time(dir.path() / "faceapi_recognition128.onnx");
  lines.clear();
  auto second = InstallFaceApi(o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->changed);
  EXPECT_TRUE(second->written.empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("nothing to do"), std::string::npos) << lines[0];
  EXPECT_EQ(fs::last_write_time(dir.path() / "faceapi_recognition128.onnx"), mtime);

  // A damaged model is noticed and only that one is rewritten.
  testing::WriteFile(dir.path() / "faceapi_landmark68.onnx", "damaged");
  auto third = InstallFaceApi(o);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(third->changed);
  EXPECT_EQ(third->written, (std::vector<std::string>{kLandmarkId}));
  reg = ModelRegistry::Open(dir.str());
  ASSERT_TRUE(reg.ok());
  EXPECT_TRUE(reg->Verify(*reg->FindById(kLandmarkId)).ok());
}

}  // namespace
}  // namespace vigil::models
