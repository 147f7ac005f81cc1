#pragma once

#include "absl/status/statusor.h"
#include "core/domain/return_inspection.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"

namespace rentmesh::returns {

// The one place where the returns domain meets its protobuf contracts (the
// gRPC API, the ReturnCompleted event and the local store's records).

// INVALID_ARGUMENT when due_at is missing or not a valid Timestamp, or the
// condition is not a known value (UNSPECIFIED means GOOD).
absl::StatusOr<ReturnCommand> ToReturnCommand(const v1::ProcessReturnRequest& request);

// The API's Return, with consistency_token "RETURNS:<sequence>".
v1::Return ToReturnProto(const RecordedReturn& recorded);
// The inverse, for records read back from the local store. INVALID_ARGUMENT
// when the record is malformed.
absl::StatusOr<RecordedReturn> FromReturnProto(const v1::Return& proto);

events::v1::ReturnCompleted ToReturnCompleted(const ReturnInspection& inspection);
// INVALID_ARGUMENT when the event is malformed (e.g. an unknown condition).
absl::StatusOr<ReturnInspection> FromReturnCompleted(const events::v1::ReturnCompleted& event);

}  // namespace rentmesh::returns
