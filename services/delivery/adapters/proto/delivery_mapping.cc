#include "adapters/proto/delivery_mapping.h"

#include "absl/strings/str_cat.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::delivery {
namespace {

absl::StatusOr<DeliveryStatus> FromProto(v1::DeliveryStatus status) {
  switch (status) {
    case v1::DELIVERY_STATUS_REQUESTED:
      return DeliveryStatus::kRequested;
    case v1::DELIVERY_STATUS_ASSIGNED:
      return DeliveryStatus::kAssigned;
    case v1::DELIVERY_STATUS_PICKED_UP:
      return DeliveryStatus::kPickedUp;
    case v1::DELIVERY_STATUS_DELIVERED:
      return DeliveryStatus::kDelivered;
    case v1::DELIVERY_STATUS_CANCELLED:
      return DeliveryStatus::kCancelled;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown delivery status ", status));
  }
}

template <typename E>
DeliveryEvent Common(const E& e, DeliveryEvent::Type type) {
  DeliveryEvent out;
  out.type = type;
  out.delivery_id = e.delivery_id();
  out.rental_id = e.rental_id();
  return out;
}

}  // namespace

v1::DeliveryStatus ToProto(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kRequested:
      return v1::DELIVERY_STATUS_REQUESTED;
    case DeliveryStatus::kAssigned:
      return v1::DELIVERY_STATUS_ASSIGNED;
    case DeliveryStatus::kPickedUp:
      return v1::DELIVERY_STATUS_PICKED_UP;
    case DeliveryStatus::kDelivered:
      return v1::DELIVERY_STATUS_DELIVERED;
    case DeliveryStatus::kCancelled:
      return v1::DELIVERY_STATUS_CANCELLED;
  }
  return v1::DELIVERY_STATUS_UNSPECIFIED;
}

v1::DeliveryKind ToProto(DeliveryKind kind) {
  return kind == DeliveryKind::kReturn ? v1::DELIVERY_KIND_RETURN : v1::DELIVERY_KIND_OUTBOUND;
}

absl::StatusOr<DeliveryKind> FromProto(v1::DeliveryKind kind) {
  switch (kind) {
    case v1::DELIVERY_KIND_UNSPECIFIED:
    case v1::DELIVERY_KIND_OUTBOUND:
      return DeliveryKind::kOutbound;
    case v1::DELIVERY_KIND_RETURN:
      return DeliveryKind::kReturn;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown delivery kind ", kind));
  }
}

v1::Delivery ToDeliveryProto(const Delivery& d) {
  v1::Delivery out;
  out.set_delivery_id(d.delivery_id);
  out.set_rental_id(d.rental_id);
  out.set_kind(ToProto(d.kind));
  out.set_status(ToProto(d.status));
  out.set_customer_id(d.customer_id);
  out.set_book_id(d.book_id);
  out.set_region(d.region);
  out.set_courier_id(d.courier_id);
  for (const DeliveryStep& s : d.steps) {
    v1::DeliveryStep* step = out.add_steps();
    step->set_status(ToProto(s.status));
    *step->mutable_at() = events::ToProtoTime(s.at);
    step->set_courier_id(s.courier_id);
    step->set_request_id(s.request_id);
    step->set_note(s.note);
  }
  out.set_version(d.version);
  out.set_consistency_token(FormatConsistencyToken(events::kDeliveryStream, d.sequence));
  return out;
}

absl::StatusOr<Delivery> FromDeliveryProto(const v1::Delivery& proto) {
  Delivery d;
  d.delivery_id = proto.delivery_id();
  d.rental_id = proto.rental_id();
  absl::StatusOr<DeliveryKind> kind = FromProto(proto.kind());
  if (!kind.ok()) return kind.status();
  d.kind = *kind;
  absl::StatusOr<DeliveryStatus> status = FromProto(proto.status());
  if (!status.ok()) return status.status();
  d.status = *status;
  d.customer_id = proto.customer_id();
  d.book_id = proto.book_id();
  d.region = proto.region();
  d.courier_id = proto.courier_id();
  for (const v1::DeliveryStep& s : proto.steps()) {
    absl::StatusOr<DeliveryStatus> step_status = FromProto(s.status());
    if (!step_status.ok()) return step_status.status();
    d.steps.push_back(
        {*step_status, events::FromProtoTime(s.at()), s.courier_id(), s.request_id(), s.note()});
  }
  d.version = proto.version();
  absl::StatusOr<std::vector<StreamPosition>> token =
      ParseConsistencyToken(proto.consistency_token());
  if (!token.ok() || token->size() != 1 || (*token)[0].stream != events::kDeliveryStream) {
    return absl::InvalidArgumentError("bad consistency token in a stored delivery");
  }
  d.sequence = (*token)[0].sequence;
  return d;
}

v1::Courier ToCourierProto(const Courier& c) {
  v1::Courier out;
  out.set_courier_id(c.courier_id);
  out.set_region(c.region);
  out.set_name(c.name);
  *out.mutable_added_at() = events::ToProtoTime(c.added_at);
  return out;
}

Courier FromCourierProto(const v1::Courier& proto) {
  return {proto.courier_id(), proto.region(), proto.name(), events::FromProtoTime(proto.added_at()),
          ""};
}

