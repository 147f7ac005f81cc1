#include "adapters/inbound/timer/due_reminder_timer.h"

#include "absl/strings/str_cat.h"
#include "rentmesh/common/log.h"

namespace rentmesh::notification {

DueReminderTimer::DueReminderTimer(DueReminderScheduler& scheduler,
                                   std::function<absl::Status()> caught_up, absl::Duration interval)
    : scheduler_(scheduler), caught_up_(std::move(caught_up)), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

DueReminderTimer::~DueReminderTimer() {
  stop_.Notify();
  thread_.join();
}

void DueReminderTimer::Loop() {
  do {
    if (absl::Status s = caught_up_(); !s.ok()) {
      LogWarn("due reminders wait: the rental fold is not caught up", {{"error", s.ToString()}});
      continue;
    }
    absl::StatusOr<DueReminderScheduler::Outcome> out = scheduler_.RunOnce();
    if (!out.ok()) {
      LogWarn("due reminders not scheduled; trying again later",
              {{"error", out.status().ToString()}});
    } else if (out->scheduled > 0 || out->already_scheduled > 0) {
      LogInfo("due reminders", {{"scheduled", absl::StrCat(out->scheduled)},
                                {"already_scheduled", absl::StrCat(out->already_scheduled)}});
    }
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

}  // namespace rentmesh::notification
