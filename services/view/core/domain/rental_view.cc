#include "core/domain/rental_view.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace rentmesh::view {
namespace {

std::string FormatMoney(const Money& m) {
  return m.currency.empty() ? absl::StrCat(m.minor) : absl::StrCat(m.minor, " ", m.currency);
}

// The time a fact happened: the payload's own time when it has one.
absl::Time FactTime(const ViewEvent& e) {
  return e.at == absl::InfinitePast() ? e.occurred_at : e.at;
}

bool IsReturnPickup(const ViewEvent& e) { return e.delivery_kind == "RETURN"; }

std::string Courier(const ViewEvent& e) {
  return e.courier_id.empty() ? "a courier" : absl::StrCat("courier ", e.courier_id);
}

std::string Describe(const ViewEvent& e) {
  const absl::string_view delivery = IsReturnPickup(e) ? "return pickup" : "delivery";
  switch (e.kind) {
    case EventKind::kDeliveryRequested:
      return e.region.empty() ? absl::StrCat(delivery, " requested")
                              : absl::StrCat(delivery, " requested in ", e.region);
    case EventKind::kDeliveryAssigned:
      return absl::StrCat(delivery, " assigned to ", Courier(e));
    case EventKind::kDeliveryPickedUp:
      return IsReturnPickup(e) ? absl::StrCat("copy picked up for return by ", Courier(e))
                               : absl::StrCat("copy picked up for delivery by ", Courier(e));
    case EventKind::kDeliveryDelivered:
      return IsReturnPickup(e) ? absl::StrCat("returned copy brought back by ", Courier(e))
                               : absl::StrCat("delivered by ", Courier(e));
    case EventKind::kDeliveryCancelled:
      return e.reason.empty() ? absl::StrCat(delivery, " cancelled")
                              : absl::StrCat(delivery, " cancelled: ", e.reason);
    case EventKind::kRentalRequested:
      if (e.discount.minor > 0) {
        return absl::StrCat("copy reserved for ", e.days, " days, fee ", FormatMoney(e.amount),
                            " (", FormatMoney(e.base_fee), " less ", e.discount_percent, "% ",
                            e.tier, " discount)");
      }
      return absl::StrCat("copy reserved for ", e.days, " days, fee ", FormatMoney(e.amount));
    case EventKind::kBookRented:
      return absl::StrCat("rented for ", e.days, " days");
    case EventKind::kRentalRejected:
      return absl::StrCat("rental rejected: ", e.reason);
    case EventKind::kRentalAborted:
      return absl::StrCat("rental aborted: ", e.reason);
    case EventKind::kRentalRefused:
      return absl::StrCat("request refused: ", e.reason);
    case EventKind::kBookReturned:
      return absl::StrCat("returned, late fee ", FormatMoney(e.amount));
    case EventKind::kRentalCancelled:
      return e.reason.empty() ? "cancelled" : absl::StrCat("cancelled: ", e.reason);
    case EventKind::kPaymentApproved:
      return absl::StrCat("paid ", FormatMoney(e.amount));
    case EventKind::kPaymentDeclined:
      return absl::StrCat("payment declined: ", e.reason);
    case EventKind::kPaymentRefunded:
      return absl::StrCat("refunded ", FormatMoney(e.amount));
    case EventKind::kPaymentVoided:
      return e.amount.minor > 0 ? absl::StrCat("charge reversed ", FormatMoney(e.amount))
                                : "payment voided";
    case EventKind::kLateFeeCharged:
      return absl::StrCat("late fee charged ", FormatMoney(e.amount));
    case EventKind::kReturnCompleted:
      return absl::StrCat("return inspected, fee ", FormatMoney(e.amount));
    default:
      return e.event_type;
  }
}

// The price is decided once, at the reservation; both events carry it.
void SetPrice(const ViewEvent& e, RentalView& r) {
  if (e.base_fee.currency.empty()) return;
  r.base_fee = e.base_fee;
  r.discount = e.discount;
  r.tier = e.tier;
  r.discount_percent = e.discount_percent;
}

void AddTo(Money& total, const Money& m) {
  if (total.currency.empty()) total.currency = m.currency;
  total.minor += m.minor;
}

// Applies one delivery step to the facts of its delivery.
void ApplyDelivery(const ViewEvent& e, DeliveryFacts& d) {
  if (!e.delivery_id.empty()) d.delivery_id = e.delivery_id;
  int32_t step = 0;
  switch (e.kind) {
    case EventKind::kDeliveryRequested:
      d.requested = true;
      if (!e.region.empty()) d.region = e.region;
      break;
    case EventKind::kDeliveryAssigned:
      d.assigned = true;
      step = 1;
      break;
    case EventKind::kDeliveryPickedUp:
      d.picked_up = true;
      step = 2;
      break;
    case EventKind::kDeliveryDelivered:
      d.delivered = true;
      d.delivered_at = FactTime(e);
      step = 3;
      break;
    case EventKind::kDeliveryCancelled:
      d.cancelled = true;
      break;
    default:
      break;
  }
  if (step > d.courier_step && !e.courier_id.empty()) {
    d.courier_id = e.courier_id;
    d.courier_step = step;
  }
}

bool TimelineLess(const TimelineEntry& a, const TimelineEntry& b) {
  return std::tie(a.at, a.sequence, a.stream, a.event_id) <
         std::tie(b.at, b.sequence, b.stream, b.event_id);
}

}  // namespace

