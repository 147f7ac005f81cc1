#include "rentmesh/nats/jetstream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/test_env.h"

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

  // Starts a follower on T whose deliveries pass through `tamper`; what it
  // applies is in Applied().
  absl::StatusOr<std::unique_ptr<StreamFollower>> FollowTampered(
      size_t max_batch, std::function<void(StreamMessage&)> tamper) {
    StreamFollower::Options opts{"T", "t.>", 0, max_batch};
    opts.tamper_delivery = std::move(tamper);
    return StreamFollower::Start(*js_, opts, [this](const std::vector<StreamMessage>& batch) {
      absl::MutexLock lock(&applied_mu_);
      for (const auto& m : batch) applied_.push_back(m.data);
      return absl::OkStatus();
    });
  }

  // Publishes `data` on t.a and has a durable consumer named `durable`, whose
  // deliveries pass through `tamper`, handle all of it; returns what its
  // handler saw, in order, and sets `diverged` to the consumer's count.
  std::vector<std::string> HandleTampered(const std::string& durable,
                                          const std::vector<std::string>& data,
                                          std::function<void(StreamMessage&)> tamper,
                                          uint64_t& diverged) {
    for (const auto& d : data) EXPECT_TRUE(js_->Publish(Msg("t.a", d)).ok());
    DurableConsumer::Options opts;
    opts.stream = "T";
    opts.durable = durable;
    opts.filter_subject = "t.a";
    opts.fetch_wait = absl::Milliseconds(100);
    opts.tamper_delivery = std::move(tamper);
    auto consumer = DurableConsumer::Start(*js_, opts, [this](const StreamMessage& m) {
      absl::MutexLock lock(&applied_mu_);
      applied_.push_back(m.data);
      return absl::OkStatus();
    });
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return {};
    EXPECT_TRUE(testing::Eventually([&] { return (*consumer)->handled() >= data.size(); }));
    diverged = (*consumer)->diverged();
    return Applied();
  }

  std::vector<std::string> Applied() {
    absl::MutexLock lock(&applied_mu_);
    return applied_;
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<JetStream> js_;
  absl::Mutex applied_mu_;
  std::vector<std::string> applied_ ABSL_GUARDED_BY(applied_mu_);
};

// Stamps a message 5 s before it was stored and alters it: an old leader's
// stale proposal.
void MakeStale(StreamMessage& m) {
  m.data = "stale";
  m.timestamp_ns -= absl::ToInt64Nanoseconds(absl::Seconds(5));
}

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

