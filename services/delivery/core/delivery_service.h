#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/domain/delivery.h"
#include "core/ports/delivery_event_log.h"
#include "core/ports/delivery_id_scheme.h"
#include "core/ports/delivery_repository.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::delivery {

// Who asks, as the inbound adapter established it from a verified identity.
struct Caller {
  std::string subject;
  // Role "courier": `subject` is the courier id.
  bool courier = false;
  // A librarian or a service.
  bool staff = false;
};

// A paid rental, as BookRented tells it.
struct RentalPaid {
  std::string rental_id;
  std::string customer_id;
  std::string book_id;
  // The event's id: recorded as the cause of the delivery.
  std::string event_id;
};

// The delivery use cases. Thread-safe (all state is in the ports).
//
// Consistency: each event is appended expecting its subject's last sequence,
// so replicas racing on one delivery serialize; the loser catches up and
// decides again. A replica never answers NOT_FOUND or refuses a command from
// lag: it catches up first.
class DeliveryService final {
 public:
  struct Options {
    // The region of each customer; others live in `default_region`.
    std::map<std::string, std::string> customer_regions;
    std::string default_region = "central";
  };

  DeliveryService(DeliveryRepository& repository, DeliveryEventLog& log,
                  const DeliveryIdScheme& ids, const Clock& clock, Options options)
      : repository_(repository),
        log_(log),
        ids_(ids),
        clock_(clock),
        options_(std::move(options)) {}

  // The customer's region (configured, else the default).
  std::string RegionOf(absl::string_view customer_id) const;

  // Creates the outbound delivery of a paid rental and assigns a courier of
  // the customer's region when there is one. Idempotent per rental: a second
  // BookRented (a redelivery, or another copy of the event) answers the
  // delivery as it is, and a rental cancelled first gets none.
  absl::StatusOr<Delivery> RequestForRental(const RentalPaid& paid, const EventTrace& trace,
                                            absl::Time deadline);
  // The customer (or staff) asks for the copy to be fetched back: a RETURN
  // delivery, once the outbound one was DELIVERED (FAILED_PRECONDITION
  // before). Idempotent per rental.
  absl::StatusOr<Delivery> RequestReturnPickup(absl::string_view rental_id,
                                               absl::string_view request_id, const Caller& caller,
                                               const EventTrace& trace, absl::Time deadline);
  // The assigned courier picked the copy up / delivered it. PERMISSION_DENIED
  // for anyone else; FAILED_PRECONDITION when the delivery is not ASSIGNED /
  // PICKED_UP (a retry with the step's request id answers it as it is).
  absl::StatusOr<Delivery> PickUp(absl::string_view delivery_id, absl::string_view request_id,
                                  const Caller& caller, const EventTrace& trace,
                                  absl::Time deadline);
  absl::StatusOr<Delivery> Deliver(absl::string_view delivery_id, absl::string_view request_id,
                                   const Caller& caller, const EventTrace& trace,
                                   absl::Time deadline);
  // Cancels the rental's outbound delivery (the caller was authorized by the
  // adapter: an internal step). FAILED_PRECONDITION once PICKED_UP or
  // DELIVERED; a cancelled delivery answers as it is.
  absl::StatusOr<Delivery> Cancel(absl::string_view rental_id, absl::string_view reason,
                                  absl::string_view request_id, const EventTrace& trace,
                                  absl::Time deadline);

  // Staff only. Records the courier (ALREADY_EXISTS for the same id in
  // another region), then assigns the REQUESTED deliveries of its region.
  absl::StatusOr<Courier> AddCourier(const Courier& courier, const Caller& caller,
                                     const EventTrace& trace, absl::Time deadline);
  absl::StatusOr<std::vector<Courier>> ListCouriers(absl::string_view region, absl::Time deadline);

  // Assigns REQUESTED deliveries of `region` ("" for all) that have a courier
  // now; how many. Run after a courier is added and at start-up (a crash
  // between adding a courier and assigning).
  absl::StatusOr<int> AssignPending(absl::string_view region, const EventTrace& trace,
                                    absl::Time deadline);

  // The deliveries waiting for a courier (REQUESTED) in one region: how many,
  // and when the oldest of them was requested.
  struct Backlog {
    int64_t waiting = 0;
    absl::Time oldest_requested_at = absl::InfiniteFuture();
  };
  // The backlog of each region with a delivery waiting, from the local state
  // as it is (no catch-up: for metrics), looking at `limit` deliveries at most.
  absl::StatusOr<std::map<std::string, Backlog>> AwaitingCourier(size_t limit) const;

  // Reads: the customer, the assigned courier or staff. NOT_FOUND only after
  // catching up.
  absl::StatusOr<Delivery> Get(absl::string_view delivery_id, const Caller& caller,
                               absl::Time deadline);
  absl::StatusOr<Delivery> GetForRental(absl::string_view rental_id, DeliveryKind kind,
                                        const Caller& caller, absl::Time deadline);

 private:
  static constexpr int kMaxAttempts = 8;

  // Decides on the delivery as the local state holds it: an event to append,
  // nullopt when the state already is what the caller wants (then it is the
  // answer), or an error. A refusal or NOT_FOUND is given only after
  // catching up.
  using Decide =
      std::function<absl::StatusOr<std::optional<DeliveryEvent>>(const std::optional<Delivery>&)>;
  absl::StatusOr<Delivery> Commit(absl::string_view delivery_id, absl::string_view rental_id,
                                  DeliveryKind kind, const Decide& decide, const EventTrace& trace,
                                  absl::Time deadline);
  // Assigns `delivery_id` when it is REQUESTED and its region has a courier.
  absl::StatusOr<Delivery> TryAssign(const Delivery& delivery, const EventTrace& trace,
                                     absl::Time deadline);
  absl::StatusOr<Delivery> Find(absl::string_view delivery_id, absl::Time deadline);
  absl::StatusOr<Delivery> CourierStep(absl::string_view delivery_id, absl::string_view request_id,
                                       const Caller& caller, DeliveryEvent::Type type,
                                       const EventTrace& trace, absl::Time deadline);

  DeliveryRepository& repository_;
  DeliveryEventLog& log_;
  const DeliveryIdScheme& ids_;
  const Clock& clock_;
  const Options options_;
};

}  // namespace rentmesh::delivery
