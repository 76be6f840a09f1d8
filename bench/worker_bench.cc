// Worker pipeline throughput in real mode, side by side with the Python +
// OpenCV reference loop (bench/reference_pipeline.py) on the same 640x480
// video and the same ONNX models (YuNet detector, face-api recognition net).
//
// The video is made from the face-api npm package's sample photos (installed
// by `vigil models install` under <models>/samples): each photo letterboxed
// into 640x480 and panned for 30 frames. Skips when the models are absent.
//
//   build-*/worker_bench --benchmark_counters_tabular=true
//
// Counters: fps (frames per second of the whole worker pipeline: read, detect,
// track, quality, embed when a track is new or improved, staff match),
// detect_ms / embed_ms per frame, detections, cpu_ms_per_frame (process CPU,
// all threads); py_* the same for the reference; speedup = fps / py_fps,
// cpu_speedup = py_cpu_ms_per_frame / cpu_ms_per_frame; frames_differing:
// frames where the two found a different number of faces.
// Each repetition runs both loops back to back, so with
// --benchmark_repetitions the ratios come from matched pairs.
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/clock.h"
#include "core/json_util.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/frame_source.h"
#include "worker/camera_pipeline.h"

namespace {

namespace fs = std::filesystem;
using namespace vigil;

// CPU time of the whole process (every OpenCV thread), to compare cost when
// the machine is shared and wall time depends on the neighbours.
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string ModelsDir() {
  const char* env = std::getenv("VIGIL_MODELS_DIR");
  return env && *env ? env : std::string(VIGIL_SOURCE_DIR) + "/data/models";
}
std::string YuNetPath() {
  const char* env = std::getenv("VIGIL_SHARED_DIR");
  std::string shared = env && *env ? env : std::string(VIGIL_SOURCE_DIR) + "/../shared";
  return shared + "/models/face_detection_yunet_2022mar.onnx";
}

// Writes the benchmark video once; returns its path or "" when samples are absent.
std::string MakeVideo() {
  fs::path dir = fs::temp_directory_path() / "vigil-worker-bench";
  fs::create_directories(dir);
  fs::path video = dir / "faces-640x480.avi";
  if (fs::exists(video)) return video.string();
  std::vector<fs::path> photos;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ModelsDir() + "/samples", ec)) photos.push_back(e.path());
  std::sort(photos.begin(), photos.end());
  if (photos.empty()) return "";
  cv::VideoWriter out(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(640, 480));
  if (!out.isOpened()) return "";
  for (const auto& p : photos) {
    cv::Mat img = cv::imread(p.string());
    if (img.empty()) continue;
    double s = std::min(560.0 / img.cols, 420.0 / img.rows);
    cv::Mat scaled;
    cv::resize(img, scaled, cv::Size(), s, s, cv::INTER_AREA);
    for (int i = 0; i < 30; ++i) {
      cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
      int x = std::min(640 - scaled.cols, (640 - scaled.cols) / 2 - 30 + 2 * i);
      int y = (480 - scaled.rows) / 2;
      scaled.copyTo(frame(cv::Rect(std::max(0, x), y, scaled.cols, scaled.rows)));
      out.write(frame);
    }
  }
  return video.string();
}

