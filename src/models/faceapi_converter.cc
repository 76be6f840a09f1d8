#include "models/faceapi_converter.h"

#include <onnx/onnx_pb.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

namespace vigil::models {

namespace {

// An activation in the graph: its ONNX name and NCHW size (batch 1).
struct Act {
  std::string name;
  int64_t c = 0, h = 0, w = 0;
};

// TF "SAME" padding along one axis: out = ceil(in / s), and the odd pixel
// (if any) goes after, which OpenCV needs spelled out as asymmetric pads.
struct SamePad {
  int64_t out, before, after;
};
SamePad TfSame(int64_t in, int64_t k, int64_t s) {
  int64_t out = (in + s - 1) / s;
  int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2, total - total / 2};
}

// Writes an ONNX graph for OpenCV 4.6: opset 10 (attribute forms of Clip and
// Pad), float32 initializers, batch 1.
class GraphBuilder {
 public:
  explicit GraphBuilder(const std::string& name) {
    model_.set_ir_version(onnx::IR_VERSION_2019_3_18);  // IR 5 goes with opset 10
    model_.set_producer_name("vigil");
    model_.set_producer_version("1");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(10);
    graph_ = model_.mutable_graph();
    graph_->set_name(name);
  }

  Act Input(const std::string& name, int64_t c, int64_t h, int64_t w) {
    AddValueInfo(graph_->add_input(), name, {1, c, h, w});
    return {name, c, h, w};
  }
  void Output(const std::string& name, const std::vector<int64_t>& dims) {
    AddValueInfo(graph_->add_output(), name, dims);
  }

  std::string Fresh(const std::string& prefix) { return prefix + "_" + std::to_string(counter_++); }

  std::string InitFloat(const std::string& prefix, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    auto* t = graph_->add_initializer();
    std::string name = Fresh(prefix);
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    std::string raw(v.size() * sizeof(float), '\0');
    std::memcpy(raw.data(), v.data(), raw.size());  // x86/ARM hosts are little-endian, as ONNX raw_data is
    t->set_raw_data(std::move(raw));
    return name;
  }
  std::string InitInt64(const std::string& prefix, const std::vector<int64_t>& v) {
    auto* t = graph_->add_initializer();
    std::string name = Fresh(prefix);
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (auto x : v) t->add_int64_data(x);
    return name;
  }

  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }
  static void Ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void Int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void Float(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }

