// Per-stage timings of the face pipeline on a 640x480 frame (docs/performance-vision.md).
// Real-model stages report an error (and are skipped) when their model or the
// demo samples are absent: YuNet from VIGIL_SHARED_DIR (default
// <source>/../shared), the rest from VIGIL_MODELS_DIR (default <source>/data/models).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "models/model_registry.h"
#include "vision/alignment.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/face_quality.h"
#include "vision/landmark68.h"
#include "vision/mock_faces.h"

namespace {

using namespace vigil;
using namespace vigil::vision;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
std::string ModelsDir() { return Env("VIGIL_MODELS_DIR", std::string(VIGIL_SOURCE_DIR) + "/data/models"); }
std::string YuNetPath() {
  return Env("VIGIL_SHARED_DIR", std::string(VIGIL_SOURCE_DIR) + "/../shared") +
         "/models/face_detection_yunet_2022mar.onnx";
}

// sample1.jpg letterboxed into 640x480: a realistic frame with 3 faces.
const cv::Mat& Frame640() {
  static const cv::Mat frame = [] {
    cv::Mat img = cv::imread(ModelsDir() + "/samples/sample1.jpg", cv::IMREAD_COLOR);
    if (img.empty()) return cv::Mat();
    const double s = std::min(640.0 / img.cols, 480.0 / img.rows);
    cv::Mat scaled;
    cv::resize(img, scaled, cv::Size(), s, s, cv::INTER_AREA);
    cv::Mat out(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
    scaled.copyTo(out(cv::Rect((640 - scaled.cols) / 2, (480 - scaled.rows) / 2, scaled.cols, scaled.rows)));
    return out;
  }();
  return frame;
}

models::ModelRegistry Registry() {
  auto r = models::ModelRegistry::Open(ModelsDir());
  return r.ok() ? std::move(*r) : std::move(*models::ModelRegistry::Open("/nonexistent"));
}

// The first face YuNet finds in the frame (with its 5 landmarks).
bool FirstFace(Detection* out) {
  static auto det = CreateYuNetDetector(YuNetPath(), 0.7f);
  if (!det.ok() || Frame640().empty()) return false;
  auto faces = (*det)->Detect(Frame640());
  if (!faces.ok() || faces->empty()) return false;
  *out = faces->front();
  return true;
}

// The six demo photos, each letterboxed into 640x480 like Frame640().
const std::vector<cv::Mat>& DemoFrames() {
  static const std::vector<cv::Mat> frames = [] {
    std::vector<cv::Mat> out;
    for (int i = 1; i <= 6; ++i) {
      cv::Mat img = cv::imread(ModelsDir() + "/samples/sample" + std::to_string(i) + ".jpg", cv::IMREAD_COLOR);
      if (img.empty()) return std::vector<cv::Mat>();
      const double s = std::min(640.0 / img.cols, 480.0 / img.rows);
      cv::Mat scaled;
      cv::resize(img, scaled, cv::Size(), s, s, cv::INTER_AREA);
      cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
      scaled.copyTo(frame(cv::Rect((640 - scaled.cols) / 2, (480 - scaled.rows) / 2, scaled.cols, scaled.rows)));
      out.push_back(frame);
    }
    return out;
  }();
  return frames;
}

// The demo video of `vigil demo prepare` (640x480, 5 fps), every frame; empty when absent.
const std::vector<cv::Mat>& DemoVideoFrames() {
  static const std::vector<cv::Mat> frames = [] {
    std::vector<cv::Mat> out;
    cv::VideoCapture cap(std::string(VIGIL_SOURCE_DIR) + "/data/demo/demo.avi");
    cv::Mat f;
    while (cap.isOpened() && cap.read(f)) out.push_back(f.clone());
    return out;
  }();
  return frames;
}

// lfw10 (../shared/testdata/lfw10): person index and photo path.
std::vector<std::pair<int, std::string>> Lfw10Photos() {
  namespace fs = std::filesystem;
  const fs::path root = Env("VIGIL_SHARED_DIR", std::string(VIGIL_SOURCE_DIR) + "/../shared") + "/testdata/lfw10";
  std::vector<std::string> people;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(root, ec)) {
    if (d.is_directory()) people.push_back(d.path().string());
  }
  std::sort(people.begin(), people.end());
  std::vector<std::pair<int, std::string>> out;
  for (size_t p = 0; p < people.size(); ++p) {
    std::vector<std::string> photos;
    for (const auto& f : fs::directory_iterator(people[p], ec)) {
      if (f.path().extension() == ".jpg") photos.push_back(f.path().string());
    }
    std::sort(photos.begin(), photos.end());
    for (auto& ph : photos) out.emplace_back(static_cast<int>(p), std::move(ph));
  }
  return out;
}

// Small-face frames: the first lfw10 photo of each person, scaled so that the
// face box (YuNet at full size) is `face_px` wide, tiled on a grey 640x480
// frame. Returns the frame and the ground-truth boxes; empty when lfw10 or
// YuNet is absent.
struct SmallFaceFrame {
  cv::Mat frame;
  std::vector<cv::Rect2f> truth;
};
SmallFaceFrame MakeSmallFaceFrame(int face_px) {
  struct Source {
    cv::Mat img;
    cv::Rect2f box;
  };
  static const std::vector<Source> sources = [] {
    std::vector<Source> out;
    auto det = CreateYuNetDetector(YuNetPath(), 0.7f);
    if (!det.ok()) return out;
    int last = -1;
    for (const auto& [person, path] : Lfw10Photos()) {
      if (person == last) continue;
      cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
      auto faces = (*det)->Detect(img);
      if (img.empty() || !faces.ok()) continue;
      const int main = MainFaceIndex(*faces, img.size());
      if (main < 0) continue;
      last = person;
      out.push_back({img, (*faces)[main].box});
    }
    return out;
  }();
  SmallFaceFrame f;
  if (sources.empty()) return f;
  f.frame = cv::Mat(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
  const int cell = std::max(40, static_cast<int>(250.0 * face_px / 100.0));  // lfw faces are ~100 of 250 px
  int x = 0, y = 0;
  for (const auto& s : sources) {
    const double k = face_px / s.box.width;
    cv::Mat scaled;
    cv::resize(s.img, scaled, cv::Size(), k, k, cv::INTER_AREA);
    if (x + scaled.cols > 640) x = 0, y += cell;
    if (y + scaled.rows > 480) break;
    scaled.copyTo(f.frame(cv::Rect(x, y, scaled.cols, scaled.rows)));
    f.truth.emplace_back(static_cast<float>(x + s.box.x * k), static_cast<float>(y + s.box.y * k),
                         static_cast<float>(s.box.width * k), static_cast<float>(s.box.height * k));
    x += std::max(scaled.cols, cell);
  }
  return f;
}

// Arg: YuNet's input long side (DETECT_INPUT_SIZE). 640 runs the 640x480
// frame as is (the headline figure); 480, 416 and 320 scale it down first.
// Counters (computed once, outside the timed loop):
//   faces_found   faces in the six demo frames (22 expected)
//   video_faces   faces over every frame of data/demo/demo.avi (0 when absent)
//   small_N       recall on ten lfw10 faces N px wide in a 640x480 frame
//                 (IoU >= 0.4 with the box YuNet finds at full size)
void BM_YuNetDetect640x480(benchmark::State& state) {
  const int side = static_cast<int>(state.range(0));
  auto det = CreateYuNetDetector(YuNetPath(), 0.7f, side);
  if (!det.ok() || Frame640().empty() || DemoFrames().empty()) return state.SkipWithError("YuNet or samples absent");
  for (auto _ : state) benchmark::DoNotOptimize((*det)->Detect(Frame640()));
  // Recall counters once per input size (not per repetition: ~300 frames).
  static std::map<int, benchmark::UserCounters> cache;
  if (!cache.count(side)) {
    benchmark::UserCounters& c = cache[side];
    size_t found = 0;
    for (const auto& f : DemoFrames()) found += (*det)->Detect(f)->size();
    c["faces_found"] = static_cast<double>(found);
    size_t video = 0;
    for (const auto& f : DemoVideoFrames()) video += (*det)->Detect(f)->size();
    c["video_faces"] = static_cast<double>(video);
    for (int px : {10, 12, 14, 16, 20, 24, 32}) {
      const SmallFaceFrame sf = MakeSmallFaceFrame(px);
      if (sf.truth.empty()) break;
      auto faces = (*det)->Detect(sf.frame);
      int hit = 0;
      for (const auto& t : sf.truth) {
        for (const auto& d : *faces) {
          if (BoxIoU(d.box, t) >= 0.4f) {
            ++hit;
            break;
          }
        }
      }
      c["small_" + std::to_string(px)] = static_cast<double>(hit) / sf.truth.size();
    }
  }
  for (const auto& [name, value] : cache[side]) state.counters[name] = value;
  state.SetLabel("input " + std::to_string(side) + "x" + std::to_string(side * 3 / 4));
}
BENCHMARK(BM_YuNetDetect640x480)->Arg(640)->Arg(480)->Arg(416)->Arg(320)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_SsdDetect640x480(benchmark::State& state) {
  auto det = CreateFaceDetector("ssd", Registry(), 0.5f);
  if (!det.ok() || Frame640().empty()) return state.SkipWithError("SSD or samples absent");
  for (auto _ : state) benchmark::DoNotOptimize((*det)->Detect(Frame640()));
}
BENCHMARK(BM_SsdDetect640x480)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Landmark68PerFace(benchmark::State& state) {
  auto reg = Registry();
  auto m = reg.FindByKind("landmark68");
  Detection face;
  if (!m || !FirstFace(&face)) return state.SkipWithError("landmark68 or YuNet absent");
  auto net = CreateLandmark68Net(reg.PathOf(*m));
  if (!net.ok()) return state.SkipWithError(net.status().ToString().c_str());
  for (auto _ : state) benchmark::DoNotOptimize((*net)->Predict(Frame640(), face.box));
}
BENCHMARK(BM_Landmark68PerFace)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_AlignDlibChip150(benchmark::State& state) {
  Detection face;
  if (!FirstFace(&face)) return state.SkipWithError("YuNet or samples absent");
  for (auto _ : state) benchmark::DoNotOptimize(AlignDlibChip(Frame640(), face.landmarks));
}
BENCHMARK(BM_AlignDlibChip150)->Unit(benchmark::kMicrosecond);

void BM_AlignPlusEmbed128PerFace(benchmark::State& state) {
  Detection face;
  auto emb = CreateFaceEmbedder("faceapi", Registry());
  if (!emb.ok() || !FirstFace(&face)) return state.SkipWithError("faceapi embedder or YuNet absent");
  for (auto _ : state) benchmark::DoNotOptimize((*emb)->Embed(Frame640(), face));
}
BENCHMARK(BM_AlignPlusEmbed128PerFace)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// ---- Levers on the 128-D embedding: int8 quantisation, batching, threads ----
//
// The forward pass of FaceRecognitionNet is ~98 % of "align + embed", so the
// levers are measured on it directly, float and int8 side by side in one run.
// int8 is cv::dnn::Net::quantize (OpenCV 4.6) calibrated on the 22 chips of
// the demo photos; accuracy is measured on lfw10, which it never saw.

cv::Mat ChipBlob(const std::vector<cv::Mat>& chips) {
  // Same preprocessing as FaceApiEmbedder: plain RGB 0-255, NCHW.
  return cv::dnn::blobFromImages(chips, 1.0, cv::Size(150, 150), cv::Scalar(), /*swapRB=*/true, false, CV_32F);
}

// dlib chips (150 px, 5-point alignment from YuNet) of the 22 demo faces.
const std::vector<cv::Mat>& DemoChips() {
  static const std::vector<cv::Mat> chips = [] {
    std::vector<cv::Mat> out;
    auto det = CreateYuNetDetector(YuNetPath(), 0.7f);
    if (!det.ok()) return out;
    for (int i = 1; i <= 6; ++i) {
      const cv::Mat img = cv::imread(ModelsDir() + "/samples/sample" + std::to_string(i) + ".jpg", cv::IMREAD_COLOR);
      if (img.empty()) return std::vector<cv::Mat>();
      auto faces = (*det)->Detect(img);
      if (!faces.ok()) return std::vector<cv::Mat>();
      for (const auto& f : *faces) {
        auto chip = AlignDlibChip(img, f.landmarks);
        if (chip.ok()) out.push_back(*chip);
      }
    }
    return out;
  }();
  return chips;
}

// lfw10 main-face chips with their person index, aligned as the product does.
const std::vector<std::pair<int, cv::Mat>>& LfwChips() {
  static const std::vector<std::pair<int, cv::Mat>> chips = [] {
    std::vector<std::pair<int, cv::Mat>> out;
    auto det = CreateYuNetDetector(YuNetPath(), 0.7f);
    if (!det.ok()) return out;
    for (const auto& [person, path] : Lfw10Photos()) {
      const cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
      if (img.empty()) continue;
      auto faces = DetectWithPaddingRetry(**det, img);
      if (!faces.ok()) continue;
      const int main = MainFaceIndex(*faces, img.size());
      if (main < 0) continue;
      auto chip = AlignDlibChip(img, (*faces)[main].landmarks);
      if (chip.ok()) out.emplace_back(person, *chip);
    }
    return out;
  }();
  return chips;
}

std::string RecognitionPath() {
  auto reg = Registry();
  auto m = reg.FindByKind("faceapi_recognition");
  return m ? reg.PathOf(*m) : std::string();
}

// precision 0: float32 as shipped; 1: int8 (quantised once, then cached).
cv::dnn::Net* RecognitionNet(int precision) {
  static cv::dnn::Net nets[2];
  static bool tried[2] = {false, false};
  if (!tried[precision]) {
    tried[precision] = true;
    const std::string path = RecognitionPath();
    if (path.empty() || DemoChips().empty()) return nullptr;
    try {
      cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
      nets[precision] = precision == 0 ? net : net.quantize(ChipBlob(DemoChips()), CV_32F, CV_32F);
    } catch (const cv::Exception& e) {
      std::fprintf(stderr, "recognition net (precision %d): %s\n", precision, e.what());
      return nullptr;
    }
  }
  return nets[precision].empty() ? nullptr : &nets[precision];
}

std::vector<float> EmbedWith(cv::dnn::Net& net, const cv::Mat& chip) {
  net.setInput(ChipBlob({chip}));
  cv::Mat out = net.forward();
  std::vector<float> v(out.ptr<float>(), out.ptr<float>() + out.total());
  L2Normalize(v);
  return v;
}

// Verification and identification on lfw10 at the default threshold, as
// tests/vision/real_models_test.cc computes them.
struct LfwScores {
  double tar = 0, far = 0, rank1 = 0, identified = 0;
  double cos_vs_float_min = 1, cos_vs_float_mean = 0;
  double demo_closest_impostor = 0;
};
const LfwScores& ScoresFor(int precision) {
  static LfwScores scores[2];
  static bool done[2] = {false, false};
  if (done[precision]) return scores[precision];
  done[precision] = true;
  LfwScores& s = scores[precision];
  cv::dnn::Net* net = RecognitionNet(precision);
  cv::dnn::Net* ref = RecognitionNet(0);
  if (!net || !ref || LfwChips().empty()) return s;
  const float t = kFaceApiDefaultThreshold;
  std::vector<std::vector<float>> v;
  double cos_sum = 0;
  int n = 0;
  auto compare = [&](const cv::Mat& chip) {
    auto e = EmbedWith(*net, chip);
    const double c = CosineSimilarity(e, EmbedWith(*ref, chip));
    s.cos_vs_float_min = std::min(s.cos_vs_float_min, c);
    cos_sum += c;
    ++n;
    return e;
  };
  for (const auto& [person, chip] : LfwChips()) v.push_back(compare(chip));
  int gen = 0, gen_ok = 0, imp = 0, imp_acc = 0, r1 = 0, ident = 0;
  const auto& chips = LfwChips();
  for (size_t i = 0; i < v.size(); ++i) {
    float best = -2;
    int who = -1;
    for (size_t j = 0; j < v.size(); ++j) {
      if (j == i) continue;
      const float sim = CosineSimilarity(v[i], v[j]);
      if (sim > best) best = sim, who = chips[j].first;
      if (j < i) continue;
      const bool same = chips[i].first == chips[j].first;
      (same ? gen : imp) += 1;
      if (sim >= t) (same ? gen_ok : imp_acc) += 1;
    }
    r1 += who == chips[i].first;
    ident += who == chips[i].first && best >= t;
  }
  s.tar = static_cast<double>(gen_ok) / std::max(1, gen);
  s.far = static_cast<double>(imp_acc) / std::max(1, imp);
  s.rank1 = static_cast<double>(r1) / v.size();
  s.identified = static_cast<double>(ident) / v.size();
  // Demo faces: 21 people, one of them twice (the closest pair,
  // tests/vision/real_models_test.cc), so the second-highest pair is the
  // closest impostor.
  std::vector<std::vector<float>> d;
  for (const auto& chip : DemoChips()) d.push_back(compare(chip));
  std::vector<float> pairs;
  for (size_t i = 0; i < d.size(); ++i) {
    for (size_t j = i + 1; j < d.size(); ++j) pairs.push_back(CosineSimilarity(d[i], d[j]));
  }
  std::sort(pairs.rbegin(), pairs.rend());
  s.demo_closest_impostor = pairs.size() > 1 ? pairs[1] : 0;
  s.cos_vs_float_mean = cos_sum / std::max(1, n);
  return s;
}

// Args: precision (0 float, 1 int8), batch (faces per forward pass). Time is
// per forward pass, so per face it is Time / batch. Faces go one per pass in
// the product. CPU is the whole process (every OpenCV thread).
void BM_FaceApiForward(benchmark::State& state) {
  const int precision = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  cv::dnn::Net* net = RecognitionNet(precision);
  if (!net || DemoChips().size() < static_cast<size_t>(batch)) {
    return state.SkipWithError("recognition model, YuNet or samples absent");
  }
  const std::vector<cv::Mat> chips(DemoChips().begin(), DemoChips().begin() + batch);
  for (auto _ : state) {
    net->setInput(ChipBlob(chips));
    benchmark::DoNotOptimize(net->forward());
  }
  const LfwScores& s = ScoresFor(precision);
  state.counters["cos_vs_float_min"] = s.cos_vs_float_min;
  state.counters["cos_vs_float_mean"] = s.cos_vs_float_mean;
  state.counters["lfw_tar"] = s.tar;
  state.counters["lfw_far"] = s.far;
  state.counters["lfw_rank1"] = s.rank1;
  state.counters["lfw_identified"] = s.identified;
  state.counters["demo_closest_impostor"] = s.demo_closest_impostor;
  state.SetLabel(std::string(precision ? "int8" : "float32") + " batch " + std::to_string(batch));
}
BENCHMARK(BM_FaceApiForward)
    ->MeasureProcessCPUTime()
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 4})
    ->Args({1, 4})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

