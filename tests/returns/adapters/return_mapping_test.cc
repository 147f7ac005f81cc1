#include "adapters/proto/return_mapping.h"

#include <gtest/gtest.h>

namespace rentmesh::returns {
namespace {

v1::ProcessReturnRequest ValidRequest() {
  v1::ProcessReturnRequest r;
  r.set_rental_id("rental-1");
  r.set_book_id("book-1");
  r.set_customer_id("customer-1");
  r.mutable_due_at()->set_seconds(1'750'000'000);
  return r;
}

TEST(ReturnMappingTest, UnspecifiedConditionMeansGood) {
  absl::StatusOr<ReturnCommand> c = ToReturnCommand(ValidRequest());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->condition, Condition::kGood);
  EXPECT_EQ(c->due_at, absl::FromUnixSeconds(1'750'000'000));
}

TEST(ReturnMappingTest, MissingOrInvalidDueDateIsInvalidArgument) {
  v1::ProcessReturnRequest r = ValidRequest();
  r.clear_due_at();
  EXPECT_EQ(ToReturnCommand(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = ValidRequest();
  r.mutable_due_at()->set_nanos(-1);
  EXPECT_EQ(ToReturnCommand(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = ValidRequest();
  r.mutable_due_at()->set_seconds(INT64_MAX);
  EXPECT_EQ(ToReturnCommand(r).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReturnMappingTest, UnknownConditionValueIsInvalidArgument) {
  v1::ProcessReturnRequest r = ValidRequest();
  r.set_condition(static_cast<v1::Condition>(7));
  EXPECT_EQ(ToReturnCommand(r).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReturnMappingTest, StoredReturnAndEventRoundTripTheInspection) {
  ReturnInspection r;
  r.return_id = "ret-1";
  r.rental_id = "rental-1";
  r.book_id = "book-1";
  r.customer_id = "customer-1";
  r.condition = Condition::kDamaged;
  r.due_at = absl::FromUnixNanos(1'750'000'000'123'456'789);
  r.returned_at = r.due_at + absl::Hours(25);
  r.days_overdue = 2;
  r.late_fee = {"KRW", 1000};
  r.damage_fee = {"KRW", 10000};
  r.total_fee = {"KRW", 11000};

  v1::Return proto = ToReturnProto({r, 1, 42});
  EXPECT_EQ(proto.consistency_token(), "RETURNS:42");
  EXPECT_EQ(proto.version(), 1u);
  absl::StatusOr<RecordedReturn> back = FromReturnProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->inspection, r);
  EXPECT_EQ(back->sequence, 42u);

  events::v1::ReturnCompleted event = ToReturnCompleted(r);
  EXPECT_EQ(event.condition(), "DAMAGED");
  absl::StatusOr<ReturnInspection> from_event = FromReturnCompleted(event);
  ASSERT_TRUE(from_event.ok()) << from_event.status();
  EXPECT_EQ(*from_event, r);
}

TEST(ReturnMappingTest, TheLateFeeDiscountIsCarriedFromTheRequest) {
  v1::ProcessReturnRequest req = ValidRequest();
  req.set_late_fee_discount_percent(20);
  absl::StatusOr<ReturnCommand> c = ToReturnCommand(req);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->late_fee_discount_percent, 20);
}

TEST(ReturnMappingTest, AnEventFromBeforeDiscountsHasAnUndiscountedLateFee) {
  ReturnInspection r;
  r.return_id = "ret-1";
  r.rental_id = "rental-1";
  r.condition = Condition::kGood;
  r.late_fee = {"KRW", 1000};
  r.damage_fee = {"KRW", 0};
  r.total_fee = {"KRW", 1000};
  events::v1::ReturnCompleted event = ToReturnCompleted(r);
  event.clear_late_fee_base();
  event.clear_late_fee_discount_percent();
  absl::StatusOr<ReturnInspection> back = FromReturnCompleted(event);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->late_fee_base, (Money{"KRW", 1000}));
  EXPECT_EQ(back->late_fee_discount_percent, 0);
}

}  // namespace
}  // namespace rentmesh::returns
