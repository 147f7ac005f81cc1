#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/domain/return_inspection.h"

namespace rentmesh::returns {

// Everything the returns server is configured with; filled from flags in
// main.cc only.
struct ReturnsConfig {
  // Where gRPC listens (port 0 picks a free one).
  std::string grpc_address = "127.0.0.1:50053";
  // Metrics/health HTTP endpoint (accepted now, wired with telemetry later).
  std::string admin_address;
  // NATS server(s), comma-separated.
  std::string nats_url = "nats://127.0.0.1:4222";
  // RocksDB folder of this replica's state (rebuildable from the stream).
  std::string data_dir;
  // Replicas of the RETURNS stream (1 on one machine, 3 in a cluster).
  int stream_replicas = 1;
  // Failpoint spec, e.g. "returns.after_append=crash".
  std::string failpoints;
  // Threads running use cases, and the in-flight bound beyond which calls
  // get RESOURCE_EXHAUSTED.
  int workers = 8;
  int max_inflight = 256;
  // The longest a call waits on JetStream or catch-up when its deadline
  // allows more.
  absl::Duration max_wait = absl::Seconds(5);
  // How long startup may take to connect.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Startup catches up for as long as it takes (not ready meanwhile),
  // making its progress durable this often, so a restart resumes it.
  absl::Duration rebuild_flush_interval = absl::Seconds(10);
  // Limits of the RETURNS stream (0: not set here; limits set by hand are
  // kept). Full, it refuses new events (discard=new).
  int64_t stream_max_bytes = 0;
  int64_t stream_max_msgs = 0;
  absl::Duration stream_max_age = absl::ZeroDuration();
  // Liveness goes NOT_SERVING past these (see telemetry's LivenessWatch).
  absl::Duration liveness_pool_bound = absl::Seconds(30);
  absl::Duration liveness_follower_bound = absl::Seconds(60);
  // Grace for in-flight calls on shutdown.
  absl::Duration shutdown_grace = absl::Seconds(5);
  FeePolicy fees;

  // INVALID_ARGUMENT naming the first bad setting.
  absl::Status Validate() const;
};

}  // namespace rentmesh::returns
