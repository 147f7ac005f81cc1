#include "core/due_reminder_scheduler.h"

namespace rentmesh::notification {

absl::StatusOr<DueReminderScheduler::Outcome> DueReminderScheduler::RunOnce() {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::vector<DueTimer>> due = timers_.DueBy(now, options_.batch);
  if (!due.ok()) return due.status();
  Outcome out;
  for (const DueTimer& t : *due) {
    for (NotificationKind kind : RemindersDue(t, now, options_.due_soon_window)) {
      Reminder r;
      r.reminder_id = ReminderIdFor(kind, t.rental_id);
      r.kind = kind;
      r.timer = t;
      r.scheduled_at = now;
      absl::Status s = log_.Schedule(r);
      if (s.ok()) {
        ++out.scheduled;
      } else if (absl::IsAlreadyExists(s)) {
        ++out.already_scheduled;
      } else {
        return s;
      }
      if (absl::Status m = timers_.MarkScheduled(t.rental_id, kind); !m.ok()) return m;
      // Too late for "due soon": never send it after the overdue one.
      if (kind == NotificationKind::kOverdue && !t.due_soon_scheduled) {
        if (absl::Status m = timers_.MarkScheduled(t.rental_id, NotificationKind::kDueSoon);
            !m.ok()) {
          return m;
        }
      }
    }
  }
  return out;
}

}  // namespace rentmesh::notification
