#include "adapters/inbound/nats/event_notices.h"

#include "rentmesh/events/envelope.h"

namespace rentmesh::notification {
namespace {

constexpr char kOutbound[] = "OUTBOUND";
constexpr char kReturn[] = "RETURN";

Notice Base(const events::v1::Envelope& e, NotificationKind kind, const std::string& customer_id,
            const std::string& rental_id) {
  Notice n;
  n.event_id = e.event_id();
  n.event_type = e.event_type();
  n.kind = kind;
  n.customer_id = customer_id;
  n.rental_id = e.correlation_id().empty() ? rental_id : e.correlation_id();
  n.occurred_at = events::FromProtoTime(e.occurred_at());
  return n;
}

// A step of an OUTBOUND delivery (`outbound`) or of a RETURN pickup (`back`);
// nullopt for a delivery of any other kind. The customer comes from the
// delivery's facts.
std::optional<Notice> Step(const events::v1::Envelope& e, const std::string& delivery_kind,
                           NotificationKind outbound, NotificationKind back,
                           const std::string& delivery_id, const std::string& rental_id,
                           const std::string& courier_id) {
  if (delivery_kind != kOutbound && delivery_kind != kReturn) return std::nullopt;
  Notice n = Base(e, delivery_kind == kOutbound ? outbound : back, "", rental_id);
  n.delivery_id = delivery_id;
  n.courier_id = courier_id;
  return n;
}

}  // namespace

std::optional<Notice> NoticeOf(const events::v1::Envelope& e) {
  using P = events::v1::Envelope;
  switch (e.payload_case()) {
    case P::kBookRented: {
      const auto& p = e.book_rented();
      Notice n = Base(e, NotificationKind::kRented, p.customer_id(), p.rental_id());
      n.book_id = p.book_id();
      n.book_title = p.book_title();
      if (p.has_due_at()) n.due_at = events::FromProtoTime(p.due_at());
      n.amount_minor = p.fee().amount_minor();
      n.currency = p.fee().currency();
      return n;
    }
    case P::kBookReturned: {
      const auto& p = e.book_returned();
      Notice n = Base(e, NotificationKind::kReturned, p.customer_id(), p.rental_id());
      n.book_id = p.book_id();
      n.amount_minor = p.late_fee().amount_minor();
      n.currency = p.late_fee().currency();
      return n;
    }
    case P::kRentalCancelled: {
      const auto& p = e.rental_cancelled();
      Notice n = Base(e, NotificationKind::kCancelled, p.customer_id(), p.rental_id());
      n.book_id = p.book_id();
      n.amount_minor = p.fee().amount_minor();
      n.currency = p.fee().currency();
      return n;
    }
    case P::kPaymentRefunded: {
      const auto& p = e.payment_refunded();
      Notice n = Base(e, NotificationKind::kRefunded, p.customer_id(), p.rental_id());
      n.amount_minor = p.amount().amount_minor();
      n.currency = p.amount().currency();
      return n;
    }
    case P::kDeliveryRequested: {
      const auto& p = e.delivery_requested();
      // An outbound delivery comes with the rental, which BookRented told of.
      if (p.kind() != kReturn) return std::nullopt;
      Notice n = Base(e, NotificationKind::kReturnPickupRequested, p.customer_id(), p.rental_id());
      n.delivery_id = p.delivery_id();
      n.book_id = p.book_id();
      return n;
    }
    case P::kDeliveryAssigned: {
      const auto& p = e.delivery_assigned();
      return Step(e, p.kind(), NotificationKind::kDeliveryAssigned,
                  NotificationKind::kReturnPickupAssigned, p.delivery_id(), p.rental_id(),
                  p.courier_id());
    }
    case P::kDeliveryPickedUp: {
      const auto& p = e.delivery_picked_up();
      return Step(e, p.kind(), NotificationKind::kDeliveryPickedUp,
                  NotificationKind::kReturnPickedUp, p.delivery_id(), p.rental_id(),
                  p.courier_id());
    }
    case P::kDeliveryDelivered: {
      const auto& p = e.delivery_delivered();
      return Step(e, p.kind(), NotificationKind::kDelivered, NotificationKind::kReturnDelivered,
                  p.delivery_id(), p.rental_id(), p.courier_id());
    }
    case P::kDeliveryCancelled: {
      const auto& p = e.delivery_cancelled();
      std::optional<Notice> n =
          Step(e, p.kind(), NotificationKind::kDeliveryCancelled,
               NotificationKind::kReturnPickupCancelled, p.delivery_id(), p.rental_id(), "");
      if (n.has_value()) n->reason = p.reason();
      return n;
    }
    default:
      return std::nullopt;
  }
}

void AddFacts(const DeliveryFacts& facts, Notice& notice) {
  if (notice.customer_id.empty()) notice.customer_id = facts.customer_id;
  if (notice.book_id.empty()) notice.book_id = facts.book_id;
  if (notice.book_title.empty()) notice.book_title = facts.book_title;
  if (notice.courier_name.empty()) notice.courier_name = facts.courier_name;
}

}  // namespace rentmesh::notification
