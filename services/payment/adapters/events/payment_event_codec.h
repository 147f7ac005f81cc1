#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "payment/core/domain/payment_event.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::payment {

inline constexpr char kProducer[] = "payment";
inline constexpr char kAggregateType[] = "payment";
inline constexpr char kAggregateSubjectPrefix[] = "payment.rental.";

// The streams payment writes and reads. Payment declares RENTAL and RETURNS
// too (same spec as their owners) because it may start before them.
nats::StreamSpec PaymentStreamSpec(int replicas);
nats::StreamSpec RentalStreamSpec(int replicas);
nats::StreamSpec ReturnsStreamSpec(int replicas);

// "payment.rental.<rental_id>": every payment event of one rental.
std::string AggregateSubject(absl::string_view rental_id);
// The rental id of an aggregate subject; nullopt for any other subject.
std::optional<std::string> RentalIdOfSubject(absl::string_view subject);

// Sets the envelope's payload for `event` (the header is sealed separately).
void SetPayload(const PaymentEvent& event, events::v1::Envelope& envelope);
// The domain event an envelope carries; nullopt when it carries no payment
// event. occurred_at comes from the envelope.
std::optional<PaymentEvent> PaymentEventOf(const events::v1::Envelope& envelope);

}  // namespace rentmesh::payment
