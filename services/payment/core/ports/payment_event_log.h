#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "payment/core/domain/payment_event.h"

namespace rentmesh::payment {

// Where an event came from, carried on the record for tracing and audits.
struct EventMetadata {
  // The event or request that caused it.
  std::string causation_id;
  // Trace headers of the inbound call (traceparent, tracestate, x-request-id, b3...).
  std::map<std::string, std::string> trace_headers;
};

// The system of record: the payment events of every rental, in order per
// rental, and the local state's progress in applying them.
class PaymentEventLog {
 public:
  virtual ~PaymentEventLog() = default;

  // Appends `event` to the events of event.rental_id, provided the last event
  // stored for that rental is still at `expected_sequence` (0: none yet).
  // `version` is the rental's payment version after this event. Returns the
  // event's sequence (the first copy's when this very event was appended
  // before). ABORTED: another writer appended first (catch up and decide
  // again). UNAVAILABLE: the log cannot be reached now.
  virtual absl::StatusOr<uint64_t> Append(const PaymentEvent& event, uint64_t version,
                                          uint64_t expected_sequence,
                                          const EventMetadata& metadata) = 0;

  // Waits until the local state has applied `sequence`; DEADLINE_EXCEEDED
  // when it has not by `deadline`.
  virtual absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) = 0;

  // Waits until the local state holds everything the log held when called.
  // A replica calls it before it answers NOT_FOUND, after a conflict, and
  // before reads, so that it never answers from its own lag.
  virtual absl::Status CatchUp(absl::Time deadline) = 0;
};

}  // namespace rentmesh::payment
