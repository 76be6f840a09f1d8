#include "worker/worker_state.h"

#include <gtest/gtest.h>

#include <vector>

#include "worker/backoff.h"

namespace vigil::worker {
namespace {

using S = WorkerState;

struct Recorder {
  std::vector<std::pair<S, S>> seen;
  WorkerStateMachine::Observer observer() {
    return [this](S from, S to, const std::string&) { seen.emplace_back(from, to); };
  }
};

TEST(WorkerStateMachineTest, HappyPathWithReconnectAndDrain) {
  Recorder r;
  WorkerStateMachine m(r.observer());
  EXPECT_EQ(m.state(), S::kStarting);
  for (S s : {S::kConnecting, S::kRegistering, S::kRunning, S::kReconnecting, S::kRunning, S::kReconnecting,
              S::kRunning, S::kDraining, S::kStopped}) {
    ASSERT_TRUE(m.TransitionTo(s, "test").ok()) << WorkerStateName(s);
  }
  EXPECT_TRUE(m.terminal());
  EXPECT_EQ(r.seen.size(), 9u);
  EXPECT_EQ(r.seen[3], std::make_pair(S::kRunning, S::kReconnecting));
}

TEST(WorkerStateMachineTest, SameStateIsNotATransitionAndIsNotLoggedTwice) {
  Recorder r;
  WorkerStateMachine m(r.observer());
  ASSERT_TRUE(m.TransitionTo(S::kConnecting, "a").ok());
  ASSERT_TRUE(m.TransitionTo(S::kConnecting, "again").ok());
  ASSERT_TRUE(m.TransitionTo(S::kReconnecting, "refused").ok());
  ASSERT_TRUE(m.TransitionTo(S::kReconnecting, "refused again").ok());
  EXPECT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(m.transitions(), 2);
}

TEST(WorkerStateMachineTest, RejectsTransitionsNotInTheDiagram) {
  WorkerStateMachine m([](S, S, const std::string&) {});
  EXPECT_EQ(m.TransitionTo(S::kRunning, "skip registration").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(m.state(), S::kStarting);
  EXPECT_FALSE(IsAllowedTransition(S::kRunning, S::kRegistering));
  EXPECT_FALSE(IsAllowedTransition(S::kDraining, S::kRunning));
  EXPECT_TRUE(IsAllowedTransition(S::kReconnecting, S::kDraining));
}

TEST(WorkerStateMachineTest, FailedAndStoppedAreTerminal) {
  WorkerStateMachine m([](S, S, const std::string&) {});
  ASSERT_TRUE(m.TransitionTo(S::kConnecting, "").ok());
  ASSERT_TRUE(m.TransitionTo(S::kFailed, "401").ok());
  EXPECT_TRUE(m.terminal());
  for (S s : {S::kConnecting, S::kReconnecting, S::kRunning, S::kDraining, S::kStopped}) {
    EXPECT_FALSE(m.TransitionTo(s, "").ok()) << WorkerStateName(s);
  }
  EXPECT_EQ(m.state(), S::kFailed);
}

TEST(WorkerStateMachineTest, NamesMatchTheProtocol) {
  EXPECT_EQ(WorkerStateName(S::kReconnecting), "reconnecting");
  EXPECT_EQ(WorkerStateName(S::kDraining), "draining");
  EXPECT_EQ(WorkerStateName(S::kFailed), "failed");
}

TEST(BackoffTest, GrowsExponentiallyWithJitterUpToTheCap) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(100), milliseconds(5000), 2.0, 0.5, 42);
  std::vector<int64_t> d;
  for (int i = 0; i < 10; ++i) d.push_back(b.Next().count());
  for (int i = 0; i < 10; ++i) {
    double base = std::min(100.0 * (1 << i), 5000.0);
    EXPECT_GE(d[i], static_cast<int64_t>(base * 0.5) - 1) << i;
    EXPECT_LE(d[i], static_cast<int64_t>(base)) << i;
  }
  EXPECT_GT(d[5], d[0]);
  b.Reset();
  EXPECT_LE(b.Next().count(), 100);
  // Two workers with different seeds do not retry in lock step.
  Backoff a(milliseconds(1000), milliseconds(5000), 2.0, 0.5, 1), c(milliseconds(1000), milliseconds(5000), 2.0, 0.5, 2);
  bool differ = false;
  for (int i = 0; i < 5; ++i) differ |= a.Next() != c.Next();
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace vigil::worker
