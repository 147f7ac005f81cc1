#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/domain/return_inspection.h"
#include "rentmesh/telemetry/stream_owner_start.h"

namespace rentmesh::returns {

// Everything the returns server is configured with; filled from flags in
// main.cc only.
struct ReturnsConfig : telemetry::StreamOwnerConfig {
  ReturnsConfig() { grpc_address = "127.0.0.1:50053"; }
  // Failpoint spec, e.g. "returns.after_append=crash".
  std::string failpoints;
  FeePolicy fees;

  // INVALID_ARGUMENT naming the first bad setting.
  absl::Status Validate() const;
};

}  // namespace rentmesh::returns
