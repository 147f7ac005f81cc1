#include "core/domain/return_inspection.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::returns {
namespace {

// A subject token must not hold '.', '*' or '>', and no id may hold
// whitespace or control characters (they would be invisible in logs).
absl::Status ValidateId(absl::string_view field, absl::string_view value, bool subject_token) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must not contain whitespace or control characters"));
    }
    if (subject_token && (c == '.' || c == '*' || c == '>')) {
      return absl::InvalidArgumentError(absl::StrCat(field, " must not contain '.', '*' or '>'"));
    }
  }
  return absl::OkStatus();
}

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// Fees stay in int64 whatever the clock says: saturate instead of wrapping.
int64_t SaturatingMul(int64_t a, int64_t b) {
  if (a != 0 && b > INT64_MAX / a) return INT64_MAX;
  return a * b;
}

int64_t SaturatingAdd(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

}  // namespace

absl::string_view ConditionName(Condition condition) {
  return condition == Condition::kDamaged ? "DAMAGED" : "GOOD";
}

absl::StatusOr<Condition> ParseConditionName(absl::string_view name) {
  if (name == "GOOD") return Condition::kGood;
  if (name == "DAMAGED") return Condition::kDamaged;
  return absl::InvalidArgumentError(absl::StrCat("unknown condition \"", name, "\""));
}

absl::Status FeePolicy::Validate() const {
  if (late_fee_per_day_minor < 0 || late_fee_per_day_minor > kMaxFeeMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("late fee per day must be within [0, ", kMaxFeeMinor, "]"));
  }
  if (damage_fee_minor < 0 || damage_fee_minor > kMaxFeeMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("damage fee must be within [0, ", kMaxFeeMinor, "]"));
  }
  if (currency.size() != 3 || !absl::ascii_isupper(static_cast<unsigned char>(currency[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(currency[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(currency[2]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency \"", currency, "\" is not an upper-case ISO 4217 code"));
  }
  return absl::OkStatus();
}

bool operator==(const ReturnInspection& a, const ReturnInspection& b) {
  return a.return_id == b.return_id && a.rental_id == b.rental_id && a.book_id == b.book_id &&
         a.customer_id == b.customer_id && a.condition == b.condition && a.due_at == b.due_at &&
         a.returned_at == b.returned_at && a.days_overdue == b.days_overdue &&
         a.late_fee_base == b.late_fee_base &&
         a.late_fee_discount_percent == b.late_fee_discount_percent && a.late_fee == b.late_fee &&
         a.damage_fee == b.damage_fee && a.total_fee == b.total_fee;
}

absl::Status ValidateReturnCommand(const ReturnCommand& command) {
  if (absl::Status s = ValidateId("rental_id", command.rental_id, /*subject_token=*/true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateId("book_id", command.book_id, false); !s.ok()) return s;
  if (absl::Status s = ValidateId("customer_id", command.customer_id, false); !s.ok()) return s;
  if (command.due_at == absl::InfinitePast() || command.due_at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("due_at is required");
  }
  if (command.due_at < absl::FromUnixSeconds(kMinTimestampSeconds) ||
      command.due_at >= absl::FromUnixSeconds(kMaxTimestampSeconds + 1)) {
    return absl::InvalidArgumentError("due_at must be between year 1 and year 9999");
  }
  if (command.late_fee_discount_percent < 0 ||
      command.late_fee_discount_percent > kMaxLateFeeDiscountPercent) {
    return absl::InvalidArgumentError(absl::StrCat("late_fee_discount_percent must be within [0, ",
                                                   kMaxLateFeeDiscountPercent, "]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLookupId(absl::string_view field, absl::string_view value) {
  return ValidateId(field, value, /*subject_token=*/false);
}

int32_t DaysOverdue(absl::Time due_at, absl::Time returned_at) {
  if (returned_at <= due_at) return 0;
  absl::Duration rem;
  const int64_t whole = absl::IDivDuration(returned_at - due_at, absl::Hours(24), &rem);
  // Valid due dates span 10,000 years (~3.7M days), far inside int32; clamp
  // anyway so no clock value (even an infinite one) can overflow.
  if (whole >= INT32_MAX) return INT32_MAX;
  return static_cast<int32_t>(whole + (rem > absl::ZeroDuration() ? 1 : 0));
}

ReturnInspection InspectReturn(const ReturnCommand& command, std::string return_id,
                               absl::Time returned_at, const FeePolicy& policy) {
  ReturnInspection r;
  r.return_id = std::move(return_id);
  r.rental_id = command.rental_id;
  r.book_id = command.book_id;
  r.customer_id = command.customer_id;
  r.condition = command.condition;
  r.due_at = command.due_at;
  r.returned_at = returned_at;
  r.days_overdue = DaysOverdue(command.due_at, returned_at);
  // Fees are non-negative (FeePolicy::Validate), so saturation is the only
  // overflow guard needed.
  r.late_fee_base = {policy.currency, SaturatingMul(r.days_overdue, policy.late_fee_per_day_minor)};
  r.late_fee_discount_percent = command.late_fee_discount_percent;
  // Rounded down without overflow: base / 100 x p + (base % 100) x p / 100.
  const int64_t base = r.late_fee_base.amount_minor;
  const int64_t p = r.late_fee_discount_percent;
  r.late_fee = {policy.currency, base - (base / 100 * p + base % 100 * p / 100)};
  r.damage_fee = {policy.currency,
                  command.condition == Condition::kDamaged ? policy.damage_fee_minor : 0};
  r.total_fee = {policy.currency,
                 SaturatingAdd(r.late_fee.amount_minor, r.damage_fee.amount_minor)};
  return r;
}

bool IsSameReturnRequest(const ReturnCommand& command, const ReturnInspection& recorded) {
  return command.rental_id == recorded.rental_id && command.book_id == recorded.book_id &&
         command.customer_id == recorded.customer_id && command.due_at == recorded.due_at;
}

}  // namespace rentmesh::returns