  // Conv with OIHW weights (I = cin / group), bias, stride and explicit
  // pads {top, left, bottom, right}.
  Act Conv(const Act& x, int64_t cout, int64_t k, int64_t stride, std::array<int64_t, 4> pads, std::vector<float> w,
           std::vector<float> b, int64_t group = 1, const std::string& out_name = "") {
    const std::string wn = InitFloat("W", {cout, x.c / group, k, k}, w);
    const std::string bn = InitFloat("B", {cout}, b);
    Act y{out_name.empty() ? Fresh("conv") : out_name, cout, 0, 0};
    y.h = (x.h + pads[0] + pads[2] - k) / stride + 1;
    y.w = (x.w + pads[1] + pads[3] - k) / stride + 1;
    auto* n = Node("Conv", {x.name, wn, bn}, y.name);
    Ints(n, "kernel_shape", {k, k});
    Ints(n, "strides", {stride, stride});
    Ints(n, "pads", {pads[0], pads[1], pads[2], pads[3]});
    Ints(n, "dilations", {1, 1});
    Int(n, "group", group);
    return y;
  }
  Act Unary(const std::string& op, const Act& x) {
    Act y = x;
    y.name = Fresh(op);
    Node(op, {x.name}, y.name);
    return y;
  }
  Act Relu(const Act& x) { return Unary("Relu", x); }
  Act Relu6(const Act& x) {
    Act y = x;
    y.name = Fresh("relu6");
    auto* n = Node("Clip", {x.name}, y.name);
    Float(n, "min", 0.f);
    Float(n, "max", 6.f);
    return y;
  }
  Act Add(const Act& a, const Act& b) {
    Act y = a;
    y.name = Fresh("add");
    Node("Add", {a.name, b.name}, y.name);
    return y;
  }
  // Zero rows at the bottom and columns at the right.
  Act PadBottomRight(const Act& x, int64_t rows, int64_t cols) {
    Act y = x;
    y.name = Fresh("pad");
    y.h += rows;
    y.w += cols;
    auto* n = Node("Pad", {x.name}, y.name);
    auto* a = n->add_attribute();
    a->set_name("mode");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("constant");
    Ints(n, "pads", {0, 0, 0, 0, 0, 0, rows, cols});
    Float(n, "value", 0.f);
    return y;
  }
  Act MaxPool(const Act& x, int64_t k, int64_t s) {
    Act y = x;
    y.name = Fresh("maxpool");
    y.h = (x.h - k) / s + 1;
    y.w = (x.w - k) / s + 1;
    auto* n = Node("MaxPool", {x.name}, y.name);
    Ints(n, "kernel_shape", {k, k});
    Ints(n, "strides", {s, s});
    Ints(n, "pads", {0, 0, 0, 0});
    return y;
  }
  Act GlobalAvgPool(const Act& x) {
    Act y{Fresh("gap"), x.c, 1, 1};
    Node("GlobalAveragePool", {x.name}, y.name);
    return y;
  }
  // [1,C,1,1] -> [1,C] under `name`.
  void Flatten(const Act& x, const std::string& name) {
    auto* n = Node("Flatten", {x.name}, name);
    Int(n, "axis", 1);
  }
  // NCHW [1, A*k, H, W] -> NHWC flattened [1, H*W*A, k] (or [1, H*W*A] when k == 1),
  // matching TF's reshape of the NHWC tensor.
  std::string ToRows(const Act& x, int64_t k) {
    std::string t = Fresh("nhwc");
    auto* n = Node("Transpose", {x.name}, t);
    Ints(n, "perm", {0, 2, 3, 1});
    std::string r = Fresh("rows");
    std::vector<int64_t> shape = k == 1 ? std::vector<int64_t>{1, -1} : std::vector<int64_t>{1, -1, k};
    Node("Reshape", {t, InitInt64("shape", shape)}, r);
    return r;
  }
  std::string Concat(const std::vector<std::string>& xs, int64_t axis, const std::string& name = "") {
    std::string y = name.empty() ? Fresh("concat") : name;
    auto* n = Node("Concat", xs, y);
    Int(n, "axis", axis);
    return y;
  }

  Result<std::string> Serialize() const {
    std::string out;
    if (!model_.SerializeToString(&out)) return Internal("cannot serialize ONNX model " + graph_->name());
    return out;
  }

 private:
  static void AddValueInfo(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }

  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  int counter_ = 0;
};

// TF conv filter [kh, kw, cin, cout] -> ONNX [cout, cin, kh, kw].
std::vector<float> HwioToOihw(const WeightTensor& t) {
  const int64_t kh = t.shape[0], kw = t.shape[1], ci = t.shape[2], co = t.shape[3];
  std::vector<float> out(t.values.size());
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t o = 0; o < co; ++o)
          out[size_t(((o * ci + i) * kh + y) * kw + x)] = t.values[size_t(((y * kw + x) * ci + i) * co + o)];
  return out;
}

// TF depthwise filter [kh, kw, C, 1] -> ONNX [C, 1, kh, kw] (group = C).
std::vector<float> DepthwiseToOihw(const WeightTensor& t) {
  const int64_t kh = t.shape[0], kw = t.shape[1], c = t.shape[2];
  std::vector<float> out(t.values.size());
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t ch = 0; ch < c; ++ch) out[size_t((ch * kh + y) * kw + x)] = t.values[size_t((y * kw + x) * c + ch)];
  return out;
}

// A dense [in, out] matrix as 1x1 conv weights [out, in, 1, 1].
std::vector<float> DenseToOihw(const WeightTensor& t) {
  const int64_t in = t.shape[0], out_n = t.shape[1];
  std::vector<float> out(t.values.size());
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out_n; ++o) out[size_t(o * in + i)] = t.values[size_t(i * out_n + o)];
  return out;
}

// Per-channel y = x * scale[c] + shift[c] as a 1x1 conv: the face-api input
// normalisation, kept as its own layer (not folded into the first conv) so
// that zero padding inside the graph stays zero in normalised space, as in TF.
Act Normalize(GraphBuilder& g, const Act& x, const std::array<float, 3>& scale, const std::array<float, 3>& shift) {
  std::vector<float> w(9, 0.f);
  for (int c = 0; c < 3; ++c) w[size_t(c * 3 + c)] = scale[size_t(c)];
  return g.Conv(x, 3, 1, 1, {0, 0, 0, 0}, w, {shift[0], shift[1], shift[2]});
}

