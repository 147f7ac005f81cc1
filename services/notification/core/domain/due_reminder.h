#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/domain/notification.h"

namespace rentmesh::notification {

// A rented book's due date, as the timer keeps it until the rental ends.
struct DueTimer {
  std::string rental_id;
  std::string customer_id;
  std::string book_id;
  std::string book_title;
  absl::Time due_at = absl::InfinitePast();
  // Whether each reminder is scheduled already (by any replica).
  bool due_soon_scheduled = false;
  bool overdue_scheduled = false;
};

// A reminder to schedule: once per rental and kind.
struct Reminder {
  std::string reminder_id;
  NotificationKind kind = NotificationKind::kDueSoon;
  DueTimer timer;
  absl::Time scheduled_at = absl::UnixEpoch();
};

// The reminders a timer asks for at `now`: due soon from `due_soon_window`
// before the due date until it, overdue from the due date on. A rental
// already overdue gets no "due soon" (it is marked scheduled with the
// overdue one: too late to help).
std::vector<NotificationKind> RemindersDue(const DueTimer& timer, absl::Time now,
                                           absl::Duration due_soon_window);

// When the timer next asks for a reminder (the start of the due-soon window,
// then the due date); InfiniteFuture once the overdue one is scheduled.
absl::Time NextReminderAt(const DueTimer& timer, absl::Duration due_soon_window);

// "due-soon-<rental_id>", "overdue-<rental_id>": the reminder's id, also its
// event id for the channels.
std::string ReminderIdFor(NotificationKind kind, const std::string& rental_id);

// The notice a scheduled reminder delivers.
Notice NoticeOf(const Reminder& reminder);

}  // namespace rentmesh::notification