DeliveryState DeliveryFacts::State() const {
  if (delivered) return DeliveryState::kDelivered;
  if (picked_up) return DeliveryState::kPickedUp;
  if (cancelled) return DeliveryState::kCancelled;
  if (assigned) return DeliveryState::kAssigned;
  if (requested) return DeliveryState::kRequested;
  return DeliveryState::kNone;
}

RentalState RentalView::State() const {
  if (cancelled) return RentalState::kCancelled;
  if (returned) return RentalState::kReturned;
  if (rented) return RentalState::kRented;
  if (failed) return RentalState::kFailed;
  return RentalState::kPending;
}

Money RentalView::AmountPaid() const {
  if (payment_approved) return payment_amount;
  if (rented) return rented_fee;
  return Money{};
}

Money RentalView::LateFee() const {
  if (late_fee_charged) return late_fee_charged_amount;
  if (return_completed) return return_total_fee;
  if (returned) return returned_late_fee;
  return Money{};
}

absl::Time RentalView::ReturnedAt() const {
  if (returned) return returned_at;
  if (return_completed) return return_completed_at;
  return absl::InfinitePast();
}

absl::Time RentalView::SortTime() const {
  if (requested) return requested_at;
  if (rented) return rented_at;
  return first_seen_at;
}

bool RentalView::HoldsCopy() const {
  return (requested || rented) && !failed && !returned && !cancelled;
}

bool RentalView::Applied(const std::string& event_id) const {
  for (const TimelineEntry& t : timeline) {
    if (t.event_id == event_id) return true;
  }
  return false;
}

bool IsRentalEvent(EventKind kind) {
  switch (kind) {
    case EventKind::kUnknown:
    case EventKind::kBookAdded:
    case EventKind::kBookStocked:
    case EventKind::kCustomerTierSet:
    case EventKind::kCourierAdded:
      return false;
    default:
      return true;
  }
}

bool ApplyToRental(const ViewEvent& e, RentalView& r) {
  if (!IsRentalEvent(e.kind) || r.Applied(e.event_id)) return false;
  // Identity: the rental stream is authoritative; other streams fill gaps.
  const bool authoritative = e.stream == "RENTAL";
  auto fill = [authoritative](std::string& field, const std::string& value) {
    if (!value.empty() && (field.empty() || authoritative)) field = value;
  };
  fill(r.customer_id, e.customer_id);
  fill(r.book_id, e.book_id);
  if (!e.book_title.empty()) r.book_title = e.book_title;
  if (e.days > 0) r.days = e.days;
  r.first_seen_at = std::min(r.first_seen_at, e.occurred_at);

  switch (e.kind) {
    case EventKind::kRentalRequested:
      r.requested = true;
      r.requested_at = e.occurred_at;
      SetPrice(e, r);
      break;
    case EventKind::kBookRented:
      r.rented = true;
      r.rented_at = FactTime(e);
      r.due_at = e.due_at;
      r.rented_fee = e.amount;
      SetPrice(e, r);
      break;
    case EventKind::kRentalRejected:
    case EventKind::kRentalAborted:
      r.failed = true;
      r.failure_reason = e.reason;
      break;
    case EventKind::kRentalRefused:
      r.refused = true;
      r.failed = true;
      r.failure_reason = e.reason;
      r.requested_at = e.occurred_at;
      break;
    case EventKind::kBookReturned:
      r.returned = true;
      r.returned_at = FactTime(e);
      r.returned_late_fee = e.amount;
      break;
    case EventKind::kRentalCancelled:
      r.cancelled = true;
      r.cancelled_at = FactTime(e);
      break;
    case EventKind::kPaymentApproved:
      r.payment_approved = true;
      r.payment_amount = e.amount;
      break;
    case EventKind::kPaymentDeclined:
      r.payment_declined = true;
      break;
    case EventKind::kPaymentRefunded:
      AddTo(r.refunded, e.amount);
      break;
    case EventKind::kPaymentVoided:
      if (e.amount.minor > 0) AddTo(r.refunded, e.amount);
      break;
    case EventKind::kLateFeeCharged:
      if (!r.late_fee_charged) r.late_fee_charged_amount = Money{e.amount.currency, 0};
      r.late_fee_charged = true;
      AddTo(r.late_fee_charged_amount, e.amount);
      break;
    case EventKind::kReturnCompleted:
      r.return_completed = true;
      r.return_completed_at = FactTime(e);
      r.return_total_fee = e.amount;
      break;
    case EventKind::kDeliveryRequested:
    case EventKind::kDeliveryAssigned:
    case EventKind::kDeliveryPickedUp:
    case EventKind::kDeliveryDelivered:
    case EventKind::kDeliveryCancelled:
      ApplyDelivery(e, IsReturnPickup(e) ? r.return_pickup : r.delivery);
      break;
    default:
      break;
  }

  TimelineEntry entry{e.event_id, e.event_type, e.occurred_at, Describe(e), e.stream, e.sequence};
  r.timeline.insert(std::upper_bound(r.timeline.begin(), r.timeline.end(), entry, TimelineLess),
                    std::move(entry));
  return true;
}

std::optional<CustomerIndexKey> IndexKeyOf(const RentalView& rental) {
  if (rental.customer_id.empty()) return std::nullopt;
  return CustomerIndexKey{rental.customer_id, rental.SortTime(), rental.rental_id};
}

}  // namespace rentmesh::view
