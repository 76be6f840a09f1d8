// `vigil demo prepare`: builds the demo assets from the npm package's sample
// photos (installed by `vigil models install` under <models>/samples):
//   <out>/demo.avi            a slow pan across each group photo, with empty
//                             frames between photos so every person "walks
//                             through" once per loop (MJPG, 640x480)
//   <out>/faces/sN_fK.jpg     one enrollment photo per face (a padded crop)
//   <out>/faces.json          [{"file","sample","face","bbox"}] in pan order
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "cli/commands.h"
#include "core/json_util.h"
#include "models/model_registry.h"
#include "vision/face_detector.h"

namespace vigil::cli {
namespace {

struct DemoOptions {
  std::string models_dir;
  std::string out_dir = "./data/demo";
  double fps = 5;
  double seconds_per_photo = 6;
  double gap_seconds = 3;
};

// A 4:3 window that pans left to right across `photo`, `frames` steps.
void WritePan(cv::VideoWriter& writer, const cv::Mat& photo, int frames) {
  const cv::Size out(640, 480);
  int win_h = std::min(photo.rows, static_cast<int>(photo.cols * 3 / 4 / 1.15));
  int win_w = win_h * 4 / 3;
  int travel = std::max(0, photo.cols - win_w);
  int top = (photo.rows - win_h) / 2;
  cv::Mat frame;
  for (int i = 0; i < frames; ++i) {
    int left = frames > 1 ? travel * i / (frames - 1) : 0;
    cv::resize(photo(cv::Rect(left, top, win_w, win_h)), frame, out, 0, 0, cv::INTER_AREA);
    writer.write(frame);
  }
}

Status Prepare(const DemoOptions& o) {
  VIGIL_ASSIGN_OR_RETURN(auto registry, models::ModelRegistry::Open(o.models_dir));
  VIGIL_ASSIGN_OR_RETURN(auto detector, vision::CreateFaceDetector("auto", registry, 0.6f));
  namespace fs = std::filesystem;
  const fs::path samples = fs::path(o.models_dir) / "samples";
  const fs::path out(o.out_dir);
  std::error_code ec;
  fs::create_directories(out / "faces", ec);
  if (ec) return Unavailable("cannot create " + (out / "faces").string() + ": " + ec.message());

  const std::string video_path = (out / "demo.avi").string();
  cv::VideoWriter writer(video_path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), o.fps, cv::Size(640, 480));
  if (!writer.isOpened()) return Internal("OpenCV cannot write " + video_path);
  const int pan_frames = std::max(2, static_cast<int>(o.seconds_per_photo * o.fps));
  const int gap_frames = std::max(1, static_cast<int>(o.gap_seconds * o.fps));
  const cv::Mat blank(480, 640, CV_8UC3, cv::Scalar(60, 60, 60));

  Json faces = Json::array();
  int used = 0;
  for (int s = 1; s <= 6; ++s) {
    const fs::path p = samples / ("sample" + std::to_string(s) + ".jpg");
    cv::Mat photo = cv::imread(p.string(), cv::IMREAD_COLOR);
    if (photo.empty()) continue;
    ++used;
    VIGIL_ASSIGN_OR_RETURN(auto found, detector->Detect(photo));
    // Left to right, the order the pan meets them.
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.box.x < b.box.x; });
    int k = 0;
    for (const auto& d : found) {
      ++k;
      // A crop with generous margin: an enrollment photo holding this one face.
      float m = 0.6f * std::max(d.box.width, d.box.height);
      cv::Rect crop(static_cast<int>(d.box.x - m), static_cast<int>(d.box.y - m),
                    static_cast<int>(d.box.width + 2 * m), static_cast<int>(d.box.height + 2 * m));
      crop &= cv::Rect(0, 0, photo.cols, photo.rows);
      std::string name = "s" + std::to_string(s) + "_f" + std::to_string(k) + ".jpg";
      if (!cv::imwrite((out / "faces" / name).string(), photo(crop))) {
        return Unavailable("cannot write " + (out / "faces" / name).string());
      }
      faces.push_back({{"file", (out / "faces" / name).string()},
                       {"sample", s},
                       {"face", k},
                       {"bbox", {d.box.x, d.box.y, d.box.width, d.box.height}}});
    }
    for (int i = 0; i < gap_frames; ++i) writer.write(blank);
    WritePan(writer, photo, pan_frames);
    std::cout << "demo: sample" << s << ": " << found.size() << " faces" << std::endl;
  }
  for (int i = 0; i < gap_frames; ++i) writer.write(blank);
  writer.release();
  if (used == 0) {
    return FailedPrecondition("no sample photos under " + samples.string() + ": run `vigil models install` first");
  }
  std::ofstream(out / "faces.json") << DumpJson(faces, 2) << "\n";
  std::cout << "demo: wrote " << video_path << " and " << faces.size() << " face photos" << std::endl;
  return Status::Ok();
}

}  // namespace

void AddDemoCommand(CLI::App& app, CommandContext& ctx) {
  auto* demo = app.add_subcommand("demo", "Demo assets made from the npm package's sample photos");
  demo->require_subcommand(1);
  auto opts = std::make_shared<DemoOptions>();
  auto* prepare = demo->add_subcommand("prepare", "Write the demo video and one enrollment photo per face");
  prepare->add_option("--models-dir", opts->models_dir, "models directory (default: VIGIL_MODELS_DIR)");
  prepare->add_option("--out", opts->out_dir, "output directory")->capture_default_str();
  prepare->add_option("--fps", opts->fps, "video frame rate")->capture_default_str();
  prepare->add_option("--seconds-per-photo", opts->seconds_per_photo, "pan duration per photo")
      ->capture_default_str();
  prepare->callback([&ctx, opts] {
    if (opts->models_dir.empty()) {
      const char* env = std::getenv("VIGIL_MODELS_DIR");
      opts->models_dir = env != nullptr ? env : "./data/models";
    }
    Status st = Prepare(*opts);
    if (!st.ok()) {
      PrintError("demo prepare", st);
      ctx.exit_code = 1;
    }
  });
}

}  // namespace vigil::cli