// OpenCV's thread count (Arg) on the two DNN stages. CPU here is the whole
// process (every OpenCV thread), so CPU vs wall shows what a second thread buys.
void BM_ThreadsYuNet640(benchmark::State& state) {
  const int before = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  auto det = CreateYuNetDetector(YuNetPath(), 0.7f, 640);
  if (!det.ok() || Frame640().empty()) {
    cv::setNumThreads(before);
    return state.SkipWithError("YuNet or samples absent");
  }
  for (auto _ : state) benchmark::DoNotOptimize((*det)->Detect(Frame640()));
  cv::setNumThreads(before);
}
BENCHMARK(BM_ThreadsYuNet640)->Arg(1)->Arg(2)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ThreadsAlignPlusEmbed128(benchmark::State& state) {
  const int before = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  Detection face;
  auto emb = CreateFaceEmbedder("faceapi", Registry());
  if (!emb.ok() || !FirstFace(&face)) {
    cv::setNumThreads(before);
    return state.SkipWithError("faceapi embedder or YuNet absent");
  }
  for (auto _ : state) benchmark::DoNotOptimize((*emb)->Embed(Frame640(), face));
  cv::setNumThreads(before);
}
BENCHMARK(BM_ThreadsAlignPlusEmbed128)
    ->Arg(1)
    ->Arg(2)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_FaceQuality(benchmark::State& state) {
  Detection face;
  if (!FirstFace(&face)) return state.SkipWithError("YuNet or samples absent");
  for (auto _ : state) benchmark::DoNotOptimize(FaceQuality(Frame640(), face));
}
BENCHMARK(BM_FaceQuality)->Unit(benchmark::kMicrosecond);

// Mock mode: render a scene frame, detect and embed its faces.
void BM_MockFramePipeline(benchmark::State& state) {
  MockScene scene("bench");
  auto det = CreateMockDetector();
  auto emb = CreateMockEmbedder();
  int64_t t = 0;
  for (auto _ : state) {
    const cv::Mat frame = scene.Render(t);
    t += 200;
    auto faces = det->Detect(frame);
    for (const auto& f : *faces) benchmark::DoNotOptimize(emb->Embed(frame, f));
  }
}
BENCHMARK(BM_MockFramePipeline)->Unit(benchmark::kMillisecond);

}  // namespace

// VIGIL_BENCH_THREADS=1 runs OpenCV on the calling thread only, so the "CPU"
// column is the full cost of a stage even on a loaded machine.
int main(int argc, char** argv) {
  if (const char* t = std::getenv("VIGIL_BENCH_THREADS"); t && *t) cv::setNumThreads(std::atoi(t));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
