#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/domain/delivery.h"

namespace rentmesh::delivery {

// Everything the delivery server is configured with; filled from flags in
// main.cc only.
struct DeliveryConfig {
  std::string grpc_address = "127.0.0.1:50055";
  // Metrics/health HTTP endpoint.
  std::string admin_address = "127.0.0.1:9455";
  std::string nats_url = "nats://127.0.0.1:4222";
  // RocksDB folder of this replica's state (rebuildable from the stream).
  std::string data_dir;
  // Replicas of the DELIVERY stream (1 on one machine, 3 in a cluster).
  int stream_replicas = 1;
  int workers = 8;
  int max_inflight = 256;
  // The longest a call waits on JetStream or catch-up.
  absl::Duration max_wait = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration rebuild_flush_interval = absl::Seconds(10);
  int64_t stream_max_bytes = 0;
  int64_t stream_max_msgs = 0;
  absl::Duration stream_max_age = absl::ZeroDuration();
  absl::Duration liveness_pool_bound = absl::Seconds(30);
  absl::Duration liveness_follower_bound = absl::Seconds(60);
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Redelivery of a BookRented that could not be handled yet.
  absl::Duration retry_initial = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(30);
  // "<courier_id>@<region>,...": couriers recorded at start-up (when
  // missing) as if a librarian had added them.
  std::string couriers;
  // "<customer_id>=<region>,...": where customers live; others are in
  // `default_region`.
  std::string customer_regions;
  std::string default_region = "central";

  // INVALID_ARGUMENT naming the first bad setting.
  absl::Status Validate() const;
  // The parsed --couriers (courier_id and region set).
  absl::StatusOr<std::vector<Courier>> ParsedCouriers() const;
  absl::StatusOr<std::map<std::string, std::string>> ParsedCustomerRegions() const;
};

}  // namespace rentmesh::delivery
