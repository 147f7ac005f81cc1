#include "rentmesh/nats/jetstream.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::nats {
namespace {

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto js = JetStream::Connect(server_->url(), "test", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
    ASSERT_TRUE(js_->EnsureStream({"T", {"t.>"}, 1, absl::Minutes(2)}).ok());
  }

  PublishRequest Msg(std::string subject, std::string data, std::optional<uint64_t> expect = {}) {
    PublishRequest r;
    r.subject = std::move(subject);
    r.data = std::move(data);
    r.expected_last_subject_seq = expect;
    return r;
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<JetStream> js_;
};

TEST_F(JetStreamTest, ExpectedSubjectSequenceZeroAcceptsOnlyTheFirstWriter) {
  auto first = js_->Publish(Msg("t.a", "1", 0));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->sequence, 1u);
  auto second = js_->Publish(Msg("t.a", "2", 0));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted) << second.status();
  auto third = js_->Publish(Msg("t.a", "3", first->sequence));
  ASSERT_TRUE(third.ok()) << third.status();
  // Another subject is independent.
  EXPECT_TRUE(js_->Publish(Msg("t.b", "x", 0)).ok());
  EXPECT_EQ(*js_->LastSequence("T"), 3u);
}

TEST_F(JetStreamTest, RepeatedMsgIdIsStoredOnce) {
  PublishRequest r = Msg("t.a", "1");
  r.msg_id = "event-1";
  auto a = js_->Publish(r);
  auto b = js_->Publish(r);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(*js_->LastSequence("T"), 1u);
}

TEST_F(JetStreamTest, FollowerAppliesEverythingInOrderFromItsPosition) {
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(js_->Publish(Msg("t.x", std::to_string(i))).ok());
  absl::Mutex mu;
  std::vector<uint64_t> seen;
  auto follower = StreamFollower::Start(*js_, {"T", "t.>", 20, 8},
                                        [&](const std::vector<StreamMessage>& batch) {
                                          absl::MutexLock lock(&mu);
                                          for (const auto& m : batch) seen.push_back(m.sequence);
                                          return absl::OkStatus();
                                        });
  ASSERT_TRUE(follower.ok()) << follower.status();
  ASSERT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(5)).ok());
  for (int i = 51; i <= 60; ++i) ASSERT_TRUE(js_->Publish(Msg("t.y", std::to_string(i))).ok());
  ASSERT_TRUE((*follower)->WaitApplied(60, absl::Now() + absl::Seconds(5)).ok());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 40u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 21 + i);
  EXPECT_EQ((*follower)->WaitApplied(61, absl::Now() + absl::Milliseconds(50)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(JetStreamTest, DurableConsumerRetriesThenDeadLettersAPoisonMessage) {
  ASSERT_TRUE(js_->Publish(Msg("t.ok", "fine")).ok());
  ASSERT_TRUE(js_->Publish(Msg("t.bad", "poison")).ok());
  std::atomic<int> ok_count{0}, bad_attempts{0};
  DurableConsumer::Options opts;
  opts.stream = "T";
  opts.durable = "worker";
  opts.filter_subject = "t.>";
  opts.max_deliver = 3;
  opts.fetch_wait = absl::Milliseconds(100);
  auto consumer = DurableConsumer::Start(*js_, opts, [&](const StreamMessage& m) {
    if (m.data == "poison") {
      ++bad_attempts;
      return absl::InternalError("cannot handle");
    }
    ++ok_count;
    return absl::OkStatus();
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while ((*consumer)->dead_lettered() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ok_count.load(), 1);
  EXPECT_EQ(bad_attempts.load(), 3);
  EXPECT_EQ((*consumer)->dead_lettered(), 1u);
  EXPECT_EQ(*js_->LastSequence(DurableConsumer::kDeadLetterStream), 1u);
}

TEST_F(JetStreamTest, PublishFailsWithUnavailableWhileTheServerIsDown) {
  server_->Stop();
  PublishRequest r = Msg("t.a", "1");
  r.timeout = absl::Milliseconds(300);
  auto ack = js_->Publish(r);
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable) << ack.status();
  ASSERT_TRUE(server_->Restart().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<PubAck> again = absl::UnavailableError("not tried");
  while (!again.ok() && absl::Now() < deadline) {
    again = js_->Publish(r);
    if (!again.ok()) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace rentmesh::nats
