#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/domain/delivery.h"

namespace rentmesh::delivery {

// The tracing headers of the request that caused an event (plain strings:
// the core knows no gRPC).
struct EventTrace {
  std::string traceparent;
  std::string tracestate;
  std::string request_id;
  std::map<std::string, std::string> b3;
};

struct AppendResult {
  // Stream sequence of the stored event.
  uint64_t sequence = 0;
  // The log already held this very event (a retried append).
  bool duplicate = false;
};

// The DELIVERY stream (the system of record) and this replica's progress in
// applying it to the local state.
class DeliveryEventLog {
 public:
  virtual ~DeliveryEventLog() = default;

  // Appends `event` to its delivery's subject if that subject's last
  // sequence is still `expected_sequence` (0: the subject must be empty).
  // The event id is derived from the delivery and the event type, so a
  // retried append is dropped by the server. ABORTED when another writer
  // appended first, UNAVAILABLE when the log cannot be reached or did not
  // acknowledge in time.
  virtual absl::StatusOr<AppendResult> AppendDeliveryEvent(const DeliveryEvent& event,
                                                           uint64_t expected_sequence,
                                                           const EventTrace& trace) = 0;
  // Appends CourierAdded to the courier's subject, only if it is empty.
  // ABORTED when the courier was added already.
  virtual absl::StatusOr<AppendResult> AppendCourierAdded(const Courier& courier,
                                                          const EventTrace& trace) = 0;

  // Waits until the local state has applied `sequence`. DEADLINE_EXCEEDED
  // when it has not by `deadline`.
  virtual absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) = 0;
  // Waits until the local state has applied everything the log holds now.
  // UNAVAILABLE when the log cannot be asked, DEADLINE_EXCEEDED when the
  // local state does not get there by `deadline`.
  virtual absl::Status CatchUp(absl::Time deadline) = 0;
};

}  // namespace rentmesh::delivery
