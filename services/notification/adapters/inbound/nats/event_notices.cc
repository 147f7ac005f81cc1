#include "adapters/inbound/nats/event_notices.h"

#include "rentmesh/events/envelope.h"

namespace rentmesh::notification {
namespace {

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
    default:
      return std::nullopt;
  }
}

}  // namespace rentmesh::notification
