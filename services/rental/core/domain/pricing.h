#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rental/core/domain/rental_domain.h"

// Pricing tiers: a customer's tier gives a discount in percent, from the
// configured policy. A rental's price is decided once, when it is requested,
// and recorded in its events; the policy is never consulted for it again.
namespace rentmesh::rental::domain {

// A rental is always paid for (the rent saga needs a payment): at most 99%.
inline constexpr int32_t kMaxDiscountPercent = 99;

// INVALID_ARGUMENT unless 1..32 of [a-z0-9_-].
absl::Status ValidateTierName(absl::string_view tier);

// The discount per tier, e.g. parsed from "vip:20,gold:10".
class TierPolicy {
 public:
  TierPolicy() = default;

  // "tier:percent" pairs separated by commas ("" is no discount for anyone).
  // INVALID_ARGUMENT naming the bad entry: a malformed pair, a bad tier name,
  // a percent outside 0..99, or a tier named twice.
  static absl::StatusOr<TierPolicy> Parse(absl::string_view spec);

  // The discount of `tier`; 0 for a tier the policy does not name.
  int32_t DiscountPercent(absl::string_view tier) const;
  // Whether a librarian may give this tier: "standard" or a configured one.
  bool Knows(absl::string_view tier) const;
  // The configured tiers, in name order.
  std::vector<std::string> Tiers() const;
  // The policy as Parse reads it, in name order.
  std::string ToString() const;

 private:
  std::map<std::string, int32_t, std::less<>> percent_;
};

// A rental's price: base = daily fee x days, discount = base x percent / 100
// rounded down (the customer never pays more than the stated percent off
// the base would give, rounded to the minor unit), charged = base - discount.
struct Price {
  Money base;
  Money discount;
  Money charged;
};
Price PriceRental(const Money& daily_fee, int32_t days, int32_t discount_percent);

// `amount` less `discount_percent` (rounded down), for fees that follow the
// rental's recorded discount.
int64_t Discounted(int64_t amount_minor, int32_t discount_percent);

}  // namespace rentmesh::rental::domain
