#include "core/uuid.h"

#include <gtest/gtest.h>

#include <set>

namespace vigil {
namespace {

// xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, lower-case hex, y in [89ab]. Checked
// by hand rather than with std::regex, which trips GCC 12's
// -Wmaybe-uninitialized in the sanitizer build.
bool IsCanonicalV4(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4' && std::string("89ab").find(id[19]) != std::string::npos;
}

TEST(UuidTest, CanonicalVersion4Format) {
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(IsCanonicalV4(id)) << id;
    ASSERT_TRUE(IsUuid(id)) << id;
  }
  EXPECT_FALSE(IsCanonicalV4("123e4567-e89b-12d3-a456-426614174000"));  // version 1
  EXPECT_FALSE(IsCanonicalV4("123e4567-e89b-42d3-c456-426614174000"));  // bad variant
}

TEST(UuidTest, TimeOrderedIsVersion7WithTheTimeInFront) {
  const int64_t ms = 0x0193a1b2c3d4;  // 2024-12
  const std::string id = NewTimeOrderedUuid(ms);
  ASSERT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id.substr(0, 8), "0193a1b2") << id;
  EXPECT_EQ(id.substr(9, 4), "c3d4") << id;
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  // Later milliseconds sort later, whatever the random bits; the same
  // millisecond still gives distinct ids.
  std::string prev = NewTimeOrderedUuid(ms);
  for (int64_t t = ms + 1; t < ms + 2000; ++t) {
    std::string next = NewTimeOrderedUuid(t);
    ASSERT_LT(prev, next);
    prev = next;
  }
  std::set<std::string> same;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(same.insert(NewTimeOrderedUuid(ms)).second);
  // Only the low 48 bits of the time are kept (the year 10889 wraps).
  EXPECT_EQ(NewTimeOrderedUuid(ms + (int64_t{1} << 48)).substr(0, 13), id.substr(0, 13));
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
