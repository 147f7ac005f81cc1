// Payment's reactions to rental and returns events (issue 3), over a real
// nats-server and real RocksDB.

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "integration/payment_replica.h"
#include "integration/payment_test_support.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::payment::testing {
namespace {

using Code = grpc::StatusCode;

std::string FeeId(const std::string& rental_id) {
  return DerivedId("pay-", {rental_id, "RENTAL_FEE"});
}

class PaymentReactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = rentmesh::testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
    auto js = nats::JetStream::Connect(nats_->url(), "rental-and-returns", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    producer_ = std::move(*js);
    // The owners' streams, as the rental and returns services declare them.
    ASSERT_TRUE(producer_->EnsureStream(RentalStreamSpec(1)).ok());
    ASSERT_TRUE(producer_->EnsureStream(ReturnsStreamSpec(1)).ok());
    // The book every test rents (RENTAL sequence 1).
    PublishRental(BookAddedEvent("book-1", 1000), "book-1");
  }

  std::unique_ptr<PaymentReplica> StartReplica(const std::string& name, bool reactions = true) {
    PaymentReplica::Options options;
    options.reactions = reactions;
    auto r = PaymentReplica::Start(nats_->url(), dir_.Sub(name), options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  void PublishRental(events::v1::Envelope e, const std::string& rental_id, bool copy = false) {
    ASSERT_TRUE(PublishEvent(*producer_, std::move(e), "rental.book.book-1", rental_id, copy).ok());
  }
  // RentalRequested + BookRented: the rental is RENTED.
  void PublishRented(const std::string& rental_id, int64_t fee) {
    PublishRental(RentalRequestedEvent(rental_id, fee), rental_id);
    PublishRental(BookRentedEvent(rental_id), rental_id);
  }
  void PublishReturn(events::v1::Envelope e, const std::string& rental_id, bool copy = false) {
    ASSERT_TRUE(PublishEvent(*producer_, std::move(e), absl::StrCat("returns.rental.", rental_id),
                             rental_id, copy)
                    .ok());
  }

  int Count(const std::string& type, const std::string& rental_id = "") {
    return CountPaymentEvents(*producer_, type,
                              rental_id.empty() ? "" : AggregateSubject(rental_id));
  }

  // Waits until the durable has nothing left to deliver or to be acknowledged.
  // (Asks the server directly: DurableConsumer::Pending() fails with "Invalid
  // Subscription" once the durable was bound by an earlier instance.)
  bool Drained(const std::string& durable) {
    return WaitUntil(
        [&] {
          absl::StatusOr<uint64_t> pending =
              DurablePending(*producer_, events::kRentalStream, durable);
          return pending.ok() && *pending == 0;
        },
        absl::Seconds(15));
  }

  rentmesh::testing::TempDir dir_;
  std::unique_ptr<rentmesh::testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> producer_;
};

TEST_F(PaymentReactionsTest, FiftyCancellationsMissedWhilePaymentWasDownAreRefundedOnceEach) {
  constexpr int kRentals = 50;
  {
    auto payment = StartReplica("a");
    ASSERT_NE(payment, nullptr);
    for (int i = 0; i < kRentals; ++i) {
      ASSERT_TRUE(
          Pay(payment->stub(), PayRequestFor(absl::StrCat("rent-c-", i), 1000 + i)).status.ok());
    }
  }  // payment stops; its durable stays on the server
  for (int i = 0; i < kRentals; ++i) {
    const std::string rental = absl::StrCat("rent-c-", i);
    PublishRented(rental, 1000 + i);
    PublishRental(RentalCancelledEvent(rental, 1000 + i), rental);
  }
  EXPECT_EQ(Count("PaymentRefunded"), 0);

  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return Count("PaymentRefunded") >= kRentals; }, absl::Seconds(20)));
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(Count("PaymentRefunded"), kRentals);
  for (int i = 0; i < kRentals; i += 7) {
    Call seen = GetPayment(payment->stub(), FeeId(absl::StrCat("rent-c-", i)));
    ASSERT_TRUE(seen.status.ok());
    EXPECT_EQ(seen.payment.status(), v1::PAYMENT_STATUS_REFUNDED);
    EXPECT_EQ(seen.payment.refunded().amount_minor(), 1000 + i);
  }
}

