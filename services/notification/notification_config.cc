#include "notification_config.h"

namespace rentmesh::notification {

absl::Status NotificationConfig::Validate() const {
  if (grpc_address.empty()) return absl::InvalidArgumentError("--grpc_address is required");
  if (nats_url.empty()) return absl::InvalidArgumentError("--nats_url is required");
  if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
  if (stream_replicas < 1 || stream_replicas > 5) {
    return absl::InvalidArgumentError("--stream_replicas must be 1..5");
  }
  if (workers < 1 || workers > 64) return absl::InvalidArgumentError("--workers must be 1..64");
  if (max_inflight < 1) return absl::InvalidArgumentError("--max_inflight must be >= 1");
  if (max_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_wait must be positive");
  }
  if (!log_channel && webhook_url.empty()) {
    return absl::InvalidArgumentError("no channel: keep --log_channel or set --webhook_url");
  }
  if (!webhook_secret_file.empty() && webhook_url.empty()) {
    return absl::InvalidArgumentError("--webhook_secret_file needs --webhook_url");
  }
  if (webhook_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--webhook_timeout must be positive");
  }
  if (max_attempts < 1) return absl::InvalidArgumentError("--max_attempts must be >= 1");
  if (retry_initial <= absl::ZeroDuration() || retry_max < retry_initial) {
    return absl::InvalidArgumentError("need 0 < --retry_initial <= --retry_max");
  }
  if (due_soon_window <= absl::ZeroDuration() || due_scan_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--due_soon_window and --due_scan_interval must be positive");
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::notification
