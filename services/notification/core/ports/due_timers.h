#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/domain/due_reminder.h"

namespace rentmesh::notification {

// The open rentals' due dates (this replica's fold of the rental events).
class DueTimers {
 public:
  virtual ~DueTimers() = default;
  // Open rentals whose next reminder (NextReminderAt) is at or before
  // `until`, earliest first, at most `limit`, with what is scheduled for
  // them already.
  virtual absl::StatusOr<std::vector<DueTimer>> DueBy(absl::Time until, size_t limit) const = 0;
  // Whether the rental is still out (rented, not returned or cancelled).
  virtual absl::StatusOr<bool> IsOpen(const std::string& rental_id) const = 0;
  // Notes locally that the reminder is scheduled (by this or another replica).
  virtual absl::Status MarkScheduled(const std::string& rental_id, NotificationKind kind) = 0;
};

// Where reminders are scheduled, once for all replicas.
class ReminderLog {
 public:
  virtual ~ReminderLog() = default;
  // Schedules `reminder` unless that rental and kind has one already. OK:
  // scheduled now; ALREADY_EXISTS: scheduled before (by any replica); other
  // errors: nothing scheduled, try again later.
  virtual absl::Status Schedule(const Reminder& reminder) = 0;
};

}  // namespace rentmesh::notification
