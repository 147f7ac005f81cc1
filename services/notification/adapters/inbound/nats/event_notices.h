#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "core/domain/notification.h"
#include "rentmesh/events/v1/events.pb.h"

namespace rentmesh::notification {

// The notice an event asks for: BookRented -> rented, BookReturned ->
// returned (with its late fee), RentalCancelled -> cancelled, PaymentRefunded
// -> refunded; nullopt for every other event. The rental id is the
// envelope's correlation id (the payload's when that is empty).
std::optional<Notice> NoticeOf(const events::v1::Envelope& envelope);

}  // namespace rentmesh::notification
