#include "returns_config.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::returns {

absl::Status ReturnsConfig::Validate() const {
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
  if (absl::Status s = fees.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("fees: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::returns
