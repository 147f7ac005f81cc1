#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rental/core/domain/rental_domain.h"

namespace rentmesh::rental {

// Where an event came from, carried into the event's envelope.
struct EventContext {
  // The request or event that caused it.
  std::string causation_id;
  // Trace headers (traceparent, tracestate, x-request-id, b3...).
  std::map<std::string, std::string> trace;
  // Set when a retried command must produce the very same event id.
  std::string event_id;
};

// The books' and customers' histories in the log (the system of record) and this replica's
// progress in applying them to its local state.
class BookLog {
 public:
  virtual ~BookLog() = default;

  // Appends `event` to its book's history if the history's last position is
  // still `expected_position` (0: the book has no history yet). Returns the
  // event's position. ABORTED when another writer appended first (catch up and
  // decide again); UNAVAILABLE when the log cannot be reached.
  virtual absl::StatusOr<uint64_t> Append(const domain::BookEvent& event, absl::Time occurred_at,
                                          uint64_t expected_position, const EventContext& ctx) = 0;

  // Appends a tier change to the customer's history if its last position is
  // still `expected_position` (0: none yet). Errors as Append.
  virtual absl::StatusOr<uint64_t> AppendTier(const domain::CustomerTierSet& event,
                                              absl::Time occurred_at, uint64_t expected_position,
                                              const EventContext& ctx) = 0;

  // Returns once the local state reflects everything the log held when
  // called. DEADLINE_EXCEEDED / UNAVAILABLE otherwise.
  virtual absl::Status CatchUp(absl::Time deadline) = 0;

  // Returns once the local state reflects `position`.
  virtual absl::Status WaitApplied(uint64_t position, absl::Time deadline) = 0;

  // The name used in consistency tokens ("RENTAL").
  virtual std::string StreamName() const = 0;
};

}  // namespace rentmesh::rental
