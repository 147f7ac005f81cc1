#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/domain/return_inspection.h"

namespace rentmesh::returns {

// The tracing headers of the request that caused an event, carried into the
// event so the mesh can stitch the trace (plain strings: the core knows no
// gRPC).
struct EventTrace {
  std::string traceparent;
  std::string tracestate;
  std::string request_id;
  std::map<std::string, std::string> b3;
};

struct AppendResult {
  // Stream sequence of the stored event.
  uint64_t sequence = 0;
  // The log already held this very event (a retried append); `sequence` is
  // the first copy's.
  bool duplicate = false;
};

// The RETURNS stream (the system of record) and this replica's progress in
// applying it to the local state.
class ReturnEventLog {
 public:
  virtual ~ReturnEventLog() = default;

  // Appends ReturnCompleted for `inspection` to its rental's subject, only if
  // that subject holds no event yet. ABORTED when it does (another request or
  // replica recorded the rental's return first), UNAVAILABLE when the log
  // cannot be reached or did not acknowledge in time.
  virtual absl::StatusOr<AppendResult> AppendReturnCompleted(const ReturnInspection& inspection,
                                                             const EventTrace& trace) = 0;

  // Waits until the local state has applied `sequence`. DEADLINE_EXCEEDED
  // when it has not by `deadline`.
  virtual absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) = 0;

  // Waits until the local state has applied everything the log holds now.
  // UNAVAILABLE when the log cannot be asked, DEADLINE_EXCEEDED when the
  // local state does not get there by `deadline`.
  virtual absl::Status CatchUp(absl::Time deadline) = 0;
};

}  // namespace rentmesh::returns