TEST(FromNatsStatusTest, AClusterThatCannotAnswerNowIsUnavailableNotInternal) {
  // "JetStream system temporarily unavailable" and its kin are retried by
  // callers (UNAVAILABLE); other JetStream errors stay INTERNAL.
  for (jsErrCode e :
       {JSClusterNotAvailErr, JSClusterNotLeaderErr, JSStreamOfflineErr, JSConsumerOfflineErr}) {
    EXPECT_EQ(FromNatsStatus(NATS_ERR, e, "get message").code(), absl::StatusCode::kUnavailable)
        << e;
  }
  EXPECT_EQ(FromNatsStatus(NATS_ERR, JSStreamNameExistErr, "create").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(FromNatsStatus(NATS_ERR, kWrongLastSequence, "publish").code(),
            absl::StatusCode::kAborted);
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

// Delivery that skips part of the stream (seen from an ordered consumer on a
// cluster around a partition) must not make the projection skip it: the
// follower reads what is missing by sequence. A subscription on part of the
// stream stands in for such a delivery here: t.a is delivered, t.b never is.
TEST_F(JetStreamTest, FollowerReadsWhatDeliverySkippedAndAStalledTail) {
  absl::Mutex mu;
  std::vector<uint64_t> seen;
  auto follower =
      StreamFollower::Start(*js_, {"T", "t.a", 0, 8}, [&](const std::vector<StreamMessage>& batch) {
        absl::MutexLock lock(&mu);
        for (const auto& m : batch) seen.push_back(m.sequence);
        return absl::OkStatus();
      });
  ASSERT_TRUE(follower.ok()) << follower.status();
  for (const char* subject : {"t.a", "t.b", "t.b", "t.a", "t.a", "t.b"}) {
    ASSERT_TRUE(js_->Publish(Msg(subject, "x")).ok());
  }
  ASSERT_TRUE((*follower)->WaitApplied(5, absl::Now() + absl::Seconds(5)).ok());
  // Sequence 6 (t.b) is never delivered: catching up reads the tail.
  ASSERT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(10)).ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ((*follower)->gap_filled(), 3u);
}

// A delivery that never brings the tail (a stalled or diverged server; a
// subscription on part of the stream stands in for it, as above) is read by
// the follower itself, with nobody calling CatchUp.
TEST_F(JetStreamTest, FollowerReadsAStalledTailByItselfWhenNothingArrives) {
  StreamFollower::Options opts{"T", "t.a", 0, 8};
  opts.stall_check = absl::Milliseconds(200);
  auto follower = StreamFollower::Start(
      *js_, opts, [](const std::vector<StreamMessage>&) { return absl::OkStatus(); });
  ASSERT_TRUE(follower.ok()) << follower.status();
  ASSERT_TRUE(js_->Publish(Msg("t.a", "x")).ok());
  ASSERT_TRUE(js_->Publish(Msg("t.b", "never delivered")).ok());
  EXPECT_TRUE((*follower)->WaitApplied(2, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ((*follower)->gap_filled(), 1u);
}

// Concurrent CatchUp calls share questions to the leader, yet each sees every
// message stored before it called (here: its own publish).
TEST_F(JetStreamTest, ConcurrentCatchUpsShareQuestionsAndEachSeesWhatPrecededIt) {
  auto follower =
      StreamFollower::Start(*js_, {"T", "t.>", 0, 64},
                            [](const std::vector<StreamMessage>&) { return absl::OkStatus(); });
  ASSERT_TRUE(follower.ok()) << follower.status();
  constexpr int kThreads = 16;
  constexpr int kRounds = 40;
  std::atomic<int> stale{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        absl::StatusOr<PubAck> ack = js_->Publish(Msg("t.c", absl::StrCat(t, "/", i)));
        if (!ack.ok()) {
          ++failed;
          continue;
        }
        if (!(*follower)->CatchUp(absl::Now() + absl::Seconds(10)).ok()) {
          ++failed;
        } else if ((*follower)->applied() < ack->sequence) {
          ++stale;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stale.load(), 0) << "a CatchUp returned before its caller's own publish was applied";
  const uint64_t queries = (*follower)->end_queries();
  std::printf("%d CatchUp calls, %llu questions to the leader\n", kThreads * kRounds,
              static_cast<unsigned long long>(queries));
  EXPECT_LT(queries, static_cast<uint64_t>(kThreads * kRounds));
}

// On a cluster a replica can keep another history than its peers after a
// partition (docs/cluster.md case 7), and an ordered consumer living on it
// delivers that history. Altering what delivery hands over stands in for such
// a server: the follower must apply the leader's messages.
TEST_F(JetStreamTest, FollowerAppliesTheLeadersMessagesWhereTheDeliveringServerHoldsAnother) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(js_->Publish(Msg("t.x", std::to_string(i))).ok());
  auto follower = FollowTampered(4, [](StreamMessage& m) {
    if (m.sequence >= 6) m.data = "diverged " + m.data;
  });
  ASSERT_TRUE(follower.ok()) << follower.status();
  ASSERT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Applied(),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}));
  EXPECT_GE((*follower)->replaced_from_leader(), 1u);
  // From then on every message is the leader's, even where the delivered
  // batch would agree at its last message.
  for (int i = 11; i <= 14; ++i) ASSERT_TRUE(js_->Publish(Msg("t.x", std::to_string(i))).ok());
  ASSERT_TRUE((*follower)->WaitApplied(14, absl::Now() + absl::Seconds(10)).ok());
  const std::vector<std::string> applied = Applied();
  ASSERT_EQ(applied.size(), 14u);
  EXPECT_EQ(std::vector<std::string>(applied.begin() + 10, applied.end()),
            (std::vector<std::string>{"11", "12", "13", "14"}));
}

