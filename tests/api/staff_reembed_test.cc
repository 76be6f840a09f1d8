// ReembedStaffPhotos: enrolment photos kept on disk get a record for the
// API's current embedding model (here the mock model) in place of records
// made by another model; photos without a usable face keep their old record.
#include "api/staff_reembed.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "api/api_test_helpers.h"
#include "vision/mock_faces.h"

namespace vigil::api {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestConfig;

class StaffReembedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(fs::path(dir_.path()) / "photos");
    auto repo = storage::OpenRepository("sqlite:///" + dir_.path() + "/vigil.db");
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    faces_ = CreateFaceService(TestConfig(dir_.path()));
    ASSERT_TRUE(faces_->available());
    storage::Staff s;
    s.name = "Alice";
    auto staff = repo_->CreateStaff(s);
    ASSERT_TRUE(staff.ok()) << staff.status().ToString();
    staff_id_ = staff->id;
  }

  // Writes `image` as photos/<name> and stores a face record for it made by `model`.
  std::string AddOldFace(const std::string& name, const cv::Mat& image, const std::string& model) {
    std::vector<uchar> jpeg;
    EXPECT_TRUE(cv::imencode(".jpg", image, jpeg));
    std::ofstream(fs::path(dir_.path()) / "photos" / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    return AddRecord("photos/" + name, model);
  }

  std::string AddRecord(const std::string& photo_path, const std::string& model) {
    storage::StaffFace f;
    f.staff_id = staff_id_;
    f.model = model;
    f.embedding = std::vector<float>(8, 0.5f);
    f.photo_path = photo_path;
    auto stored = repo_->AddStaffFace(f);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return stored.ok() ? stored->id : "";
  }

  std::vector<storage::StaffFace> Faces() {
    auto all = repo_->ListStaffFaces(staff_id_);
    EXPECT_TRUE(all.ok());
    return all.ok() ? *all : std::vector<storage::StaffFace>{};
  }

  TempDir dir_;
  storage::RepositoryPtr repo_;
  FaceServicePtr faces_;
  std::string staff_id_;
};

TEST_F(StaffReembedTest, ReplacesOldModelRecordWithCurrentModel) {
  const std::string old_id = AddOldFace("a.jpg", vision::RenderMockFacePhoto(1), "retired-model-v0");
  auto report = ReembedStaffPhotos(*repo_, *faces_, dir_.path());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->reembedded, 1);
  EXPECT_EQ(report->failed, 0);

  auto faces = Faces();
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_NE(faces[0].id, old_id);
  EXPECT_EQ(faces[0].model, faces_->model());
  EXPECT_EQ(faces[0].photo_path, "photos/a.jpg");
  // The new embedding is the pipeline's, not the seeded placeholder.
  auto direct = faces_->Analyze([&] {
    std::ifstream in(fs::path(dir_.path()) / "photos/a.jpg", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }());
  ASSERT_TRUE(direct.ok());
  ASSERT_FALSE(direct->empty());
  EXPECT_EQ(faces[0].embedding, (*direct)[0].embedding);

  // A second start finds everything current and changes nothing.
  auto again = ReembedStaffPhotos(*repo_, *faces_, dir_.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->reembedded, 0);
  EXPECT_EQ(again->up_to_date, 1);
  ASSERT_EQ(Faces().size(), 1u);
  EXPECT_EQ(Faces()[0].id, faces[0].id);
}

TEST_F(StaffReembedTest, PhotoWithoutFaceKeepsItsOldRecord) {
  const std::string old_id = AddOldFace("blank.jpg", cv::Mat(240, 320, CV_8UC3, cv::Scalar(90, 90, 90)), "old");
  auto report = ReembedStaffPhotos(*repo_, *faces_, dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->reembedded, 0);
  EXPECT_EQ(report->failed, 1);
  auto faces = Faces();
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0].id, old_id);
  EXPECT_EQ(faces[0].model, "old");
}

TEST_F(StaffReembedTest, MissingOrEscapingPhotoPathsAreCountedNotFollowed) {
  AddRecord("photos/gone.jpg", "old");
  AddRecord("../outside.jpg", "old");
  AddRecord("/etc/hostname", "old");
  auto report = ReembedStaffPhotos(*repo_, *faces_, dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failed, 3);
  EXPECT_EQ(report->reembedded, 0);
  EXPECT_EQ(Faces().size(), 3u);
}

TEST_F(StaffReembedTest, RecordsAlreadyOnTheCurrentModelAreLeftAlone) {
  const std::string id = AddOldFace("b.jpg", vision::RenderMockFacePhoto(2), faces_->model());
  auto report = ReembedStaffPhotos(*repo_, *faces_, dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->up_to_date, 1);
  EXPECT_EQ(report->reembedded, 0);
  ASSERT_EQ(Faces().size(), 1u);
  EXPECT_EQ(Faces()[0].id, id);
}

}  // namespace
}  // namespace vigil::api
