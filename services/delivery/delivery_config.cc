#include "delivery_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh::delivery {
namespace {

// "a<sep>b,c<sep>d" -> pairs; INVALID_ARGUMENT naming `flag` on a malformed entry.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Pairs(absl::string_view flag,
                                                                       absl::string_view text,
                                                                       char sep) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<std::string> parts = absl::StrSplit(entry, absl::MaxSplits(sep, 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": \"", entry, "\" is not <id>",
                                                     std::string(1, sep), "<region>"));
    }
    out.emplace_back(parts[0], parts[1]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Courier>> DeliveryConfig::ParsedCouriers() const {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      Pairs("couriers", couriers, '@');
  if (!pairs.ok()) return pairs.status();
  std::vector<Courier> out;
  for (auto& [id, region] : *pairs) {
    if (absl::Status s = ValidateId("courier_id", id, true); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--couriers: ", s.message()));
    }
    if (absl::Status s = ValidateRegion(region); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--couriers: ", s.message()));
    }
    Courier c;
    c.courier_id = id;
    c.region = region;
    c.name = id;
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> DeliveryConfig::ParsedCustomerRegions() const {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      Pairs("customer_regions", customer_regions, '=');
  if (!pairs.ok()) return pairs.status();
  std::map<std::string, std::string> out;
  for (auto& [customer, region] : *pairs) {
    if (absl::Status s = ValidateRegion(region); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--customer_regions: ", s.message()));
    }
    out[customer] = region;
  }
  return out;
}

absl::Status DeliveryConfig::Validate() const {
  if (absl::Status s = StreamOwnerConfig::Validate(); !s.ok()) return s;
  if (retry_initial <= absl::ZeroDuration() || retry_max < retry_initial) {
    return absl::InvalidArgumentError("--retry_initial must be positive and <= --retry_max");
  }
  if (absl::Status s = ValidateRegion(default_region); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--default_region: ", s.message()));
  }
  if (absl::StatusOr<std::vector<Courier>> c = ParsedCouriers(); !c.ok()) return c.status();
  if (absl::StatusOr<std::map<std::string, std::string>> r = ParsedCustomerRegions(); !r.ok()) {
    return r.status();
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::delivery