TEST_F(PaymentReactionsTest, TheSameCancellationDeliveredTwiceRefundsOnce) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-dup", 800)).status.ok());
  PublishRented("rent-dup", 800);
  PublishRental(RentalCancelledEvent("rent-dup", 800), "rent-dup", /*copy=*/true);
  ASSERT_TRUE(
      WaitUntil([&] { return payment->consumers()->rental().handled() >= 5; }, absl::Seconds(15)));
  // The copy (same event id) is not effective a second time.
  EXPECT_EQ(payment->reactions()->ineffective(), 1u);
  EXPECT_EQ(Count("PaymentRefunded", "rent-dup"), 1);
  // The refund's causation is the cancellation event.
  auto messages = ReadStream(*producer_, events::kPaymentStream, AggregateSubject("rent-dup"));
  ASSERT_TRUE(messages.ok());
  auto refund = events::ParseEnvelope(messages->back());
  ASSERT_TRUE(refund.ok());
  EXPECT_EQ(refund->event_type(), "PaymentRefunded");
  EXPECT_EQ(refund->correlation_id(), "rent-dup");
  EXPECT_TRUE(absl::StartsWith(refund->causation_id(), "evt-"));
  EXPECT_FALSE(refund->trace().traceparent().empty());
}

TEST_F(PaymentReactionsTest, TwoReplicasSharingTheDurableHandleEachCancellationOnce) {
  constexpr int kRentals = 40;
  auto a = StartReplica("a");
  auto b = StartReplica("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < kRentals; ++i) {
    auto& stub = i % 2 == 0 ? a->stub() : b->stub();
    ASSERT_TRUE(Pay(stub, PayRequestFor(absl::StrCat("rent-2r-", i), 500)).status.ok());
  }
  for (int i = 0; i < kRentals; ++i) {
    const std::string rental = absl::StrCat("rent-2r-", i);
    PublishRented(rental, 500);
    PublishRental(RentalCancelledEvent(rental, 500), rental);
  }
  EXPECT_TRUE(WaitUntil(
      [&] {
        return a->consumers()->rental().handled() + b->consumers()->rental().handled() >=
               static_cast<uint64_t>(3 * kRentals + 1);
      },
      absl::Seconds(20)));
  EXPECT_EQ(a->consumers()->rental().handled() + b->consumers()->rental().handled(),
            static_cast<uint64_t>(3 * kRentals + 1));
  EXPECT_EQ(a->consumers()->rental().redelivered() + b->consumers()->rental().redelivered(), 0u);
  EXPECT_EQ(Count("PaymentRefunded"), kRentals);
}

TEST_F(PaymentReactionsTest, RentalAbortedAfterAnApprovedPayVoidsItWithTheAmountReversed) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-ab", 1200)).status.ok());
  PublishRental(RentalRequestedEvent("rent-ab", 1200), "rent-ab");
  PublishRental(RentalAbortedEvent("rent-ab", "alice"), "rent-ab");
  ASSERT_TRUE(WaitUntil([&] { return Count("PaymentVoided", "rent-ab") == 1; }, absl::Seconds(15)));
  Call seen = GetPayment(payment->stub(), FeeId("rent-ab"));
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.payment.status(), v1::PAYMENT_STATUS_VOIDED);
  EXPECT_EQ(seen.payment.refunded().amount_minor(), 1200);
  auto messages = ReadStream(*producer_, events::kPaymentStream, AggregateSubject("rent-ab"));
  ASSERT_TRUE(messages.ok());
  auto voided = events::ParseEnvelope(messages->back());
  ASSERT_TRUE(voided.ok());
  EXPECT_EQ(voided->payment_voided().amount_reversed().amount_minor(), 1200);
  // The rental service's retry of Pay learns that the rental was abandoned.
  Call late = Pay(payment->stub(), PayRequestFor("rent-ab", 1200));
  EXPECT_EQ(late.status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_NE(late.status.error_message().find("reversed"), std::string::npos);
}

