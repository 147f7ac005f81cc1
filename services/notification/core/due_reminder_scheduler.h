#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/ports/due_timers.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::notification {

// The due-date timer's use case, run now and then by every replica: each
// reminder that is due is scheduled on the ReminderLog, which takes it once
// for all replicas (the channels then deliver it like an event). Crash-safe:
// a reminder is marked scheduled locally only after the log took it (or
// said it had it), so a crash in between schedules it again, which the log
// refuses as ALREADY_EXISTS.
class DueReminderScheduler final {
 public:
  struct Options {
    absl::Duration due_soon_window = absl::Hours(24);
    // Timers looked at per run (the earliest due first).
    size_t batch = 500;
  };

  DueReminderScheduler(DueTimers& timers, ReminderLog& log, const Clock& clock, Options options)
      : timers_(timers), log_(log), clock_(clock), options_(options) {}

  struct Outcome {
    int scheduled = 0;
    int already_scheduled = 0;
  };
  // One pass over the timers. The first error stops it (the next run goes on
  // from the same timers).
  absl::StatusOr<Outcome> RunOnce();

 private:
  DueTimers& timers_;
  ReminderLog& log_;
  const Clock& clock_;
  const Options options_;
};

}  // namespace rentmesh::notification