TEST_F(JetStreamTest, DurableConsumerHandlesTheLeadersMessageWhereTheDeliveringServerHoldsAnother) {
  uint64_t diverged = 0;
  EXPECT_EQ(HandleTampered(
                "checked", {"1", "2", "3", "4"},
                [](StreamMessage& m) {
                  if (m.sequence >= 3) m.data = "forged";
                },
                diverged),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_GE(diverged, 2u);
}

// A diverged replica can hold an old leader's stale proposal in the middle of
// the right history (docs/cluster.md case 8): the batch agrees with the leader
// at its last message, but one inside it was stamped seconds before its
// predecessor. The follower compares that one too and applies the leader's.
TEST_F(JetStreamTest, FollowerAppliesTheLeadersMessageWhereAStaleOneSitsInsideTheBatch) {
  for (int i = 1; i <= 8; ++i) ASSERT_TRUE(js_->Publish(Msg("t.x", std::to_string(i))).ok());
  auto follower = FollowTampered(64, [](StreamMessage& m) {
    if (m.sequence == 3) MakeStale(m);
  });
  ASSERT_TRUE(follower.ok()) << follower.status();
  ASSERT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Applied(), (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8"}));
  EXPECT_GE((*follower)->replaced_from_leader(), 1u);
}

TEST_F(JetStreamTest, DurableConsumerHandlesTheLeadersMessageWhereAStaleOneSitsInsideTheBatch) {
  uint64_t diverged = 0;
  EXPECT_EQ(HandleTampered(
                "stale-inside", {"1", "2", "3", "4"},
                [](StreamMessage& m) {
                  if (m.sequence == 2) MakeStale(m);
                },
                diverged),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(diverged, 1u);
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
  opts.backoff_initial = absl::Milliseconds(10);
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
  while ((*consumer)->dead_lettered() == 0 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(50));
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

using testing::Eventually;

DurableConsumer::Options QuickOptions(std::string durable) {
  DurableConsumer::Options opts;
  opts.stream = "T";
  opts.durable = std::move(durable);
  opts.filter_subject = "t.>";
  opts.fetch_wait = absl::Milliseconds(100);
  opts.backoff_initial = absl::Milliseconds(10);
  opts.backoff_max = absl::Milliseconds(40);
  return opts;
}

TEST(RedeliveryBackoffTest, DoublesFromTheInitialDelayUpToTheCap) {
  EXPECT_EQ(RedeliveryBackoff(1, absl::Milliseconds(100), absl::Seconds(30)),
            absl::Milliseconds(100));
  EXPECT_EQ(RedeliveryBackoff(2, absl::Milliseconds(100), absl::Seconds(30)),
            absl::Milliseconds(200));
  EXPECT_EQ(RedeliveryBackoff(9, absl::Milliseconds(100), absl::Seconds(30)),
            absl::Milliseconds(25600));
  EXPECT_EQ(RedeliveryBackoff(10, absl::Milliseconds(100), absl::Seconds(30)), absl::Seconds(30));
  EXPECT_EQ(RedeliveryBackoff(100000, absl::Milliseconds(100), absl::Seconds(30)),
            absl::Seconds(30));
  EXPECT_TRUE(IsPermanentError(absl::InvalidArgumentError("x")));
  EXPECT_TRUE(IsPermanentError(absl::PermissionDeniedError("x")));
  EXPECT_FALSE(IsPermanentError(absl::UnavailableError("x")));
  EXPECT_FALSE(IsPermanentError(absl::InternalError("x")));
  EXPECT_FALSE(IsPermanentError(absl::DeadlineExceededError("x")));
}

TEST_F(JetStreamTest, DurableConsumerRetriesATransientErrorPastFiveDeliveries) {
  ASSERT_TRUE(js_->Publish(Msg("t.a", "flaky")).ok());
  std::atomic<int> attempts{0};
  auto consumer = DurableConsumer::Start(*js_, QuickOptions("flaky"), [&](const StreamMessage&) {
    return ++attempts <= 8 ? absl::UnavailableError("payment down") : absl::OkStatus();
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->handled() == 1; }))
      << "attempts " << attempts.load() << " dead " << (*consumer)->dead_lettered();
  EXPECT_EQ(attempts.load(), 9);
  EXPECT_EQ((*consumer)->dead_lettered(), 0u);
  EXPECT_EQ((*consumer)->redelivered(), 8u);
}

TEST_F(JetStreamTest, DurableConsumerDeadLettersAPermanentErrorAtOnceWithItsOrigin) {
  ASSERT_TRUE(js_->Publish(Msg("t.a", "fine")).ok());
  ASSERT_TRUE(js_->Publish(Msg("t.b", "garbage")).ok());
  std::atomic<int> bad_attempts{0};
  auto consumer = DurableConsumer::Start(*js_, QuickOptions("perm"), [&](const StreamMessage& m) {
    if (m.data != "garbage") return absl::OkStatus();
    ++bad_attempts;
    return absl::InvalidArgumentError("not an envelope");
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(Eventually([&] { return (*consumer)->dead_lettered() == 1; }));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(bad_attempts.load(), 1);
  EXPECT_EQ((*consumer)->handled(), 1u);
  auto letters = (*consumer)->DeadLetters();
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 1u);
  const DeadLetter& d = letters->front();
  EXPECT_EQ(d.stream, "T");
  EXPECT_EQ(d.original_sequence, 2u);
  EXPECT_EQ(d.subject, "t.b");
  EXPECT_EQ(d.consumer, "perm");
  EXPECT_EQ(d.deliveries, 1u);
  EXPECT_NE(d.error.find("not an envelope"), std::string::npos) << d.error;
  EXPECT_EQ(*(*consumer)->Pending(), 0u);
}

TEST_F(JetStreamTest, DurableConsumerKeepsAMessageWhoseDeadLetterCannotBeStored) {
  std::atomic<int> attempts{0};
  // Past its own bound after two deliveries: the server must not stop
  // delivering it either while its dead letter cannot be stored.
  DurableConsumer::Options opts = QuickOptions("keep");
  opts.max_deliver = 2;
  auto consumer = DurableConsumer::Start(*js_, opts, [&](const StreamMessage&) {
    ++attempts;
    return absl::UnavailableError("dependency down");
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  // The dead-letter stream goes away: storing a dead letter fails.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_DeleteStream(js_->context(), DurableConsumer::kDeadLetterStream, nullptr, &jerr),
            NATS_OK);
  ASSERT_TRUE(js_->Publish(Msg("t.a", "refused")).ok());
  ASSERT_TRUE(Eventually([&] { return (*consumer)->dead_letter_failures() >= 3; }));
  EXPECT_EQ((*consumer)->dead_lettered(), 0u);
  EXPECT_GE(attempts.load(), 3);
  // Once the stream is back the message is dead-lettered, not lost.
  StreamSpec dl{DurableConsumer::kDeadLetterStream, {"deadletter.>"}, 1, absl::Minutes(2)};
  dl.discard_new = false;
  ASSERT_TRUE(js_->EnsureStream(dl).ok());
  ASSERT_TRUE(Eventually([&] { return (*consumer)->dead_lettered() == 1; }));
  auto letters = (*consumer)->DeadLetters();
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().original_sequence, 1u);
}

TEST_F(JetStreamTest, ReplayReDrivesADeadLetterThroughTheHandlerAndRemovesIt) {
  std::atomic<bool> broken{true};
  std::atomic<int> handled_ok{0};
  std::string seen;
  absl::Mutex mu;
  auto consumer = DurableConsumer::Start(*js_, QuickOptions("replay"), [&](const StreamMessage& m) {
    if (broken) return absl::NotFoundError("no such rental yet");
    absl::MutexLock lock(&mu);
    seen = m.subject + "=" + m.data;
    ++handled_ok;
    return absl::OkStatus();
  });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(js_->Publish(Msg("t.r", "refund")).ok());
  ASSERT_TRUE(Eventually([&] { return (*consumer)->dead_lettered() == 1; }));
  auto letters = (*consumer)->DeadLetters();
  ASSERT_TRUE(letters.ok() && letters->size() == 1u);
  const uint64_t dl_seq = letters->front().sequence;

  // Still failing: the dead letter stays.
  EXPECT_EQ((*consumer)->Replay(dl_seq).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*consumer)->DeadLetters()->size(), 1u);

  broken = false;
  ASSERT_TRUE((*consumer)->Replay(dl_seq).ok());
  EXPECT_EQ(handled_ok.load(), 1);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(seen, "t.r=refund");
  }
  EXPECT_TRUE((*consumer)->DeadLetters()->empty());
  // Not appended again to the original stream.
  EXPECT_EQ(*js_->LastSequence("T"), 1u);
  // Replaying again: the dead letter is gone.
  EXPECT_EQ((*consumer)->Replay(dl_seq).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*consumer)->Replay(999).code(), absl::StatusCode::kNotFound);
}

TEST_F(JetStreamTest, ABatchInHandDoesNotOutliveAckWait) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(js_->Publish(Msg("t.s", std::to_string(i))).ok());
  DurableConsumer::Options opts = QuickOptions("slow");
  opts.ack_wait = absl::Seconds(1);
  opts.batch = 6;
  std::atomic<int> calls{0};
  std::atomic<int> redelivered_seen{0};
  auto handler = [&](absl::Duration takes) {
    return [&, takes](const StreamMessage& m) {
      ++calls;
      if (m.num_delivered > 1) ++redelivered_seen;
      absl::SleepFor(takes);
      return absl::OkStatus();
    };
  };
  // One replica takes the whole batch and handles it slowly (6 x 400 ms >
  // AckWait); a second replica of the same durable is idle and would be
  // handed every message whose AckWait ran out while still in the first's hand.
  auto slow = DurableConsumer::Start(*js_, opts, handler(absl::Milliseconds(400)));
  ASSERT_TRUE(slow.ok()) << slow.status();
  ASSERT_TRUE(Eventually([&] { return calls.load() >= 1; }));
  DurableConsumer::Options fast_opts = opts;
  fast_opts.batch = 1;
  auto fast = DurableConsumer::Start(*js_, fast_opts, handler(absl::ZeroDuration()));
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(Eventually([&] { return (*slow)->handled() + (*fast)->handled() >= 6; }));
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(calls.load(), 6);
  EXPECT_EQ(redelivered_seen.load(), 0);
  EXPECT_EQ((*slow)->handled(), 6u);
}

