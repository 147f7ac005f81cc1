#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::notification {

// What a customer is told about.
enum class NotificationKind { kRented, kReturned, kCancelled, kRefunded, kDueSoon, kOverdue };

absl::string_view KindName(NotificationKind kind);

// What one event asks to tell its customer; built from a rental or payment
// event by the inbound adapter.
struct Notice {
  std::string event_id;
  std::string event_type;
  NotificationKind kind = NotificationKind::kRented;
  std::string customer_id;
  // The event's correlation key.
  std::string rental_id;
  std::string book_id;
  std::string book_title;
  absl::Time occurred_at = absl::UnixEpoch();
  absl::Time due_at = absl::InfinitePast();
  // Minor units of the fee, late fee or refund; 0 when none.
  int64_t amount_minor = 0;
  std::string currency;
};

enum class DeliveryStatus { kSent, kFailed };

// One delivery of one notice through one channel, as the history keeps it.
struct Notification {
  std::string notification_id;
  std::string customer_id;
  std::string rental_id;
  std::string book_id;
  NotificationKind kind = NotificationKind::kRented;
  std::string channel;
  DeliveryStatus status = DeliveryStatus::kSent;
  std::string message;
  std::string event_id;
  std::string event_type;
  absl::Time occurred_at = absl::UnixEpoch();
  absl::Time recorded_at = absl::UnixEpoch();
  int attempts = 1;
  std::string error;
};

// The text sent to the customer, e.g. "Your rental of Dune is due on ...".
std::string MessageFor(const Notice& notice);

// The id of the delivery of `event_id` through `channel`: the same on every
// replica and for every redelivery, so the history tells whether it was sent.
std::string NotificationIdFor(absl::string_view event_id, absl::string_view channel);

}  // namespace rentmesh::notification
