#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace rentmesh::view {

// An amount in integer minor units of `currency`.
struct Money {
  std::string currency;
  int64_t minor = 0;

  bool operator==(const Money& o) const { return currency == o.currency && minor == o.minor; }
};

// The events the view understands, whichever stream they come from.
enum class EventKind {
  kUnknown,
  // RENTAL stream.
  kBookAdded,
  kBookStocked,
  kRentalRequested,
  kBookRented,
  kRentalRejected,
  kRentalAborted,
  kBookReturned,
  kRentalCancelled,
  kRentalRefused,
  // A customer's pricing tier changed (rental.customer.<id>): no rental's
  // view changes (a rental keeps the price its own events carry).
  kCustomerTierSet,
  // PAYMENT stream.
  kPaymentApproved,
  kPaymentDeclined,
  kPaymentRefunded,
  kPaymentVoided,
  kLateFeeCharged,
  // RETURNS stream.
  kReturnCompleted,
  // DELIVERY stream (delivery.rental.<rental_id>.<outbound|return>).
  kDeliveryRequested,
  kDeliveryAssigned,
  kDeliveryPickedUp,
  kDeliveryDelivered,
  kDeliveryCancelled,
  // A courier joined (delivery.courier.<id>): no rental's view changes.
  kCourierAdded,
};

// One domain event as the projection sees it: the envelope's identity plus the
// payload fields the view uses, flattened. The inbound adapter fills it from
// the wire format; fields a kind does not carry stay empty.
struct ViewEvent {
  EventKind kind = EventKind::kUnknown;
  std::string event_id;
  std::string event_type;  // "BookRented"
  std::string stream;      // "RENTAL"
  uint64_t sequence = 0;   // position in `stream`
  absl::Time occurred_at = absl::UnixEpoch();

  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string book_title;
  std::string reason;
  int32_t days = 0;
  // Delivery events: the delivery, its kind ("OUTBOUND" or "RETURN"), the
  // courier (assigned, picked up, delivered) and region (requested).
  std::string delivery_id;
  std::string delivery_kind;
  std::string courier_id;
  std::string region;
  // The event's main amount: fee (RentalRequested, BookRented, RentalCancelled),
  // amount (payment events; amount_reversed for PaymentVoided), late fee
  // (BookReturned), total fee (ReturnCompleted), daily fee (BookAdded).
  Money amount;
  // RentalRequested / BookRented: the price breakdown (base_fee empty for
  // events from before pricing tiers), the customer's tier and its percent.
  Money base_fee;
  Money discount;
  std::string tier;
  int32_t discount_percent = 0;
  // BookAdded copies; BookStocked copies_total (or copies_added when no total).
  int32_t copies = 0;
  int32_t copies_added = 0;
  // rented_at, returned_at, cancelled_at, or the delivery step's own time
  // (requested_at, assigned_at, picked_up_at, delivered_at), as the kind says.
  absl::Time at = absl::InfinitePast();
  absl::Time due_at = absl::InfinitePast();
};

}  // namespace rentmesh::view
