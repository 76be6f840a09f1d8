#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/json_util.h"

namespace vigil::protocol {
namespace {

constexpr const char* kUuid = "0b1f4c1e-8a43-4c8e-9d2a-5f7e6a1b2c3d";
constexpr const char* kUuid2 = "7d9e2f10-1b2c-4d3e-8f40-112233445566";
constexpr int64_t kT = 1795932000123;  // 2026-11-29T06:00:00.123Z

WorkerStats SomeStats() {
  WorkerStats s;
  s.events_created = 10;
  s.events_acked = 9;
  s.events_spooled = 1;
  s.events_dropped = 0;
  s.faces_seen = 120;
  s.cpu = 0.35;
  s.rss_bytes = 104857600;
  s.uptime_s = 60;
  return s;
}

Event SomeEvent() {
  Event e;
  e.event_id = kUuid;
  e.worker_id = "worker-001";
  e.camera_id = "cam-1";
  e.site_id = "site-1";
  e.captured_at_ms = kT;
  e.track_id = 42;
  e.bbox = {10.5, 20, 64, 80.25};
  e.det_score = 0.98;
  e.quality = 0.71;
  e.model = "faceapi-recognition-128";
  e.embedding = {0.6f, -0.8f, 0.0f, 1e-7f};
  e.staff_id = "staff-1";
  e.staff_similarity = 0.81;
  e.has_snapshot = true;
  return e;
}

// Encodes, decodes and checks the same message comes back.
template <typename T>
void ExpectRoundTrip(const T& m) {
  std::string text = Encode(m);
  auto back = DecodeText(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  ASSERT_TRUE(std::holds_alternative<T>(*back)) << text;
  EXPECT_EQ(std::get<T>(*back), m) << text;
  EXPECT_EQ(Encode(Message(m)), text);
}

// Decodes `m` after `edit` changed its JSON, expecting InvalidArgument naming `field`.
template <typename T, typename Edit>
void ExpectRejected(const T& m, Edit edit, const std::string& field) {
  Json j = ToJson(Message(m));
  edit(j);
  auto r = DecodeText(j.dump());
  ASSERT_FALSE(r.ok()) << j.dump();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find(field), std::string::npos)
      << "message '" << r.status().message() << "' should name " << field;
  EXPECT_EQ(ErrorCodeFor(r.status()), kErrorBadMessage);
}

TEST(ProtocolCodec, HelloRoundTrip) {
  Hello h;
  h.worker_id = "worker-001";
  h.host = "shop-pc";
  h.pid = 1234;
  h.version = "0.1.0";
  h.capabilities = {"yunet", "faceapi", {"faceapi-recognition-128"}, 4};
  h.cameras = {{"cam-local-1", "door", "rtsp://10.0.0.2/stream"}};
  ExpectRoundTrip(h);
  EXPECT_EQ(ToJson(Message(h))["protocol"], 1);
}

TEST(ProtocolCodec, HelloWithOtherVersionStillDecodes) {
  // The API must see the version to answer unsupported_version / 4426.
  Hello h;
  h.protocol = 2;
  h.worker_id = "w";
  auto r = DecodeText(Encode(h));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<Hello>(*r).protocol, 2);
}

TEST(ProtocolCodec, HelloWithoutCamerasMeansNone) {
  Hello h;
  h.worker_id = "w";
  Json j = ToJson(Message(h));
  j.erase("cameras");
  auto r = DecodeText(j.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::get<Hello>(*r).cameras.empty());
}

TEST(ProtocolCodec, HeartbeatRoundTrip) {
  Heartbeat hb;
  hb.seq = 17;
  hb.state = "running";
  hb.sent_at_ms = kT;
  hb.cameras = {{"cam-1", "running", 4.9, 2, std::nullopt}, {"cam-2", "retrying", 0, 0, "connection refused"}};
  hb.stats = SomeStats();
  ExpectRoundTrip(hb);
  Json j = ToJson(Message(hb));
  EXPECT_EQ(j["sent_at"], "2026-11-29T06:00:00.123Z");
  EXPECT_TRUE(j["cameras"][0]["error"].is_null());
}

TEST(ProtocolCodec, EventRoundTripAndWireForm) {
  Event e = SomeEvent();
  ExpectRoundTrip(e);
  Json j = ToJson(Message(e));
  EXPECT_EQ(j["captured_at"], "2026-11-29T06:00:00.123Z");
  EXPECT_EQ(j["embedding"], EncodeFloats(e.embedding));
  EXPECT_EQ(j["bbox"].size(), 4u);

  e.site_id.reset();
  e.staff_id.reset();
  e.staff_similarity.reset();
  e.has_snapshot = false;
  ExpectRoundTrip(e);
  j = ToJson(Message(e));
  EXPECT_TRUE(j["site_id"].is_null());
  EXPECT_TRUE(j["staff_id"].is_null());
  EXPECT_TRUE(j["staff_similarity"].is_null());
}

TEST(ProtocolCodec, GoodbyeWelcomeAssignRoundTrip) {
  ExpectRoundTrip(Goodbye{"shutdown", SomeStats()});
  Welcome w;
  w.session_id = kUuid2;
  w.heartbeat_interval_ms = 5000;
  w.cameras = {{"cam-1", "door", "rtsp://x", "site-1", 5}, {"cam-2", "", "0", std::nullopt, 2.5}};
  w.gallery_version = 3;
  ExpectRoundTrip(w);
  ExpectRoundTrip(Assign{w.cameras});
  ExpectRoundTrip(Assign{});
}

TEST(ProtocolCodec, GalleryRoundTrip) {
  Gallery g;
  g.version = 4;
  g.full = true;
  g.model = "faceapi-recognition-128";
  g.upsert = {{"staff-1", "Ann", "face-1", {1.0f, 0.0f}}, {"staff-2", "Bob", "face-2", {0.0f, 1.0f}}};
  ExpectRoundTrip(g);
  g.full = false;
  g.remove = {"face-9"};
  ExpectRoundTrip(g);
}

TEST(ProtocolCodec, CommandRoundTrip) {
  ExpectRoundTrip(Command{"start_stream", "cam-1", 5.0, 640});
  ExpectRoundTrip(Command{"stop_stream", "cam-1", std::nullopt, std::nullopt});
  ExpectRoundTrip(Command{"reload", std::nullopt, std::nullopt, std::nullopt});
  ExpectRoundTrip(Command{"shutdown", std::nullopt, std::nullopt, std::nullopt});
  // Unknown commands pass through; the worker answers unknown_command.
  ExpectRoundTrip(Command{"dance", std::nullopt, std::nullopt, std::nullopt});
  EXPECT_EQ(ToJson(Message(Command{"reload", {}, {}, {}}))["args"], Json::object());
}

TEST(ProtocolCodec, AckAndErrorRoundTrip) {
  ExpectRoundTrip(Ack{{kUuid, kUuid2}});
  ExpectRoundTrip(Ack{});
  ExpectRoundTrip(Error{"duplicate_worker", "worker-001 already has a live session"});
}

TEST(ProtocolCodec, DecodesTheDocumentedExamples) {
  // Straight from docs/protocol.md, with the placeholders filled in.
  const char* kHello =
      R"({"type":"hello","protocol":1,"worker_id":"worker-001","host":"shop-pc","pid":1234,
      "version":"0.1.0","capabilities":{"detector":"yunet","embedder":"faceapi",
      "models":["faceapi-recognition-128"],"max_cameras":4},
      "cameras":[{"id":"cam-local-1","name":"door","url":"rtsp://host/x"}],"state":"registering"})";
  auto h = DecodeText(kHello);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(std::get<Hello>(*h).capabilities.max_cameras, 4);

  const char* kHeartbeat =
      R"({"type":"heartbeat","seq":17,"state":"running","sent_at":"2026-11-29T06:00:00.000Z",
      "cameras":[{"id":"cam-1","state":"running","fps":4.9,"faces":2,"error":null}],
      "stats":{"events_created":10,"events_acked":9,"events_spooled":1,"events_dropped":0,
      "faces_seen":120,"cpu":0.35,"rss_bytes":104857600,"uptime_s":60}})";
  auto hb = DecodeText(kHeartbeat);
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_EQ(std::get<Heartbeat>(*hb).sent_at_ms, kT - 123);
  EXPECT_EQ(std::get<Heartbeat>(*hb).stats, SomeStats());

  auto c =
      DecodeText(R"({"type":"command","command":"start_stream","args":{"camera_id":"cam-1","fps":5,"max_width":640}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(std::get<Command>(*c), (Command{"start_stream", "cam-1", 5.0, 640}));
}