TEST_F(JetStreamTest, AnOlderDurableIsBroughtToUnlimitedServerDeliveries) {
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = "old";
  cfg.FilterSubject = "t.>";
  cfg.AckPolicy = js_AckExplicit;
  cfg.MaxDeliver = 5;
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_AddConsumer(&info, js_->context(), "T", &cfg, nullptr, &jerr), NATS_OK);
  jsConsumerInfo_Destroy(info);
  auto consumer = DurableConsumer::Start(*js_, QuickOptions("old"),
                                         [](const StreamMessage&) { return absl::OkStatus(); });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  info = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&info, js_->context(), "T", "old", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(info->Config->MaxDeliver, -1);
  jsConsumerInfo_Destroy(info);
}

jsStreamConfig* ConfigOf(JetStream& js, const char* name, jsStreamInfo** info) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(info, js.context(), name, nullptr, &jerr) != NATS_OK) return nullptr;
  return (*info)->Config;
}

TEST_F(JetStreamTest, EnsureStreamSetsConfiguredLimitsAndKeepsTheOnesSetByHand) {
  StreamSpec spec{"L", {"l.>"}, 1, absl::Minutes(2)};
  spec.max_msgs = 100;
  ASSERT_TRUE(js_->EnsureStream(spec).ok());
  jsStreamInfo* info = nullptr;
  jsStreamConfig* cfg = ConfigOf(*js_, "L", &info);
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(cfg->MaxMsgs, 100);
  EXPECT_EQ(cfg->Discard, js_DiscardNew);
  // An operator sets a byte limit and an age by hand.
  jsStreamConfig by_hand = *cfg;
  by_hand.MaxBytes = 1 << 20;
  by_hand.MaxAge = absl::ToInt64Nanoseconds(absl::Hours(48));
  jsStreamInfo* updated = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_UpdateStream(&updated, js_->context(), &by_hand, nullptr, &jerr), NATS_OK);
  jsStreamInfo_Destroy(updated);
  jsStreamInfo_Destroy(info);

  // A restart with the same spec keeps them; a changed configured limit is applied.
  ASSERT_TRUE(js_->EnsureStream(spec).ok());
  spec.max_msgs = 200;
  spec.subjects = {"l.>", "l2.>"};
  ASSERT_TRUE(js_->EnsureStream(spec).ok());
  info = nullptr;
  cfg = ConfigOf(*js_, "L", &info);
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(cfg->MaxMsgs, 200);
  EXPECT_EQ(cfg->MaxBytes, 1 << 20);
  EXPECT_EQ(cfg->MaxAge, absl::ToInt64Nanoseconds(absl::Hours(48)));
  EXPECT_EQ(cfg->SubjectsLen, 2);
  jsStreamInfo_Destroy(info);
}

