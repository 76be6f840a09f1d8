// The real pipeline on real photos. Every test skips cleanly when its data or
// model is absent: YuNet from ../shared/models, the face-api models and demo
// samples from the models directory (`vigil models install`), LFW photos
// from ../shared/testdata/lfw10.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/alignment.h"
#include "vision/face_quality.h"
#include "vision/real_data_helpers.h"

namespace vigil::vision {
namespace {

using namespace vigil::vision::testing;

// CONFIDENCE_THRESHOLD's default (0.7) is what YuNet runs with out of the
// box; SSD's scores run lower and face-api's own default of 0.5 is the one to
// use with it (docs/thresholds.md).
float DetThreshold(const std::string& detector) { return detector == "ssd" ? 0.5f : 0.7f; }

cv::Mat Read(const std::string& path) { return cv::imread(path, cv::IMREAD_COLOR); }

TEST(RealDetectors, DemoSamplesHoldTheKnownNumberOfFaces) {
  const auto samples = SamplePaths();
  if (samples.empty()) GTEST_SKIP() << "no demo samples in " << ModelsDir() << "/samples (run `vigil models install`)";
  const auto detectors = AvailableDetectors();
  if (detectors.empty()) GTEST_SKIP() << "no real detector available";
  const int expected[6] = {3, 3, 3, 4, 5, 4};
  for (const auto& name : detectors) {
    auto det = MakeDetector(name, DetThreshold(name));
    ASSERT_TRUE(det.ok()) << det.status().ToString();
    for (int i = 0; i < 6; ++i) {
      const cv::Mat img = Read(samples[i]);
      auto faces = (*det)->Detect(img);
      ASSERT_TRUE(faces.ok()) << faces.status().ToString();
      EXPECT_EQ(static_cast<int>(faces->size()), expected[i]) << name << " on " << samples[i];
      for (const auto& f : *faces) {
        EXPECT_GE(f.score, DetThreshold(name));
        EXPECT_TRUE((cv::Rect2f(0, 0, img.cols, img.rows) & f.box).area() > 0.9 * f.box.area());
        if (name == "yunet") {
          ASSERT_EQ(f.landmarks.size(), 5u);
          // Subject's right eye is on the image's left; eyes above the mouth.
          EXPECT_LT(f.landmarks[kRightEye].x, f.landmarks[kLeftEye].x);
          EXPECT_LT(f.landmarks[kRightEye].y, f.landmarks[kRightMouth].y);
        }
      }
    }
  }
}

TEST(RealDetectors, YuNetAndSsdAgreeOnTheSampleBoxes) {
  const auto samples = SamplePaths();
  const auto detectors = AvailableDetectors();
  if (samples.empty() || detectors.size() < 2) GTEST_SKIP() << "needs both YuNet and SSD and the samples";
  auto yunet = MakeDetector("yunet", DetThreshold("yunet"));
  auto ssd = MakeDetector("ssd", DetThreshold("ssd"));
  ASSERT_TRUE(yunet.ok() && ssd.ok());
  for (const auto& s : samples) {
    const cv::Mat img = Read(s);
    auto a = (*yunet)->Detect(img);
    auto b = (*ssd)->Detect(img);
    ASSERT_TRUE(a.ok() && b.ok());
    for (const auto& fa : *a) {
      float best = 0;
      for (const auto& fb : *b) best = std::max(best, BoxIoU(fa.box, fb.box));
      // The two nets draw their boxes differently (SSD includes more
      // forehead), but each face must be the same face.
      EXPECT_GT(best, 0.4f) << s;
    }
  }
}

TEST(RealDetectors, PaddingRetryFindsATightlyCroppedFace) {
  const auto samples = SamplePaths();
  if (samples.empty() || YuNetPath().empty()) GTEST_SKIP() << "needs YuNet and the samples";
  auto det = MakeDetector("yunet", DetThreshold("yunet"));
  ASSERT_TRUE(det.ok());
  int found_plain = 0, found_retry = 0, total = 0;
  for (const auto& s : samples) {
    const cv::Mat img = Read(s);
    auto faces = (*det)->Detect(img);
    ASSERT_TRUE(faces.ok());
    for (const auto& f : *faces) {
      // Crop the face box itself (no margin): the face fills the whole image.
      const cv::Rect r = cv::Rect(f.box) & cv::Rect(0, 0, img.cols, img.rows);
      const cv::Mat crop = img(r).clone();
      ++total;
      found_plain += !(*det)->Detect(crop)->empty();
      auto retry = DetectWithPaddingRetry(**det, crop);
      ASSERT_TRUE(retry.ok());
      if (!retry->empty()) {
        ++found_retry;
        for (const auto& d : *retry) {
          const cv::Rect2f inside = d.box & cv::Rect2f(0, 0, crop.cols, crop.rows);
          EXPECT_GE(inside.area(), 0.5f * d.box.area());
        }
      }
    }
  }
  RecordProperty("tight_crops", total);
  RecordProperty("found_plain", found_plain);
  RecordProperty("found_with_retry", found_retry);
  EXPECT_GE(found_retry, found_plain);
  EXPECT_GE(found_retry, total * 9 / 10) << "plain " << found_plain << "/" << total;
}

struct Face {
  std::string image;
  cv::Rect2f box;
  Embedding emb;
};

// Each detected face of the samples, embedded.
std::vector<Face> SampleFaces(FaceDetector& det, FaceEmbedder& emb) {
  std::vector<Face> out;
  for (const auto& s : SamplePaths()) {
    const cv::Mat img = Read(s);
    auto faces = det.Detect(img);
    if (!faces.ok()) continue;
    for (const auto& f : *faces) {
      auto e = emb.Embed(img, f);
      if (e.ok()) out.push_back({s, f.box, std::move(*e)});
    }
  }
  return out;
}

struct Transform {
  std::string name;
  std::function<cv::Mat(const cv::Mat&)> apply;
  std::function<cv::Rect2f(const cv::Rect2f&, cv::Size)> map_box;
};

std::vector<Transform> Transforms() {
  auto same_box = [](const cv::Rect2f& b, cv::Size) { return b; };
  auto brightness = [](double f) {
    return [f](const cv::Mat& m) {
      cv::Mat o;
      m.convertTo(o, -1, f, 0);
      return o;
    };
  };
  auto scale = [](double s) {
    return Transform{
        "scale " + std::to_string(s),
        [s](const cv::Mat& m) {
          cv::Mat o;
          cv::resize(m, o, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
          return o;
        },
        [s](const cv::Rect2f& b, cv::Size) { return cv::Rect2f(b.x * s, b.y * s, b.width * s, b.height * s); }};
  };
  return {
      {"flip",
       [](const cv::Mat& m) {
         cv::Mat o;
         cv::flip(m, o, 1);
         return o;
       },
       [](const cv::Rect2f& b, cv::Size sz) { return cv::Rect2f(sz.width - b.x - b.width, b.y, b.width, b.height); }},
      {"brightness +15%", brightness(1.15), same_box},
      {"brightness -15%", brightness(0.85), same_box},
      scale(0.8),
      scale(1.25),
      {"jpeg q40",
       [](const cv::Mat& m) {
         std::vector<uchar> buf;
         cv::imencode(".jpg", m, buf, {cv::IMWRITE_JPEG_QUALITY, 40});
         return cv::imdecode(buf, cv::IMREAD_COLOR);
       },
       same_box},
  };
}

class RealEmbedding : public ::testing::TestWithParam<std::string> {};

// Each face matches itself after flip, brightness, scale and JPEG changes,
// with detection rerun on the changed image (as a camera would).
TEST_P(RealEmbedding, EachSampleFaceMatchesItselfUnderPhotometricAndGeometricChanges) {
  const std::string det_name = GetParam();
  const auto detectors = AvailableDetectors();
  if (SamplePaths().empty() || std::find(detectors.begin(), detectors.end(), det_name) == detectors.end()) {
    GTEST_SKIP() << det_name << " or the samples are not available";
  }
  auto emb = MakeFaceApiEmbedder();
  if (!emb.ok()) GTEST_SKIP() << "faceapi embedder not installed: " << emb.status().ToString();
  auto det = MakeDetector(det_name, DetThreshold(det_name));
  ASSERT_TRUE(det.ok());
  const float t = (*emb)->default_threshold();
  float worst = 1;
  std::string worst_what;
  int checked = 0;
  for (const auto& s : SamplePaths()) {
    const cv::Mat img = Read(s);
    auto faces = (*det)->Detect(img);
    ASSERT_TRUE(faces.ok());
    for (const auto& tr : Transforms()) {
      const cv::Mat changed = tr.apply(img);
      auto faces2 = (*det)->Detect(changed);
      ASSERT_TRUE(faces2.ok());
      for (const auto& f : *faces) {
        const cv::Rect2f expected = tr.map_box(f.box, changed.size());
        const Detection* match = nullptr;
        float best_iou = 0.5f;
        for (const auto& g : *faces2) {
          if (BoxIoU(g.box, expected) > best_iou) best_iou = BoxIoU(g.box, expected), match = &g;
        }
        ASSERT_NE(match, nullptr) << tr.name << ": face lost in " << s;
        auto a = (*emb)->Embed(img, f);
        auto b = (*emb)->Embed(changed, *match);
        ASSERT_TRUE(a.ok() && b.ok());
        const float sim = CosineSimilarity(a->values, b->values);
        ++checked;
        if (sim < worst) worst = sim, worst_what = tr.name + " " + s;
        EXPECT_GE(sim, t) << tr.name << " " << s << " box " << f.box;
      }
    }
  }
  EXPECT_EQ(checked, 22 * 6);
  RecordProperty("worst_self_similarity", std::to_string(worst));
  std::cout << det_name << ": worst self-similarity " << worst << " (" << worst_what << "), threshold " << t
            << std::endl;
}

// Whether two sample faces show the same person. Looked at by eye: the
// smiling blonde woman on the right of sample1 and in the middle of sample3 is
// one person (and the closest pair by every aligner tried); all other faces
// are distinct people.
bool KnownSamePerson(const Face& a, const Face& b) {
  auto is = [](const Face& f, const char* image, float cx) {
    return f.image.ends_with(image) && std::abs(f.box.x + f.box.width / 2 - cx) < 100;
  };
  return (is(a, "sample1.jpg", 1575) && is(b, "sample3.jpg", 1180)) ||
         (is(b, "sample1.jpg", 1575) && is(a, "sample3.jpg", 1180));
}

// The 22 sample faces show 21 different people: no two of them may match.
TEST_P(RealEmbedding, DifferentPeopleInTheSamplesDoNotMatch) {
  const std::string det_name = GetParam();
  const auto detectors = AvailableDetectors();
  if (SamplePaths().empty() || std::find(detectors.begin(), detectors.end(), det_name) == detectors.end()) {
    GTEST_SKIP() << det_name << " or the samples are not available";
  }
  auto emb = MakeFaceApiEmbedder();
  if (!emb.ok()) GTEST_SKIP() << "faceapi embedder not installed";
  auto det = MakeDetector(det_name, DetThreshold(det_name));
  ASSERT_TRUE(det.ok());
  const auto faces = SampleFaces(**det, **emb);
  ASSERT_EQ(faces.size(), 22u);
  const float t = (*emb)->default_threshold();
  float closest = -1;
  int same_pairs = 0;
  for (size_t i = 0; i < faces.size(); ++i) {
    for (size_t j = i + 1; j < faces.size(); ++j) {
      const float s = CosineSimilarity(faces[i].emb.values, faces[j].emb.values);
      if (KnownSamePerson(faces[i], faces[j])) {
        ++same_pairs;
        continue;
      }
      closest = std::max(closest, s);
      EXPECT_LT(s, t) << faces[i].image << " " << faces[i].box << " vs " << faces[j].image << " " << faces[j].box;
    }
  }
  EXPECT_EQ(same_pairs, 1);
  std::cout << det_name << ": closest impostor among sample faces " << closest << ", threshold " << t << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Detectors, RealEmbedding, ::testing::Values("yunet", "ssd"));

// Verification and identification on lfw10 at the default threshold.
TEST(Lfw10, VerificationAndIdentificationAtTheDefaultThreshold) {
  const auto people = Lfw10();
  if (people.size() < 2) GTEST_SKIP() << "lfw10 not found under " << SharedDir();
  auto emb = MakeFaceApiEmbedder();
  if (!emb.ok()) GTEST_SKIP() << "faceapi embedder not installed";
  const auto detectors = AvailableDetectors();
  if (detectors.empty()) GTEST_SKIP() << "no real detector";
  auto det = MakeDetector(detectors.front(), DetThreshold(detectors.front()));
  ASSERT_TRUE(det.ok());
  struct Sample {
    int person;
    std::vector<float> v;
  };
  std::vector<Sample> samples;
  int photos = 0;
  for (size_t p = 0; p < people.size(); ++p) {
    for (const auto& path : people[p].second) {
      ++photos;
      const cv::Mat img = Read(path);
      auto faces = DetectWithPaddingRetry(**det, img);
      ASSERT_TRUE(faces.ok());
      const int main = MainFaceIndex(*faces, img.size());
      if (main < 0) continue;
      auto e = (*emb)->Embed(img, (*faces)[main]);
      ASSERT_TRUE(e.ok());
      samples.push_back({static_cast<int>(p), e->values});
    }
  }
  // Every LFW photo has a centred face; the detector must find nearly all.
  EXPECT_GE(samples.size(), static_cast<size_t>(photos) * 97 / 100);
  const float t = (*emb)->default_threshold();
  int genuine = 0, genuine_ok = 0, impostor = 0, impostor_accepted = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      const bool same = samples[i].person == samples[j].person;
      const bool match = CosineSimilarity(samples[i].v, samples[j].v) >= t;
      if (same) {
        ++genuine;
        genuine_ok += match;
      } else {
        ++impostor;
        impostor_accepted += match;
      }
    }
  }
  // The calibration read-out (docs/thresholds.md): the similarity that 1 %
  // of impostor pairs reach, and where genuine pairs fall.
  std::vector<float> imp_sims, gen_sims;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      (samples[i].person == samples[j].person ? gen_sims : imp_sims)
          .push_back(CosineSimilarity(samples[i].v, samples[j].v));
    }
  }
  std::sort(imp_sims.begin(), imp_sims.end());
  std::sort(gen_sims.begin(), gen_sims.end());
  auto q = [](const std::vector<float>& v, double f) { return v[static_cast<size_t>(f * (v.size() - 1))]; };
  std::cout << "calibration: impostor p99 " << q(imp_sims, 0.99) << " p99.9 " << q(imp_sims, 0.999) << " max "
            << imp_sims.back() << "; genuine p1 " << q(gen_sims, 0.01) << " p5 " << q(gen_sims, 0.05) << " median "
            << q(gen_sims, 0.5) << std::endl;
  for (float th : {0.90f, 0.91f, 0.92f, 0.93f, 0.94f, 0.945f, 0.95f}) {
    const auto fa = imp_sims.end() - std::lower_bound(imp_sims.begin(), imp_sims.end(), th);
    const auto ta = gen_sims.end() - std::lower_bound(gen_sims.begin(), gen_sims.end(), th);
    std::cout << "  at " << th << ": FAR " << static_cast<double>(fa) / imp_sims.size() << " TAR "
              << static_cast<double>(ta) / gen_sims.size() << std::endl;
  }
  const double tar = static_cast<double>(genuine_ok) / genuine;
  const double far = static_cast<double>(impostor_accepted) / impostor;
  const double balanced_accuracy = (tar + (1 - far)) / 2;
  // Identification, leave one out: the probe's best match among all other
  // photos must be the right person AND reach the threshold.
  int identified = 0, rank1 = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    float best = -2;
    int who = -1;
    for (size_t j = 0; j < samples.size(); ++j) {
      if (j == i) continue;
      const float s = CosineSimilarity(samples[i].v, samples[j].v);
      if (s > best) best = s, who = samples[j].person;
    }
    rank1 += who == samples[i].person;
    identified += who == samples[i].person && best >= t;
  }
  const double ident_rate = static_cast<double>(identified) / samples.size();
  const double rank1_rate = static_cast<double>(rank1) / samples.size();
  std::cout << "lfw10 (" << people.size() << " people, " << samples.size() << " faces, detector " << (*det)->name()
            << ", threshold " << t << "): TAR " << tar << " FAR " << far << " balanced accuracy " << balanced_accuracy
            << " rank-1 " << rank1_rate << " identified " << ident_rate << std::endl;
  RecordProperty("tar", std::to_string(tar));
  RecordProperty("far", std::to_string(far));
  RecordProperty("identification_rate", std::to_string(ident_rate));
  // Floors (docs/thresholds.md). The default threshold is set for open-set
  // safety: no impostor pair of lfw10 (4,950 pairs in all) and no pair of distinct people
  // in the demo samples may match, so FAR must stay at most 1 %. That strict
  // point costs pair recall: 0.767 measured, floor 0.72 (a drop below means
  // the alignment or the model broke, not noise: one genuine pair is 0.2 %).
  // Identification against a gallery of several photos per person is what the
  // product does (staff enrol several photos); dlib's net is near-perfect at
  // rank 1 on LFW, so rank-1 and identification at the threshold must both
  // stay at or above 95 % (measured 1.00 and 0.99).
  EXPECT_LE(far, 0.01);
  EXPECT_GE(tar, 0.72);
  EXPECT_GE(balanced_accuracy, 0.85);
  EXPECT_GE(rank1_rate, 0.95);
  EXPECT_GE(ident_rate, 0.95);
}

