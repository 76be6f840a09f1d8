// The REST face surface end to end with the real models (issue #4
// acceptance): a real `vigil api` on port 0 with a temporary SQLite database
// enrolls lfw10 photos as staff through POST /api/v1/staff/{id}/faces, then
// POST /api/v1/recognize must identify other photos of the same people and
// must not put a name on a person who was never enrolled.
//
// Needs the installed models (VIGIL_MODELS_DIR, else <source>/data/models) and
// ../shared/testdata/lfw10 (VIGIL_SHARED_DIR overrides); skips when either is
// absent. Every wait is on a condition with a deadline.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "integration/worker_process_helpers.h"

namespace vigil::worker_it {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kAdminToken = "admin-token-for-lfw-tests";

std::string ModelsDir() {
  if (const char* e = std::getenv("VIGIL_MODELS_DIR"); e && *e) return e;
  return std::string(VIGIL_SOURCE_DIR) + "/data/models";
}

std::string Lfw10Dir() {
  if (const char* e = std::getenv("VIGIL_SHARED_DIR"); e && *e) return std::string(e) + "/testdata/lfw10";
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/testdata/lfw10";
}

// Person name -> sorted photo paths.
std::vector<std::pair<std::string, std::vector<std::string>>> LoadLfw10() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  std::error_code ec;
  if (!fs::is_directory(Lfw10Dir(), ec)) return out;
  for (const auto& person : fs::directory_iterator(Lfw10Dir(), ec)) {
    if (!person.is_directory()) continue;
    std::vector<std::string> photos;
    for (const auto& f : fs::directory_iterator(person.path(), ec)) {
      if (f.is_regular_file() && f.path().extension() == ".jpg") photos.push_back(f.path().string());
    }
    std::sort(photos.begin(), photos.end());
    if (photos.size() >= 10) out.emplace_back(person.path().filename().string(), std::move(photos));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The face of a recognize answer that an LFW photo is about: the largest one
// (LFW centres one person; others may appear small at the edges).
const Json* MainFace(const Json& answer) {
  const Json* best = nullptr;
  double best_area = -1;
  if (!answer.contains("faces") || !answer["faces"].is_array()) return nullptr;
  for (const auto& f : answer["faces"]) {
    const auto& b = f["bbox"];
    double area = b[2].get<double>() * b[3].get<double>();
    if (area > best_area) {
      best_area = area;
      best = &f;
    }
  }
  return best;
}

class LfwRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    if (!fs::is_regular_file(ModelsDir() + "/manifest.json", ec)) {
      GTEST_SKIP() << "no installed models under " << ModelsDir();
    }
    people_ = LoadLfw10();
    if (people_.size() < 3) GTEST_SKIP() << "lfw10 not found under " << Lfw10Dir();
    fs::create_directories(dir_.path() + "/data");
    std::map<std::string, std::string> env = {
        {"API_PORT", "0"},
        {"API_BIND", "127.0.0.1"},
        {"VIGIL_DATA_DIR", dir_.path() + "/data"},
        {"VIGIL_MODELS_DIR", ModelsDir()},
        {"API_ADMIN_TOKEN", kAdminToken},
        {"WORKER_API_KEY", "worker-key-for-lfw-tests"},
        {"RECOGNIZE_RATE_LIMIT", "0"},
        {"LOG_LEVEL", "info"},
    };
    const ApiStartup started = worker_it::StartApi(api_, env, dir_.path() + "/api.log", 30s);
    VIGIL_ASSERT_API_UP(started);
    port_ = started.port;
  }

  HttpResponse Post(const std::string& path, const std::string& body, const std::string& type) {
    return Http(port_, "POST", path, kAdminToken, body, type);
  }

  ScratchDir dir_;
  Process api_;
  int port_ = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>> people_;
};

