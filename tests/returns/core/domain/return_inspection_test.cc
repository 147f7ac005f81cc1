#include "core/domain/return_inspection.h"

#include <gtest/gtest.h>

#include <string>

namespace rentmesh::returns {
namespace {

const absl::Time kDue = absl::FromUnixSeconds(1'750'000'000);

ReturnCommand ValidCommand() {
  return {"rental-1", "book-1", "customer-1", kDue, Condition::kGood};
}

TEST(DaysOverdueTest, IsZeroWhenReturnedExactlyAtTheDueTime) {
  EXPECT_EQ(DaysOverdue(kDue, kDue), 0);
}

TEST(DaysOverdueTest, IsZeroWhenReturnedEarly) {
  EXPECT_EQ(DaysOverdue(kDue, kDue - absl::Hours(30)), 0);
}

TEST(DaysOverdueTest, CountsOneNanosecondLateAsOneDay) {
  EXPECT_EQ(DaysOverdue(kDue, kDue + absl::Nanoseconds(1)), 1);
}

TEST(DaysOverdueTest, CountsExactlyTwentyFourHoursLateAsOneDay) {
  EXPECT_EQ(DaysOverdue(kDue, kDue + absl::Hours(24)), 1);
  EXPECT_EQ(DaysOverdue(kDue, kDue + absl::Hours(24) + absl::Seconds(1)), 2);
}

TEST(DaysOverdueTest, StaysWithinInt32ForTheOldestValidDueDate) {
  const absl::Time oldest = absl::FromUnixSeconds(-62135596800);
  EXPECT_GT(DaysOverdue(oldest, kDue), 700'000);  // 2025 years
  EXPECT_EQ(DaysOverdue(absl::InfinitePast(), kDue), INT32_MAX);
}

TEST(InspectReturnTest, ChargesDamageAndLateFeesInTheConfiguredCurrency) {
  ReturnCommand command = ValidCommand();
  command.condition = Condition::kDamaged;
  FeePolicy policy{700, 25000, "USD"};
  ReturnInspection r = InspectReturn(command, "ret-1", kDue + absl::Hours(49), policy);
  EXPECT_EQ(r.return_id, "ret-1");
  EXPECT_EQ(r.days_overdue, 3);
  EXPECT_EQ(r.late_fee, (Money{"USD", 2100}));
  EXPECT_EQ(r.damage_fee, (Money{"USD", 25000}));
  EXPECT_EQ(r.total_fee, (Money{"USD", 27100}));
  EXPECT_EQ(r.returned_at, kDue + absl::Hours(49));
}

TEST(InspectReturnTest, TakesTheRentalsDiscountOffTheLateFeeButNotOffTheDamageFee) {
  ReturnCommand command = ValidCommand();
  command.condition = Condition::kDamaged;
  command.late_fee_discount_percent = 15;
  FeePolicy policy{333, 10000, "KRW"};
  ReturnInspection r = InspectReturn(command, "ret-1", kDue + absl::Hours(1), policy);
  EXPECT_EQ(r.days_overdue, 1);
  EXPECT_EQ(r.late_fee_base, (Money{"KRW", 333}));
  EXPECT_EQ(r.late_fee_discount_percent, 15);
  // 333 x 15% = 49.95: 49 off.
  EXPECT_EQ(r.late_fee, (Money{"KRW", 284}));
  EXPECT_EQ(r.damage_fee, (Money{"KRW", 10000}));
  EXPECT_EQ(r.total_fee, (Money{"KRW", 10284}));
}

TEST(ValidateReturnCommandTest, RejectsALateFeeDiscountOutsideZeroTo99) {
  ReturnCommand command = ValidCommand();
  for (int32_t bad : {-1, 100}) {
    command.late_fee_discount_percent = bad;
    EXPECT_EQ(ValidateReturnCommand(command).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  command.late_fee_discount_percent = 99;
  EXPECT_TRUE(ValidateReturnCommand(command).ok());
}

TEST(InspectReturnTest, SaturatesInsteadOfOverflowingOnAbsurdDelays) {
  FeePolicy policy{FeePolicy::kMaxFeeMinor, FeePolicy::kMaxFeeMinor, "KRW"};
  ReturnCommand command = ValidCommand();
  command.condition = Condition::kDamaged;
  command.due_at = absl::InfinitePast();
  ReturnInspection r = InspectReturn(command, "ret-1", kDue, policy);
  EXPECT_EQ(r.late_fee.amount_minor, INT64_MAX);
  EXPECT_EQ(r.total_fee.amount_minor, INT64_MAX);
}

TEST(ValidateReturnCommandTest, AcceptsAWellFormedCommand) {
  EXPECT_TRUE(ValidateReturnCommand(ValidCommand()).ok());
}

TEST(ValidateReturnCommandTest, RejectsEmptyIdsNamingTheField) {
  for (std::string ReturnCommand::*field :
       {&ReturnCommand::rental_id, &ReturnCommand::book_id, &ReturnCommand::customer_id}) {
    ReturnCommand command = ValidCommand();
    command.*field = "";
    absl::Status s = ValidateReturnCommand(command);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("is required"), absl::string_view::npos) << s;
  }
}

TEST(ValidateReturnCommandTest, RejectsIdsLongerThan128Characters) {
  ReturnCommand command = ValidCommand();
  command.customer_id = std::string(128, 'c');
  EXPECT_TRUE(ValidateReturnCommand(command).ok());
  command.customer_id = std::string(129, 'c');
  EXPECT_EQ(ValidateReturnCommand(command).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateReturnCommandTest, RejectsRentalIdsThatWouldBreakTheNatsSubject) {
  for (const char* bad : {"a.b", "a*", "a>", "a b", "a\tb", "a\nb"}) {
    ReturnCommand command = ValidCommand();
    command.rental_id = bad;
    EXPECT_EQ(ValidateReturnCommand(command).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  ReturnCommand command = ValidCommand();
  command.customer_id = "alice@example.com";  // dots are fine outside subjects
  EXPECT_TRUE(ValidateReturnCommand(command).ok());
}

TEST(ValidateReturnCommandTest, RejectsAMissingOrOutOfRangeDueDate) {
  ReturnCommand command = ValidCommand();
  command.due_at = absl::InfinitePast();
  EXPECT_EQ(ValidateReturnCommand(command).code(), absl::StatusCode::kInvalidArgument);
  command.due_at = absl::FromUnixSeconds(253402300800);  // year 10000
  EXPECT_EQ(ValidateReturnCommand(command).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateLookupIdTest, RejectsEmptyOverlongAndUnprintableIds) {
  EXPECT_TRUE(ValidateLookupId("return_id", "ret-1").ok());
  EXPECT_EQ(ValidateLookupId("return_id", "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLookupId("return_id", std::string(129, 'r')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLookupId("return_id", "r\x01").code(), absl::StatusCode::kInvalidArgument);
}

TEST(FeePolicyTest, RejectsNegativeOrAbsurdFeesAndBadCurrencies) {
  EXPECT_TRUE(FeePolicy{}.Validate().ok());
  EXPECT_FALSE((FeePolicy{-1, 0, "KRW"}).Validate().ok());
  EXPECT_FALSE((FeePolicy{0, FeePolicy::kMaxFeeMinor + 1, "KRW"}).Validate().ok());
  EXPECT_FALSE((FeePolicy{0, 0, "krw"}).Validate().ok());
  EXPECT_FALSE((FeePolicy{0, 0, "KRWX"}).Validate().ok());
}

TEST(ConditionNameTest, RoundTripsGoodAndDamagedOnly) {
  EXPECT_EQ(*ParseConditionName(ConditionName(Condition::kGood)), Condition::kGood);
  EXPECT_EQ(*ParseConditionName(ConditionName(Condition::kDamaged)), Condition::kDamaged);
  EXPECT_FALSE(ParseConditionName("LOST").ok());
}

}  // namespace
}  // namespace rentmesh::returns