TEST_F(PaymentReactionsTest, RentalAbortedBeforeAnyPayLeavesATombstoneSoTheLatePayIsDeclined) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  PublishRental(RentalRequestedEvent("rent-tomb", 1200), "rent-tomb");
  PublishRental(RentalAbortedEvent("rent-tomb", "alice"), "rent-tomb");
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentVoided", "rent-tomb") == 1; }, absl::Seconds(15)));
  Call late = Pay(payment->stub(), PayRequestFor("rent-tomb", 1200));
  EXPECT_EQ(late.status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_EQ(late.status.error_message(), "the rental was abandoned; nothing was charged");
  EXPECT_EQ(Count("PaymentApproved", "rent-tomb"), 0);
  // Aborted again (the rental's reconciler): ineffective, nothing more is written.
  PublishRental(RentalAbortedEvent("rent-tomb", "alice"), "rent-tomb");
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(Count("PaymentVoided", "rent-tomb"), 1);
  EXPECT_EQ(payment->reactions()->ineffective(), 1u);
}

TEST_F(PaymentReactionsTest, BookReturnedWithAFeeChargesOneLateFeeEvenWhenRedelivered) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-late", 1000)).status.ok());
  PublishRented("rent-late", 1000);
  PublishRental(BookReturnedEvent("rent-late", "ret-1", 600), "rent-late", /*copy=*/true);
  PublishRented("rent-free", 1000);
  PublishRental(BookReturnedEvent("rent-free", "ret-2", 0), "rent-free");
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(Count("LateFeeCharged", "rent-late"), 1);
  EXPECT_EQ(Count("LateFeeCharged"), 1);

  grpc::ClientContext ctx;
  v1::ListRentalPaymentsRequest req;
  req.set_rental_id("rent-late");
  v1::ListRentalPaymentsResponse resp;
  ASSERT_TRUE(payment->stub().ListRentalPayments(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.payments_size(), 2);
  EXPECT_EQ(resp.payments(0).kind(), v1::PAYMENT_KIND_RENTAL_FEE);
  EXPECT_EQ(resp.payments(1).kind(), v1::PAYMENT_KIND_LATE_FEE);
  EXPECT_EQ(resp.payments(1).status(), v1::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(resp.payments(1).amount().amount_minor(), 600);
  // The same id as when it was charged on ReturnCompleted: history charged
  // before is not charged again.
  EXPECT_EQ(resp.payments(1).payment_id(), DerivedId("pay-", {"rent-late", "LATE_FEE", "ret-1"}));
}

TEST_F(PaymentReactionsTest, ALoneReturnCompletedChargesNothing) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-lost", 1000)).status.ok());
  PublishRented("rent-lost", 1000);
  // returns recorded the return, but the rental's own transition never came
  // (it lost a race with a cancel, or rental crashed).
  PublishReturn(ReturnCompletedEvent("rent-lost", "ret-9", 600), "rent-lost");
  PublishRental(RentalCancelledEvent("rent-lost", 1000), "rent-lost");
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentRefunded", "rent-lost") == 1; }, absl::Seconds(15)));
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Count("LateFeeCharged"), 0);
}

TEST_F(PaymentReactionsTest, ACancelAfterTheReturnOfTheSameRentalIsNotRefunded) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-race", 900)).status.ok());
  PublishRented("rent-race", 900);
  // The stream holds both (as a 3-node cluster was seen storing): the return
  // won, the cancel that follows does not apply.
  PublishRental(BookReturnedEvent("rent-race", "ret-r", 0), "rent-race");
  PublishRental(RentalCancelledEvent("rent-race", 900), "rent-race");
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(Count("PaymentRefunded"), 0);
  EXPECT_EQ(payment->reactions()->ineffective(), 1u);
  EXPECT_EQ(payment->consumers()->rental().dead_lettered(), 0u);
  Call seen = GetPayment(payment->stub(), FeeId("rent-race"));
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.payment.status(), v1::PAYMENT_STATUS_APPROVED);
}

