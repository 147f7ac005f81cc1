#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "payment/core/domain/payment.h"
#include "payment/core/domain/payment_event.h"
#include "rentmesh/rules/payment_stream_rules.h"

namespace rentmesh::payment {

// The aggregate: every payment of one rental (its fee, late fees, the void
// tombstone), folded from the events on the rental's subject in stream order.
// Optimistic concurrency uses last_sequence(): an append is accepted only if
// the subject still ends there.
class RentalPayments final {
 public:
  explicit RentalPayments(std::string rental_id) : rental_id_(std::move(rental_id)) {}

  // Folds the event stored at stream `sequence` by the PAYMENT stream's
  // rules (rentmesh/rules/payment_stream_rules.h): an event that does not fit
  // its payment as folded so far changes nothing but the subject's position,
  // and its verdict says why. Events at or below last_sequence() were folded
  // already and change nothing at all (kApplies), so replays are harmless.
  rules::PaymentVerdict Apply(const PaymentEvent& event, uint64_t sequence);

  const std::string& rental_id() const { return rental_id_; }
  // Events folded so far (0: none).
  uint64_t version() const { return version_; }
  // Stream sequence of the last folded event (0: none).
  uint64_t last_sequence() const { return last_sequence_; }
  // Oldest first.
  const std::vector<Payment>& payments() const { return payments_; }
  // nullptr when the rental has no payment with that id.
  const Payment* Find(absl::string_view payment_id) const;

 private:
  Payment* FindMutable(absl::string_view payment_id);

  std::string rental_id_;
  uint64_t version_ = 0;
  uint64_t last_sequence_ = 0;
  std::vector<Payment> payments_;
};

}  // namespace rentmesh::payment
