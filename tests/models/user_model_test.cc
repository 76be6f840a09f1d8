// `vigil models add`: probe runs on user-supplied files. The YuNet file comes
// from ../shared/models (VIGIL_SHARED_DIR); those tests skip when it is absent.
#include "models/user_model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "models/model_registry.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::optional<std::string> SharedYunet() {
  std::string shared = std::string(VIGIL_SOURCE_DIR) + "/../shared";
  if (const char* env = std::getenv("VIGIL_SHARED_DIR"); env != nullptr && *env != '\0') shared = env;
  const std::string p = shared + "/models/face_detection_yunet_2022mar.onnx";
  std::error_code ec;
  if (fs::exists(p, ec)) return p;
  return std::nullopt;
}

TEST(UserModel, GarbageFileIsAClearErrorNotACrash) {
  TempDir dir;
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = char((i * 131 + 7) % 251);
  testing::WriteFile(dir.path() / "junk.onnx", junk);
  for (const auto& kind : UserModelKinds()) {
    auto m = AddUserModel((dir.path() / "models").string(), kind, (dir.path() / "junk.onnx").string());
    ASSERT_FALSE(m.ok()) << kind;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << kind;
    EXPECT_NE(m.status().message().find("junk.onnx"), std::string::npos) << m.status().message();
  }
  // Nothing was registered or copied.
  auto reg = ModelRegistry::Open((dir.path() / "models").string());
  ASSERT_TRUE(reg.ok());
  EXPECT_TRUE(reg->models().empty());
}

TEST(UserModel, MissingFileAndUnknownKind) {
  TempDir dir;
  EXPECT_EQ(ProbeUserModel("sface", (dir.path() / "nope.onnx").string()).status().code(), StatusCode::kNotFound);
  testing::WriteFile(dir.path() / "x.onnx", "x");
  EXPECT_EQ(ProbeUserModel("resnet", (dir.path() / "x.onnx").string()).status().code(), StatusCode::kInvalidArgument);
}

TEST(UserModel, YunetIsProbedCopiedAndRegistered) {
  auto yunet = SharedYunet();
  if (!yunet) GTEST_SKIP() << "../shared/models/face_detection_yunet_2022mar.onnx not present";
  TempDir dir;
  auto m = AddUserModel(dir.str(), "yunet", *yunet);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->id, "yunet-2022mar");
  EXPECT_EQ(m->role, "detector");
  auto reg = ModelRegistry::Open(dir.str());
  ASSERT_TRUE(reg.ok());
  auto found = reg->FindByKind("yunet");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(reg->Verify(*found).ok());
  EXPECT_EQ(found->sha256, "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7");
  EXPECT_EQ(found->source, "user:" + fs::absolute(*yunet).lexically_normal().string());
}

TEST(UserModel, WrongKindOfModelIsRejected) {
  auto yunet = SharedYunet();
  if (!yunet) GTEST_SKIP() << "../shared/models/face_detection_yunet_2022mar.onnx not present";
  for (const char* kind : {"sface", "arcface"}) {
    auto m = ProbeUserModel(kind, *yunet);
    ASSERT_FALSE(m.ok()) << kind;
    EXPECT_NE(m.status().message().find("embedding"), std::string::npos) << m.status().message();
  }
  // A truncated YuNet no longer loads.
  TempDir dir;
  std::string bytes = testing::ReadFile(*yunet);
  testing::WriteFile(dir.path() / "cut.onnx", bytes.substr(0, bytes.size() / 3));
  auto cut = ProbeUserModel("yunet", (dir.path() / "cut.onnx").string());
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::models