TEST_F(PaymentReactionsTest, ACancelOfARentalThatNeverHeldACopyIsNotRefunded) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  // One copy, two requests stored (the second beyond the copies, as a
  // cluster's late-stored append can leave it): the shared rules make the
  // second and everything after it ineffective, as in rental's own fold.
  const std::string subject = "rental.book.book-2";
  auto publish = [&](events::v1::Envelope e, const std::string& rental) {
    ASSERT_TRUE(PublishEvent(*producer_, std::move(e), subject, rental, false).ok());
  };
  auto on_book_2 = [](events::v1::Envelope e) {
    if (e.has_rental_requested()) e.mutable_rental_requested()->set_book_id("book-2");
    if (e.has_book_rented()) e.mutable_book_rented()->set_book_id("book-2");
    if (e.has_rental_cancelled()) e.mutable_rental_cancelled()->set_book_id("book-2");
    return e;
  };
  publish(BookAddedEvent("book-2", 1), "book-2");
  for (const std::string rental : {"rent-one", "rent-two"}) {
    ASSERT_TRUE(Pay(payment->stub(), PayRequestFor(rental, 400)).status.ok());
    publish(on_book_2(RentalRequestedEvent(rental, 400)), rental);
    publish(on_book_2(BookRentedEvent(rental)), rental);
  }
  publish(on_book_2(RentalCancelledEvent("rent-two", 400)), "rent-two");
  publish(on_book_2(RentalCancelledEvent("rent-one", 400)), "rent-one");
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentRefunded", "rent-one") == 1; }, absl::Seconds(15)));
  ASSERT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(Count("PaymentRefunded", "rent-two"), 0);
  EXPECT_EQ(payment->reactions()->ineffective(), 1u);
  EXPECT_EQ(*payment->rental_status()->PhaseOf("rent-two"), rules::RentalPhase::kAbsent);
  EXPECT_EQ(*payment->rental_status()->PhaseOf("rent-one"), rules::RentalPhase::kCancelled);
}

TEST_F(PaymentReactionsTest, ACancelWhoseChargeIsNotKnownYetIsRetriedUntilItIsThenRefunded) {
  // Seen on a cluster: the replica's PAYMENT state lags the charge (a node cut
  // off from its peers). The cancel applied, so the fee was charged: waiting
  // for it is right, dead-lettering it ("no fee to refund") was not.
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  PublishRented("rent-lag", 700);
  PublishRental(RentalCancelledEvent("rent-lag", 700), "rent-lag");
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(payment->consumers()->rental().dead_lettered(), 0u);
  EXPECT_EQ(Count("PaymentRefunded", "rent-lag"), 0);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-lag", 700)).status.ok());
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentRefunded", "rent-lag") == 1; }, absl::Seconds(15)));
  EXPECT_TRUE(Drained(PaymentReactionConsumers::kRentalDurable));
  EXPECT_EQ(payment->consumers()->rental().dead_lettered(), 0u);
  EXPECT_EQ(Count("PaymentRefunded", "rent-lag"), 1);
}

// A reaction the durable consumer never did (here: it gave up and
// dead-lettered it; on a cluster: a consumer on a diverged, shorter copy of
// RENTAL never delivered it) is done by the reconciler from payment's own fold
// of RENTAL, once, without a replay.
TEST_F(PaymentReactionsTest, AReactionTheDurableNeverDidIsDoneByTheReconcilerOnce) {
  PaymentReplica::Options options;
  options.reactions = true;
  options.max_deliver = 3;
  options.reconcile_after = absl::Seconds(1);
  auto started = PaymentReplica::Start(nats_->url(), dir_.Sub("a"), options);
  ASSERT_TRUE(started.ok()) << started.status();
  auto payment = std::move(*started);
  PublishRented("rent-rc", 700);
  PublishRental(RentalCancelledEvent("rent-rc", 700), "rent-rc");
  ASSERT_TRUE(WaitUntil([&] { return payment->consumers()->rental().dead_lettered() == 1; },
                        absl::Seconds(15)));
  EXPECT_EQ(Count("PaymentRefunded", "rent-rc"), 0);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-rc", 700)).status.ok());
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentRefunded", "rent-rc") == 1; }, absl::Seconds(15)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto due = payment->rental_status()->DueReactions(absl::InfiniteFuture(), 10);
        return due.ok() && due->empty();
      },
      absl::Seconds(15)));
  EXPECT_GE(payment->reconciler()->redriven(), 1u);
  absl::SleepFor(absl::Milliseconds(500));  // rounds that find nothing due
  EXPECT_EQ(Count("PaymentRefunded", "rent-rc"), 1);
}

