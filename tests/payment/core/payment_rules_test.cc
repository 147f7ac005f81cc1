#include "payment/core/domain/payment_rules.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/time/time.h"

namespace rentmesh::payment {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
constexpr char kFee[] = "pay-r1-fee";

PayCommand Cmd(int64_t amount = 1500, std::string customer = "alice") {
  return PayCommand{"r1", std::move(customer), Money{"KRW", amount}, "rent"};
}

PaymentEvent Approved(int64_t amount = 1500) {
  PaymentEvent e;
  e.type = PaymentEventType::kApproved;
  e.payment_id = kFee;
  e.rental_id = "r1";
  e.customer_id = "alice";
  e.amount = Money{"KRW", amount};
  e.occurred_at = kNow;
  return e;
}

PaymentEvent Of(PaymentEventType type, std::string payment_id, int64_t amount) {
  PaymentEvent e = Approved(amount);
  e.type = type;
  e.payment_id = std::move(payment_id);
  return e;
}

RentalPayments StateWith(std::initializer_list<PaymentEvent> events) {
  RentalPayments s("r1");
  uint64_t seq = 10;
  for (const auto& e : events) s.Apply(e, seq++);
  return s;
}

TEST(PayRules, PayUpToTheLimitIsApproved) {
  Decision d = DecidePay(RentalPayments("r1"), Cmd(1000000), kFee, PaymentPolicy{1000000}, kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kApproved);
  EXPECT_EQ(d.event->payment_id, kFee);
  EXPECT_EQ(d.event->amount, (Money{"KRW", 1000000}));
  EXPECT_EQ(d.event->occurred_at, kNow);
}

TEST(PayRules, PayAboveTheLimitIsDeclinedWithTheReason) {
  Decision d = DecidePay(RentalPayments("r1"), Cmd(1000001), kFee, PaymentPolicy{1000000}, kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kDeclined);
  EXPECT_EQ(d.event->reason, "amount exceeds the per-payment limit");
}

TEST(PayRules, PayWithMissingOrMalformedInputIsInvalidArgument) {
  auto invalid = [](PayCommand c) { return ValidatePay(c).code(); };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_TRUE(ValidatePay(Cmd()).ok());
  PayCommand c = Cmd();
  c.rental_id = "";
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.rental_id = std::string(129, 'a');
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.rental_id = "r.1";  // would split the NATS subject
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.customer_id = "";
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.customer_id = "bad\nid";
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.amount.currency = "";
  EXPECT_EQ(invalid(c), kInvalid);
  c = Cmd();
  c.amount.currency = "krw";
  EXPECT_EQ(invalid(c), kInvalid);
  EXPECT_EQ(invalid(Cmd(0)), kInvalid);
  EXPECT_EQ(invalid(Cmd(-5)), kInvalid);
  EXPECT_EQ(invalid(Cmd(INT64_MAX)), kInvalid);
  c = Cmd();
  c.description = std::string(kMaxTextLength + 1, 'x');
  EXPECT_EQ(invalid(c), kInvalid);
  // Above the limit but sane is valid input: it is declined, and recorded.
  EXPECT_TRUE(ValidatePay(Cmd(5'000'000)).ok());
}

TEST(PayRules, PayRetryWithTheSameParametersAnswersTheFirstApproval) {
  Decision d = DecidePay(StateWith({Approved()}), Cmd(), kFee, PaymentPolicy{}, kNow);
  EXPECT_FALSE(d.event.has_value());
  EXPECT_TRUE(d.answer.ok()) << d.answer;
}

TEST(PayRules, PayRetryAfterADeclineIsDeclinedAgainWithTheReason) {
  PaymentEvent declined = Of(PaymentEventType::kDeclined, kFee, 2'000'000);
  declined.reason = "amount exceeds the per-payment limit";
  Decision d = DecidePay(StateWith({declined}), Cmd(2'000'000), kFee, PaymentPolicy{}, kNow);
  EXPECT_FALSE(d.event.has_value());
  EXPECT_EQ(d.answer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(d.answer.message().find("amount exceeds the per-payment limit"), std::string::npos);
}

TEST(PayRules, PayWithTheSameRentalButAnotherAmountOrCustomerIsAlreadyExists) {
  RentalPayments s = StateWith({Approved()});
  EXPECT_EQ(DecidePay(s, Cmd(1600), kFee, PaymentPolicy{}, kNow).answer.code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(DecidePay(s, Cmd(1500, "bob"), kFee, PaymentPolicy{}, kNow).answer.code(),
            absl::StatusCode::kAlreadyExists);
  PayCommand usd = Cmd();
  usd.amount.currency = "USD";
  EXPECT_EQ(DecidePay(s, usd, kFee, PaymentPolicy{}, kNow).answer.code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(PayRules, PayForAnAbandonedRentalIsFailedPreconditionSayingNothingWasCharged) {
  RentalPayments s = StateWith({Of(PaymentEventType::kVoided, kFee, 0)});
  Decision d = DecidePay(s, Cmd(), kFee, PaymentPolicy{}, kNow);
  EXPECT_FALSE(d.event.has_value());
  EXPECT_EQ(d.answer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.answer.message(), "the rental was abandoned; nothing was charged");
}

TEST(PayRules, PayForAnAbandonedRentalWhoseChargeWasReversedSaysSo) {
  RentalPayments s = StateWith({Approved(), Of(PaymentEventType::kVoided, kFee, 1500)});
  Decision d = DecidePay(s, Cmd(), kFee, PaymentPolicy{}, kNow);
  EXPECT_EQ(d.answer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(d.answer.message().find("1500 KRW was reversed"), std::string::npos) << d.answer;
}

TEST(RefundRules, RefundOfAnApprovedPaymentRefundsItInFull) {
  Decision d = DecideRefund(StateWith({Approved()}), kFee, "changed my mind", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kRefunded);
  EXPECT_EQ(d.event->amount, (Money{"KRW", 1500}));
  EXPECT_EQ(d.event->reason, "changed my mind");
  RentalPayments after = StateWith({Approved(), *d.event});
  EXPECT_EQ(after.Find(kFee)->status, PaymentStatus::kRefunded);
  EXPECT_EQ(after.Find(kFee)->refunded, (Money{"KRW", 1500}));
}

TEST(RefundRules, RefundOfARefundedPaymentAnswersItUnchanged) {
  RentalPayments s = StateWith({Approved(), Of(PaymentEventType::kRefunded, kFee, 1500)});
  Decision d = DecideRefund(s, kFee, "again", kNow);
  EXPECT_FALSE(d.event.has_value());
  EXPECT_TRUE(d.answer.ok());
}

TEST(RefundRules, RefundOfADeclinedOrVoidedPaymentIsFailedPrecondition) {
  EXPECT_EQ(DecideRefund(StateWith({Of(PaymentEventType::kDeclined, kFee, 1500)}), kFee, "", kNow)
                .answer.code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecideRefund(StateWith({Approved(), Of(PaymentEventType::kVoided, kFee, 1500)}), kFee,
                         "", kNow)
                .answer.code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RefundRules, RefundOfAnUnknownPaymentIsNotFound) {
  EXPECT_EQ(DecideRefund(RentalPayments("r1"), kFee, "", kNow).answer.code(),
            absl::StatusCode::kNotFound);
}

TEST(CancellationRules, CancellationRefundsAnApprovedFeeAndLeavesEveryOtherStateAlone) {
  Decision d = DecideCancellationRefund(StateWith({Approved()}), kFee, "plans changed", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kRefunded);
  EXPECT_EQ(d.event->reason, "rental cancelled: plans changed");
  for (PaymentEventType second : {PaymentEventType::kRefunded, PaymentEventType::kVoided}) {
    Decision again =
        DecideCancellationRefund(StateWith({Approved(), Of(second, kFee, 1500)}), kFee, "", kNow);
    EXPECT_FALSE(again.event.has_value());
    EXPECT_TRUE(again.answer.ok());
  }
  EXPECT_EQ(DecideCancellationRefund(RentalPayments("r1"), kFee, "", kNow).answer.code(),
            absl::StatusCode::kNotFound);
}

TEST(VoidRules, VoidOfAnApprovedFeeReversesItsAmount) {
  Decision d = DecideVoid(StateWith({Approved()}), kFee, "alice", "payment timed out", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kVoided);
  EXPECT_EQ(d.event->amount, (Money{"KRW", 1500}));
  RentalPayments after = StateWith({Approved(), *d.event});
  EXPECT_EQ(after.Find(kFee)->status, PaymentStatus::kVoided);
  EXPECT_EQ(after.Find(kFee)->refunded.amount_minor, 1500);
}

TEST(VoidRules, VoidWithoutAnyPaymentLeavesATombstoneThatDeclinesALatePay) {
  Decision d = DecideVoid(RentalPayments("r1"), kFee, "alice", "payment down", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->amount.amount_minor, 0);
  EXPECT_EQ(d.event->customer_id, "alice");
  RentalPayments after = StateWith({*d.event});
  ASSERT_NE(after.Find(kFee), nullptr);
  EXPECT_EQ(after.Find(kFee)->status, PaymentStatus::kVoided);
  EXPECT_EQ(DecidePay(after, Cmd(), kFee, PaymentPolicy{}, kNow).answer.code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VoidRules, VoidOfADeclinedRefundedOrVoidedFeeChangesNothing) {
  for (RentalPayments s : {StateWith({Of(PaymentEventType::kDeclined, kFee, 1500)}),
                           StateWith({Approved(), Of(PaymentEventType::kRefunded, kFee, 1500)}),
                           StateWith({Of(PaymentEventType::kVoided, kFee, 0)})}) {
    Decision d = DecideVoid(s, kFee, "alice", "", kNow);
    EXPECT_FALSE(d.event.has_value());
    EXPECT_TRUE(d.answer.ok());
  }
}

TEST(LateFeeRules, LateFeeIsChargedOncePerReturn) {
  Decision d = DecideLateFee(StateWith({Approved()}), "pay-late-1", "alice", Money{"KRW", 300},
                             "ret-1", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kLateFeeCharged);
  RentalPayments after = StateWith({Approved(), *d.event});
  const Payment* late = after.Find("pay-late-1");
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->kind, PaymentKind::kLateFee);
  EXPECT_EQ(late->status, PaymentStatus::kApproved);
  EXPECT_EQ(late->return_id, "ret-1");
  Decision again = DecideLateFee(after, "pay-late-1", "alice", Money{"KRW", 300}, "ret-1", kNow);
  EXPECT_FALSE(again.event.has_value());
  EXPECT_TRUE(again.answer.ok());
}

TEST(RentalPaymentsAggregate, ReplayedEventsAreFoldedOnce) {
  RentalPayments s("r1");
  s.Apply(Approved(), 5);
  s.Apply(Of(PaymentEventType::kRefunded, kFee, 1500), 7);
  s.Apply(Of(PaymentEventType::kRefunded, kFee, 1500), 7);
  s.Apply(Approved(), 5);
  EXPECT_EQ(s.version(), 2u);
  EXPECT_EQ(s.last_sequence(), 7u);
  ASSERT_EQ(s.payments().size(), 1u);
  EXPECT_EQ(s.payments()[0].status, PaymentStatus::kRefunded);
  EXPECT_EQ(s.payments()[0].last_sequence, 7u);
}

// The cluster case of docs/cluster.md: two appends decided against the same
// state both stored. Whatever lands second changes nothing, and says why.
TEST(RentalPaymentsAggregate, ATombstoneStoredAfterAChargeNeverVoidsIt) {
  RentalPayments s("r1");
  EXPECT_EQ(s.Apply(Approved(), 5), rules::PaymentVerdict::kApplies);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kVoided, kFee, 0), 6),
            rules::PaymentVerdict::kPaymentExists);
  ASSERT_EQ(s.payments().size(), 1u);
  EXPECT_EQ(s.payments()[0].status, PaymentStatus::kApproved);
  EXPECT_EQ(s.last_sequence(), 6u);  // the subject moved on all the same
  // So the abandoned rental's void still reverses the charge.
  Decision d = DecideVoid(s, kFee, "alice", "payment unknown", kNow);
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, PaymentEventType::kVoided);
  EXPECT_EQ(d.event->amount, (Money{"KRW", 1500}));
}

TEST(RentalPaymentsAggregate, AChargeStoredAfterATombstoneChangesNothing) {
  RentalPayments s("r1");
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kVoided, kFee, 0), 5), rules::PaymentVerdict::kApplies);
  EXPECT_EQ(s.Apply(Approved(), 6), rules::PaymentVerdict::kPaymentExists);
  ASSERT_EQ(s.payments().size(), 1u);
  EXPECT_EQ(s.payments()[0].status, PaymentStatus::kVoided);
  EXPECT_EQ(s.payments()[0].refunded.amount_minor, 0);
  // A Pay retried now is told the rental was abandoned: it was never charged.
  Decision d = DecidePay(s, Cmd(), kFee, PaymentPolicy{}, kNow);
  EXPECT_FALSE(d.event.has_value());
  EXPECT_EQ(d.answer.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RentalPaymentsAggregate, AReversalAppliesOnceAndOnlyByTheAmountCharged) {
  RentalPayments s("r1");
  s.Apply(Approved(1500), 5);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kRefunded, kFee, 900), 6),
            rules::PaymentVerdict::kAmountDiffers);
  EXPECT_EQ(s.payments()[0].status, PaymentStatus::kApproved);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kRefunded, kFee, 1500), 7),
            rules::PaymentVerdict::kApplies);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kVoided, kFee, 1500), 8),
            rules::PaymentVerdict::kNotCharged);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kRefunded, kFee, 1500), 9),
            rules::PaymentVerdict::kNotCharged);
  EXPECT_EQ(s.Apply(Of(PaymentEventType::kRefunded, "pay-other", 1500), 10),
            rules::PaymentVerdict::kPaymentUnknown);
  ASSERT_EQ(s.payments().size(), 1u);
  EXPECT_EQ(s.payments()[0].status, PaymentStatus::kRefunded);
  EXPECT_EQ(s.payments()[0].refunded.amount_minor, 1500);
  EXPECT_EQ(s.payments()[0].last_sequence, 7u);
}

}  // namespace
}  // namespace rentmesh::payment
