#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::returns {

// Ids travel into NATS subjects and RocksDB keys; longer ones are rejected.
inline constexpr size_t kMaxIdLength = 128;

enum class Condition { kGood, kDamaged };

// "GOOD" / "DAMAGED": the spelling ReturnCompleted carries.
absl::string_view ConditionName(Condition condition);
// INVALID_ARGUMENT for anything but "GOOD" or "DAMAGED".
absl::StatusOr<Condition> ParseConditionName(absl::string_view name);

struct Money {
  std::string currency;
  int64_t amount_minor = 0;

  friend bool operator==(const Money& a, const Money& b) {
    return a.currency == b.currency && a.amount_minor == b.amount_minor;
  }
};

// What the rental service asks for when a customer hands a copy back.
struct ReturnCommand {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  absl::Time due_at = absl::InfinitePast();
  Condition condition = Condition::kGood;
  // The rental's discount (its pricing tier at rent time), 0..99: the late
  // fee is reduced by it, rounded down. The damage fee is not.
  int32_t late_fee_discount_percent = 0;
};

inline constexpr int32_t kMaxLateFeeDiscountPercent = 99;

// The configured charges. Validated at startup (FeePolicy::Validate).
struct FeePolicy {
  int64_t late_fee_per_day_minor = 500;
  int64_t damage_fee_minor = 10000;
  std::string currency = "KRW";

  // Bounds keep every fee computable in int64 for any due date a Timestamp
  // can express.
  static constexpr int64_t kMaxFeeMinor = 1'000'000'000'000;
  absl::Status Validate() const;
};

// The outcome of inspecting one returned copy: the fact ReturnCompleted
// records. Immutable once recorded: a rental is returned at most once.
struct ReturnInspection {
  std::string return_id;
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  Condition condition = Condition::kGood;
  absl::Time due_at;
  absl::Time returned_at;
  int32_t days_overdue = 0;
  // days_overdue x the daily late fee, before the rental's discount.
  Money late_fee_base;
  int32_t late_fee_discount_percent = 0;
  // late_fee_base less late_fee_discount_percent (rounded down).
  Money late_fee;
  Money damage_fee;
  // late_fee + damage_fee: what the payment service charges.
  Money total_fee;

  friend bool operator==(const ReturnInspection& a, const ReturnInspection& b);
};

// An inspection as the local state holds it, with its place in the log.
struct RecordedReturn {
  ReturnInspection inspection;
  // The aggregate's version (1: a return has exactly one event).
  uint64_t version = 0;
  // The stream sequence of its ReturnCompleted.
  uint64_t sequence = 0;
};

// INVALID_ARGUMENT with a message naming the field when an id is empty,
// longer than kMaxIdLength or holds characters a NATS subject or key cannot
// carry, when due_at is missing, or when the late-fee discount is outside
// 0..kMaxLateFeeDiscountPercent. Pure: nothing is written on failure.
absl::Status ValidateReturnCommand(const ReturnCommand& command);

// INVALID_ARGUMENT when a return or rental id given to a lookup is empty,
// too long or not printable.
absl::Status ValidateLookupId(absl::string_view field, absl::string_view value);

// Number of started 24-hour periods between `due_at` and `returned_at`;
// 0 when returned on time or early. 1 minute late is 1 day.
int32_t DaysOverdue(absl::Time due_at, absl::Time returned_at);

// Assesses the return of a validated command at `returned_at` under `policy`.
ReturnInspection InspectReturn(const ReturnCommand& command, std::string return_id,
                               absl::Time returned_at, const FeePolicy& policy);

// True when `command` is a retry of the request that produced `recorded`:
// same rental, book, customer and due date. The condition is not compared:
// the inspection is done once and a retry reports it as it was.
bool IsSameReturnRequest(const ReturnCommand& command, const ReturnInspection& recorded);

}  // namespace rentmesh::returns