void ToEnvelopePayload(const DeliveryEvent& e, events::v1::Envelope& envelope) {
  const std::string kind(KindName(e.kind));
  switch (e.type) {
    case DeliveryEvent::Type::kRequested: {
      events::v1::DeliveryRequested* p = envelope.mutable_delivery_requested();
      p->set_delivery_id(e.delivery_id);
      p->set_rental_id(e.rental_id);
      p->set_kind(kind);
      p->set_customer_id(e.customer_id);
      p->set_book_id(e.book_id);
      p->set_region(e.region);
      *p->mutable_requested_at() = events::ToProtoTime(e.at);
      p->set_request_id(e.request_id);
      break;
    }
    case DeliveryEvent::Type::kAssigned: {
      events::v1::DeliveryAssigned* p = envelope.mutable_delivery_assigned();
      p->set_delivery_id(e.delivery_id);
      p->set_rental_id(e.rental_id);
      p->set_kind(kind);
      p->set_courier_id(e.courier_id);
      *p->mutable_assigned_at() = events::ToProtoTime(e.at);
      break;
    }
    case DeliveryEvent::Type::kPickedUp: {
      events::v1::DeliveryPickedUp* p = envelope.mutable_delivery_picked_up();
      p->set_delivery_id(e.delivery_id);
      p->set_rental_id(e.rental_id);
      p->set_kind(kind);
      p->set_courier_id(e.courier_id);
      *p->mutable_picked_up_at() = events::ToProtoTime(e.at);
      p->set_request_id(e.request_id);
      break;
    }
    case DeliveryEvent::Type::kDelivered: {
      events::v1::DeliveryDelivered* p = envelope.mutable_delivery_delivered();
      p->set_delivery_id(e.delivery_id);
      p->set_rental_id(e.rental_id);
      p->set_kind(kind);
      p->set_courier_id(e.courier_id);
      *p->mutable_delivered_at() = events::ToProtoTime(e.at);
      p->set_request_id(e.request_id);
      break;
    }
    case DeliveryEvent::Type::kCancelled: {
      events::v1::DeliveryCancelled* p = envelope.mutable_delivery_cancelled();
      p->set_delivery_id(e.delivery_id);
      p->set_rental_id(e.rental_id);
      p->set_kind(kind);
      p->set_reason(e.reason);
      *p->mutable_cancelled_at() = events::ToProtoTime(e.at);
      p->set_request_id(e.request_id);
      break;
    }
  }
}

absl::StatusOr<std::optional<DeliveryEvent>> FromEnvelope(const events::v1::Envelope& envelope) {
  DeliveryEvent out;
  std::string kind;
  switch (envelope.payload_case()) {
    case events::v1::Envelope::kDeliveryRequested: {
      const auto& p = envelope.delivery_requested();
      out = Common(p, DeliveryEvent::Type::kRequested);
      out.customer_id = p.customer_id();
      out.book_id = p.book_id();
      out.region = p.region();
      out.request_id = p.request_id();
      out.at = events::FromProtoTime(p.requested_at());
      kind = p.kind();
      break;
    }
    case events::v1::Envelope::kDeliveryAssigned: {
      const auto& p = envelope.delivery_assigned();
      out = Common(p, DeliveryEvent::Type::kAssigned);
      out.courier_id = p.courier_id();
      out.at = events::FromProtoTime(p.assigned_at());
      kind = p.kind();
      break;
    }
    case events::v1::Envelope::kDeliveryPickedUp: {
      const auto& p = envelope.delivery_picked_up();
      out = Common(p, DeliveryEvent::Type::kPickedUp);
      out.courier_id = p.courier_id();
      out.request_id = p.request_id();
      out.at = events::FromProtoTime(p.picked_up_at());
      kind = p.kind();
      break;
    }
    case events::v1::Envelope::kDeliveryDelivered: {
      const auto& p = envelope.delivery_delivered();
      out = Common(p, DeliveryEvent::Type::kDelivered);
      out.courier_id = p.courier_id();
      out.request_id = p.request_id();
      out.at = events::FromProtoTime(p.delivered_at());
      kind = p.kind();
      break;
    }
    case events::v1::Envelope::kDeliveryCancelled: {
      const auto& p = envelope.delivery_cancelled();
      out = Common(p, DeliveryEvent::Type::kCancelled);
      out.reason = p.reason();
      out.request_id = p.request_id();
      out.at = events::FromProtoTime(p.cancelled_at());
      kind = p.kind();
      break;
    }
    default:
      return std::nullopt;
  }
  absl::StatusOr<DeliveryKind> k = ParseKindName(kind);
  if (!k.ok()) return k.status();
  out.kind = *k;
  if (out.delivery_id.empty() || out.rental_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(envelope.event_type(), " without a delivery or rental id"));
  }
  return out;
}

events::v1::CourierAdded ToCourierAdded(const Courier& c) {
  events::v1::CourierAdded out;
  out.set_courier_id(c.courier_id);
  out.set_region(c.region);
  out.set_name(c.name);
  *out.mutable_added_at() = events::ToProtoTime(c.added_at);
  out.set_request_id(c.request_id);
  return out;
}

Courier FromCourierAdded(const events::v1::CourierAdded& e) {
  return {e.courier_id(), e.region(), e.name(), events::FromProtoTime(e.added_at()),
          e.request_id()};
}

}  // namespace rentmesh::delivery
