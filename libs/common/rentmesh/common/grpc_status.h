#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace rentmesh {

// The one place where absl::Status and grpc::Status meet; the canonical codes
// are the same numbers in both.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace rentmesh
