#include "core/returns_service.h"

#include <gtest/gtest.h>

#include "in_memory_returns_log.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::returns {
namespace {

const absl::Time kRentedAt = absl::FromUnixSeconds(1'750'000'000);
const absl::Time kDue = kRentedAt + absl::Hours(7 * 24);

class ReturnsServiceTest : public ::testing::Test {
 protected:
  ReturnCommand Command(std::string rental_id = "rental-1",
                        Condition condition = Condition::kGood) {
    return {std::move(rental_id), "book-1", "customer-1", kDue, condition};
  }
  absl::StatusOr<RecordedReturn> Process(const ReturnCommand& command) {
    return service_.ProcessReturn(command, trace_, absl::Now() + absl::Seconds(1));
  }
  absl::Time Deadline() { return absl::Now() + absl::Seconds(1); }

  InMemoryReturnsLog log_;
  PrefixReturnIdScheme ids_;
  ManualClock clock_{kRentedAt};
  EventTrace trace_{"00-trace-span-01", "", "req-1", {}};
  ReturnsService service_{log_, log_, ids_, clock_, FeePolicy{500, 10000, "KRW"}};
};

// --- fee rules, with time moved by the ManualClock ---

struct FeeCase {
  const char* name;
  absl::Duration returned_after_due;
  Condition condition;
  int days_overdue;
  int64_t late_fee;
  int64_t damage_fee;
};

class ReturnFeeTest : public ReturnsServiceTest, public ::testing::WithParamInterface<FeeCase> {};

TEST_P(ReturnFeeTest, ChargesTheLateFeePerStartedDayPlusTheDamageFee) {
  const FeeCase& c = GetParam();
  clock_.Set(kDue + c.returned_after_due);
  absl::StatusOr<RecordedReturn> r = Process(Command("rental-1", c.condition));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inspection.returned_at, kDue + c.returned_after_due);
  EXPECT_EQ(r->inspection.days_overdue, c.days_overdue);
  EXPECT_EQ(r->inspection.late_fee, (Money{"KRW", c.late_fee}));
  EXPECT_EQ(r->inspection.damage_fee, (Money{"KRW", c.damage_fee}));
  EXPECT_EQ(r->inspection.total_fee, (Money{"KRW", c.late_fee + c.damage_fee}));
  EXPECT_EQ(r->inspection.condition, c.condition);
}

INSTANTIATE_TEST_SUITE_P(
    FeeRules, ReturnFeeTest,
    ::testing::Values(
        FeeCase{"OnTime", absl::ZeroDuration(), Condition::kGood, 0, 0, 0},
        FeeCase{"EarlyReturn", -absl::Hours(50), Condition::kGood, 0, 0, 0},
        FeeCase{"OneMinuteLateIsOneDay", absl::Minutes(1), Condition::kGood, 1, 500, 0},
        FeeCase{"ThreeDaysLate", absl::Hours(72), Condition::kGood, 3, 1500, 0},
        FeeCase{"ThreeDaysAndOneSecondLateIsFourDays", absl::Hours(72) + absl::Seconds(1),
                Condition::kGood, 4, 2000, 0},
        FeeCase{"DamagedOnTime", absl::ZeroDuration(), Condition::kDamaged, 0, 0, 10000},
        FeeCase{"DamagedAndLate", absl::Hours(30), Condition::kDamaged, 2, 1000, 10000}),
    [](const ::testing::TestParamInfo<FeeCase>& info) { return info.param.name; });

// --- recording and idempotency ---

TEST_F(ReturnsServiceTest, ProcessReturnRecordsOneReturnCompletedWithTheDerivedIdAndTrace) {
  absl::StatusOr<RecordedReturn> r = Process(Command());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inspection.return_id, "ret-rental-1");
  EXPECT_EQ(r->version, 1u);
  EXPECT_EQ(r->sequence, 1u);
  std::vector<InMemoryReturnsLog::Entry> events = log_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].inspection, r->inspection);
  EXPECT_EQ(events[0].trace.traceparent, "00-trace-span-01");
  EXPECT_EQ(events[0].trace.request_id, "req-1");
}

TEST_F(ReturnsServiceTest, ProcessReturnRetriedLaterAnswersWithTheFirstInspectionUnchanged) {
  clock_.Set(kDue + absl::Hours(1));
  absl::StatusOr<RecordedReturn> first = Process(Command());
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(48));  // a retry must not charge more days
  absl::StatusOr<RecordedReturn> again = Process(Command());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->inspection, first->inspection);
  EXPECT_EQ(again->sequence, first->sequence);
  EXPECT_EQ(again->inspection.days_overdue, 1);
  EXPECT_EQ(log_.Events().size(), 1u);
}

