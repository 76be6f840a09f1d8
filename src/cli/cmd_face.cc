// `vigil detect | embed | compare | identify | mock-photo`: wiring only; the
// work is in src/vision. Output formats are contracts (docs in the issue and
// DESIGN.md): with --json, one JSON object per line.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "core/json_util.h"
#include "models/model_registry.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/face_quality.h"
#include "vision/mock_faces.h"

namespace vigil::cli {
namespace {

namespace fs = std::filesystem;

struct FaceFlags {
  ConfigFlags config;
  std::string detector;  // --detector wins over DETECTOR_TYPE
  std::string embedder;  // --embedder wins over EMBEDDER_TYPE
  bool json = false;
};

void AddFaceFlags(CLI::App* cmd, FaceFlags* f, bool with_embedder) {
  cmd->add_option("--detector", f->detector, "yunet, ssd, mock or auto (default: DETECTOR_TYPE)");
  if (with_embedder)
    cmd->add_option("--embedder", f->embedder, "insightface, sface, faceapi, mock or auto (default: EMBEDDER_TYPE)");
  cmd->add_flag("--json", f->json, "one JSON object per line");
  AddConfigFlags(cmd, "worker", &f->config);
}

// The detector and embedder chosen by flags and configuration.
struct Pipeline {
  vision::FaceDetectorPtr detector;
  vision::FaceEmbedderPtr embedder;  // null for `detect`
};

Result<Pipeline> MakePipeline(const FaceFlags& f, bool with_embedder) {
  VIGIL_ASSIGN_OR_RETURN(auto src, LoadConfig("worker", f.config));
  const std::string detector = f.detector.empty() ? src.Get("DETECTOR_TYPE") : f.detector;
  const std::string embedder = f.embedder.empty() ? src.Get("EMBEDDER_TYPE") : f.embedder;
  VIGIL_ASSIGN_OR_RETURN(double threshold,
                         ParseDoubleVar("CONFIDENCE_THRESHOLD", src.Get("CONFIDENCE_THRESHOLD"), 0.01, 1));
  // Same detection as the worker's, so `compare`/`identify` calibrate what runs.
  VIGIL_ASSIGN_OR_RETURN(int64_t input_size, ParseIntVar("DETECT_INPUT_SIZE", src.Get("DETECT_INPUT_SIZE"), 64, 4096));
  std::string dir = src.Get("VIGIL_MODELS_DIR");
  if (dir.empty()) dir = "./data/models";
  VIGIL_ASSIGN_OR_RETURN(auto registry, models::ModelRegistry::Open(dir));
  Pipeline p;
  VIGIL_ASSIGN_OR_RETURN(p.detector,
                         vision::CreateFaceDetector(detector.empty() ? "auto" : detector, registry,
                                                    static_cast<float>(threshold), static_cast<int>(input_size)));
  if (with_embedder) {
    VIGIL_ASSIGN_OR_RETURN(p.embedder, vision::CreateFaceEmbedder(embedder.empty() ? "auto" : embedder, registry));
  }
  return p;
}

Result<cv::Mat> ReadImage(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("no such file: " + path);
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return InvalidArgument("cannot decode " + path + ": " + e.what());
  }
  if (img.empty()) return InvalidArgument("cannot decode " + path + " as an image");
  return img;
}

double Round(double v, double scale) { return std::round(v * scale) / scale; }

Json BoxJson(const cv::Rect2f& b) {
  return Json::array({Round(b.x, 10), Round(b.y, 10), Round(b.width, 10), Round(b.height, 10)});
}

Json FaceJson(const vision::Detection& d) {
  Json lm = Json::array();
  for (const auto& p : d.landmarks) lm.push_back(Json::array({Round(p.x, 10), Round(p.y, 10)}));
  return Json{{"bbox", BoxJson(d.box)}, {"score", Round(d.score, 1e4)}, {"landmarks", lm}};
}

void PrintErrorLine(bool json, const std::string& command, const std::string& path, const Status& st) {
  if (json) {
    std::cout << DumpJson(Json{{"path", path}, {"error", st.message()}}) << std::endl;
  } else {
    std::cerr << "vigil " << command << ": " << st.message() << std::endl;
  }
}

// The pipeline for `command`, or nothing after printing why and setting exit
// status 2 (bad configuration or models).
std::optional<Pipeline> PipelineOrFail(CommandContext& ctx, const FaceFlags& f, bool with_embedder,
                                       const std::string& command) {
  auto p = MakePipeline(f, with_embedder);
  if (p.ok()) return std::move(*p);
  PrintError(command, p.status());
  ctx.exit_code = 2;
  return std::nullopt;
}

using ImageFaces =
    std::function<void(const std::string& path, const cv::Mat& img, const std::vector<vision::Detection>& faces)>;

// Calls `each` with every image and the faces found in it, in order. An image
// that cannot be read or searched gets its error line and exit status 1; the
// others are still processed.
void ForEachImageFaces(CommandContext& ctx, const FaceFlags& f, const std::string& command, Pipeline& p,
                       const std::vector<std::string>& paths, const ImageFaces& each) {
  for (const auto& path : paths) {
    auto img = ReadImage(path);
    Result<std::vector<vision::Detection>> faces = img.ok() ? vision::DetectWithPaddingRetry(*p.detector, *img)
                                                            : Result<std::vector<vision::Detection>>(img.status());
    if (!faces.ok()) {
      PrintErrorLine(f.json, command, path, faces.status());
      ctx.exit_code = 1;
      continue;
    }
    each(path, *img, *faces);
  }
}

void AddDetect(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("detect", "Find faces in images");
  auto f = std::make_shared<FaceFlags>();
  auto paths = std::make_shared<std::vector<std::string>>();
  cmd->add_option("images", *paths, "image files")->required();
  AddFaceFlags(cmd, f.get(), false);
  cmd->callback([&ctx, f, paths] {
    auto p = PipelineOrFail(ctx, *f, false, "detect");
    if (!p) return;
    auto each = [&](const std::string& path, const cv::Mat& img, const std::vector<vision::Detection>& faces) {
      if (f->json) {
        Json out{{"path", path}, {"width", img.cols}, {"height", img.rows}, {"faces", Json::array()}};
        for (const auto& d : faces) out["faces"].push_back(FaceJson(d));
        std::cout << DumpJson(out) << std::endl;
      } else {
        std::cout << path << ": " << faces.size() << " face(s)" << std::endl;
        for (const auto& d : faces) {
          std::cout << "  bbox=[" << d.box.x << ", " << d.box.y << ", " << d.box.width << ", " << d.box.height
                    << "] score=" << d.score << std::endl;
        }
      }
    };
    ForEachImageFaces(ctx, *f, "detect", *p, *paths, each);
  });
}

void AddEmbed(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("embed", "Detect faces and print their embeddings");
  auto f = std::make_shared<FaceFlags>();
  auto paths = std::make_shared<std::vector<std::string>>();
  cmd->add_option("images", *paths, "image files")->required();
  AddFaceFlags(cmd, f.get(), true);
  cmd->callback([&ctx, f, paths] {
    auto p = PipelineOrFail(ctx, *f, true, "embed");
    if (!p) return;
    auto each = [&](const std::string& path, const cv::Mat& img, const std::vector<vision::Detection>& faces) {
      Json out{{"path", path}, {"width", img.cols}, {"height", img.rows}, {"faces", Json::array()}};
      for (const auto& d : faces) {
        Json face = FaceJson(d);
        face["quality"] = Round(vision::FaceQuality(img, d), 1e4);
        auto e = p->embedder->Embed(img, d);
        if (e.ok()) {
          face["model"] = e->model;
          face["embedding"] = e->values;
        } else {
          face["model"] = p->embedder->model_id();
          face["embedding"] = nullptr;
          face["error"] = e.status().message();
          ctx.exit_code = 1;
        }
        out["faces"].push_back(std::move(face));
      }
      if (f->json) {
        std::cout << DumpJson(out) << std::endl;
      } else {
        std::cout << path << ": " << faces.size() << " face(s), model " << p->embedder->model_id() << std::endl;
        for (const auto& face : out["faces"]) {
          std::cout << "  bbox=" << face["bbox"].dump() << " score=" << face["score"].dump()
                    << " quality=" << face["quality"].dump() << std::endl;
        }
      }
    };
    ForEachImageFaces(ctx, *f, "embed", *p, *paths, each);
  });
}

// Embedding of the main face of each image, cached: pair lists repeat images.
class MainFaceCache {
 public:
  explicit MainFaceCache(Pipeline& p) : p_(p) {}