TEST(Alignment, FivePointChipPutsTheEyesWhereTheTemplateSays) {
  // Independent of models: a synthetic image with known eye positions.
  cv::Mat img(300, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  const std::vector<cv::Point2f> lm = {{120, 130}, {180, 130}, {150, 165}, {125, 200}, {175, 200}};
  for (const auto& p : lm) cv::circle(img, p, 3, cv::Scalar(255, 255, 255), cv::FILLED);
  auto chip = AlignArcFaceChip(img, lm);
  ASSERT_TRUE(chip.ok());
  EXPECT_EQ(chip->size(), cv::Size(112, 112));
  // The right-eye blob lands near the template's (38.3, 51.7).
  cv::Mat grey;
  cv::cvtColor(*chip, grey, cv::COLOR_BGR2GRAY);
  const cv::Rect around(30, 44, 16, 16);
  cv::Point max_loc;
  cv::minMaxLoc(grey(around), nullptr, nullptr, nullptr, &max_loc);
  EXPECT_NEAR(max_loc.x + around.x, 38.3, 3);
  EXPECT_NEAR(max_loc.y + around.y, 51.7, 3);
  auto dlib = AlignDlibChip(img, lm);
  ASSERT_TRUE(dlib.ok());
  EXPECT_EQ(dlib->size(), cv::Size(150, 150));
  EXPECT_FALSE(AlignDlibChip(img, {{1, 2}}).ok());
  // The similarity estimate recovers a known rotation+scale exactly.
  const double a = 0.8 * std::cos(0.3), b = 0.8 * std::sin(0.3);
  std::vector<cv::Point2f> moved;
  for (const auto& p : lm) moved.emplace_back(a * p.x - b * p.y + 10, b * p.x + a * p.y - 5);
  const cv::Mat m = EstimateSimilarity(lm, moved);
  EXPECT_NEAR(m.at<double>(0, 0), a, 1e-5);
  EXPECT_NEAR(m.at<double>(1, 0), b, 1e-5);
  EXPECT_NEAR(m.at<double>(0, 2), 10, 1e-3);
  EXPECT_NEAR(m.at<double>(1, 2), -5, 1e-3);
}

TEST(FaceQuality, SmallBlurryTurnedFacesScoreLower) {
  const auto samples = SamplePaths();
  if (samples.empty() || YuNetPath().empty()) GTEST_SKIP() << "needs YuNet and the samples";
  auto det = MakeDetector("yunet", DetThreshold("yunet"));
  ASSERT_TRUE(det.ok());
  const cv::Mat img = Read(samples[0]);
  auto faces = (*det)->Detect(img);
  ASSERT_TRUE(faces.ok() && !faces->empty());
  const Detection& f = faces->front();
  const float q = FaceQuality(img, f);
  EXPECT_GT(q, 0.2f);
  EXPECT_LE(q, 1.0f);
  cv::Mat blurred;
  cv::GaussianBlur(img, blurred, cv::Size(0, 0), 4);
  EXPECT_LT(FaceQuality(blurred, f), q);
  Detection small = f;
  small.box.width = small.box.height = 30;
  EXPECT_LT(FaceQualityBreakdown(img, small).size, FaceQualityBreakdown(img, f).size);
  Detection turned = f;
  turned.landmarks[kNoseTip] = turned.landmarks[kLeftEye] + cv::Point2f(0, 10);
  EXPECT_LT(FaceQualityBreakdown(img, turned).pose, 0.3f);
}

}  // namespace
}  // namespace vigil::vision
