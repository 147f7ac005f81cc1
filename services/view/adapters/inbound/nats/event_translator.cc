#include "adapters/inbound/nats/event_translator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::view {
namespace {

using events::FromProtoTime;
using events::v1::Envelope;

Money ToMoney(const common::v1::Money& m) { return Money{m.currency(), m.amount_minor()}; }

absl::Time TimeOrPast(bool present, const google::protobuf::Timestamp& t) {
  return present ? FromProtoTime(t) : absl::InfinitePast();
}

bool IsDeliveryKind(EventKind kind) {
  switch (kind) {
    case EventKind::kDeliveryRequested:
    case EventKind::kDeliveryAssigned:
    case EventKind::kDeliveryPickedUp:
    case EventKind::kDeliveryDelivered:
    case EventKind::kDeliveryCancelled:
    case EventKind::kCourierAdded:
      return true;
    default:
      return false;
  }
}

}  // namespace

ViewEvent TranslateEnvelope(const Envelope& env, absl::string_view stream, uint64_t sequence) {
  ViewEvent e;
  e.event_id = env.event_id();
  e.event_type = env.event_type().empty() ? events::EventTypeOf(env) : env.event_type();
  e.stream = std::string(stream);
  e.sequence = sequence;
  e.occurred_at = env.has_occurred_at() ? FromProtoTime(env.occurred_at()) : absl::UnixEpoch();
  e.rental_id = env.correlation_id();
  auto ids = [&e](const std::string& rental_id, const std::string& customer_id) {
    if (!rental_id.empty()) e.rental_id = rental_id;
    e.customer_id = customer_id;
  };
  switch (env.payload_case()) {
    case Envelope::kBookAdded: {
      const auto& p = env.book_added();
      e.kind = EventKind::kBookAdded;
      e.rental_id.clear();
      e.book_id = p.book_id();
      e.book_title = p.title();
      e.copies = p.copies();
      e.amount = ToMoney(p.daily_fee());
      break;
    }
    case Envelope::kBookStocked: {
      const auto& p = env.book_stocked();
      e.kind = EventKind::kBookStocked;
      e.rental_id.clear();
      e.book_id = p.book_id();
      e.copies = p.copies_total();
      e.copies_added = p.copies_added();
      break;
    }
    case Envelope::kRentalRequested: {
      const auto& p = env.rental_requested();
      e.kind = EventKind::kRentalRequested;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.book_title = p.book_title();
      e.days = p.days();
      e.amount = ToMoney(p.fee());
      if (p.has_base_fee()) {
        e.base_fee = ToMoney(p.base_fee());
        e.discount = ToMoney(p.discount());
      }
      e.tier = p.tier();
      e.discount_percent = p.discount_percent();
      break;
    }
    case Envelope::kBookRented: {
      const auto& p = env.book_rented();
      e.kind = EventKind::kBookRented;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.book_title = p.book_title();
      e.days = p.days();
      e.amount = ToMoney(p.fee());
      if (p.has_base_fee()) {
        e.base_fee = ToMoney(p.base_fee());
        e.discount = ToMoney(p.discount());
      }
      e.tier = p.tier();
      e.discount_percent = p.discount_percent();
      e.at = TimeOrPast(p.has_rented_at(), p.rented_at());
      e.due_at = TimeOrPast(p.has_due_at(), p.due_at());
      break;
    }
    case Envelope::kRentalRejected: {
      const auto& p = env.rental_rejected();
      e.kind = EventKind::kRentalRejected;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.reason = p.reason();
      break;
    }
    case Envelope::kRentalAborted: {
      const auto& p = env.rental_aborted();
      e.kind = EventKind::kRentalAborted;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.reason = p.reason();
      break;
    }
    case Envelope::kBookReturned: {
      const auto& p = env.book_returned();
      e.kind = EventKind::kBookReturned;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.at = TimeOrPast(p.has_returned_at(), p.returned_at());
      e.amount = ToMoney(p.late_fee());
      break;
    }
    case Envelope::kRentalCancelled: {
      const auto& p = env.rental_cancelled();
      e.kind = EventKind::kRentalCancelled;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.reason = p.reason();
      e.at = TimeOrPast(p.has_cancelled_at(), p.cancelled_at());
      e.amount = ToMoney(p.fee());
      break;
    }
    case Envelope::kRentalRefused: {
      const auto& p = env.rental_refused();
      e.kind = EventKind::kRentalRefused;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.reason = p.reason();
      break;
    }
    case Envelope::kPaymentApproved: {
      const auto& p = env.payment_approved();
      e.kind = EventKind::kPaymentApproved;
      ids(p.rental_id(), p.customer_id());
      e.amount = ToMoney(p.amount());
      break;
    }
    case Envelope::kPaymentDeclined: {
      const auto& p = env.payment_declined();
      e.kind = EventKind::kPaymentDeclined;
      ids(p.rental_id(), p.customer_id());
      e.amount = ToMoney(p.amount());
      e.reason = p.reason();
      break;
    }
    case Envelope::kPaymentRefunded: {
      const auto& p = env.payment_refunded();
      e.kind = EventKind::kPaymentRefunded;
      ids(p.rental_id(), p.customer_id());
      e.amount = ToMoney(p.amount());
      e.reason = p.reason();
      break;
    }
    case Envelope::kPaymentVoided: {
      const auto& p = env.payment_voided();
      e.kind = EventKind::kPaymentVoided;
      ids(p.rental_id(), p.customer_id());
      e.amount = ToMoney(p.amount_reversed());
      e.reason = p.reason();
      break;
    }
    case Envelope::kLateFeeCharged: {
      const auto& p = env.late_fee_charged();
      e.kind = EventKind::kLateFeeCharged;
      ids(p.rental_id(), p.customer_id());
      e.amount = ToMoney(p.amount());
      break;
    }
    case Envelope::kReturnCompleted: {
      const auto& p = env.return_completed();
      e.kind = EventKind::kReturnCompleted;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.at = TimeOrPast(p.has_returned_at(), p.returned_at());
      e.amount = ToMoney(p.total_fee());
      break;
    }
    case Envelope::kDeliveryRequested: {
      const auto& p = env.delivery_requested();
      e.kind = EventKind::kDeliveryRequested;
      ids(p.rental_id(), p.customer_id());
      e.book_id = p.book_id();
      e.delivery_id = p.delivery_id();
      e.delivery_kind = p.kind();
      e.region = p.region();
      e.at = TimeOrPast(p.has_requested_at(), p.requested_at());
      break;
    }
    case Envelope::kDeliveryAssigned: {
      const auto& p = env.delivery_assigned();
      e.kind = EventKind::kDeliveryAssigned;
      ids(p.rental_id(), "");
      e.delivery_id = p.delivery_id();
      e.delivery_kind = p.kind();
      e.courier_id = p.courier_id();
      e.at = TimeOrPast(p.has_assigned_at(), p.assigned_at());
      break;
    }
    case Envelope::kDeliveryPickedUp: {
      const auto& p = env.delivery_picked_up();
      e.kind = EventKind::kDeliveryPickedUp;
      ids(p.rental_id(), "");
      e.delivery_id = p.delivery_id();
      e.delivery_kind = p.kind();
      e.courier_id = p.courier_id();
      e.at = TimeOrPast(p.has_picked_up_at(), p.picked_up_at());
      break;
    }
    case Envelope::kDeliveryDelivered: {
      const auto& p = env.delivery_delivered();
      e.kind = EventKind::kDeliveryDelivered;
      ids(p.rental_id(), "");
      e.delivery_id = p.delivery_id();
      e.delivery_kind = p.kind();
      e.courier_id = p.courier_id();
      e.at = TimeOrPast(p.has_delivered_at(), p.delivered_at());
      break;
    }
    case Envelope::kDeliveryCancelled: {
      const auto& p = env.delivery_cancelled();
      e.kind = EventKind::kDeliveryCancelled;
      ids(p.rental_id(), "");
      e.delivery_id = p.delivery_id();
      e.delivery_kind = p.kind();
      e.reason = p.reason();
      e.at = TimeOrPast(p.has_cancelled_at(), p.cancelled_at());
      break;
    }
    case Envelope::kCourierAdded: {
      e.kind = EventKind::kCourierAdded;
      e.rental_id.clear();
      break;
    }
    case Envelope::kCustomerTierSet: {
      e.kind = EventKind::kCustomerTierSet;
      e.rental_id.clear();
      e.customer_id = env.customer_tier_set().customer_id();
      break;
    }
    default:
      e.kind = EventKind::kUnknown;
      break;
  }
  // An event without an id cannot be de-duplicated; its stream position is
  // unique and stable, so it stands in.
  if (e.event_id.empty()) e.event_id = absl::StrCat(stream, ":", sequence);
  return e;
}