  Result<vision::Embedding> Get(const std::string& path) {
    if (auto it = cache_.find(path); it != cache_.end()) return it->second;
    auto r = Compute(path);
    cache_.emplace(path, r);
    return r;
  }

 private:
  Result<vision::Embedding> Compute(const std::string& path) {
    VIGIL_ASSIGN_OR_RETURN(auto img, ReadImage(path));
    VIGIL_ASSIGN_OR_RETURN(auto faces, vision::DetectWithPaddingRetry(*p_.detector, img));
    const int main = vision::MainFaceIndex(faces, img.size());
    if (main < 0) return NotFound("no face found in " + path);
    return p_.embedder->Embed(img, faces[main]);
  }

  Pipeline& p_;
  std::map<std::string, Result<vision::Embedding>> cache_;
};

// Pairs from a tab-separated file; a first line that names no image (e.g.
// "a<TAB>b") is a header. Relative paths are taken from the working
// directory, else from the pairs file's folder.
Result<std::vector<std::pair<std::string, std::string>>> ReadPairs(const std::string& file) {
  std::ifstream in(file);
  if (!in) return NotFound("cannot read pairs file " + file);
  const fs::path base = fs::path(file).parent_path();
  auto resolve = [&](const std::string& p) {
    std::error_code ec;
    if (fs::path(p).is_absolute() || fs::exists(p, ec) || base.empty()) return p;
    const fs::path alt = base / p;
    return fs::exists(alt, ec) ? alt.string() : p;
  };
  auto looks_like_image = [](const std::string& p) {
    const std::string ext = fs::path(p).extension().string();
    return !ext.empty();
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      return InvalidArgument(file + ":" + std::to_string(n) + ": expected path_a<TAB>path_b");
    }
    std::string a = line.substr(0, tab), b = line.substr(tab + 1);
    if (const auto t2 = b.find('\t'); t2 != std::string::npos) b = b.substr(0, t2);
    if (pairs.empty() && n == 1 && !looks_like_image(a) && !looks_like_image(b)) continue;  // header
    pairs.emplace_back(resolve(a), resolve(b));
  }
  return pairs;
}

