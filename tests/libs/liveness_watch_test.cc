#include "rentmesh/telemetry/liveness_watch.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::telemetry {
namespace {

TEST(LivenessWatchTest, AWorkPoolThatDoesNotDrainIsWedgedUntilItDrainsAgain) {
  WorkPool pool(1, 16);
  absl::Notification release;
  ASSERT_TRUE(pool.TrySubmit([&] { release.WaitForNotification(); }));
  ASSERT_TRUE(pool.TrySubmit([] {}));  // queued behind the stuck one
  LivenessWatch watch({absl::Milliseconds(200), absl::Seconds(60), absl::Seconds(1)});
  watch.WatchWorkPool(pool, "grpc");
  EXPECT_TRUE(watch.Check().ok());
  absl::SleepFor(absl::Milliseconds(300));
  absl::Status wedged = watch.Check();
  EXPECT_EQ(wedged.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(wedged.message().find("work pool grpc not draining"), std::string::npos) << wedged;
  release.Notify();
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (pool.InFlight() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(watch.Check().ok());
}

TEST(LivenessWatchTest, AFollowerWithPendingMessagesAndNoProgressIsWedgedButAnIdleOneIsNot) {
  auto server = testing::NatsServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto js = nats::JetStream::Connect((*server)->url(), "test", absl::Seconds(5));
  ASSERT_TRUE(js.ok()) << js.status();
  ASSERT_TRUE((*js)->EnsureStream({"W", {"w.>"}, 1, absl::Minutes(2)}).ok());
  std::atomic<bool> stuck{false};
  absl::Notification unblock;
  auto follower = nats::StreamFollower::Start(**js, {"W", "w.>", 0, 8},
                                              [&](const std::vector<nats::StreamMessage>&) {
                                                if (stuck) unblock.WaitForNotification();
                                                return absl::OkStatus();
                                              });
  ASSERT_TRUE(follower.ok()) << follower.status();
  nats::PublishRequest r;
  r.subject = "w.a";
  r.data = "1";
  ASSERT_TRUE((*js)->Publish(r).ok());
  ASSERT_TRUE((*follower)->WaitApplied(1, absl::Now() + absl::Seconds(5)).ok());

  LivenessWatch watch({absl::Seconds(30), absl::Milliseconds(200), absl::Seconds(1)});
  watch.WatchFollower(**js, **follower, "W");
  EXPECT_TRUE(watch.Check().ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(watch.Check().ok()) << "idle, nothing pending";

  stuck = true;  // the handler hangs: messages pile up unapplied
  ASSERT_TRUE((*js)->Publish(r).ok());
  ASSERT_TRUE((*js)->Publish(r).ok());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(watch.Check().ok());
  absl::SleepFor(absl::Milliseconds(300));
  absl::Status wedged = watch.Check();
  EXPECT_EQ(wedged.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(wedged.message().find("follower of W stalled"), std::string::npos) << wedged;
  stuck = false;
  unblock.Notify();
  ASSERT_TRUE((*follower)->WaitApplied(3, absl::Now() + absl::Seconds(5)).ok());
  EXPECT_TRUE(watch.Check().ok());
}

}  // namespace
}  // namespace rentmesh::telemetry
