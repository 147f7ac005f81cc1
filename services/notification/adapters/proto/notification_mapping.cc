#include "adapters/proto/notification_mapping.h"

#include "rentmesh/events/envelope.h"

namespace rentmesh::notification {

v1::NotificationKind ToProto(NotificationKind k) {
  switch (k) {
    case NotificationKind::kRented:
      return v1::NOTIFICATION_KIND_RENTED;
    case NotificationKind::kReturned:
      return v1::NOTIFICATION_KIND_RETURNED;
    case NotificationKind::kCancelled:
      return v1::NOTIFICATION_KIND_CANCELLED;
    case NotificationKind::kRefunded:
      return v1::NOTIFICATION_KIND_REFUNDED;
    case NotificationKind::kDueSoon:
      return v1::NOTIFICATION_KIND_DUE_SOON;
    case NotificationKind::kOverdue:
      return v1::NOTIFICATION_KIND_OVERDUE;
    case NotificationKind::kDeliveryAssigned:
      return v1::NOTIFICATION_KIND_DELIVERY_ASSIGNED;
    case NotificationKind::kDeliveryPickedUp:
      return v1::NOTIFICATION_KIND_DELIVERY_PICKED_UP;
    case NotificationKind::kDelivered:
      return v1::NOTIFICATION_KIND_DELIVERED;
    case NotificationKind::kDeliveryCancelled:
      return v1::NOTIFICATION_KIND_DELIVERY_CANCELLED;
    case NotificationKind::kReturnPickupRequested:
      return v1::NOTIFICATION_KIND_RETURN_PICKUP_REQUESTED;
    case NotificationKind::kReturnPickupAssigned:
      return v1::NOTIFICATION_KIND_RETURN_PICKUP_ASSIGNED;
    case NotificationKind::kReturnPickedUp:
      return v1::NOTIFICATION_KIND_RETURN_PICKED_UP;
    case NotificationKind::kReturnDelivered:
      return v1::NOTIFICATION_KIND_RETURN_DELIVERED;
    case NotificationKind::kReturnPickupCancelled:
      return v1::NOTIFICATION_KIND_RETURN_PICKUP_CANCELLED;
  }
  return v1::NOTIFICATION_KIND_UNSPECIFIED;
}

NotificationKind FromProto(v1::NotificationKind k) {
  switch (k) {
    case v1::NOTIFICATION_KIND_RETURNED:
      return NotificationKind::kReturned;
    case v1::NOTIFICATION_KIND_CANCELLED:
      return NotificationKind::kCancelled;
    case v1::NOTIFICATION_KIND_REFUNDED:
      return NotificationKind::kRefunded;
    case v1::NOTIFICATION_KIND_DUE_SOON:
      return NotificationKind::kDueSoon;
    case v1::NOTIFICATION_KIND_OVERDUE:
      return NotificationKind::kOverdue;
    case v1::NOTIFICATION_KIND_DELIVERY_ASSIGNED:
      return NotificationKind::kDeliveryAssigned;
    case v1::NOTIFICATION_KIND_DELIVERY_PICKED_UP:
      return NotificationKind::kDeliveryPickedUp;
    case v1::NOTIFICATION_KIND_DELIVERED:
      return NotificationKind::kDelivered;
    case v1::NOTIFICATION_KIND_DELIVERY_CANCELLED:
      return NotificationKind::kDeliveryCancelled;
    case v1::NOTIFICATION_KIND_RETURN_PICKUP_REQUESTED:
      return NotificationKind::kReturnPickupRequested;
    case v1::NOTIFICATION_KIND_RETURN_PICKUP_ASSIGNED:
      return NotificationKind::kReturnPickupAssigned;
    case v1::NOTIFICATION_KIND_RETURN_PICKED_UP:
      return NotificationKind::kReturnPickedUp;
    case v1::NOTIFICATION_KIND_RETURN_DELIVERED:
      return NotificationKind::kReturnDelivered;
    case v1::NOTIFICATION_KIND_RETURN_PICKUP_CANCELLED:
      return NotificationKind::kReturnPickupCancelled;
    default:
      return NotificationKind::kRented;
  }
}

void ToProto(const Notification& n, v1::Notification* out) {
  out->set_notification_id(n.notification_id);
  out->set_customer_id(n.customer_id);
  out->set_rental_id(n.rental_id);
  out->set_book_id(n.book_id);
  out->set_kind(ToProto(n.kind));
  out->set_channel(n.channel);
  out->set_status(n.status == DeliveryStatus::kSent ? v1::DELIVERY_STATUS_SENT
                                                    : v1::DELIVERY_STATUS_FAILED);
  out->set_message(n.message);
  out->set_event_id(n.event_id);
  out->set_event_type(n.event_type);
  *out->mutable_occurred_at() = events::ToProtoTime(n.occurred_at);
  *out->mutable_recorded_at() = events::ToProtoTime(n.recorded_at);
  out->set_attempts(n.attempts);
  out->set_error(n.error);
}

Notification FromProto(const v1::Notification& p) {
  Notification n;
  n.notification_id = p.notification_id();
  n.customer_id = p.customer_id();
  n.rental_id = p.rental_id();
  n.book_id = p.book_id();
  n.kind = FromProto(p.kind());
  n.channel = p.channel();
  n.status =
      p.status() == v1::DELIVERY_STATUS_FAILED ? DeliveryStatus::kFailed : DeliveryStatus::kSent;
  n.message = p.message();
  n.event_id = p.event_id();
  n.event_type = p.event_type();
  n.occurred_at = events::FromProtoTime(p.occurred_at());
  n.recorded_at = events::FromProtoTime(p.recorded_at());
  n.attempts = p.attempts();
  n.error = p.error();
  return n;
}

}  // namespace rentmesh::notification
