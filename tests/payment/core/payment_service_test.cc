#include "payment/core/payment_service.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "core/in_memory_payment_events.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::payment {
namespace {

using testing::FakePaymentIds;
using testing::InMemoryPaymentEvents;

class PaymentServiceTest : public ::testing::Test {
 protected:
  PaymentServiceTest()
      : clock_(absl::FromUnixSeconds(1'700'000'000)),
        service_(events_, events_, ids_, clock_, PaymentPolicy{1'000'000}) {}

  static PayCommand Cmd(std::string rental = "r1", int64_t amount = 1500) {
    return PayCommand{std::move(rental), "alice", Money{"KRW", amount}, ""};
  }
  static RequestContext Ctx() {
    RequestContext rc;
    rc.deadline = absl::Now() + absl::Seconds(5);
    rc.metadata.causation_id = "request:test";
    return rc;
  }
  PaymentEvent ApprovedElsewhere(std::string rental, int64_t amount) {
    PaymentEvent e;
    e.type = PaymentEventType::kApproved;
    e.payment_id = ids_.RentalFee(rental);
    e.rental_id = std::move(rental);
    e.customer_id = "alice";
    e.amount = Money{"KRW", amount};
    return e;
  }

  InMemoryPaymentEvents events_;
  FakePaymentIds ids_;
  ManualClock clock_;
  PaymentService service_;
};

TEST_F(PaymentServiceTest, PayWritesOneApprovalAndARetryAnswersItWithoutWriting) {
  absl::StatusOr<PaymentView> first = service_.Pay(Cmd(), Ctx());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->payment.payment_id, "pay-r1-fee");
  EXPECT_EQ(first->payment.status, PaymentStatus::kApproved);
  EXPECT_EQ(first->payment.created_at, clock_.Now());
  EXPECT_EQ(first->version, 1u);
  EXPECT_EQ(first->payment.last_sequence, 1u);

  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<PaymentView> retry = service_.Pay(Cmd(), Ctx());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->payment.payment_id, first->payment.payment_id);
  EXPECT_EQ(retry->payment.created_at, first->payment.created_at);
  ASSERT_EQ(events_.events().size(), 1u);
  EXPECT_EQ(events_.events()[0].metadata.causation_id, "request:test");
}

TEST_F(PaymentServiceTest, DeclinedPayIsRecordedAndARetryIsDeclinedAgain) {
  absl::StatusOr<PaymentView> first = service_.Pay(Cmd("r1", 2'000'000), Ctx());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(first.status().message().find("amount exceeds the per-payment limit"),
            std::string::npos);
  absl::StatusOr<PaymentView> retry = service_.Pay(Cmd("r1", 2'000'000), Ctx());
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(events_.CountOf(PaymentEventType::kDeclined), 1);
  EXPECT_EQ(events_.events().size(), 1u);
}

TEST_F(PaymentServiceTest, InvalidPayWritesNothing) {
  EXPECT_EQ(service_.Pay(Cmd("", 1500), Ctx()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Pay(Cmd("r1", 0), Ctx()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(events_.events().empty());
}

TEST_F(PaymentServiceTest, PayThatLosesARaceCatchesUpAndAnswersTheWinnersOutcome) {
  // Another replica approves the same rental just before this one appends.
  events_.BeforeNextAppend(
      [&] { events_.AppendFromAnotherReplica(ApprovedElsewhere("r1", 1500)); });
  absl::StatusOr<PaymentView> view = service_.Pay(Cmd(), Ctx());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->payment.status, PaymentStatus::kApproved);
  EXPECT_EQ(events_.events().size(), 1u);
  EXPECT_GE(events_.catch_ups(), 1);
}

TEST_F(PaymentServiceTest, PayThatLosesARaceToAnotherAmountIsAlreadyExists) {
  events_.BeforeNextAppend([&] { events_.AppendFromAnotherReplica(ApprovedElsewhere("r1", 900)); });
  EXPECT_EQ(service_.Pay(Cmd(), Ctx()).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(events_.events().size(), 1u);
}

TEST_F(PaymentServiceTest, PayWhoseDeadlinePassedWritesNothing) {
  RequestContext late = Ctx();
  late.deadline = absl::Now() - absl::Milliseconds(1);
  EXPECT_EQ(service_.Pay(Cmd(), late).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(events_.events().empty());
}

TEST_F(PaymentServiceTest, PayWhileTheLogIsDownIsUnavailable) {
  events_.SetUnavailable(absl::UnavailableError("nats down"));
  EXPECT_EQ(service_.Pay(Cmd(), Ctx()).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PaymentServiceTest, GetPaymentCatchesUpBeforeAnsweringSoAnotherReplicasWriteIsFound) {
  events_.AppendFromAnotherReplica(ApprovedElsewhere("r9", 700));
  absl::StatusOr<PaymentView> view =
      service_.GetPayment("pay-r9-fee", absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->payment.amount.amount_minor, 700);
  EXPECT_EQ(service_.GetPayment("pay-nope", absl::Now() + absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PaymentServiceTest, RefundTransitionsApprovedToRefundedOnceAndIsIdempotent) {
  ASSERT_TRUE(service_.Pay(Cmd(), Ctx()).ok());
  absl::StatusOr<PaymentView> refunded = service_.Refund({"pay-r1-fee", "damaged"}, Ctx());
  ASSERT_TRUE(refunded.ok()) << refunded.status();
  EXPECT_EQ(refunded->payment.status, PaymentStatus::kRefunded);
  EXPECT_EQ(refunded->payment.refunded.amount_minor, 1500);
  EXPECT_EQ(refunded->version, 2u);
  absl::StatusOr<PaymentView> again = service_.Refund({"pay-r1-fee", "again"}, Ctx());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->payment.refund_reason, "damaged");
  EXPECT_EQ(events_.CountOf(PaymentEventType::kRefunded), 1);
  EXPECT_EQ(service_.Refund({"pay-unknown", ""}, Ctx()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PaymentServiceTest, RefundOfADeclinedPaymentIsFailedPrecondition) {
  (void)service_.Pay(Cmd("r1", 2'000'000), Ctx());
  EXPECT_EQ(service_.Refund({"pay-r1-fee", ""}, Ctx()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PaymentServiceTest, CancelledRentalIsRefundedOnceUnderRedelivery) {
  ASSERT_TRUE(service_.Pay(Cmd(), Ctx()).ok());
  EXPECT_TRUE(service_.RefundCancelledRental("r1", "plans changed", Ctx()).ok());
  EXPECT_TRUE(service_.RefundCancelledRental("r1", "plans changed", Ctx()).ok());
  EXPECT_EQ(events_.CountOf(PaymentEventType::kRefunded), 1);
}

TEST_F(PaymentServiceTest, CancelledRentalWithoutPaymentIsNotFoundAfterCatchingUp) {
  EXPECT_EQ(service_.RefundCancelledRental("r1", "", Ctx()).code(), absl::StatusCode::kNotFound);
  EXPECT_GE(events_.catch_ups(), 1);
}

TEST_F(PaymentServiceTest, AbortedRentalVoidsAnApprovedFeeWithItsAmountReversed) {
  ASSERT_TRUE(service_.Pay(Cmd(), Ctx()).ok());
  ASSERT_TRUE(service_.VoidAbandonedRental("r1", "alice", "timeout", Ctx()).ok());
  ASSERT_TRUE(service_.VoidAbandonedRental("r1", "alice", "timeout", Ctx()).ok());
  EXPECT_EQ(events_.CountOf(PaymentEventType::kVoided), 1);
  absl::StatusOr<PaymentView> view =
      service_.GetPayment("pay-r1-fee", absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->payment.status, PaymentStatus::kVoided);
  EXPECT_EQ(view->payment.refunded.amount_minor, 1500);
  EXPECT_EQ(events_.events().back().event.amount.amount_minor, 1500);
}

TEST_F(PaymentServiceTest, AbortedRentalBeforeAnyPayLeavesATombstoneThatDeclinesTheLatePay) {
  ASSERT_TRUE(service_.VoidAbandonedRental("r1", "alice", "payment down", Ctx()).ok());
  EXPECT_EQ(events_.events().back().event.amount.amount_minor, 0);
  absl::StatusOr<PaymentView> late = service_.Pay(Cmd(), Ctx());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.status().message(), "the rental was abandoned; nothing was charged");
  EXPECT_EQ(events_.CountOf(PaymentEventType::kApproved), 0);
}

TEST_F(PaymentServiceTest, AbortedRentalAfterADeclineOrRefundWritesNothing) {
  (void)service_.Pay(Cmd("r1", 2'000'000), Ctx());
  ASSERT_TRUE(service_.Pay(Cmd("r2"), Ctx()).ok());
  ASSERT_TRUE(service_.Refund({"pay-r2-fee", ""}, Ctx()).ok());
  size_t before = events_.events().size();
  EXPECT_TRUE(service_.VoidAbandonedRental("r1", "alice", "", Ctx()).ok());
  EXPECT_TRUE(service_.VoidAbandonedRental("r2", "alice", "", Ctx()).ok());
  EXPECT_EQ(events_.events().size(), before);
}

TEST_F(PaymentServiceTest, LateFeeIsChargedOnceEvenWhenTheReturnIsDeliveredTwice) {
  ASSERT_TRUE(service_.Pay(Cmd(), Ctx()).ok());
  ASSERT_TRUE(service_.ChargeLateFee("r1", "ret-1", "alice", Money{"KRW", 300}, Ctx()).ok());
  ASSERT_TRUE(service_.ChargeLateFee("r1", "ret-1", "alice", Money{"KRW", 300}, Ctx()).ok());
  EXPECT_EQ(events_.CountOf(PaymentEventType::kLateFeeCharged), 1);
  absl::StatusOr<std::vector<PaymentView>> all =
      service_.ListRentalPayments("r1", absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].payment.kind, PaymentKind::kRentalFee);
  EXPECT_EQ((*all)[1].payment.kind, PaymentKind::kLateFee);
  EXPECT_EQ((*all)[1].payment.payment_id, "pay-r1-late-ret-1");
}

TEST_F(PaymentServiceTest, ReturnWithoutAFeeChargesNothing) {
  EXPECT_TRUE(service_.ChargeLateFee("r1", "ret-1", "alice", Money{"KRW", 0}, Ctx()).ok());
  EXPECT_TRUE(events_.events().empty());
}

}  // namespace
}  // namespace rentmesh::payment
