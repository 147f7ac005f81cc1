#include "core/domain/due_reminder.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::notification {

std::vector<NotificationKind> RemindersDue(const DueTimer& t, absl::Time now,
                                           absl::Duration due_soon_window) {
  std::vector<NotificationKind> out;
  if (now >= t.due_at) {
    if (!t.overdue_scheduled) out.push_back(NotificationKind::kOverdue);
  } else if (now >= t.due_at - due_soon_window && !t.due_soon_scheduled) {
    out.push_back(NotificationKind::kDueSoon);
  }
  return out;
}

absl::Time NextReminderAt(const DueTimer& t, absl::Duration due_soon_window) {
  if (t.overdue_scheduled) return absl::InfiniteFuture();
  if (t.due_soon_scheduled) return t.due_at;
  return t.due_at - due_soon_window;
}

std::string ReminderIdFor(NotificationKind kind, const std::string& rental_id) {
  return absl::StrCat(kind == NotificationKind::kOverdue ? "overdue-" : "due-soon-", rental_id);
}

Notice NoticeOf(const Reminder& r) {
  Notice n;
  n.event_id = r.reminder_id;
  n.event_type = r.kind == NotificationKind::kOverdue ? "RentalOverdue" : "RentalDueSoon";
  n.kind = r.kind;
  n.customer_id = r.timer.customer_id;
  n.rental_id = r.timer.rental_id;
  n.book_id = r.timer.book_id;
  n.book_title = r.timer.book_title;
  n.occurred_at = r.scheduled_at;
  n.due_at = r.timer.due_at;
  return n;
}

}  // namespace rentmesh::notification
