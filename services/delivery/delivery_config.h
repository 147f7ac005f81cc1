#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/domain/delivery.h"
#include "rentmesh/telemetry/stream_owner_start.h"

namespace rentmesh::delivery {

// Everything the delivery server is configured with; filled from flags in
// main.cc only.
struct DeliveryConfig : telemetry::StreamOwnerConfig {
  DeliveryConfig() {
    grpc_address = "127.0.0.1:50055";
    admin_address = "127.0.0.1:9455";
  }
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