absl::StatusOr<ViewEvent> TranslateMessage(const nats::StreamMessage& message,
                                           absl::string_view stream, Envelope& scratch) {
  if (!scratch.ParseFromString(message.data)) {
    return absl::InvalidArgumentError(absl::StrCat("message ", message.sequence, " on ",
                                                   message.subject, " is not an event envelope"));
  }
  absl::string_view owner = events::OwnerOfSubject(message.subject);
  if (owner.empty() || scratch.producer() != owner) {
    return absl::PermissionDeniedError(
        absl::StrCat("message ", message.sequence, " on ", message.subject, " claims producer \"",
                     scratch.producer(), "\", which does not own that stream"));
  }
  ViewEvent e = TranslateEnvelope(scratch, stream, message.sequence);
  // Delivery facts only from the delivery service's own stream (whatever
  // producer another stream's message names).
  if (IsDeliveryKind(e.kind) && scratch.producer() != "delivery") {
    return absl::PermissionDeniedError(
        absl::StrCat("message ", message.sequence, " on ", message.subject, " carries ",
                     e.event_type, " from producer \"", scratch.producer(), "\", not delivery"));
  }
  constexpr absl::string_view kBookSubject = "rental.book.";
  if (absl::StartsWith(message.subject, kBookSubject) && !e.book_id.empty() &&
      absl::string_view(message.subject).substr(kBookSubject.size()) != e.book_id) {
    return absl::InvalidArgumentError(absl::StrCat("message ", message.sequence, " on ",
                                                   message.subject, " is about book ", e.book_id));
  }
  return e;
}

}  // namespace rentmesh::view