Act SameConv(GraphBuilder& g, const Act& x, int64_t cout, int64_t k, int64_t s, std::vector<float> w,
             std::vector<float> b, int64_t group = 1) {
  SamePad ph = TfSame(x.h, k, s), pw = TfSame(x.w, k, s);
  return g.Conv(x, cout, k, s, {ph.before, pw.before, ph.after, pw.after}, std::move(w), std::move(b), group);
}

// ---------------------------------------------------------------- SSD

Result<std::string> BuildSsd(const FaceApiWeights& wt) {
  GraphBuilder g("faceapi_ssd_mobilenetv1");
  Act x = g.Input("input", 3, kSsdInputSize, kSsdInputSize);
  // face-api: x * 0.007843137718737125 - 1.
  const float s = 0.007843137718737125f;
  x = Normalize(g, x, {s, s, s}, {-1.f, -1.f, -1.f});

  // Conv2d_0: plain 3x3 stride 2 conv + offset + ReLU6.
  {
    VIGIL_ASSIGN_OR_RETURN(auto w, wt.Get("MobilenetV1/Conv2d_0_pointwise/weights", {3, 3, 3, 32}));
    VIGIL_ASSIGN_OR_RETURN(auto b, wt.Get("MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset", {32}));
    x = g.Relu6(SameConv(g, x, 32, 3, 2, HwioToOihw(*w), b->values));
  }
  static constexpr int64_t kWidths[14] = {32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  Act conv11;
  for (int i = 1; i <= 13; ++i) {
    const std::string p = "MobilenetV1/Conv2d_" + std::to_string(i);
    const int64_t cin = kWidths[i - 1], cout = kWidths[i];
    const int64_t stride = (i == 2 || i == 4 || i == 6 || i == 12) ? 2 : 1;
    VIGIL_ASSIGN_OR_RETURN(auto dw, wt.Get(p + "_depthwise/depthwise_weights", {3, 3, cin, 1}));
    VIGIL_ASSIGN_OR_RETURN(auto gamma, wt.Get(p + "_depthwise/BatchNorm/gamma", {cin}));
    VIGIL_ASSIGN_OR_RETURN(auto beta, wt.Get(p + "_depthwise/BatchNorm/beta", {cin}));
    VIGIL_ASSIGN_OR_RETURN(auto mean, wt.Get(p + "_depthwise/BatchNorm/moving_mean", {cin}));
    VIGIL_ASSIGN_OR_RETURN(auto var, wt.Get(p + "_depthwise/BatchNorm/moving_variance", {cin}));
    // Fold batch-norm: y = gamma * (conv - mean) / sqrt(var + eps) + beta.
    std::vector<float> w = DepthwiseToOihw(*dw), b(static_cast<size_t>(cin));
    for (int64_t c = 0; c < cin; ++c) {
      const double f = gamma->values[size_t(c)] / std::sqrt(double(var->values[size_t(c)]) + 0.0010000000474974513);
      for (int k = 0; k < 9; ++k) w[size_t(c * 9 + k)] = float(w[size_t(c * 9 + k)] * f);
      b[size_t(c)] = float(beta->values[size_t(c)] - mean->values[size_t(c)] * f);
    }
    x = g.Relu6(SameConv(g, x, cin, 3, stride, std::move(w), std::move(b), cin));
    VIGIL_ASSIGN_OR_RETURN(auto pw, wt.Get(p + "_pointwise/weights", {1, 1, cin, cout}));
    VIGIL_ASSIGN_OR_RETURN(auto pb, wt.Get(p + "_pointwise/convolution_bn_offset", {cout}));
    x = g.Relu6(SameConv(g, x, cout, 1, 1, HwioToOihw(*pw), pb->values));
    if (i == 11) conv11 = x;
  }

  // Extra feature layers: 1x1 then 3x3 stride 2, four times.
  static constexpr int64_t kPredWidths[8] = {256, 512, 128, 256, 128, 256, 64, 128};
  std::vector<Act> features = {conv11, x};
  Act y = x;
  for (int i = 0; i < 8; ++i) {
    const std::string p = "Prediction/Conv2d_" + std::to_string(i) + "_pointwise";
    const int64_t k = (i % 2 == 0) ? 1 : 3, stride = (i % 2 == 0) ? 1 : 2;
    VIGIL_ASSIGN_OR_RETURN(auto w, wt.Get(p + "/weights", {k, k, y.c, kPredWidths[i]}));
    VIGIL_ASSIGN_OR_RETURN(auto b, wt.Get(p + "/convolution_bn_offset", {kPredWidths[i]}));
    y = g.Relu6(SameConv(g, y, kPredWidths[i], k, stride, HwioToOihw(*w), b->values));
    if (i % 2 == 1) features.push_back(y);
  }

  std::vector<std::string> box_rows, score_rows;
  int64_t anchors = 0;
  for (int i = 0; i < 6; ++i) {
    const Act& f = features[size_t(i)];
    const int64_t a = i == 0 ? 3 : 6;
    const std::string p = "Prediction/BoxPredictor_" + std::to_string(i);
    VIGIL_ASSIGN_OR_RETURN(auto bw, wt.Get(p + "/BoxEncodingPredictor/weights", {1, 1, f.c, a * 4}));
    VIGIL_ASSIGN_OR_RETURN(auto bb, wt.Get(p + "/BoxEncodingPredictor/biases", {a * 4}));
    box_rows.push_back(g.ToRows(SameConv(g, f, a * 4, 1, 1, HwioToOihw(*bw), bb->values), 4));
    // Only class logit 1 (face) of each anchor's three is used: keep just
    // those output channels so no Slice is needed.
    VIGIL_ASSIGN_OR_RETURN(auto cw, wt.Get(p + "/ClassPredictor/weights", {1, 1, f.c, a * 3}));
    VIGIL_ASSIGN_OR_RETURN(auto cb, wt.Get(p + "/ClassPredictor/biases", {a * 3}));
    std::vector<float> w(static_cast<size_t>(a * f.c)), b(static_cast<size_t>(a));
    for (int64_t an = 0; an < a; ++an) {
      const int64_t src = an * 3 + 1;
      b[size_t(an)] = cb->values[size_t(src)];
      for (int64_t c = 0; c < f.c; ++c) w[size_t(an * f.c + c)] = cw->values[size_t(c * a * 3 + src)];
    }
    score_rows.push_back(g.ToRows(SameConv(g, f, a, 1, 1, std::move(w), std::move(b)), 1));
    anchors += f.h * f.w * a;
  }
  if (anchors != kSsdAnchorCount) return Internal("SSD graph has " + std::to_string(anchors) + " anchors");
  g.Concat(box_rows, 1, "boxes");
  std::string logits = g.Concat(score_rows, 1);
  g.Node("Sigmoid", {logits}, "scores");
  g.Output("boxes", {1, kSsdAnchorCount, 4});
  g.Output("scores", {1, kSsdAnchorCount});
  return g.Serialize();
}

// ---------------------------------------------------------------- landmarks

Result<Act> SeparableConv(GraphBuilder& g, const FaceApiWeights& wt, const std::string& p, const Act& x, int64_t cout,
                          int64_t stride) {
  VIGIL_ASSIGN_OR_RETURN(auto dw, wt.Get(p + "/depthwise_filter", {3, 3, x.c, 1}));
  VIGIL_ASSIGN_OR_RETURN(auto pw, wt.Get(p + "/pointwise_filter", {1, 1, x.c, cout}));
  VIGIL_ASSIGN_OR_RETURN(auto b, wt.Get(p + "/bias", {cout}));
  Act d = SameConv(g, x, x.c, 3, stride, DepthwiseToOihw(*dw), std::vector<float>(size_t(x.c), 0.f), x.c);
  return SameConv(g, d, cout, 1, 1, HwioToOihw(*pw), b->values);
}

Result<std::string> BuildLandmark68(const FaceApiWeights& wt) {
  GraphBuilder g("faceapi_landmark68");
  Act x = g.Input("input", 3, kLandmarkInputSize, kLandmarkInputSize);
  x = Normalize(g, x, {1 / 255.f, 1 / 255.f, 1 / 255.f}, {-122.782f / 255.f, -117.001f / 255.f, -104.298f / 255.f});
  static constexpr int64_t kWidths[4] = {32, 64, 128, 256};
  for (int blk = 0; blk < 4; ++blk) {
    const std::string p = "dense" + std::to_string(blk);
    const int64_t c = kWidths[blk];
    Act o1;
    if (blk == 0) {
      VIGIL_ASSIGN_OR_RETURN(auto w, wt.Get(p + "/conv0/filters", {3, 3, 3, c}));
      VIGIL_ASSIGN_OR_RETURN(auto b, wt.Get(p + "/conv0/bias", {c}));
      o1 = g.Relu(SameConv(g, x, c, 3, 2, HwioToOihw(*w), b->values));
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto s0, SeparableConv(g, wt, p + "/conv0", x, c, 2));
      o1 = g.Relu(s0);
    }
    VIGIL_ASSIGN_OR_RETURN(Act o2, SeparableConv(g, wt, p + "/conv1", o1, c, 1));
    Act s12 = g.Add(o1, o2);
    VIGIL_ASSIGN_OR_RETURN(Act o3, SeparableConv(g, wt, p + "/conv2", g.Relu(s12), c, 1));
    Act s123 = g.Add(s12, o3);
    VIGIL_ASSIGN_OR_RETURN(Act o4, SeparableConv(g, wt, p + "/conv3", g.Relu(s123), c, 1));
    x = g.Relu(g.Add(s123, o4));
  }
  // 7x7 average pool (stride 2, VALID) on a 7x7 map is the global mean.
  if (x.h != 7 || x.w != 7) return Internal("landmark net: unexpected final map size");
  Act pooled = g.GlobalAvgPool(x);
  VIGIL_ASSIGN_OR_RETURN(auto fw, wt.Get("fc/weights", {256, 136}));
  VIGIL_ASSIGN_OR_RETURN(auto fb, wt.Get("fc/bias", {136}));
  Act fc = g.Conv(pooled, 136, 1, 1, {0, 0, 0, 0}, DenseToOihw(*fw), fb->values);
  g.Flatten(fc, "landmarks");
  g.Output("landmarks", {1, 136});
  return g.Serialize();
}