void BM_WorkerPipelineVsPythonReference(benchmark::State& state) {
  std::string video = MakeVideo();
  std::string recog = ModelsDir() + "/faceapi_recognition128.onnx";
  if (video.empty() || !fs::exists(recog) || !fs::exists(YuNetPath())) {
    state.SkipWithError("models or sample photos absent (run `vigil models install`)");
    return;
  }
  const float threshold = 0.7f;
  worker::StaffDirectory staff;
  double fps = 0, detect_ms = 0, embed_ms = 0, cpu_ms = 0;
  std::vector<int> per_frame;
  int64_t detections = 0, frames = 0, embeds = 0;
  for (auto _ : state) {
    auto det = vision::CreateYuNetDetector(YuNetPath(), threshold);
    auto emb = vision::CreateFaceApiEmbedder(recog, "");
    auto det2 = vision::CreateYuNetDetector(YuNetPath(), threshold);
    auto emb2 = vision::CreateFaceApiEmbedder(recog, "");
    if (!det.ok() || !emb.ok() || !det2.ok() || !emb2.ok()) {
      state.SkipWithError("cannot load the models");
      return;
    }
    worker::PipelineOptions o;
    o.worker_id = "bench";
    o.camera_id = "bench-cam";
    worker::CameraPipeline pipeline(o, std::move(*det), std::move(*emb), staff);
    Clock& clock = SystemClock::Instance();
    auto src = vision::OpenFrameSource(video, clock);
    if (!src.ok()) {
      state.SkipWithError("cannot open the video");
      return;
    }
    // Whole pipeline, as the worker runs it (frames are stamped 100 ms apart
    // like a 10 fps camera so the tracker sees realistic motion).
    frames = detections = 0;
    per_frame.clear();
    const double cpu0 = ProcessCpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    while (true) {
      auto f = (*src)->Read();
      if (!f.ok()) break;
      f->captured_unix_ms = frames * 100;
      auto r = pipeline.Process(*f);
      if (r.ok()) detections += r->faces;
      per_frame.push_back(r.ok() ? r->faces : -1);
      ++frames;
    }
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fps = frames / secs;
    cpu_ms = frames ? 1000.0 * (ProcessCpuSeconds() - cpu0) / static_cast<double>(frames) : 0;
    // Stage costs, measured separately on the same frames.
    auto src2 = vision::OpenFrameSource(video, clock);
    double dsum = 0, esum = 0;
    embeds = 0;
    while (true) {
      auto f = (*src2)->Read();
      if (!f.ok()) break;
      auto a = std::chrono::steady_clock::now();
      auto faces = (*det2)->Detect(f->bgr);
      auto b = std::chrono::steady_clock::now();
      dsum += std::chrono::duration<double, std::milli>(b - a).count();
      if (faces.ok() && !faces->empty()) {
        auto c = std::chrono::steady_clock::now();
        (void)(*emb2)->Embed(f->bgr, faces->front());
        esum += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c).count();
        ++embeds;
      }
    }
    detect_ms = frames ? dsum / static_cast<double>(frames) : 0;
    embed_ms = embeds ? esum / static_cast<double>(embeds) : 0;
  }
  state.counters["fps"] = fps;
  state.counters["frames"] = static_cast<double>(frames);
  state.counters["detections"] = static_cast<double>(detections);
  state.counters["detect_ms"] = detect_ms;
  state.counters["embed_ms_per_face"] = embed_ms;
  state.counters["cpu_ms_per_frame"] = cpu_ms;

  // The reference, in the same run.
  std::string cmd = "/usr/bin/python3 " + std::string(VIGIL_SOURCE_DIR) + "/bench/reference_pipeline.py --video '" +
                    video + "' --yunet '" + YuNetPath() + "' --recognition '" + recog + "' --threshold 0.7";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  auto j = ParseJsonObject(out);
  if (j.ok() && j->contains("fps")) {
    double py_fps = (*j)["fps"].get<double>();
    state.counters["py_fps"] = py_fps;
    state.counters["py_detections"] = (*j)["detections"].get<double>();
    state.counters["py_detect_ms"] = (*j)["detect_ms"].get<double>();
    state.counters["py_embed_ms"] = (*j)["embed_ms"].get<double>();
    state.counters["speedup"] = py_fps > 0 ? fps / py_fps : 0;
    const double py_cpu = (*j)["cpu_ms_per_frame"].get<double>();
    state.counters["py_cpu_ms_per_frame"] = py_cpu;
    state.counters["cpu_speedup"] = cpu_ms > 0 ? py_cpu / cpu_ms : 0;
    // Frames where the two loops found a different number of faces.
    const auto py_per_frame = (*j)["per_frame"].get<std::vector<int>>();
    int differing = static_cast<int>(py_per_frame.size() > per_frame.size() ? py_per_frame.size() - per_frame.size()
                                                                             : per_frame.size() - py_per_frame.size());
    for (size_t i = 0; i < std::min(per_frame.size(), py_per_frame.size()); ++i) {
      differing += per_frame[i] != py_per_frame[i];
    }
    state.counters["frames_differing"] = differing;
  } else {
    state.counters["py_fps"] = -1;  // reference could not run (python3-opencv missing?)
  }
}
BENCHMARK(BM_WorkerPipelineVsPythonReference)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
