#include "rental/core/domain/pricing.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace rentmesh::rental::domain {

absl::Status ValidateTierName(absl::string_view tier) {
  if (tier.empty()) return absl::InvalidArgumentError("tier is required");
  if (tier.size() > 32) return absl::InvalidArgumentError("tier is longer than 32 characters");
  for (char c : tier) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "tier \"", tier, "\" may hold only lower-case letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TierPolicy> TierPolicy::Parse(absl::string_view spec) {
  TierPolicy policy;
  if (absl::StripAsciiWhitespace(spec).empty()) return policy;
  for (absl::string_view entry : absl::StrSplit(spec, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is not tier:percent (e.g. vip:20)"));
    }
    absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
    absl::string_view value = absl::StripAsciiWhitespace(parts[1]);
    if (absl::Status s = ValidateTierName(name); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", entry, "\": ", s.message()));
    }
    int32_t percent = 0;
    if (!absl::SimpleAtoi(value, &percent) || percent < 0 || percent > kMaxDiscountPercent) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\": the percent must be 0..", kMaxDiscountPercent));
    }
    if (!policy.percent_.emplace(std::string(name), percent).second) {
      return absl::InvalidArgumentError(absl::StrCat("tier \"", name, "\" is named twice"));
    }
  }
  return policy;
}

int32_t TierPolicy::DiscountPercent(absl::string_view tier) const {
  auto it = percent_.find(tier);
  return it == percent_.end() ? 0 : it->second;
}

bool TierPolicy::Knows(absl::string_view tier) const {
  return tier == kStandardTier || percent_.find(tier) != percent_.end();
}

std::vector<std::string> TierPolicy::Tiers() const {
  std::vector<std::string> out;
  for (const auto& [name, percent] : percent_) out.push_back(name);
  return out;
}

std::string TierPolicy::ToString() const {
  return absl::StrJoin(percent_, ",", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, ":", entry.second);
  });
}

int64_t Discounted(int64_t amount_minor, int32_t discount_percent) {
  if (discount_percent <= 0 || amount_minor <= 0) return amount_minor;
  // amount / 100 * percent + the remainder's share: no overflow for any
  // int64 amount.
  const int64_t discount =
      amount_minor / 100 * discount_percent + amount_minor % 100 * discount_percent / 100;
  return amount_minor - discount;
}

Price PriceRental(const Money& daily_fee, int32_t days, int32_t discount_percent) {
  Price p;
  p.base = RentalFee(daily_fee, days);
  p.charged = Money{p.base.currency, Discounted(p.base.amount_minor, discount_percent)};
  p.discount = Money{p.base.currency, p.base.amount_minor - p.charged.amount_minor};
  return p;
}

}  // namespace rentmesh::rental::domain
