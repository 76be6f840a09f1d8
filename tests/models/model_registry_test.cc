#include "models/model_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace vigil::models {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ =
        fs::temp_directory_path() / ("vigil_models_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

ModelInfo Sample(const std::string& id, const std::string& kind, const std::string& file) {
  ModelInfo m;
  m.id = id;
  m.kind = kind;
  m.role = "embedder";
  m.file = file;
  m.input_width = 150;
  m.input_height = 150;
  m.output_dim = 128;
  m.default_threshold = 0.42;
  m.source = "npm:@vladmandic/face-api@1.7.15";
  return m;
}

TEST(Sha256File, KnownVectors) {
  TempDir dir;
  WriteFile(dir.path() / "abc", "abc");
  WriteFile(dir.path() / "empty", "");
  EXPECT_EQ(*Sha256File((dir.path() / "abc").string()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(*Sha256File((dir.path() / "empty").string()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Larger than one read buffer, so the streaming loop is exercised.
  std::string big(200000, 'a');
  WriteFile(dir.path() / "big", big);
  auto sum = Sha256File((dir.path() / "big").string());
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->size(), 64u);
  auto missing = Sha256File((dir.path() / "nope").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(ModelRegistry, MissingDirectoryIsEmpty) {
  TempDir dir;
  auto reg = ModelRegistry::Open((dir.path() / "not-there").string());
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_TRUE(reg->models().empty());
  EXPECT_FALSE(reg->FindById("faceapi-recognition-128").has_value());
}

TEST(ModelRegistry, RoundTripAndVerify) {
  TempDir dir;
  WriteFile(dir.path() / "rec.onnx", "model bytes");
  WriteFile(dir.path() / "det.onnx", "detector bytes");
  {
    auto reg = ModelRegistry::Open(dir.str());
    ASSERT_TRUE(reg.ok());
    auto rec = Sample("faceapi-recognition-128", "faceapi_recognition", "rec.onnx");
    rec.sha256 = *Sha256File((dir.path() / "rec.onnx").string());
    auto det = Sample("faceapi-ssd-mobilenetv1", "ssd_mobilenetv1", "det.onnx");
    det.role = "detector";
    det.output_dim = 0;
    det.sha256 = *Sha256File((dir.path() / "det.onnx").string());
    ASSERT_TRUE(reg->Upsert(rec).ok());
    ASSERT_TRUE(reg->Upsert(det).ok());
    // Replacing by id keeps one entry.
    rec.default_threshold = 0.5;
    ASSERT_TRUE(reg->Upsert(rec).ok());
    EXPECT_EQ(reg->models().size(), 2u);
  }
  auto reg = ModelRegistry::Open(dir.str());
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  ASSERT_EQ(reg->models().size(), 2u);
  auto rec = reg->FindById("faceapi-recognition-128");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->kind, "faceapi_recognition");
  EXPECT_EQ(rec->role, "embedder");
  EXPECT_EQ(rec->input_width, 150);
  EXPECT_EQ(rec->output_dim, 128);
  EXPECT_DOUBLE_EQ(rec->default_threshold, 0.5);
  EXPECT_EQ(rec->source, "npm:@vladmandic/face-api@1.7.15");
  auto det = reg->FindByKind("ssd_mobilenetv1");
  ASSERT_TRUE(det.has_value());
  EXPECT_EQ(det->id, "faceapi-ssd-mobilenetv1");
  EXPECT_FALSE(reg->FindByKind("yunet").has_value());
  EXPECT_EQ(reg->PathOf(*rec), fs::absolute(dir.path() / "rec.onnx").lexically_normal().string());
  EXPECT_TRUE(reg->Verify(*rec).ok());
  EXPECT_TRUE(reg->Verify(*det).ok());

  // A modified file no longer verifies; a missing one is NotFound.
  WriteFile(dir.path() / "rec.onnx", "tampered bytes");
  EXPECT_EQ(reg->Verify(*rec).code(), StatusCode::kDataLoss);
  fs::remove(dir.path() / "det.onnx");
  EXPECT_EQ(reg->Verify(*det).code(), StatusCode::kNotFound);
  // No temporary files are left next to the manifest.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

TEST(ModelRegistry, CorruptManifestIsDataLoss) {
  TempDir dir;
  const auto manifest = dir.path() / "manifest.json";
  for (const std::string& text :
       {std::string("{not json"), std::string("[]"), std::string("{\"version\":1}"),
        std::string("{\"version\":2,\"models\":[]}"), std::string("{\"version\":1,\"models\":[{\"id\":\"x\"}]}"),
        std::string("{\"version\":1,\"models\":[{\"id\":\"x\",\"kind\":\"k\",\"role\":\"r\","
                    "\"file\":\"../etc/passwd\",\"sha256\":\"\",\"input_width\":1,"
                    "\"input_height\":1,\"output_dim\":0,\"default_threshold\":0}]}")}) {
    WriteFile(manifest, text);
    auto reg = ModelRegistry::Open(dir.str());
    ASSERT_FALSE(reg.ok()) << text;
    EXPECT_EQ(reg.status().code(), StatusCode::kDataLoss) << text;
  }
  // A truncated copy of a valid manifest is rejected too.
  fs::remove(manifest);
  {
    auto reg = ModelRegistry::Open(dir.str());
    ASSERT_TRUE(reg.ok());
    auto m = Sample("a", "faceapi_recognition", "a.onnx");
    ASSERT_TRUE(reg->Upsert(m).ok());
  }
  std::ifstream in(manifest);
  std::string full((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteFile(manifest, full.substr(0, full.size() / 2));
  EXPECT_EQ(ModelRegistry::Open(dir.str()).status().code(), StatusCode::kDataLoss);
}

TEST(ModelInfo, JsonRoundTrip) {
  auto m = Sample("arcface", "arcface", "arcface.onnx");
  m.sha256 = "00ff";
  auto back = ModelInfoFromJson(ModelInfoToJson(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->file, m.file);
  EXPECT_EQ(back->sha256, m.sha256);
  EXPECT_EQ(back->input_height, m.input_height);
  EXPECT_DOUBLE_EQ(back->default_threshold, m.default_threshold);
}

}  // namespace
}  // namespace vigil::models
