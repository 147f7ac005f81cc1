#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/domain/view_event.h"

namespace rentmesh::view {

enum class RentalState { kPending, kRented, kReturned, kCancelled, kFailed };

// Where a delivery stands, as the delivery service names its states. kNone:
// no event of that delivery seen yet.
enum class DeliveryState { kNone, kRequested, kAssigned, kPickedUp, kDelivered, kCancelled };

// What the DELIVERY stream told of one delivery of a rental (the outbound one,
// or the return pickup). Facts, not a state, so that the result does not
// depend on the order they are applied in.
struct DeliveryFacts {
  std::string delivery_id;
  bool requested = false;
  bool assigned = false;
  bool picked_up = false;
  bool delivered = false;
  bool cancelled = false;
  absl::Time delivered_at = absl::InfinitePast();
  std::string region;
  // The courier named by the furthest step seen (assigned < picked up <
  // delivered); courier_step is that step (0: none).
  std::string courier_id;
  int32_t courier_step = 0;

  // Precedence DELIVERED > PICKED_UP > CANCELLED > ASSIGNED > REQUESTED
  // (a delivery can be cancelled only before its pickup).
  DeliveryState State() const;
  bool Known() const { return requested || assigned || picked_up || delivered || cancelled; }
};

// One line of a rental's history. `stream` and `sequence` break ties between
// events with the same time, so every replica shows the same order.
struct TimelineEntry {
  std::string event_id;
  std::string event_type;
  absl::Time at = absl::UnixEpoch();
  std::string description;
  std::string stream;
  uint64_t sequence = 0;
};

// The projection of one rental: the facts learned from each event, kept
// separately so that the result does not depend on the order in which the
// four streams deliver them (a PaymentApproved may be applied before the
// BookRented it belongs to). Everything a customer sees is derived from the
// facts by the accessors below.
struct RentalView {
  std::string rental_id;
  std::string customer_id;
  std::string book_id;
  std::string book_title;
  int32_t days = 0;

  // RENTAL stream facts.
  bool requested = false;
  absl::Time requested_at = absl::InfinitePast();
  bool rented = false;
  absl::Time rented_at = absl::InfinitePast();
  absl::Time due_at = absl::InfinitePast();
  Money rented_fee;
  // The price breakdown the rental recorded (base_fee empty: a rental from
  // before pricing tiers, whose fee had no discount).
  Money base_fee;
  Money discount;
  std::string tier;
  int32_t discount_percent = 0;
  bool failed = false;
  std::string failure_reason;
  // The request was refused for good (RentalRefused); also `failed`.
  bool refused = false;
  bool returned = false;
  absl::Time returned_at = absl::InfinitePast();
  Money returned_late_fee;
  bool cancelled = false;
  absl::Time cancelled_at = absl::InfinitePast();

  // PAYMENT stream facts.
  bool payment_approved = false;
  Money payment_amount;
  bool payment_declined = false;
  // Refunds plus reversed charges (PaymentVoided with an amount).
  Money refunded;
  bool late_fee_charged = false;
  Money late_fee_charged_amount;

  // RETURNS stream facts.
  bool return_completed = false;
  absl::Time return_completed_at = absl::InfinitePast();
  Money return_total_fee;

  // DELIVERY stream facts: kind OUTBOUND (anything but "RETURN") and RETURN.
  DeliveryFacts delivery;
  DeliveryFacts return_pickup;

  // The earliest occurred_at of any applied event: the sort time of a rental
  // known only from payment events so far.
  absl::Time first_seen_at = absl::InfiniteFuture();

  // Every applied event, sorted by (occurred_at, sequence, stream). Its event ids are
  // the record of what was applied: an event already here changes nothing.
  std::vector<TimelineEntry> timeline;

  // Precedence CANCELLED/RETURNED > RENTED > FAILED > PENDING.
  RentalState State() const;
  // The approved payment, or the fee of BookRented before the payment event is seen.
  Money AmountPaid() const;
  // Charged late fee, else the return's assessed total, else BookReturned's.
  Money LateFee() const;
  absl::Time ReturnedAt() const;
  // Newest-first order on "my page": requested, else rented, else first seen.
  absl::Time SortTime() const;
  // Whether the rental holds a copy of its book (reserved or rented, not released).
  bool HoldsCopy() const;
  bool Applied(const std::string& event_id) const;
};

// Applies `event` to `rental` (whose rental_id is set). Returns false, changing
// nothing, when the event was applied before or does not concern rentals.
bool ApplyToRental(const ViewEvent& event, RentalView& rental);

// Whether the event belongs to a rental (as opposed to the catalog).
bool IsRentalEvent(EventKind kind);

// The key of a rental in its customer's newest-first list.
struct CustomerIndexKey {
  std::string customer_id;
  absl::Time sort_time;
  std::string rental_id;

  bool operator==(const CustomerIndexKey& o) const {
    return customer_id == o.customer_id && sort_time == o.sort_time && rental_id == o.rental_id;
  }
};

// nullopt while the rental's customer is unknown.
std::optional<CustomerIndexKey> IndexKeyOf(const RentalView& rental);

}  // namespace rentmesh::view