void AddCompare(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("compare", "Compare the main faces of two images, or of each pair in a file");
  auto f = std::make_shared<FaceFlags>();
  auto images = std::make_shared<std::vector<std::string>>();
  auto pairs_file = std::make_shared<std::string>();
  auto threshold = std::make_shared<double>(0);
  cmd->add_option("images", *images, "IMAGE_A IMAGE_B");
  cmd->add_option("--pairs", *pairs_file, "tab-separated file of image pairs (a header line is allowed)");
  cmd->add_option("--threshold", *threshold, "cosine similarity for 'same' (default: the model's)");
  AddFaceFlags(cmd, f.get(), true);
  cmd->callback([&ctx, f, images, pairs_file, threshold] {
    std::vector<std::pair<std::string, std::string>> pairs;
    if (!pairs_file->empty()) {
      if (!images->empty()) {
        PrintError("compare", InvalidArgument("give either IMAGE_A IMAGE_B or --pairs FILE, not both"));
        ctx.exit_code = 2;
        return;
      }
      auto r = ReadPairs(*pairs_file);
      if (!r.ok()) {
        PrintError("compare", r.status());
        ctx.exit_code = 2;
        return;
      }
      pairs = std::move(*r);
    } else if (images->size() == 2) {
      pairs.emplace_back((*images)[0], (*images)[1]);
    } else {
      PrintError("compare", InvalidArgument("expected IMAGE_A IMAGE_B or --pairs FILE"));
      ctx.exit_code = 2;
      return;
    }
    auto p = PipelineOrFail(ctx, *f, true, "compare");
    if (!p) return;
    const double t = *threshold > 0 ? *threshold : p->embedder->default_threshold();
    MainFaceCache cache(*p);
    for (const auto& [a, b] : pairs) {
      Json out{{"a", a}, {"b", b}, {"similarity", nullptr}, {"threshold", Round(t, 1e4)}, {"same", nullptr}};
      auto ea = cache.Get(a);
      auto eb = ea.ok() ? cache.Get(b) : ea;
      if (!ea.ok() || !eb.ok()) {
        out["error"] = (!ea.ok() ? ea.status() : eb.status()).message();
        ctx.exit_code = 1;
      } else {
        const double s = vision::CosineSimilarity(ea->values, eb->values);
        out["similarity"] = Round(s, 1e6);
        out["same"] = s >= t;
        out["model"] = ea->model;
      }
      if (f->json) {
        std::cout << DumpJson(out) << std::endl;
      } else if (out.contains("error")) {
        std::cout << a << "\t" << b << "\terror: " << out["error"].get<std::string>() << std::endl;
      } else {
        std::cout << a << "\t" << b << "\t" << out["similarity"].dump() << "\t"
                  << (out["same"].get<bool>() ? "same" : "different") << std::endl;
      }
    }
  });
}

