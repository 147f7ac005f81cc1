#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "core/domain/delivery.h"
#include "rentmesh/delivery/v1/delivery.pb.h"
#include "rentmesh/events/v1/events.pb.h"

namespace rentmesh::delivery {

// The one place where the delivery domain meets its protobuf contracts (the
// gRPC API, the DELIVERY events and the local store's records).

v1::DeliveryStatus ToProto(DeliveryStatus status);
v1::DeliveryKind ToProto(DeliveryKind kind);
// UNSPECIFIED is OUTBOUND; INVALID_ARGUMENT for an unknown value.
absl::StatusOr<DeliveryKind> FromProto(v1::DeliveryKind kind);

// The API's Delivery, with consistency_token "DELIVERY:<sequence>".
v1::Delivery ToDeliveryProto(const Delivery& d);
// The inverse, for records read back from the local store. INVALID_ARGUMENT
// when the record is malformed.
absl::StatusOr<Delivery> FromDeliveryProto(const v1::Delivery& proto);

v1::Courier ToCourierProto(const Courier& c);
Courier FromCourierProto(const v1::Courier& proto);

// Fills the envelope's payload with `event`.
void ToEnvelopePayload(const DeliveryEvent& event, events::v1::Envelope& envelope);
// The delivery event an envelope carries; nullopt when it carries none.
// INVALID_ARGUMENT when the event is malformed.
absl::StatusOr<std::optional<DeliveryEvent>> FromEnvelope(const events::v1::Envelope& envelope);

events::v1::CourierAdded ToCourierAdded(const Courier& c);
Courier FromCourierAdded(const events::v1::CourierAdded& e);

}  // namespace rentmesh::delivery
