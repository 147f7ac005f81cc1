#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::gateway {

// One call to a backend service, transport-neutral.
struct BackendCall {
  std::string backend;      // "rental": the route's backend name
  std::string method_path;  // "/rentmesh.rental.v1.RentalService/GetBook"
  std::string request;      // serialized request message
  std::vector<std::pair<std::string, std::string>> metadata;  // lower-case keys, printable values
  absl::Time deadline;
};

// The messages of a server-streaming call, pulled one at a time.
class MessageStream {
 public:
  virtual ~MessageStream() = default;  // Cancels the call if it is still running.
  // The next serialized message; nullopt when the stream ended with OK; the
  // call's error status when it failed. Blocks until one of these is known.
  virtual absl::StatusOr<std::optional<std::string>> Next() = 0;
  // Asks the call to stop; a blocked Next() returns soon after. Idempotent.
  virtual void Cancel() = 0;
};

// The outbound port to the backend services (gRPC in production, fakes in
// tests and the fuzzer).
class BackendCaller {
 public:
  virtual ~BackendCaller() = default;
  // The serialized response, or the backend's status (UNAVAILABLE when
  // `call.backend` has no address, DEADLINE_EXCEEDED at the deadline).
  virtual absl::StatusOr<std::string> Unary(const BackendCall& call) = 0;
  // The same call without blocking: `done` runs once with what Unary would
  // return, on a backend thread or (default: a blocking Unary) this one.
  virtual void UnaryAsync(const BackendCall& call,
                          std::function<void(absl::StatusOr<std::string>)> done) {
    done(Unary(call));
  }
  // Starts a server-streaming call; errors surface through Next().
  virtual std::unique_ptr<MessageStream> ServerStream(const BackendCall& call) = 0;
};

}  // namespace rentmesh::gateway
