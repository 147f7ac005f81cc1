#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/notification.h"
#include "core/ports/delivery_observer.h"
#include "core/ports/notification_channel.h"
#include "core/ports/notification_history.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::notification {

// The notification use cases: deliver a notice through a channel once, and
// list a customer's history.
class NotificationService final {
 public:
  struct Options {
    // Attempts of one delivery before it is recorded as failed.
    int max_attempts = 2000;
    int default_page_size = 20;
    int max_page_size = 100;
  };
  static constexpr size_t kMaxIdLength = 128;

  // `observer` may be null.
  NotificationService(NotificationHistory& history, const Clock& clock, DeliveryObserver* observer,
                      Options options)
      : history_(history), clock_(clock), observer_(observer), options_(options) {}

  // Delivers `notice` through `channel`, unless the history already holds
  // that delivery (a redelivered event: nothing is sent again). `attempt` is
  // the 1-based number of this try. OK when the delivery is settled: sent and
  // recorded, recorded as failed (the channel refused it for good, or this
  // was the last attempt), or found recorded. INVALID_ARGUMENT for a notice
  // without event or customer (never deliverable). Any other error is
  // transient: call again later with the next attempt number.
  absl::Status Deliver(const Notice& notice, NotificationChannel& channel, int attempt);

  // The customer's notifications, newest first. INVALID_ARGUMENT for a
  // missing or malformed customer id, a page size outside 0..max_page_size
  // (0: the default), or a foreign page token.
  absl::StatusOr<NotificationHistory::Page> ListNotifications(absl::string_view customer_id,
                                                              int page_size,
                                                              absl::string_view page_token);

 private:
  absl::Status RecordOutcome(const Notice& notice, const std::string& id,
                             NotificationChannel& channel, const std::string& message, int attempt,
                             const absl::Status& sent);

  NotificationHistory& history_;
  const Clock& clock_;
  DeliveryObserver* const observer_;
  const Options options_;
};

// INVALID_ARGUMENT unless `id` is 1..kMaxIdLength characters without control
// characters.
absl::Status ValidateId(absl::string_view field, absl::string_view id);

// Whether no retry can make a channel's error go away.
bool IsPermanentChannelError(const absl::Status& status);

}  // namespace rentmesh::notification
