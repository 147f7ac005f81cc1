#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "core/domain/notification.h"
#include "core/ports/delivery_facts.h"
#include "rentmesh/events/v1/events.pb.h"

namespace rentmesh::notification {

// The notice an event asks for: BookRented -> rented, BookReturned ->
// returned (with its late fee), RentalCancelled -> cancelled, PaymentRefunded
// -> refunded; the delivery steps by their delivery's kind:
//   event               OUTBOUND             RETURN
//   DeliveryRequested   (none: BookRented)   return pickup requested
//   DeliveryAssigned    delivery assigned    return pickup assigned
//   DeliveryPickedUp    delivery picked up   return picked up
//   DeliveryDelivered   delivered            return delivered
//   DeliveryCancelled   delivery cancelled   return pickup cancelled
// (with the delivery, courier and reason; the customer only where the event
// carries it: AddFacts brings the rest, see IsDeliveryStep); nullopt for
// every other event (CourierAdded, a delivery of another kind, ...). The
// rental id is the envelope's correlation id (the payload's when that is
// empty).
std::optional<Notice> NoticeOf(const events::v1::Envelope& envelope);

// Fills in what a delivery step's event left out: its customer and book, the
// book's title and the courier's name.
void AddFacts(const DeliveryFacts& facts, Notice& notice);

}  // namespace rentmesh::notification
