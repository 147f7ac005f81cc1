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
  if (grpc_address.empty()) return absl::InvalidArgumentError("--grpc_address is required");
  if (nats_url.empty()) return absl::InvalidArgumentError("--nats_url is required");
  if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
  if (stream_replicas < 1 || stream_replicas > 5) {
    return absl::InvalidArgumentError("--stream_replicas must be within [1, 5]");
  }
  if (workers < 1 || workers > 256) {
    return absl::InvalidArgumentError("--workers must be within [1, 256]");
  }
  if (max_inflight < 1 || max_inflight > 100000) {
    return absl::InvalidArgumentError("--max_inflight must be within [1, 100000]");
  }
  if (max_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_wait must be positive");
  }
  if (stream_max_bytes < 0 || stream_max_msgs < 0 || stream_max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stream limits must not be negative");
  }
  if (rebuild_flush_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--rebuild_flush_interval must be at least 1s");
  }
  if (liveness_pool_bound < absl::Seconds(1) || liveness_follower_bound < absl::Seconds(1)) {
    return absl::InvalidArgumentError("liveness bounds must be at least 1s");
  }
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
