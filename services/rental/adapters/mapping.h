#pragma once

#include <optional>

#include "absl/time/time.h"
#include "rental/core/domain/rental_domain.h"
#include "rentmesh/common/v1/common.pb.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"

// Translations between the rental domain and its protobuf forms: the events on
// the wire and the API / storage records. The only place that knows both.
namespace rentmesh::rental::mapping {

common::v1::Money ToProto(const domain::Money& m);
domain::Money FromProto(const common::v1::Money& m);

// Sets the envelope's payload from a domain event.
void SetPayload(const domain::BookEvent& e, events::v1::Envelope& envelope);
// The domain event in an envelope; nullopt for payloads of other contexts.
std::optional<domain::BookEvent> FromEnvelope(const events::v1::Envelope& envelope);

// `stream` names the log in consistency tokens.
rental::v1::Book ToProto(const domain::Book& b, absl::string_view stream);
domain::Book FromProto(const rental::v1::Book& b);
rental::v1::Rental ToProto(const domain::Rental& r, absl::string_view stream);
domain::Rental FromProto(const rental::v1::Rental& r);
// A record that began as a hold (domain::Rental::is_hold) in its API form.
rental::v1::Hold ToHoldProto(const domain::Rental& r, absl::string_view stream);

// The customer's subject token ("rental.customer.<token>"): the id with '%',
// '.', '*', '>' percent-encoded, so any valid customer id is one token.
std::string CustomerToken(absl::string_view customer_id);
void SetPayload(const domain::CustomerTierSet& e, events::v1::Envelope& envelope);
// The tier record as stored (discount_percent unset: it depends on the
// policy at reading time).
rental::v1::CustomerTier ToProto(const domain::CustomerTier& c, absl::string_view stream);
domain::CustomerTier FromProto(const rental::v1::CustomerTier& c);

}  // namespace rentmesh::rental::mapping