TEST_F(ReturnsServiceTest, ProcessReturnRetriedWithAnotherConditionKeepsTheFirstInspection) {
  ASSERT_TRUE(Process(Command("rental-1", Condition::kGood)).ok());
  absl::StatusOr<RecordedReturn> again = Process(Command("rental-1", Condition::kDamaged));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->inspection.condition, Condition::kGood);
  EXPECT_EQ(again->inspection.damage_fee.amount_minor, 0);
  EXPECT_EQ(log_.Events().size(), 1u);
}

TEST_F(ReturnsServiceTest,
       ProcessReturnForAReturnedRentalWithAnotherCustomerFailsWithAlreadyExists) {
  ASSERT_TRUE(Process(Command()).ok());
  ReturnCommand other = Command();
  other.customer_id = "customer-2";
  EXPECT_EQ(Process(other).status().code(), absl::StatusCode::kAlreadyExists);
  other = Command();
  other.due_at = kDue + absl::Hours(24);
  EXPECT_EQ(Process(other).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(log_.Events().size(), 1u);
}

TEST_F(ReturnsServiceTest, ProcessReturnAfterAnotherReplicaWroteCatchesUpAndAnswersWithTheirs) {
  ReturnInspection theirs =
      InspectReturn(Command(), "ret-rental-1", kDue + absl::Hours(5), FeePolicy{500, 10000, "KRW"});
  log_.AppendFromAnotherReplica(theirs);
  clock_.Set(kDue + absl::Hours(90));  // this replica would assess differently
  absl::StatusOr<RecordedReturn> r = Process(Command());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inspection, theirs);
  EXPECT_EQ(log_.Events().size(), 1u);
}

TEST_F(ReturnsServiceTest, ProcessReturnWithBadInputFailsWithInvalidArgumentAndWritesNothing) {
  ReturnCommand no_rental = Command("");
  ReturnCommand long_book = Command();
  long_book.book_id = std::string(200, 'b');
  ReturnCommand no_due = Command();
  no_due.due_at = absl::InfinitePast();
  for (const ReturnCommand& bad : {no_rental, long_book, no_due}) {
    EXPECT_EQ(Process(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(log_.Events().empty());
}

TEST_F(ReturnsServiceTest, ProcessReturnFailsWithUnavailableWhileTheLogIsDownAndWorksAfter) {
  log_.FailAppendsWith(absl::UnavailableError("nats down"));
  EXPECT_EQ(Process(Command()).status().code(), absl::StatusCode::kUnavailable);
  log_.FailAppendsWith(absl::OkStatus());
  EXPECT_TRUE(Process(Command()).ok());
}

TEST_F(ReturnsServiceTest, ProcessReturnAnswersWithWhatItAppendedWhenTheStateLagsPastTheDeadline) {
  log_.FailCatchUpWith(absl::DeadlineExceededError("slow follower"));
  absl::StatusOr<RecordedReturn> r = Process(Command());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inspection, log_.Events().at(0).inspection);
  EXPECT_EQ(r->sequence, 1u);
}

// --- reads ---

TEST_F(ReturnsServiceTest, GetReturnSeesAReturnWrittenByAnotherReplicaAfterCatchingUp) {
  ReturnInspection theirs =
      InspectReturn(Command(), "ret-rental-1", kDue, FeePolicy{500, 10000, "KRW"});
  log_.AppendFromAnotherReplica(theirs);
  absl::StatusOr<RecordedReturn> by_id = service_.GetReturn("ret-rental-1", Deadline());
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->inspection, theirs);
  absl::StatusOr<RecordedReturn> by_rental = service_.GetRentalReturn("rental-1", Deadline());
  ASSERT_TRUE(by_rental.ok()) << by_rental.status();
  EXPECT_EQ(by_rental->inspection, theirs);
}

TEST_F(ReturnsServiceTest, GetReturnOfAnUnknownIdFailsWithNotFound) {
  EXPECT_EQ(service_.GetReturn("ret-nope", Deadline()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.GetRentalReturn("rental-nope", Deadline()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReturnsServiceTest, GetReturnFailsWithUnavailableRatherThanNotFoundWhenItCannotCatchUp) {
  log_.FailCatchUpWith(absl::DeadlineExceededError("slow follower"));
  EXPECT_EQ(service_.GetReturn("ret-rental-1", Deadline()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ReturnsServiceTest, GetReturnWithAnEmptyIdFailsWithInvalidArgument) {
  EXPECT_EQ(service_.GetReturn("", Deadline()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.GetRentalReturn(std::string(129, 'x'), Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rentmesh::returns
