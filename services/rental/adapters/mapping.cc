#include "rental/adapters/mapping.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/common/overloaded.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental::mapping {
namespace {

using events::FromProtoTime;
using events::ToProtoTime;

bool IsSet(absl::Time t) { return t != absl::InfinitePast(); }

absl::Time TimeOrPast(bool has, const google::protobuf::Timestamp& t) {
  return has ? FromProtoTime(t) : absl::InfinitePast();
}

uint64_t PositionOf(const std::string& token) {
  absl::StatusOr<std::vector<StreamPosition>> p = ParseConsistencyToken(token);
  if (!p.ok() || p->empty()) return 0;
  return p->front().sequence;
}

}  // namespace

common::v1::Money ToProto(const domain::Money& m) {
  common::v1::Money out;
  out.set_currency(m.currency);
  out.set_amount_minor(m.amount_minor);
  return out;
}

domain::Money FromProto(const common::v1::Money& m) { return {m.currency(), m.amount_minor()}; }

void SetPayload(const domain::BookEvent& e, events::v1::Envelope& env) {
  std::visit(Overloaded{
                 [&](const domain::BookAdded& ev) {
                   auto* p = env.mutable_book_added();
                   p->set_book_id(ev.book_id);
                   p->set_title(ev.title);
                   p->set_copies(ev.copies);
                   *p->mutable_daily_fee() = ToProto(ev.daily_fee);
                 },
                 [&](const domain::BookStocked& ev) {
                   auto* p = env.mutable_book_stocked();
                   p->set_book_id(ev.book_id);
                   p->set_copies_added(ev.copies_added);
                   p->set_copies_total(ev.copies_total);
                   p->set_request_id(ev.request_id);
                 },
                 [&](const domain::RentalRequested& ev) {
                   auto* p = env.mutable_rental_requested();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_days(ev.days);
                   *p->mutable_fee() = ToProto(ev.fee);
                   p->set_request_id(ev.request_id);
                   p->set_book_title(ev.book_title);
                   if (!ev.base_fee.currency.empty()) {
                     *p->mutable_base_fee() = ToProto(ev.base_fee);
                     *p->mutable_discount() = ToProto(ev.discount);
                   }
                   p->set_tier(ev.tier);
                   p->set_discount_percent(ev.discount_percent);
                   p->set_hold_id(ev.hold_id);
                 },
                 [&](const domain::BookRented& ev) {
                   auto* p = env.mutable_book_rented();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_days(ev.days);
                   *p->mutable_fee() = ToProto(ev.fee);
                   p->set_payment_id(ev.payment_id);
                   *p->mutable_rented_at() = ToProtoTime(ev.rented_at);
                   *p->mutable_due_at() = ToProtoTime(ev.due_at);
                   p->set_book_title(ev.book_title);
                   if (!ev.base_fee.currency.empty()) {
                     *p->mutable_base_fee() = ToProto(ev.base_fee);
                     *p->mutable_discount() = ToProto(ev.discount);
                   }
                   p->set_tier(ev.tier);
                   p->set_discount_percent(ev.discount_percent);
                 },
                 [&](const domain::RentalRejected& ev) {
                   auto* p = env.mutable_rental_rejected();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_reason(ev.reason);
                 },
                 [&](const domain::RentalRefused& ev) {
                   auto* p = env.mutable_rental_refused();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_reason(ev.reason);
                   p->set_request_id(ev.request_id);
                 },
                 [&](const domain::RentalAborted& ev) {
                   auto* p = env.mutable_rental_aborted();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_reason(ev.reason);
                 },
                 [&](const domain::BookReturned& ev) {
                   auto* p = env.mutable_book_returned();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_return_id(ev.return_id);
                   *p->mutable_returned_at() = ToProtoTime(ev.returned_at);
                   *p->mutable_late_fee() = ToProto(ev.late_fee);
                   p->set_request_id(ev.request_id);
                 },
                 [&](const domain::RentalCancelled& ev) {
                   auto* p = env.mutable_rental_cancelled();
                   p->set_rental_id(ev.rental_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_reason(ev.reason);
                   *p->mutable_cancelled_at() = ToProtoTime(ev.cancelled_at);
                   p->set_payment_id(ev.payment_id);
                   *p->mutable_fee() = ToProto(ev.fee);
                   p->set_request_id(ev.request_id);
                 },
                 [&](const domain::HoldPlaced& ev) {
                   auto* p = env.mutable_hold_placed();
                   p->set_hold_id(ev.hold_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_request_id(ev.request_id);
                   *p->mutable_expires_at() = ToProtoTime(ev.expires_at);
                   p->set_book_title(ev.book_title);
                 },
                 [&](const domain::HoldReleased& ev) {
                   auto* p = env.mutable_hold_released();
                   p->set_hold_id(ev.hold_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_reason(ev.reason);
                   p->set_request_id(ev.request_id);
                 },
                 [&](const domain::HoldExpired& ev) {
                   auto* p = env.mutable_hold_expired();
                   p->set_hold_id(ev.hold_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   *p->mutable_expires_at() = ToProtoTime(ev.expires_at);
                 },
                 [&](const domain::HoldQueued& ev) {
                   auto* p = env.mutable_hold_queued();
                   p->set_hold_id(ev.hold_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   p->set_request_id(ev.request_id);
                   p->set_book_title(ev.book_title);
                 },
                 [&](const domain::HoldGranted& ev) {
                   auto* p = env.mutable_hold_granted();
                   p->set_hold_id(ev.hold_id);
                   p->set_book_id(ev.book_id);
                   p->set_customer_id(ev.customer_id);
                   *p->mutable_expires_at() = ToProtoTime(ev.expires_at);
                 },
             },
             e);
}

std::optional<domain::BookEvent> FromEnvelope(const events::v1::Envelope& env) {
  using P = events::v1::Envelope;
  switch (env.payload_case()) {
    case P::kBookAdded: {
      const auto& p = env.book_added();
      return domain::BookAdded{p.book_id(), p.title(), p.copies(), FromProto(p.daily_fee())};
    }
    case P::kBookStocked: {
      const auto& p = env.book_stocked();
      return domain::BookStocked{p.book_id(), p.copies_added(), p.copies_total(), p.request_id()};
    }
    case P::kRentalRequested: {
      const auto& p = env.rental_requested();
      domain::RentalRequested out{p.rental_id(),      p.book_id(),    p.customer_id(), p.days(),
                                  FromProto(p.fee()), p.request_id(), p.book_title()};
      if (p.has_base_fee()) {
        out.base_fee = FromProto(p.base_fee());
        out.discount = FromProto(p.discount());
      }
      out.tier = p.tier();
      out.discount_percent = p.discount_percent();
      out.hold_id = p.hold_id();
      return out;
    }
    case P::kBookRented: {
      const auto& p = env.book_rented();
      return domain::BookRented{p.rental_id(),
                                p.book_id(),
                                p.customer_id(),
                                p.days(),
                                FromProto(p.fee()),
                                p.payment_id(),
                                FromProtoTime(p.rented_at()),
                                FromProtoTime(p.due_at()),
                                p.book_title(),
                                p.has_base_fee() ? FromProto(p.base_fee()) : domain::Money{},
                                p.has_discount() ? FromProto(p.discount()) : domain::Money{},
                                p.tier(),
                                p.discount_percent()};
    }
    case P::kRentalRejected: {
      const auto& p = env.rental_rejected();
      return domain::RentalRejected{p.rental_id(), p.book_id(), p.customer_id(), p.reason()};
    }
    case P::kRentalRefused: {
      const auto& p = env.rental_refused();
      return domain::RentalRefused{p.rental_id(), p.book_id(), p.customer_id(), p.reason(),
                                   p.request_id()};
    }
    case P::kRentalAborted: {
      const auto& p = env.rental_aborted();
      return domain::RentalAborted{p.rental_id(), p.book_id(), p.customer_id(), p.reason()};
    }
    case P::kBookReturned: {
      const auto& p = env.book_returned();
      return domain::BookReturned{p.rental_id(),
                                  p.book_id(),
                                  p.customer_id(),
                                  p.return_id(),
                                  FromProtoTime(p.returned_at()),
                                  FromProto(p.late_fee()),
                                  p.request_id()};
    }
    case P::kRentalCancelled: {
      const auto& p = env.rental_cancelled();
      return domain::RentalCancelled{p.rental_id(),
                                     p.book_id(),
                                     p.customer_id(),
                                     p.reason(),
                                     FromProtoTime(p.cancelled_at()),
                                     p.payment_id(),
                                     FromProto(p.fee()),
                                     p.request_id()};
    }
    case P::kHoldPlaced: {
      const auto& p = env.hold_placed();
      // An expiry that is missing lapses at once: never a copy kept forever.
      return domain::HoldPlaced{p.hold_id(),
                                p.book_id(),
                                p.customer_id(),
                                p.request_id(),
                                TimeOrPast(p.has_expires_at(), p.expires_at()),
                                p.book_title()};
    }
    case P::kHoldReleased: {
      const auto& p = env.hold_released();
      return domain::HoldReleased{p.hold_id(), p.book_id(), p.customer_id(), p.reason(),
                                  p.request_id()};
    }
    case P::kHoldExpired: {
      const auto& p = env.hold_expired();
      return domain::HoldExpired{p.hold_id(), p.book_id(), p.customer_id(),
                                 TimeOrPast(p.has_expires_at(), p.expires_at())};
    }
    case P::kHoldQueued: {
      const auto& p = env.hold_queued();
      return domain::HoldQueued{p.hold_id(), p.book_id(), p.customer_id(), p.request_id(),
                                p.book_title()};
    }
    case P::kHoldGranted: {
      const auto& p = env.hold_granted();
      // As for HoldPlaced: a missing expiry lapses at once.
      return domain::HoldGranted{p.hold_id(), p.book_id(), p.customer_id(),
                                 TimeOrPast(p.has_expires_at(), p.expires_at())};
    }
    default:
      return std::nullopt;
  }
}

rental::v1::Book ToProto(const domain::Book& b, absl::string_view stream) {
  rental::v1::Book out;
  out.set_book_id(b.book_id);
  out.set_title(b.title);
  out.set_copies(b.copies);
  out.set_copies_available(b.copies_available());
  *out.mutable_daily_fee() = ToProto(b.daily_fee);
  if (IsSet(b.created_at)) *out.mutable_created_at() = ToProtoTime(b.created_at);
  out.set_version(b.version);
  out.set_consistency_token(FormatConsistencyToken(stream, b.last_position));
  return out;
}

domain::Book FromProto(const rental::v1::Book& b) {
  domain::Book out;
  out.book_id = b.book_id();
  out.title = b.title();
  out.copies = b.copies();
  out.active_rentals = b.copies() - b.copies_available();
  out.daily_fee = FromProto(b.daily_fee());
  out.created_at = TimeOrPast(b.has_created_at(), b.created_at());
  out.version = b.version();
  out.last_position = PositionOf(b.consistency_token());
  return out;
}

rental::v1::Rental ToProto(const domain::Rental& r, absl::string_view stream) {
  rental::v1::Rental out;
  out.set_rental_id(r.rental_id);
  out.set_customer_id(r.customer_id);
  out.set_book_id(r.book_id);
  out.set_book_title(r.book_title);
  out.set_days(r.days);
  switch (r.status) {
    case domain::RentalStatus::kPendingPayment:
      out.set_status(rental::v1::RENTAL_STATUS_PENDING_PAYMENT);
      break;
    case domain::RentalStatus::kRented:
      out.set_status(rental::v1::RENTAL_STATUS_RENTED);
      break;
    case domain::RentalStatus::kReturned:
      out.set_status(rental::v1::RENTAL_STATUS_RETURNED);
      break;
    case domain::RentalStatus::kCancelled:
      out.set_status(rental::v1::RENTAL_STATUS_CANCELLED);
      break;
    case domain::RentalStatus::kRejected:
      out.set_status(rental::v1::RENTAL_STATUS_REJECTED);
      break;
    case domain::RentalStatus::kAborted:
      out.set_status(rental::v1::RENTAL_STATUS_ABORTED);
      break;
    case domain::RentalStatus::kRefused:
      out.set_status(rental::v1::RENTAL_STATUS_REFUSED);
      break;
    case domain::RentalStatus::kHeld:
      out.set_status(rental::v1::RENTAL_STATUS_HELD);
      break;
    case domain::RentalStatus::kHoldReleased:
      out.set_status(rental::v1::RENTAL_STATUS_HOLD_RELEASED);
      break;
    case domain::RentalStatus::kHoldExpired:
      out.set_status(rental::v1::RENTAL_STATUS_HOLD_EXPIRED);
      break;
    case domain::RentalStatus::kHoldWaiting:
      out.set_status(rental::v1::RENTAL_STATUS_HOLD_WAITING);
      break;
  }
  *out.mutable_fee() = ToProto(r.fee);
  if (!r.base_fee.currency.empty()) {
    *out.mutable_base_fee() = ToProto(r.base_fee);
    *out.mutable_discount() = ToProto(r.discount);
  }
  if (!r.fee.currency.empty()) *out.mutable_charged() = ToProto(r.fee);
  out.set_tier(r.tier);
  out.set_discount_percent(r.discount_percent);
  out.set_payment_id(r.payment_id);
  if (IsSet(r.requested_at)) *out.mutable_requested_at() = ToProtoTime(r.requested_at);
  if (IsSet(r.rented_at)) *out.mutable_rented_at() = ToProtoTime(r.rented_at);
  if (IsSet(r.due_at)) *out.mutable_due_at() = ToProtoTime(r.due_at);
  if (IsSet(r.returned_at)) *out.mutable_returned_at() = ToProtoTime(r.returned_at);
  if (IsSet(r.cancelled_at)) *out.mutable_cancelled_at() = ToProtoTime(r.cancelled_at);
  out.set_return_id(r.return_id);
  if (!r.late_fee.currency.empty()) *out.mutable_late_fee() = ToProto(r.late_fee);
  out.set_cancel_reason(r.cancel_reason);
  out.set_failure_reason(r.failure_reason);
  out.set_request_id(r.request_id);
  out.set_version(r.version);
  out.set_consistency_token(FormatConsistencyToken(stream, r.last_position));
  out.set_transition_request_id(r.transition_request_id);
  if (IsSet(r.held_at)) *out.mutable_held_at() = ToProtoTime(r.held_at);
  if (IsSet(r.hold_expires_at)) *out.mutable_hold_expires_at() = ToProtoTime(r.hold_expires_at);
  return out;
}

domain::Rental FromProto(const rental::v1::Rental& r) {
  domain::Rental out;
  out.rental_id = r.rental_id();
  out.customer_id = r.customer_id();
  out.book_id = r.book_id();
  out.book_title = r.book_title();
  out.days = r.days();
  switch (r.status()) {
    case rental::v1::RENTAL_STATUS_RENTED:
      out.status = domain::RentalStatus::kRented;
      break;
    case rental::v1::RENTAL_STATUS_RETURNED:
      out.status = domain::RentalStatus::kReturned;
      break;
    case rental::v1::RENTAL_STATUS_CANCELLED:
      out.status = domain::RentalStatus::kCancelled;
      break;
    case rental::v1::RENTAL_STATUS_REJECTED:
      out.status = domain::RentalStatus::kRejected;
      break;
    case rental::v1::RENTAL_STATUS_ABORTED:
      out.status = domain::RentalStatus::kAborted;
      break;
    case rental::v1::RENTAL_STATUS_REFUSED:
      out.status = domain::RentalStatus::kRefused;
      break;
    case rental::v1::RENTAL_STATUS_HELD:
      out.status = domain::RentalStatus::kHeld;
      break;
    case rental::v1::RENTAL_STATUS_HOLD_RELEASED:
      out.status = domain::RentalStatus::kHoldReleased;
      break;
    case rental::v1::RENTAL_STATUS_HOLD_EXPIRED:
      out.status = domain::RentalStatus::kHoldExpired;
      break;
    case rental::v1::RENTAL_STATUS_HOLD_WAITING:
      out.status = domain::RentalStatus::kHoldWaiting;
      break;
    default:
      out.status = domain::RentalStatus::kPendingPayment;
      break;
  }
  out.fee = FromProto(r.fee());
  if (r.has_base_fee()) {
    out.base_fee = FromProto(r.base_fee());
    out.discount = FromProto(r.discount());
    out.tier = r.tier();
  } else if (!out.fee.currency.empty()) {
    // Stored before pricing tiers: the fee had no discount.
    out.base_fee = out.fee;
    out.discount = domain::Money{out.fee.currency, 0};
    out.tier = domain::kStandardTier;
  }
  out.discount_percent = r.discount_percent();
  out.payment_id = r.payment_id();
  out.requested_at = TimeOrPast(r.has_requested_at(), r.requested_at());
  out.rented_at = TimeOrPast(r.has_rented_at(), r.rented_at());
  out.due_at = TimeOrPast(r.has_due_at(), r.due_at());
  out.returned_at = TimeOrPast(r.has_returned_at(), r.returned_at());
  out.cancelled_at = TimeOrPast(r.has_cancelled_at(), r.cancelled_at());
  out.return_id = r.return_id();
  if (r.has_late_fee()) out.late_fee = FromProto(r.late_fee());
  out.cancel_reason = r.cancel_reason();
  out.failure_reason = r.failure_reason();
  out.request_id = r.request_id();
  out.version = r.version();
  out.last_position = PositionOf(r.consistency_token());
  out.transition_request_id = r.transition_request_id();
  out.held_at = TimeOrPast(r.has_held_at(), r.held_at());
  out.hold_expires_at = TimeOrPast(r.has_hold_expires_at(), r.hold_expires_at());
  return out;
}

rental::v1::Hold ToHoldProto(const domain::Rental& r, absl::string_view stream) {
  rental::v1::Hold out;
  out.set_hold_id(r.rental_id);
  out.set_customer_id(r.customer_id);
  out.set_book_id(r.book_id);
  out.set_book_title(r.book_title);
  switch (r.status) {
    case domain::RentalStatus::kHeld:
      out.set_status(rental::v1::HOLD_STATUS_HELD);
      break;
    case domain::RentalStatus::kHoldReleased:
      out.set_status(rental::v1::HOLD_STATUS_RELEASED);
      out.set_release_reason(r.cancel_reason);
      break;
    case domain::RentalStatus::kHoldExpired:
      out.set_status(rental::v1::HOLD_STATUS_EXPIRED);
      break;
    case domain::RentalStatus::kHoldWaiting:
      out.set_status(rental::v1::HOLD_STATUS_WAITING);
      out.set_queue_position(r.queue_position);
      break;
    default:
      out.set_status(rental::v1::HOLD_STATUS_CONVERTED);
      out.set_rental_id(r.rental_id);
      out.set_rental_status(ToProto(r, stream).status());
      break;
  }
  if (IsSet(r.held_at)) *out.mutable_placed_at() = ToProtoTime(r.held_at);
  if (IsSet(r.hold_expires_at)) *out.mutable_expires_at() = ToProtoTime(r.hold_expires_at);
  out.set_request_id(r.request_id);
  out.set_version(r.version);
  out.set_consistency_token(FormatConsistencyToken(stream, r.last_position));
  return out;
}

std::string CustomerToken(absl::string_view customer_id) {
  std::string out;
  out.reserve(customer_id.size());
  for (char c : customer_id) {
    if (c == '%' || c == '.' || c == '*' || c == '>') {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", static_cast<unsigned char>(c)));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void SetPayload(const domain::CustomerTierSet& e, events::v1::Envelope& env) {
  auto* p = env.mutable_customer_tier_set();
  p->set_customer_id(e.customer_id);
  p->set_tier(e.tier);
  p->set_request_id(e.request_id);
  p->set_set_by(e.set_by);
}

rental::v1::CustomerTier ToProto(const domain::CustomerTier& c, absl::string_view stream) {
  rental::v1::CustomerTier out;
  out.set_customer_id(c.customer_id);
  out.set_tier(c.tier);
  out.set_set_by(c.set_by);
  out.set_request_id(c.request_id);
  if (IsSet(c.updated_at)) *out.mutable_updated_at() = ToProtoTime(c.updated_at);
  out.set_version(c.version);
  out.set_consistency_token(FormatConsistencyToken(stream, c.last_position));
  return out;
}

domain::CustomerTier FromProto(const rental::v1::CustomerTier& c) {
  domain::CustomerTier out;
  out.customer_id = c.customer_id();
  out.tier = c.tier();
  out.set_by = c.set_by();
  out.request_id = c.request_id();
  out.updated_at = TimeOrPast(c.has_updated_at(), c.updated_at());
  out.version = c.version();
  out.last_position = PositionOf(c.consistency_token());
  return out;
}

}  // namespace rentmesh::rental::mapping
