#pragma once

#include <string>

#include "absl/time/time.h"
#include "core/ports/due_timers.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::notification {

// Schedules reminders on the NOTIFICATION stream, once for all replicas: each
// goes to its own subject notification.due.<due_soon|overdue>.<rental token>
// with Nats-Expected-Last-Subject-Sequence 0, so only the first replica's
// append is stored; the others get ABORTED, reported as ALREADY_EXISTS.
class JetStreamReminderLog final : public ReminderLog {
 public:
  static constexpr char kSubjectPrefix[] = "notification.due.";
  static std::string SubjectFor(NotificationKind kind, absl::string_view rental_id);

  JetStreamReminderLog(nats::JetStream& js, absl::Duration max_wait)
      : js_(js), max_wait_(max_wait) {}

  // ReminderLog
  absl::Status Schedule(const Reminder& reminder) override;

 private:
  nats::JetStream& js_;
  const absl::Duration max_wait_;
};

}  // namespace rentmesh::notification
