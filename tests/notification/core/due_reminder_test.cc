// The due-date timer's rules and its scheduler against in-memory fakes.
#include "core/domain/due_reminder.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/due_reminder_scheduler.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::notification {
namespace {

const absl::Time kDue = absl::FromUnixSeconds(1700000000);
constexpr absl::Duration kWindow = absl::Hours(24);

DueTimer Timer(std::string rental_id, absl::Time due = kDue) {
  DueTimer t;
  t.rental_id = std::move(rental_id);
  t.customer_id = "alice";
  t.book_title = "Dune";
  t.due_at = due;
  return t;
}

TEST(RemindersDueTest, DueSoonInTheWindowThenOverdueOnceEach) {
  DueTimer t = Timer("r-1");
  EXPECT_TRUE(RemindersDue(t, kDue - kWindow - absl::Seconds(1), kWindow).empty());
  EXPECT_EQ(RemindersDue(t, kDue - kWindow, kWindow),
            std::vector<NotificationKind>{NotificationKind::kDueSoon});
  t.due_soon_scheduled = true;
  EXPECT_TRUE(RemindersDue(t, kDue - absl::Seconds(1), kWindow).empty());
  EXPECT_EQ(RemindersDue(t, kDue, kWindow),
            std::vector<NotificationKind>{NotificationKind::kOverdue});
  t.overdue_scheduled = true;
  EXPECT_TRUE(RemindersDue(t, kDue + absl::Hours(100), kWindow).empty());
}

TEST(RemindersDueTest, ARentalAlreadyOverdueGetsNoDueSoon) {
  EXPECT_EQ(RemindersDue(Timer("r-1"), kDue + absl::Minutes(1), kWindow),
            std::vector<NotificationKind>{NotificationKind::kOverdue});
}

TEST(NextReminderAtTest, FollowsWhatIsScheduled) {
  DueTimer t = Timer("r-1");
  EXPECT_EQ(NextReminderAt(t, kWindow), kDue - kWindow);
  t.due_soon_scheduled = true;
  EXPECT_EQ(NextReminderAt(t, kWindow), kDue);
  t.overdue_scheduled = true;
  EXPECT_EQ(NextReminderAt(t, kWindow), absl::InfiniteFuture());
}

TEST(NoticeOfReminderTest, CarriesTheRentalAndTheReminderIdAsEventId) {
  Reminder r;
  r.reminder_id = ReminderIdFor(NotificationKind::kOverdue, "r-1");
  r.kind = NotificationKind::kOverdue;
  r.timer = Timer("r-1");
  Notice n = NoticeOf(r);
  EXPECT_EQ(n.event_id, "overdue-r-1");
  EXPECT_EQ(n.rental_id, "r-1");
  EXPECT_EQ(n.customer_id, "alice");
  EXPECT_EQ(n.due_at, kDue);
  EXPECT_EQ(MessageFor(n),
            "Your rental of Dune was due on 2023-11-14 22:13 UTC and is overdue; late fees apply "
            "until it is returned.");
}

class InMemoryDueTimers final : public DueTimers {
 public:
  absl::StatusOr<std::vector<DueTimer>> DueBy(absl::Time until, size_t limit) const override {
    std::vector<DueTimer> out;
    for (const auto& [id, t] : timers) {
      if (NextReminderAt(t, kWindow) <= until && out.size() < limit) out.push_back(t);
    }
    return out;
  }
  absl::StatusOr<bool> IsOpen(const std::string& rental_id) const override {
    return timers.count(rental_id) > 0;
  }
  absl::Status MarkScheduled(const std::string& rental_id, NotificationKind kind) override {
    DueTimer& t = timers[rental_id];
    (kind == NotificationKind::kDueSoon ? t.due_soon_scheduled : t.overdue_scheduled) = true;
    return absl::OkStatus();
  }
  std::map<std::string, DueTimer> timers;
};

// One log shared by "replicas": it takes each reminder id once.
class InMemoryReminderLog final : public ReminderLog {
 public:
  absl::Status Schedule(const Reminder& r) override {
    if (!error.ok()) return error;
    if (!ids.insert(r.reminder_id).second) return absl::AlreadyExistsError(r.reminder_id);
    scheduled.push_back(r);
    return absl::OkStatus();
  }
  std::set<std::string> ids;
  std::vector<Reminder> scheduled;
  absl::Status error = absl::OkStatus();
};

TEST(DueReminderSchedulerTest, TwoReplicasScheduleEachReminderOnce) {
  InMemoryReminderLog log;
  InMemoryDueTimers timers_a, timers_b;
  for (InMemoryDueTimers* t : {&timers_a, &timers_b}) {
    t->timers["soon"] = Timer("soon", kDue);
    t->timers["late"] = Timer("late", kDue - absl::Hours(1));
    t->timers["later"] = Timer("later", kDue + absl::Hours(48));
  }
  ManualClock clock(kDue - absl::Minutes(30));
  DueReminderScheduler a(timers_a, log, clock, {kWindow, 100});
  DueReminderScheduler b(timers_b, log, clock, {kWindow, 100});
  absl::StatusOr<DueReminderScheduler::Outcome> ra = a.RunOnce();
  absl::StatusOr<DueReminderScheduler::Outcome> rb = b.RunOnce();
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->scheduled, 2);
  EXPECT_EQ(rb->scheduled, 0);
  EXPECT_EQ(rb->already_scheduled, 2);
  EXPECT_EQ(log.ids, (std::set<std::string>{"due-soon-soon", "overdue-late"}));
  // Nothing more until the next due date passes.
  ASSERT_TRUE(a.RunOnce().ok());
  EXPECT_EQ(log.scheduled.size(), 2u);
  clock.Advance(absl::Hours(1));
  ASSERT_TRUE(a.RunOnce().ok());
  EXPECT_EQ(log.ids, (std::set<std::string>{"due-soon-soon", "overdue-late", "overdue-soon"}));
  // The late rental never gets "due soon".
  EXPECT_TRUE(timers_a.timers["late"].due_soon_scheduled);
}

TEST(DueReminderSchedulerTest, AReminderTheLogDidNotTakeIsTriedAgain) {
  InMemoryReminderLog log;
  InMemoryDueTimers timers;
  timers.timers["late"] = Timer("late", kDue - absl::Hours(1));
  ManualClock clock(kDue);
  DueReminderScheduler s(timers, log, clock, {kWindow, 100});
  log.error = absl::UnavailableError("NATS down");
  EXPECT_FALSE(s.RunOnce().ok());
  EXPECT_FALSE(timers.timers["late"].overdue_scheduled);
  log.error = absl::OkStatus();
  ASSERT_TRUE(s.RunOnce().ok());
  EXPECT_EQ(log.ids, (std::set<std::string>{"overdue-late"}));
}

}  // namespace
}  // namespace rentmesh::notification
