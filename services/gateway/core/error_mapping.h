#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rentmesh::gateway {

// grpc-gateway's table (runtime.HTTPStatusFromCode): INVALID_ARGUMENT,
// FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; CANCELLED 499; UNKNOWN, INTERNAL, DATA_LOSS 500;
// UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; OK 200.
int HttpStatusFromCode(absl::StatusCode code);

// The google.rpc.Status-shaped JSON body of an error:
// {"code":<canonical code number>,"message":"...","details":[]}.
// Invalid UTF-8 in the message is replaced, never thrown on.
std::string StatusJson(const absl::Status& status);

}  // namespace rentmesh::gateway
