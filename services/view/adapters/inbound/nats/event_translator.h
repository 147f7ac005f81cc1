#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/view_event.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::view {

// Envelope (wire) -> ViewEvent (domain). An event type the view does not use
// becomes kind kUnknown, which the projection ignores.
ViewEvent TranslateEnvelope(const events::v1::Envelope& envelope, absl::string_view stream,
                            uint64_t sequence);

// Parses a stream message's body. INVALID_ARGUMENT when it is not an Envelope;
// PERMISSION_DENIED when its producer does not own the subject's stream, or a
// delivery event (DeliveryRequested ... CourierAdded) names any producer but
// "delivery".
// `scratch` is reused across calls (parsing into it keeps its allocations).
absl::StatusOr<ViewEvent> TranslateMessage(const nats::StreamMessage& message,
                                           absl::string_view stream, events::v1::Envelope& scratch);

}  // namespace rentmesh::view