// ---------------------------------------------------------------- recognition

// conv + bias, then the per-channel scale layer, folded into one conv.
Result<Act> ScaledConv(GraphBuilder& g, const FaceApiWeights& wt, const std::string& p, const Act& x, int64_t cout,
                       int64_t k, int64_t stride, bool valid) {
  VIGIL_ASSIGN_OR_RETURN(auto w, wt.Get(p + "/conv/filters", {k, k, x.c, cout}));
  VIGIL_ASSIGN_OR_RETURN(auto b, wt.Get(p + "/conv/bias", {cout}));
  VIGIL_ASSIGN_OR_RETURN(auto sw, wt.Get(p + "/scale/weights", {cout}));
  VIGIL_ASSIGN_OR_RETURN(auto sb, wt.Get(p + "/scale/biases", {cout}));
  std::vector<float> fw = HwioToOihw(*w), fb(static_cast<size_t>(cout));
  const size_t per_out = size_t(x.c * k * k);
  for (int64_t o = 0; o < cout; ++o) {
    const float s = sw->values[size_t(o)];
    for (size_t i = 0; i < per_out; ++i) fw[size_t(o) * per_out + i] *= s;
    fb[size_t(o)] = b->values[size_t(o)] * s + sb->values[size_t(o)];
  }
  if (valid) return g.Conv(x, cout, k, stride, {0, 0, 0, 0}, std::move(fw), std::move(fb));
  return SameConv(g, x, cout, k, stride, std::move(fw), std::move(fb));
}