TEST(ProtocolCodec, ValidateCatchesBadValuesBeforeSending) {
  EXPECT_TRUE(Validate(SomeEvent()).ok());
  Event e = SomeEvent();
  e.det_score = std::numeric_limits<double>::quiet_NaN();
  Status st = Validate(e);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("event.det_score"), std::string::npos) << st.message();
  e = SomeEvent();
  e.event_id = "123";
  EXPECT_FALSE(Validate(e).ok());
  e = SomeEvent();
  e.embedding.clear();
  EXPECT_FALSE(Validate(e).ok());
  Heartbeat hb;  // state left empty
  EXPECT_FALSE(Validate(hb).ok());
}

TEST(ProtocolCodec, UnknownTypeIsDistinct) {
  auto r = DecodeText(R"({"type":"teleport","x":1})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(IsUnknownType(r.status()));
  EXPECT_EQ(ErrorCodeFor(r.status()), kErrorUnknownType);
  EXPECT_NE(r.status().message().find("teleport"), std::string::npos);
}

TEST(ProtocolCodec, MalformedFramesAreBadMessages) {
  for (const char* text : {"", "{", "not json", "[1,2]", "\"hello\"", "{\"type\":5}", "{}", "{\"type\":null}",
                           "{\"type\":\"ack\",\"event_ids\":[]} trailing", "null"}) {
    auto r = DecodeText(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text << ": " << r.status().ToString();
    EXPECT_EQ(ErrorCodeFor(r.status()), kErrorBadMessage);
  }
}

TEST(ProtocolCodec, TruncatedMessagesAreRejected) {
  std::string text = Encode(SomeEvent());
  for (size_t n = 0; n < text.size(); n += 7) {
    auto r = DecodeText(std::string_view(text).substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(ProtocolCodec, EventFieldValidation) {
  Event e = SomeEvent();
  ExpectRejected(
      e, [](Json& j) { j["event_id"] = "not-a-uuid"; }, "event.event_id");
  ExpectRejected(
      e, [](Json& j) { j["event_id"] = 12; }, "event.event_id");
  ExpectRejected(
      e, [](Json& j) { j.erase("event_id"); }, "event.event_id");
  ExpectRejected(
      e, [](Json& j) { j.erase("camera_id"); }, "event.camera_id");
  ExpectRejected(
      e, [](Json& j) { j["worker_id"] = ""; }, "event.worker_id");
  ExpectRejected(
      e, [](Json& j) { j["worker_id"] = std::string(kMaxIdLength + 1, 'w'); }, "event.worker_id");
  ExpectRejected(
      e, [](Json& j) { j["site_id"] = 7; }, "event.site_id");
  ExpectRejected(
      e, [](Json& j) { j["captured_at"] = "yesterday"; }, "event.captured_at");
  ExpectRejected(
      e, [](Json& j) { j["captured_at"] = 1795932000123; }, "event.captured_at");
  ExpectRejected(
      e, [](Json& j) { j["track_id"] = "42"; }, "event.track_id");
  ExpectRejected(
      e, [](Json& j) { j["track_id"] = 4.5; }, "event.track_id");
  ExpectRejected(
      e, [](Json& j) { j["track_id"] = 1e30; }, "event.track_id");
  ExpectRejected(
      e, [](Json& j) { j["track_id"] = -1; }, "event.track_id");
  ExpectRejected(
      e,
      [](Json& j) {
        j["bbox"] = Json::array({1, 2, 3});
      },
      "event.bbox");
  ExpectRejected(
      e,
      [](Json& j) {
        j["bbox"] = Json::array({1, 2, 3, 4, 5});
      },
      "event.bbox");
  ExpectRejected(
      e,
      [](Json& j) {
        j["bbox"] = Json::array({1, 2, "3", 4});
      },
      "event.bbox");
  ExpectRejected(
      e, [](Json& j) { j["bbox"] = "1,2,3,4"; }, "event.bbox");
  ExpectRejected(
      e,
      [](Json& j) {
        j["bbox"] = Json::array({1, 2, -3, 4});
      },
      "event.bbox");
  ExpectRejected(
      e, [](Json& j) { j["det_score"] = "high"; }, "event.det_score");
  ExpectRejected(
      e, [](Json& j) { j["det_score"] = 1.5; }, "event.det_score");
  ExpectRejected(
      e, [](Json& j) { j["quality"] = nullptr; }, "event.quality");
  ExpectRejected(
      e, [](Json& j) { j["staff_similarity"] = "0.8"; }, "event.staff_similarity");
  ExpectRejected(
      e, [](Json& j) { j["has_snapshot"] = 1; }, "event.has_snapshot");
  ExpectRejected(
      e, [](Json& j) { j["model"] = Json::array(); }, "event.model");
}

TEST(ProtocolCodec, EmbeddingValidation) {
  Event e = SomeEvent();
  ExpectRejected(
      e, [](Json& j) { j["embedding"] = "!!!notbase64"; }, "event.embedding");
  ExpectRejected(
      e, [](Json& j) { j["embedding"] = ""; }, "event.embedding");
  // 3 bytes: not a whole float.
  ExpectRejected(
      e, [](Json& j) { j["embedding"] = Base64Encode("abc", 3); }, "event.embedding");
  ExpectRejected(
      e,
      [](Json& j) {
        j["embedding"] = Json::array({0.1, 0.2});
      },
      "event.embedding");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  ExpectRejected(
      e,
      [&](Json& j) {
        j["embedding"] = EncodeFloats({0.5f, nan});
      },
      "event.embedding");
  ExpectRejected(
      e,
      [&](Json& j) {
        j["embedding"] = EncodeFloats({inf, 0.5f});
      },
      "event.embedding");
  std::vector<float> huge(kMaxEmbeddingDim + 1, 0.01f);
  ExpectRejected(
      e, [&](Json& j) { j["embedding"] = EncodeFloats(huge); }, "event.embedding");
  std::vector<float> largest(kMaxEmbeddingDim, 0.01f);
  e.embedding = largest;
  ExpectRoundTrip(e);
}

TEST(ProtocolCodec, NonFiniteNumbersAreRejected) {
  // JSON has no NaN literal, but an overflowing literal parses to infinity.
  std::string text = Encode(SomeEvent());
  auto pos = text.find("\"quality\":");
  ASSERT_NE(pos, std::string::npos);
  std::string bad = text;
  bad.replace(pos, std::string("\"quality\":0.71").size(), "\"quality\":1e999");
  auto r = DecodeText(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeText(R"({"type":"heartbeat","seq":1,"state":"running","sent_at":"2026-11-29T06:00:00.000Z",
      "cameras":[{"id":"c","state":"running","fps":NaN,"faces":0}],"stats":{}})")
                   .ok());
}

TEST(ProtocolCodec, NestedFieldsNameTheirPath) {
  Heartbeat hb;
  hb.state = "running";
  hb.sent_at_ms = kT;
  hb.cameras = {{"cam-1", "running", 1, 0, std::nullopt}};
  ExpectRejected(
      hb, [](Json& j) { j["cameras"][0]["fps"] = "fast"; }, "heartbeat.cameras[0].fps");
  ExpectRejected(
      hb, [](Json& j) { j["cameras"][0]["state"] = "dancing"; }, "heartbeat.cameras[0].state");
  ExpectRejected(
      hb, [](Json& j) { j["cameras"][0] = 5; }, "heartbeat.cameras[0]");
  ExpectRejected(
      hb, [](Json& j) { j["cameras"] = Json::object(); }, "heartbeat.cameras");
  ExpectRejected(
      hb, [](Json& j) { j["stats"].erase("events_acked"); }, "heartbeat.stats.events_acked");
  ExpectRejected(
      hb, [](Json& j) { j["stats"]["events_dropped"] = -1; }, "heartbeat.stats.events_dropped");
  ExpectRejected(
      hb, [](Json& j) { j["state"] = "sleeping"; }, "heartbeat.state");
  ExpectRejected(
      hb, [](Json& j) { j.erase("stats"); }, "heartbeat.stats");

  Hello h;
  h.worker_id = "w";
  ExpectRejected(
      h, [](Json& j) { j["capabilities"]["models"] = Json::array({1}); }, "hello.capabilities.models[0]");
  ExpectRejected(
      h, [](Json& j) { j["capabilities"]["max_cameras"] = -2; }, "hello.capabilities.max_cameras");
  ExpectRejected(
      h, [](Json& j) { j["pid"] = "1234"; }, "hello.pid");
  ExpectRejected(
      h,
      [](Json& j) {
        j["cameras"] = Json::array({Json{{"name", "x"}}});
      },
      "hello.cameras[0].id");
}

TEST(ProtocolCodec, ApiMessageValidation) {
  Welcome w;
  w.session_id = kUuid;
  w.cameras = {{"cam-1", "door", "rtsp://x", std::nullopt, 5}};
  ExpectRejected(
      w, [](Json& j) { j["session_id"] = "abc"; }, "welcome.session_id");
  ExpectRejected(
      w, [](Json& j) { j["heartbeat_interval_ms"] = 0; }, "welcome.heartbeat_interval_ms");
  ExpectRejected(
      w, [](Json& j) { j["cameras"][0]["fps"] = 0; }, "welcome.cameras[0].fps");
  ExpectRejected(
      Assign{}, [](Json& j) { j.erase("cameras"); }, "assign.cameras");

  Gallery g{.version = 1, .full = true, .model = "m", .upsert = {{"s", "Ann", "f", {1.0f}}}, .remove = {}};
  ExpectRejected(
      g, [](Json& j) { j["remove"] = Json::array({"f"}); }, "gallery.remove");
  ExpectRejected(
      g, [](Json& j) { j["upsert"][0]["embedding"] = "???"; }, "gallery.upsert[0].embedding");
  ExpectRejected(
      g, [](Json& j) { j["upsert"][0].erase("face_id"); }, "gallery.upsert[0].face_id");
  ExpectRejected(
      g, [](Json& j) { j["full"] = "yes"; }, "gallery.full");
  ExpectRejected(
      g, [](Json& j) { j.erase("model"); }, "gallery.model");

  ExpectRejected(
      Command{"start_stream", "cam-1", {}, {}}, [](Json& j) { j["args"] = Json::object(); }, "command.args.camera_id");
  ExpectRejected(
      Command{"start_stream", "cam-1", {}, {}}, [](Json& j) { j["args"]["fps"] = -1; }, "command.args.fps");
  ExpectRejected(
      Command{"reload", {}, {}, {}}, [](Json& j) { j["args"] = "x"; }, "command.args");

  ExpectRejected(
      Ack{{kUuid}}, [](Json& j) { j["event_ids"].push_back("nope"); }, "ack.event_ids[1]");
  ExpectRejected(
      Ack{{kUuid}}, [](Json& j) { j["event_ids"] = kUuid; }, "ack.event_ids");
  ExpectRejected(
      Error{"x", "y"}, [](Json& j) { j.erase("code"); }, "error.code");
}

TEST(ProtocolCodec, SizeLimits) {
  // A non-gallery frame over 1 MiB is refused even when otherwise valid.
  Error big{"internal", std::string(kMaxStringLength, 'x')};
  EXPECT_TRUE(DecodeText(Encode(big)).ok());
  std::string padded = R"({"type":"ack","event_ids":[])" + std::string(kMaxTextFrameBytes, ' ') + "}";
  auto r = DecodeText(padded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // A gallery may exceed 1 MiB (a full snapshot of a large staff gallery).
  Gallery g{.version = 1, .full = true, .model = "m", .upsert = {}, .remove = {}};
  for (int i = 0; i < 3000; ++i) {
    g.upsert.push_back({"s" + std::to_string(i), "n", "f" + std::to_string(i), std::vector<float>(128, 0.05f)});
  }
  std::string text = Encode(g);
  ASSERT_GT(text.size(), kMaxTextFrameBytes);
  auto gr = DecodeText(text);
  ASSERT_TRUE(gr.ok()) << gr.status().ToString();
  EXPECT_EQ(std::get<Gallery>(*gr).upsert.size(), 3000u);
  // ...but not beyond its own limit.
  EXPECT_FALSE(DecodeText(std::string(kMaxGalleryFrameBytes + 1, ' ')).ok());
  // Strings over their limit.
  ExpectRejected(
      Error{"x", "y"}, [](Json& j) { j["message"] = std::string(kMaxStringLength + 1, 'm'); }, "error.message");
}

TEST(ProtocolCodec, DeepNestingIsRefusedWithoutRecursion) {
  std::string deep = R"({"type":"ack","event_ids":[],"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = DecodeText(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // Brackets inside strings do not count.
  std::string in_string = R"({"type":"error","code":"x","message":")" + std::string(1000, '[') + "\"}";
  EXPECT_TRUE(DecodeText(in_string).ok());
}

TEST(ProtocolCodec, TimestampsOutOfRange) {
  Event e = SomeEvent();
  ExpectRejected(
      e, [](Json& j) { j["captured_at"] = "1969-12-31T23:59:59.000Z"; }, "event.captured_at");
  ExpectRejected(
      e, [](Json& j) { j["captured_at"] = "2026-13-01T00:00:00Z"; }, "event.captured_at");
  Json j = ToJson(Message(e));
  j["captured_at"] = "2026-11-29T07:00:00.123+01:00";
  auto r = DecodeText(j.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<Event>(*r).captured_at_ms, kT);
}

// ---- binary frames ----

TEST(ProtocolBinary, RoundTripAndLayout) {
  Json header = {{"type", "snapshot"}, {"event_id", kUuid}, {"content_type", "image/jpeg"}};
  std::string payload("\xff\xd8\x00\x01jpeg\xff\xd9", 10);
  std::string frame = EncodeBinary(header, payload);
  const std::string h = header.dump();
  ASSERT_EQ(frame.size(), 4 + h.size() + payload.size());
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), (h.size() >> 24) & 0xff);
  EXPECT_EQ(static_cast<unsigned char>(frame[3]), h.size() & 0xff);
  EXPECT_EQ(frame.substr(4, h.size()), h);
  auto r = DecodeBinary(frame);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->type, "snapshot");
  EXPECT_EQ(r->header, header);
  EXPECT_EQ(r->payload, payload);
}

TEST(ProtocolBinary, EmptyPayloadAndUnknownTypePassThrough) {
  auto r = DecodeBinary(EncodeBinary(Json{{"type", "future"}}, ""));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, "future");
  EXPECT_TRUE(r->payload.empty());
}

TEST(ProtocolBinary, MalformedFrames) {
  auto bad = [](std::string_view f) {
    auto r = DecodeBinary(f);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  };
  bad("");
  bad(std::string("\x00\x00", 2));
  bad(std::string("\x00\x00\x00\x10{}", 6));                          // header runs past the end
  bad(std::string("\xff\xff\xff\xff{\"type\":\"x\"}", 16));           // huge header length
  bad(std::string("\x00\x01\x00\x01", 4) + std::string(70000, ' '));  // 65537 > 64 KiB
  bad(std::string("\x00\x00\x00\x02{}", 6));                          // no type
  bad(std::string("\x00\x00\x00\x0c{\"type\":42}", 16));              // type not a string
  bad(std::string("\x00\x00\x00\x03[1]", 7));                         // not an object
  bad(std::string("\x00\x00\x00\x04nope", 8));                        // not JSON
  std::string frame = EncodeBinary(Json{{"type", "snapshot"}}, std::string(kMaxBinaryFrameBytes, 'x'));
  bad(frame);  // over 8 MiB in all
  // Every truncation of a valid frame short of the header end fails.
  std::string ok = EncodeSnapshot({kUuid, "image/jpeg"}, "JPEG");
  for (size_t n = 0; n < ok.size() - 4; ++n) {
    EXPECT_FALSE(DecodeBinary(std::string_view(ok).substr(0, n)).ok()) << n;
  }
}

TEST(ProtocolBinary, SnapshotHeader) {
  SnapshotHeader h{kUuid, "image/jpeg"};
  auto r = DecodeBinary(EncodeSnapshot(h, "JPEGDATA"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, kBinaryTypeSnapshot);
  EXPECT_EQ(r->payload, "JPEGDATA");
  auto parsed = ParseSnapshotHeader(r->header);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, h);

  Json j = ToJson(h);
  j["event_id"] = "x";
  EXPECT_FALSE(ParseSnapshotHeader(j).ok());
  j = ToJson(h);
  j["type"] = "frame";
  EXPECT_FALSE(ParseSnapshotHeader(j).ok());
}

TEST(ProtocolBinary, StreamFrameHeader) {
  StreamFrameHeader h;
  h.camera_id = "cam-1";
  h.seq = 12;
  h.captured_at_ms = kT;
  h.width = 640;
  h.height = 360;
  h.tracks = {{3, {1, 2, 30, 40}, "Ann", "staff-1"}, {4, {5, 6, 7, 8}, std::nullopt, std::nullopt}};
  auto r = DecodeBinary(EncodeStreamFrame(h, "JPEG"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, kBinaryTypeFrame);
  auto parsed = ParseStreamFrameHeader(r->header);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, h);

  Json j = ToJson(h);
  j["tracks"][1]["bbox"] = Json::array({1, 2});
  auto bad = ParseStreamFrameHeader(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("frame.tracks[1].bbox"), std::string::npos) << bad.status().message();
  j = ToJson(h);
  j["width"] = 0;
  EXPECT_FALSE(ParseStreamFrameHeader(j).ok());
}

// ---- fuzz entry point ----

TEST(ProtocolFuzz, SurvivesValidAndMutatedInputs) {
  std::vector<std::string> seeds = {
      Encode(SomeEvent()),
      Encode(Ack{{kUuid}}),
      Encode(Command{"start_stream", "cam-1", 5.0, 640}),
      EncodeSnapshot({kUuid, "image/jpeg"}, "JPEG"),
      EncodeStreamFrame({"cam-1", 1, kT, 640, 360, {{1, {1, 2, 3, 4}, std::nullopt, std::nullopt}}}, "J"),
  };
  // Deterministic mutations: flip, drop and duplicate bytes across each seed.
  uint32_t rng = 12345;
  auto next = [&] { return rng = rng * 1664525u + 1013904223u; };
  for (const auto& seed : seeds) {
    FuzzDecode(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
    for (int i = 0; i < 300; ++i) {
      std::string s = seed;
      size_t pos = next() % s.size();
      switch (next() % 3) {
        case 0:
          s[pos] = static_cast<char>(next());
          break;
        case 1:
          s.erase(pos, 1 + next() % 8);
          break;
        default:
          s.insert(pos, s.substr(pos, 1 + next() % 8));
          break;
      }
      EXPECT_EQ(FuzzDecode(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0);
    }
  }
}

}  // namespace
}  // namespace vigil::protocol