TEST_F(PaymentReactionsTest, ADeadLetterReplayedAfterTheCauseIsFixedRefundsOnceAndIsRemoved) {
  PaymentReplica::Options options;
  options.reactions = true;
  options.max_deliver = 3;  // so the wait for a charge that never comes ends here
  auto started = PaymentReplica::Start(nats_->url(), dir_.Sub("a"), options);
  ASSERT_TRUE(started.ok()) << started.status();
  auto payment = std::move(*started);
  // Cancelled while payment knows of no fee: retried, then dead-lettered.
  PublishRented("rent-dl", 700);
  PublishRental(RentalCancelledEvent("rent-dl", 700), "rent-dl");
  ASSERT_TRUE(WaitUntil([&] { return payment->consumers()->rental().dead_lettered() == 1; },
                        absl::Seconds(15)));
  auto letters = payment->consumers()->rental().DeadLetters();
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().stream, events::kRentalStream);
  EXPECT_EQ(letters->front().original_sequence, 4u);
  EXPECT_EQ(letters->front().consumer, PaymentReactionConsumers::kRentalDurable);
  EXPECT_EQ(letters->front().deliveries, 3u);

  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-dl", 700)).status.ok());
  ASSERT_TRUE(payment->consumers()->rental().Replay(letters->front().sequence).ok());
  EXPECT_EQ(Count("PaymentRefunded", "rent-dl"), 1);
  EXPECT_TRUE(payment->consumers()->rental().DeadLetters()->empty());
  // Re-driven, not appended again: RENTAL still holds four events.
  EXPECT_EQ(*producer_->LastSequence(events::kRentalStream), 4u);
  // A retried replay finds nothing to do.
  EXPECT_EQ(payment->consumers()->rental().Replay(letters->front().sequence).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("PaymentRefunded", "rent-dl"), 1);
}

TEST_F(PaymentReactionsTest, OtherRentalEventsAreAcknowledgedAndIgnored) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  events::v1::Envelope rented;
  rented.mutable_book_rented()->set_rental_id("rent-x");
  PublishRental(rented, "rent-x");
  ASSERT_TRUE(
      WaitUntil([&] { return payment->consumers()->rental().handled() >= 1; }, absl::Seconds(15)));
  EXPECT_EQ(payment->consumers()->rental().dead_lettered(), 0u);
  EXPECT_EQ(*producer_->LastSequence(events::kPaymentStream), 0u);
}

TEST_F(PaymentReactionsTest, APoisonMessageIsDeadLetteredAtOnceAndCountedWithoutBlocking) {
  auto payment = StartReplica("a");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(Pay(payment->stub(), PayRequestFor("rent-after", 300)).status.ok());
  nats::PublishRequest junk;
  junk.subject = "rental.book.X";
  junk.data = "\xff\xff not an envelope";
  ASSERT_TRUE(producer_->Publish(junk).ok());
  // A well-formed event from a producer that does not own RENTAL.
  events::v1::Envelope foreign = RentalCancelledEvent("rent-after", 300);
  events::EnvelopeHeader header;
  header.producer = "view";
  header.occurred_at = absl::Now();
  events::Seal(header, foreign);
  ASSERT_TRUE(
      producer_->Publish(events::ToPublishRequest(foreign, "rental.book.X", std::nullopt)).ok());
  // The consumer goes on: a later cancel is refunded.
  PublishRented("rent-after", 300);
  PublishRental(RentalCancelledEvent("rent-after", 300), "rent-after");
  ASSERT_TRUE(
      WaitUntil([&] { return Count("PaymentRefunded", "rent-after") == 1; }, absl::Seconds(15)));
  EXPECT_EQ(payment->consumers()->rental().dead_lettered(), 2u);
  EXPECT_EQ(payment->consumers()->rental().redelivered(), 0u);  // at once, not after retries
  EXPECT_EQ(payment->reactions()->untrusted(), 2u);
  auto letters = payment->consumers()->rental().DeadLetters();
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 2u);
  EXPECT_EQ((*letters)[0].subject, "rental.book.X");
  EXPECT_EQ((*letters)[0].original_sequence, 2u);
  EXPECT_NE((*letters)[1].error.find("PERMISSION_DENIED"), std::string::npos)
      << (*letters)[1].error;
}

}  // namespace
}  // namespace rentmesh::payment::testing
