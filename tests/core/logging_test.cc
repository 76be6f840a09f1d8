#include "core/logging.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(LoggingTest, SameLoggerPerComponent) {
  auto a = GetLogger("test-component");
  auto b = GetLogger("test-component");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), GetLogger("other-component").get());
}

TEST(LoggingTest, LogValueQuotesWhenNeeded) {
  EXPECT_EQ(LogValue("plain"), "plain");
  EXPECT_EQ(LogValue("two words"), "\"two words\"");
  EXPECT_EQ(LogValue("a=b"), "\"a=b\"");
  EXPECT_EQ(LogValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(LogValue(""), "\"\"");
}

TEST(LoggingTest, JsonFormatWritesOneObjectPerLine) {
  InitLogging({.json = true, .level = "info"});
  testing::internal::CaptureStderr();
  GetLogger("json-test")->info("event stored id={}", "abc");
  GetLogger("json-test")->debug("hidden below level");
  std::string out = testing::internal::GetCapturedStderr();
  InitLogging({});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), '{');
  EXPECT_NE(out.find("\"logger\":\"json-test\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"msg\":\"event stored id=abc\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"level\":\"info\""), std::string::npos) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace vigil