Result<Act> Residual(GraphBuilder& g, const FaceApiWeights& wt, const std::string& p, const Act& x) {
  VIGIL_ASSIGN_OR_RETURN(Act a, ScaledConv(g, wt, p + "/conv1", x, x.c, 3, 1, false));
  VIGIL_ASSIGN_OR_RETURN(Act b, ScaledConv(g, wt, p + "/conv2", g.Relu(a), x.c, 3, 1, false));
  return g.Relu(g.Add(b, x));
}

Result<Act> ResidualDown(GraphBuilder& g, const FaceApiWeights& wt, const std::string& p, const Act& x, int64_t cout) {
  VIGIL_ASSIGN_OR_RETURN(Act a, ScaledConv(g, wt, p + "/conv1", x, cout, 3, 2, true));
  VIGIL_ASSIGN_OR_RETURN(Act main, ScaledConv(g, wt, p + "/conv2", g.Relu(a), cout, 3, 1, false));
  // Shortcut: 2x2 average pool, stride 2, with zero channels appended up to
  // cout; exactly a 2x2 stride-2 conv with 0.25 on the channel diagonal.
  std::vector<float> w(size_t(cout * x.c * 4), 0.f);
  for (int64_t c = 0; c < x.c; ++c)
    for (int k = 0; k < 4; ++k) w[size_t((c * x.c + c) * 4 + k)] = 0.25f;
  Act shortcut = g.Conv(x, cout, 2, 2, {0, 0, 0, 0}, std::move(w), std::vector<float>(size_t(cout), 0.f));
  if (main.h != shortcut.h || main.w != shortcut.w) {
    main = g.PadBottomRight(main, shortcut.h - main.h, shortcut.w - main.w);
  }
  return g.Relu(g.Add(main, shortcut));
}

