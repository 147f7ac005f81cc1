#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace rentmesh::notification {

// Everything the notification server is configured with; filled from flags
// in main.cc only.
struct NotificationConfig {
  std::string grpc_address = "127.0.0.1:50056";
  std::string admin_address = "127.0.0.1:9456";
  std::string nats_url = "nats://127.0.0.1:4222";
  // RocksDB folder of this replica's fold of NOTIFICATION (rebuildable).
  std::string data_dir = "var/notification";
  // Replicas of the streams this service creates (NOTIFICATION; RENTAL,
  // PAYMENT and DEADLETTER when missing).
  int stream_replicas = 1;
  int workers = 4;
  int max_inflight = 256;
  // Longest wait on JetStream (publish, catch-up) per operation.
  absl::Duration max_wait = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration rebuild_flush_interval = absl::Seconds(10);
  // The log channel (on by default).
  bool log_channel = true;
  // The webhook channel, when a URL is set; its signing secret is read from
  // a file (never a flag: flags show in process listings).
  std::string webhook_url;
  std::string webhook_secret_file;
  absl::Duration webhook_timeout = absl::Seconds(5);
  // Attempts of one delivery before it is recorded as failed, and the
  // redelivery backoff between them.
  int max_attempts = 2000;
  absl::Duration retry_initial = absl::Milliseconds(200);
  absl::Duration retry_max = absl::Seconds(30);
  // The due-date timer: "due soon" this long before the due date, "overdue"
  // once it passed; looked for this often.
  bool reminders = true;
  absl::Duration due_soon_window = absl::Hours(24);
  absl::Duration due_scan_interval = absl::Seconds(30);
  absl::Duration liveness_pool_bound = absl::Seconds(30);
  absl::Duration liveness_follower_bound = absl::Seconds(60);
  absl::Duration shutdown_grace = absl::Seconds(5);

  // INVALID_ARGUMENT naming the first bad setting.
  absl::Status Validate() const;
};

}  // namespace rentmesh::notification
