#include "worker/worker_identity.h"

#include <gtest/gtest.h>

#include "worker/test_env_helpers.h"

namespace vigil::worker {
namespace {

TEST(WorkerIdentityTest, ConfiguredIdsRunSideBySideButNotTwice) {
  testing::TempDir dir;
  auto a = WorkerIdentity::Acquire("worker-001", dir.path());
  auto b = WorkerIdentity::Acquire("worker-002", dir.path());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->dir(), dir.path() + "/worker-001");
  EXPECT_NE(a->dir(), b->dir());
  auto dup = WorkerIdentity::Acquire("worker-001", dir.path());
  EXPECT_EQ(dup.status().code(), StatusCode::kFailedPrecondition);
}

TEST(WorkerIdentityTest, GeneratedIdIsPersistedAndReused) {
  testing::TempDir dir;
  std::string first;
  {
    auto a = WorkerIdentity::Acquire("", dir.path());
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->generated());
    EXPECT_EQ(a->id().rfind("worker-", 0), 0u);
    first = a->id();
    // A second worker without an id while the first runs gets its own.
    auto b = WorkerIdentity::Acquire("", dir.path());
    ASSERT_TRUE(b.ok());
    EXPECT_NE(b->id(), first);
  }
  auto again = WorkerIdentity::Acquire("", dir.path());
  ASSERT_TRUE(again.ok());
  // Either generated id may come back; it is one of the persisted ones.
  EXPECT_TRUE(again->generated());
  auto again2 = WorkerIdentity::Acquire("", dir.path());
  ASSERT_TRUE(again2.ok());
  EXPECT_TRUE(again->id() == first || again2->id() == first);
}

}  // namespace
}  // namespace vigil::worker