Result<std::string> BuildRecognition(const FaceApiWeights& wt) {
  GraphBuilder g("faceapi_recognition128");
  Act x = g.Input("input", 3, kRecognitionInputSize, kRecognitionInputSize);
  x = Normalize(g, x, {1 / 255.f, 1 / 255.f, 1 / 255.f}, {-122.782f / 255.f, -117.001f / 255.f, -104.298f / 255.f});
  VIGIL_ASSIGN_OR_RETURN(x, ScaledConv(g, wt, "conv32_down", x, 32, 7, 2, true));
  x = g.MaxPool(g.Relu(x), 3, 2);
  for (const char* p : {"conv32_1", "conv32_2", "conv32_3"}) {
    VIGIL_ASSIGN_OR_RETURN(x, Residual(g, wt, p, x));
  }
  VIGIL_ASSIGN_OR_RETURN(x, ResidualDown(g, wt, "conv64_down", x, 64));
  for (const char* p : {"conv64_1", "conv64_2", "conv64_3"}) {
    VIGIL_ASSIGN_OR_RETURN(x, Residual(g, wt, p, x));
  }
  VIGIL_ASSIGN_OR_RETURN(x, ResidualDown(g, wt, "conv128_down", x, 128));
  for (const char* p : {"conv128_1", "conv128_2"}) {
    VIGIL_ASSIGN_OR_RETURN(x, Residual(g, wt, p, x));
  }
  VIGIL_ASSIGN_OR_RETURN(x, ResidualDown(g, wt, "conv256_down", x, 256));
  for (const char* p : {"conv256_1", "conv256_2"}) {
    VIGIL_ASSIGN_OR_RETURN(x, Residual(g, wt, p, x));
  }
  VIGIL_ASSIGN_OR_RETURN(x, ResidualDown(g, wt, "conv256_down_out", x, 256));
  Act pooled = g.GlobalAvgPool(x);
  VIGIL_ASSIGN_OR_RETURN(auto fc, wt.Get("fc", {256, 128}));
  Act out = g.Conv(pooled, 128, 1, 1, {0, 0, 0, 0}, DenseToOihw(*fc), std::vector<float>(128, 0.f));
  g.Flatten(out, "descriptor");
  g.Output("descriptor", {1, 128});
  return g.Serialize();
}

}  // namespace

Result<std::string> BuildFaceApiOnnx(FaceApiNet net, const FaceApiWeights& weights) {
  switch (net) {
    case FaceApiNet::kSsdMobilenetV1:
      return BuildSsd(weights);
    case FaceApiNet::kLandmark68:
      return BuildLandmark68(weights);
    case FaceApiNet::kRecognition128:
      return BuildRecognition(weights);
  }
  return InvalidArgument("unknown face-api net");
}

Result<std::string> SsdAnchorBytes(const FaceApiWeights& weights) {
  VIGIL_ASSIGN_OR_RETURN(auto t, weights.Get("Output/extra_dim", {1, kSsdAnchorCount, 4}));
  std::string out(t->values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), t->values.data(), out.size());
  return out;
}

}  // namespace vigil::models
