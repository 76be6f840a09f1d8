#include "core/json_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vigil {
namespace {

TEST(JsonUtilTest, ParsesObjects) {
  auto j = ParseJsonObject(R"({"a": 1, "b": "x"})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"], 1);
}

TEST(JsonUtilTest, MalformedJsonIsInvalidArgument) {
  auto j = ParseJson("{\"a\": ");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("malformed JSON"), std::string::npos);
}

TEST(JsonUtilTest, NonObjectRejectedWhereObjectRequired) {
  EXPECT_FALSE(ParseJsonObject("[1,2]").ok());
  EXPECT_FALSE(ParseJsonObject("42").ok());
}

TEST(JsonUtilTest, TypedGettersNameTheField) {
  Json j = {{"name", "Ann"}, {"age", 41}, {"score", 0.5}, {"ok", true}, {"n", nullptr}, {"f", 2.0}};
  EXPECT_EQ(*GetString(j, "name"), "Ann");
  EXPECT_EQ(*GetInt(j, "age"), 41);
  EXPECT_EQ(*GetInt(j, "f"), 2);  // integral float accepted
  EXPECT_DOUBLE_EQ(*GetNumber(j, "score"), 0.5);
  EXPECT_TRUE(*GetBool(j, "ok"));

  auto missing = GetString(j, "email");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "field 'email' is missing");
  auto wrong = GetString(j, "age");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "field 'age' must be a string");
  EXPECT_FALSE(GetInt(j, "score").ok());  // 0.5 is not an integer
  EXPECT_FALSE(GetInt(Json{{"big", 1e30}}, "big").ok());  // out of int64 range, no UB
  EXPECT_FALSE(GetString(j, "n").ok());   // null counts as missing
}

TEST(JsonUtilTest, OptionalGetters) {
  Json j = {{"a", "x"}, {"b", nullptr}, {"c", 3}};
  EXPECT_EQ(GetOptString(j, "a")->value(), "x");
  EXPECT_FALSE(GetOptString(j, "b")->has_value());
  EXPECT_FALSE(GetOptString(j, "zzz")->has_value());
  EXPECT_FALSE(GetOptString(j, "c").ok());  // present with the wrong type
  EXPECT_EQ(GetOptInt(j, "c")->value(), 3);
}

TEST(JsonUtilTest, Base64RoundTripAndRejectsGarbage) {
  std::string data = "hello\0world";
  data.push_back('\xff');
  std::string b64 = Base64Encode(data.data(), data.size());
  auto back = Base64Decode(b64);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), data);
  EXPECT_EQ(Base64Encode("foo", 3), "Zm9v");
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
  EXPECT_FALSE(Base64Decode("Zm9").ok());
}

TEST(JsonUtilTest, FloatVectorsRoundTripBitExact) {
  std::vector<float> v = {0.0f, -1.5f, 3.25e-8f, 1e30f, 0.1f};
  auto back = DecodeFloats(EncodeFloats(v));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(DecodeFloats(Base64Encode("abc", 3)).ok());  // 3 bytes is not a float multiple
}

TEST(JsonUtilTest, DumpReplacesInvalidUtf8) {
  Json j = std::string("bad \xff byte");
  std::string out = DumpJson(j);
  EXPECT_NE(out.find("bad"), std::string::npos);
}

}  // namespace
}  // namespace vigil