// Photos 1–4 of every person but the last are enrolled as that staff member;
// photos 9–10 are the probes. The last person is never enrolled: the stranger.
// (Sized to stay well under 60 s: ~56 face-pipeline calls of ~0.3 s each on a
// free core.)
TEST_F(LfwRestTest, EnrolledStaffAreRecognizedAndAStrangerIsNot) {
  constexpr size_t kEnrolled = 4;
  constexpr size_t kFirstProbe = 8;
  const size_t staff_people = people_.size() - 1;
  std::map<std::string, std::string> staff_id_of;  // person -> staff id
  int enrolled = 0, refused = 0;
  for (size_t p = 0; p < staff_people; ++p) {
    const auto& [name, photos] = people_[p];
    auto created = Post("/api/v1/staff", Json{{"name", name}}.dump(), "application/json");
    ASSERT_EQ(created.status, 201) << created.body;
    auto sj = created.json();
    ASSERT_TRUE(sj.ok());
    const std::string id = (*sj)["id"].get<std::string>();
    staff_id_of[name] = id;
    for (size_t i = 0; i < kEnrolled; ++i) {
      auto r = Post("/api/v1/staff/" + id + "/faces", ReadFile(photos[i]), "image/jpeg");
      if (r.status == 201) {
        auto fj = r.json();
        ASSERT_TRUE(fj.ok());
        EXPECT_EQ((*fj)["staff_id"], id);
        EXPECT_FALSE((*fj)["model"].get<std::string>().empty());
        ++enrolled;
      } else {
        // 422 is the documented answer for a photo with no face or several
        // (LFW photos sometimes show a second person at the edge).
        ASSERT_EQ(r.status, 422) << photos[i] << ": " << r.body;
        auto ej = r.json();
        ASSERT_TRUE(ej.ok());
        EXPECT_TRUE((*ej)["error"].contains("message"));
        ++refused;
      }
    }
  }
  // Nearly every photo enrolls; a failing detector would refuse them all.
  ASSERT_GE(enrolled, static_cast<int>(staff_people * kEnrolled * 8 / 10)) << "refused " << refused;

  // The kept photos are listed as faces of their staff member.
  auto faces = Http(port_, "GET", "/api/v1/staff/" + staff_id_of.begin()->second + "/faces", kAdminToken);
  ASSERT_EQ(faces.status, 200) << faces.body;

  int probes = 0, identified = 0, wrong = 0;
  for (size_t p = 0; p < staff_people; ++p) {
    const auto& [name, photos] = people_[p];
    for (size_t i = kFirstProbe; i < 10; ++i) {
      auto r = Post("/api/v1/recognize", ReadFile(photos[i]), "image/jpeg");
      ASSERT_EQ(r.status, 200) << r.body;
      auto j = r.json();
      ASSERT_TRUE(j.ok());
      ++probes;
      const Json* face = MainFace(*j);
      if (face == nullptr || (*face)["match"].is_null()) continue;
      const Json& m = (*face)["match"];
      if (m["kind"] == "staff" && m["id"] == staff_id_of[name]) {
        ++identified;
        EXPECT_EQ(m["name"], name);
        EXPECT_GE(m["similarity"].get<double>(), 0.0);
      } else {
        ++wrong;
        ADD_FAILURE() << photos[i] << " matched " << m.dump();
      }
    }
  }
  const double rate = static_cast<double>(identified) / probes;
  std::cout << "lfw10 REST identification: " << identified << "/" << probes << " (" << rate * 100 << " %), wrong "
            << wrong << ", enrolled " << enrolled << ", refused " << refused << "\n";
  // docs/thresholds.md: at the default threshold identification against a
  // gallery of 9 photos per person is 99 % (leave-one-out), while a single
  // genuine pair reaches the threshold only 76.7 % of the time. With 4 photos
  // per person a probe fails only when all 4 pairs miss; misses are not
  // independent (a blurred or turned probe misses against every photo), and
  // this server path measured 17/18 on lfw10. The floor, 5/6 (15 of 18),
  // leaves room for two more such probes on other hardware, and still fails
  // for a broken pipeline (wrong alignment or model gives far fewer matches).
  EXPECT_GE(rate, 5.0 / 6.0);
  EXPECT_EQ(wrong, 0);  // a wrong name is never acceptable at the default threshold

  // The stranger: never enrolled, and no customer exists, so no match at all.
  const auto& stranger = people_.back().second;
  int stranger_faces = 0;
  for (size_t i = 0; i < 2; ++i) {
    auto r = Post("/api/v1/recognize", ReadFile(stranger[i]), "image/jpeg");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    ASSERT_TRUE(j.ok());
    const Json* face = MainFace(*j);
    if (face == nullptr) continue;
    ++stranger_faces;
    EXPECT_TRUE((*face)["match"].is_null()) << stranger[i] << " matched " << (*face)["match"].dump();
  }
  EXPECT_GE(stranger_faces, 1);  // the check above must have had a face to look at
}

}  // namespace
}  // namespace vigil::worker_it