void AddIdentify(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("identify", "Say who each face is, from a gallery of one folder per person");
  auto f = std::make_shared<FaceFlags>();
  auto gallery = std::make_shared<std::string>();
  auto images = std::make_shared<std::vector<std::string>>();
  auto threshold = std::make_shared<double>(0);
  cmd->add_option("--gallery", *gallery, "folder with one sub-folder of photos per person")->required();
  cmd->add_option("images", *images, "images to identify")->required();
  cmd->add_option("--threshold", *threshold, "cosine similarity to accept a match (default: the model's)");
  AddFaceFlags(cmd, f.get(), true);
  cmd->callback([&ctx, f, gallery, images, threshold] {
    auto p = PipelineOrFail(ctx, *f, true, "identify");
    if (!p) return;
    const double t = *threshold > 0 ? *threshold : p->embedder->default_threshold();
    // The gallery: every photo's main face, labelled with its folder's name.
    std::vector<std::pair<std::string, vision::Embedding>> known;
    MainFaceCache cache(*p);
    std::error_code ec;
    std::vector<fs::path> people;
    for (const auto& e : fs::directory_iterator(*gallery, ec)) {
      if (e.is_directory()) people.push_back(e.path());
    }
    if (ec || people.empty()) {
      PrintError("identify", NotFound("no person folders in gallery " + *gallery));
      ctx.exit_code = 2;
      return;
    }
    std::sort(people.begin(), people.end());
    for (const auto& dir : people) {
      std::vector<fs::path> photos;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file()) photos.push_back(e.path());
      }
      std::sort(photos.begin(), photos.end());
      for (const auto& ph : photos) {
        auto emb = cache.Get(ph.string());
        if (emb.ok()) {
          known.emplace_back(dir.filename().string(), std::move(*emb));
        } else {
          std::cerr << "vigil identify: skipping gallery photo: " << emb.status().message() << std::endl;
        }
      }
    }
    auto each = [&](const std::string& path, const cv::Mat& img, const std::vector<vision::Detection>& faces) {
      Json out{{"path", path}, {"faces", Json::array()}};
      for (const auto& d : faces) {
        Json face{{"bbox", BoxJson(d.box)}, {"person", nullptr}, {"similarity", nullptr}};
        auto e = p->embedder->Embed(img, d);
        if (!e.ok()) {
          face["error"] = e.status().message();
        } else {
          double best = -2;
          const std::string* who = nullptr;
          for (const auto& [name, k] : known) {
            const double s = vision::CosineSimilarity(e->values, k.values);
            if (s > best) {
              best = s;
              who = &name;
            }
          }
          if (who) face["similarity"] = Round(best, 1e6);
          if (who && best >= t) face["person"] = *who;
        }
        out["faces"].push_back(std::move(face));
      }
      if (f->json) {
        std::cout << DumpJson(out) << std::endl;
      } else {
        std::cout << path << ":";
        for (const auto& face : out["faces"]) {
          std::cout << " " << (face["person"].is_null() ? std::string("unknown") : face["person"].get<std::string>());
        }
        std::cout << std::endl;
      }
    };
    ForEachImageFaces(ctx, *f, "identify", *p, *images, each);
  });
}

void AddMockPhoto(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("mock-photo", "Write an enrollment photo of a mock-mode cast member");
  auto person = std::make_shared<int>(0);
  auto out = std::make_shared<std::string>();
  cmd->add_option("person", *person, "cast member 0.." + std::to_string(vision::kMockCastSize - 1))->required();
  cmd->add_option("out", *out, "output image (.png or .jpg)")->required();
  cmd->callback([&ctx, person, out] {
    if (*person < 0 || *person >= vision::kMockCastSize) {
      PrintError("mock-photo", InvalidArgument("person must be 0.." + std::to_string(vision::kMockCastSize - 1)));
      ctx.exit_code = 2;
      return;
    }
    bool ok = false;
    try {
      ok = cv::imwrite(*out, vision::RenderMockFacePhoto(*person));
    } catch (const cv::Exception& e) {
      ok = false;
    }
    if (!ok) {
      PrintError("mock-photo", Unavailable("cannot write " + *out));
      ctx.exit_code = 1;
      return;
    }
    std::cout << *out << ": " << vision::MockPersonName(*person) << std::endl;
  });
}

}  // namespace

void AddFaceCommands(CLI::App& app, CommandContext& ctx) {
  AddDetect(app, ctx);
  AddEmbed(app, ctx);
  AddCompare(app, ctx);
  AddIdentify(app, ctx);
  AddMockPhoto(app, ctx);
}

}  // namespace vigil::cli