TEST_F(JetStreamTest, AFullStreamAnswersUnavailableAndIsReportedUntilItTakesMessagesAgain) {
  StreamSpec spec{"F", {"f.>"}, 1, absl::Minutes(2)};
  spec.max_msgs = 2;
  ASSERT_TRUE(js_->EnsureStream(spec).ok());
  ASSERT_TRUE(js_->Publish(Msg("f.a", "1")).ok());
  ASSERT_TRUE(js_->Publish(Msg("f.a", "2")).ok());
  EXPECT_TRUE(js_->StoreHealth().ok());
  auto full = js_->Publish(Msg("f.a", "3"));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kUnavailable) << full.status();
  EXPECT_NE(full.status().message().find("stream full"), std::string::npos) << full.status();
  EXPECT_EQ(js_->StoreHealth().code(), absl::StatusCode::kUnavailable);
  // History is kept (discard=new): the first message is still there.
  EXPECT_EQ(js_->GetMessage("F", 1)->data, "1");
  // Other subjects are not affected.
  EXPECT_TRUE(js_->Publish(Msg("t.a", "x")).ok());
  EXPECT_EQ(js_->StoreHealth().code(), absl::StatusCode::kUnavailable);

  spec.max_msgs = 10;
  ASSERT_TRUE(js_->EnsureStream(spec).ok());
  ASSERT_TRUE(js_->Publish(Msg("f.a", "3")).ok());
  EXPECT_TRUE(js_->StoreHealth().ok());
}

}  // namespace
}  // namespace rentmesh::nats
