#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::notification {

// What a customer is told about: rentals and payments, due dates, and the
// steps of the copy's delivery (outbound) and of its return pickup (return).
enum class NotificationKind {
  kRented,
  kReturned,
  kCancelled,
  kRefunded,
  kDueSoon,
  kOverdue,
  kDeliveryAssigned,
  kDeliveryPickedUp,
  kDelivered,
  kDeliveryCancelled,
  kReturnPickupRequested,
  kReturnPickupAssigned,
  kReturnPickedUp,
  kReturnDelivered,
  kReturnPickupCancelled,
};

absl::string_view KindName(NotificationKind kind);

// Whether `kind` is a delivery's or a return pickup's step (its customer,
// book title and courier name are looked up: the step's event does not
// carry them).
bool IsDeliveryStep(NotificationKind kind);

// What one event asks to tell its customer; built from a rental, payment or
// delivery event by the inbound adapter.
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
  // Delivery steps: the delivery, its courier (the name when known, else
  // the id names them) and why it was cancelled ("" when not said).
  std::string delivery_id;
  std::string courier_id;
  std::string courier_name;
  std::string reason;
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
