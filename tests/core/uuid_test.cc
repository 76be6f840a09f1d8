#include "core/uuid.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace vigil {
namespace {

TEST(UuidTest, CanonicalVersion4Format) {
  const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(std::regex_match(id, re)) << id;
    ASSERT_TRUE(IsUuid(id)) << id;
  }
}

TEST(UuidTest, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(NewUuid()).second);
}

TEST(UuidTest, IsUuidRejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("123e4567e89b12d3a456426614174000"));       // no dashes
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));   // bad hex
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-4266141740000"));  // too long
  EXPECT_TRUE(IsUuid("123E4567-E89B-12D3-A456-426614174000"));    // upper case is fine
}

TEST(UuidTest, RandomHexLengthAndAlphabet) {
  std::string h = RandomHex(32);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

}  // namespace
}  // namespace vigil
