#pragma once

#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/due_reminder_scheduler.h"

namespace rentmesh::notification {

// Runs the DueReminderScheduler every `interval` on its own thread, once
// `caught_up` says the fold of RENTAL holds everything the stream held when
// asked (so a returned rental is never reminded of from a partial fold).
class DueReminderTimer final {
 public:
  DueReminderTimer(DueReminderScheduler& scheduler, std::function<absl::Status()> caught_up,
                   absl::Duration interval);
  // Stops and joins.
  ~DueReminderTimer();
  DueReminderTimer(const DueReminderTimer&) = delete;
  DueReminderTimer& operator=(const DueReminderTimer&) = delete;

 private:
  void Loop();

  DueReminderScheduler& scheduler_;
  const std::function<absl::Status()> caught_up_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rentmesh::notification
