#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rental/core/actor.h"
#include "rental/core/domain/pricing.h"
#include "rental/core/domain/rental_domain.h"
#include "rental/core/ports/book_log.h"
#include "rental/core/ports/delivery_gateway.h"
#include "rental/core/ports/id_generator.h"
#include "rental/core/ports/payment_gateway.h"
#include "rental/core/ports/rental_state.h"
#include "rental/core/ports/returns_gateway.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/common/failpoints.h"

namespace rentmesh::rental {

struct RentalServiceConfig {
  // Currency of requests that name none.
  std::string default_currency = "KRW";
  absl::Duration payment_timeout = absl::Seconds(2);
  absl::Duration returns_timeout = absl::Seconds(2);
  absl::Duration delivery_timeout = absl::Seconds(2);
  // How long after renting a customer may still cancel.
  absl::Duration cancel_window = absl::Hours(24);
  // A reservation still awaiting its payment after this long is completed or
  // abandoned by the reconciler (above payment_timeout, so it never races the
  // payment call of the request that made it; a retry racing the reconciler
  // is safe: Pay is idempotent and the first recorded outcome wins).
  absl::Duration reconcile_after = absl::Seconds(3);
  // Bound on catching up with the log before answering.
  absl::Duration catch_up_timeout = absl::Seconds(3);
  // Appends that lose to a concurrent writer are decided again this often.
  int max_conflict_retries = 16;
  // The discount per customer tier, applied when a rental is priced.
  domain::TierPolicy tiers;
  // How long a hold keeps its copy (decided when it is placed and carried by
  // its HoldPlaced, so a change never moves an existing hold's expiry).
  absl::Duration hold_duration = absl::Minutes(30);
};

// Per call: its deadline, trace headers and the request's own id.
struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  std::map<std::string, std::string> trace;
  Actor actor;
  // Reads only (GetBook, GetRental): the position on the rental log of the
  // caller's consistency token, what the answer must reflect at least (0: no
  // token, everything the log holds now).
  uint64_t read_position = 0;
};

struct AddBookCommand {
  std::string book_id;
  std::string title;
  int32_t copies = 0;
  domain::Money daily_fee;
};
struct StockBookCommand {
  std::string book_id;
  int32_t copies = 0;
  std::string request_id;
};
struct RentBookCommand {
  std::string customer_id;
  std::string book_id;
  int32_t days = 0;
  std::string request_id;
  // Rent the copy this HELD hold of the customer keeps (rental id = hold id).
  std::string hold_id{};
};
struct HoldBookCommand {
  std::string customer_id;
  std::string book_id;
  std::string request_id;
  // No copy free: join the book's waiting list (a kHoldWaiting hold) instead
  // of FAILED_PRECONDITION.
  bool wait_if_unavailable = false;
};
struct ReleaseHoldCommand {
  std::string hold_id;
  std::string reason;
  std::string request_id;
};
struct ReturnBookCommand {
  std::string rental_id;
  bool damaged = false;
  std::string request_id;
};
struct CancelRentalCommand {
  std::string rental_id;
  std::string reason;
  std::string request_id;
};

struct SetCustomerTierCommand {
  std::string customer_id;
  std::string tier;
  std::string request_id;
};

// A customer's tier with the discount it gives under the current policy.
struct CustomerTierView {
  domain::CustomerTier record;
  // record.tier, or "standard" when none was set.
  std::string tier;
  int32_t discount_percent = 0;
};

struct BookPage {
  std::vector<domain::Book> books;
  std::string next_page_token;
};

// The rental context's use cases. Thread-safe: any number of calls at once,
// on any number of replicas; consistency comes from the log's optimistic
// concurrency (see docs/architecture.md).
class RentalService {
 public:
  // `delivery` (may be null: no deliveries) is called by CancelRental.
  RentalService(RentalServiceConfig config, BookLog& log, RentalState& state,
                PaymentGateway& payment, ReturnsGateway& returns, IdGenerator& ids,
                const Clock& clock, const Failpoints& failpoints,
                DeliveryGateway* delivery = nullptr);

  // Idempotent by book_id: the same fields return the book, others are
  // ALREADY_EXISTS.
  absl::StatusOr<domain::Book> AddBook(const AddBookCommand& cmd, const CallContext& ctx);
  // Idempotent by request_id (required).
  absl::StatusOr<domain::Book> StockBook(const StockBookCommand& cmd, const CallContext& ctx);
  absl::StatusOr<domain::Book> GetBook(const std::string& book_id, const CallContext& ctx);
  absl::StatusOr<BookPage> ListBooks(int page_size, const std::string& page_token,
                                     const CallContext& ctx);

  // Reserves a copy, takes the payment, records the rental. Retrying with the
  // same customer and request_id resumes or returns the first attempt.
  absl::StatusOr<domain::Rental> RentBook(const RentBookCommand& cmd, const CallContext& ctx);
  absl::StatusOr<domain::Rental> GetRental(const std::string& rental_id, const CallContext& ctx);
  absl::StatusOr<domain::Rental> ReturnBook(const ReturnBookCommand& cmd, const CallContext& ctx);
  // With a delivery gateway, the rental's delivery is cancelled first,
  // synchronously: the rental is cancelled only if that succeeded
  // (FAILED_PRECONDITION once the copy was picked up; UNAVAILABLE at once
  // while the delivery service is down or its circuit open).
  absl::StatusOr<domain::Rental> CancelRental(const CancelRentalCommand& cmd,
                                              const CallContext& ctx);

  // Sets a customer's tier (librarians only). Idempotent by request_id
  // (required): a retry answers the customer's tier as it then is; the same
  // request_id with another tier is ALREADY_EXISTS.
  absl::StatusOr<CustomerTierView> SetCustomerTier(const SetCustomerTierCommand& cmd,
                                                   const CallContext& ctx);
  // The customer themselves or a librarian.
  absl::StatusOr<CustomerTierView> GetCustomerTier(const std::string& customer_id,
                                                   const CallContext& ctx);

  // Keeps a copy for the customer for config.hold_duration (a hold: a record
  // of status kHeld, id "hold-..."). Retrying with the same customer and
  // request_id returns the same hold; FAILED_PRECONDITION when no copy is
  // free (recorded first, as for RentBook, when there is a request_id).
  absl::StatusOr<domain::Rental> HoldBook(const HoldBookCommand& cmd, const CallContext& ctx);
  // The customer's holds (the customer themselves or a librarian).
  absl::StatusOr<std::vector<domain::Rental>> ListHolds(const std::string& customer_id,
                                                        const CallContext& ctx);
  // Releases a HELD hold. Retrying with the same request_id returns it.
  absl::StatusOr<domain::Rental> ReleaseHold(const ReleaseHoldCommand& cmd, const CallContext& ctx);

  // Completes or abandons reservations left awaiting payment (a crash, or a
  // payment outage). Returns how many it resolved. Run periodically.
  absl::StatusOr<int> ReconcilePending(const CallContext& ctx);
  // Records HoldExpired for holds still HELD past their expiry, with the same
  // optimistic append as every transition: any number of replicas may run it
  // at once, and a hold lapses once (the fold applies an expiry only to a hold
  // still held). Returns how many it found lapsed. Run periodically, next to
  // ReconcilePending.
  absl::StatusOr<int> ExpireHolds(const CallContext& ctx);
  // Records HoldGranted for the oldest waiting hold of every book that has a
  // copy free and a waiting list, as often as there are copies free. Like
  // ExpireHolds it may run on every replica at once: the append expects the
  // book's last sequence and the fold grants only the head of the list while
  // a copy is free, so each copy goes to one hold once, in order. It is the
  // crash-safe path: the use cases that free a copy also try a grant at
  // once, but if the process dies first, this finds it. Returns how many
  // holds it granted. Run periodically, after ExpireHolds.
  absl::StatusOr<int> GrantWaitingHolds(const CallContext& ctx);

 private:
  // What a command decided: an event to append at `expected_position`, or
  // nothing (the state already says what the caller wants), or a rejection.
  struct Decision {
    std::optional<domain::BookEvent> event;
    // Or a change of a customer's tier (on the customer's subject).
    std::optional<domain::CustomerTierSet> tier_event;
    uint64_t expected_position = 0;
    absl::Status rejection;
    std::string event_id;
    // Whether the appended event (at the given position) took effect in the
    // local state. On a JetStream cluster an append can be stored although
    // another writer's event landed first (docs/cluster.md); the fold then
    // ignores ours, and the command is decided again. Unset: assume it did.
    std::function<bool(uint64_t position)> took_effect;
  };
  using Decide = std::function<absl::StatusOr<Decision>()>;

  // Decides and appends until the append sticks: a lost race catches up and
  // decides again; a rejection is given only after catching up, so lag never
  // causes one. Returns the appended position, or 0 when nothing was written.
  // `key` names the aggregate (a book id, or "customer/<id>"). Decisions on
  // one aggregate are serialized within this replica (they would
  // only conflict with each other), so conflicts come only from other replicas.
  absl::StatusOr<uint64_t> Commit(const std::string& key, const Decide& decide,
                                  const CallContext& ctx);
  absl::Status CatchUp(const CallContext& ctx);
  // Before a read: up to ctx.read_position when there is one (no round trip
  // once it is applied), else CatchUp.
  absl::Status CatchUpForRead(const CallContext& ctx);
  absl::Time WaitDeadline(const CallContext& ctx) const;

  // Resolves a PENDING_PAYMENT rental by calling Pay (idempotent) and
  // recording the outcome. `abandon_if_unknown` records RentalAborted when
  // the outcome cannot be learned (the reconciler); otherwise the reservation
  // stays for a retry and UNAVAILABLE is returned.
  absl::StatusOr<domain::Rental> CompletePayment(const domain::Rental& rental,
                                                 const CallContext& ctx, bool abandon_if_unknown);
  // Appends the event `make` builds for a rental, unless `done` says the
  // state already holds what the caller wants (a retry), or `allowed` refuses
  // the transition (after catching up). Answers the rental as it then is.
  absl::StatusOr<domain::Rental> CommitTransition(
      const std::string& rental_id, const std::function<bool(const domain::Rental&)>& done,
      const std::function<absl::Status(const domain::Rental&)>& allowed,
      const std::function<domain::BookEvent(const domain::Rental&)>& make, const CallContext& ctx);
  // Appends a transition of a rental that must still be PENDING_PAYMENT.
  absl::Status CommitPendingOutcome(const std::string& rental_id,
                                    std::function<domain::BookEvent(const domain::Rental&)> make,
                                    const CallContext& ctx);
  absl::StatusOr<domain::Rental> LoadRental(const std::string& rental_id, const CallContext& ctx);
  // LoadRental of a record that began as a hold; NOT_FOUND for any other.
  absl::StatusOr<domain::Rental> LoadHold(const std::string& hold_id, const CallContext& ctx);
  absl::StatusOr<domain::Rental> ReadRental(const std::string& rental_id);
  absl::StatusOr<domain::Book> ReadBook(const std::string& book_id);
  absl::StatusOr<CustomerTierView> ReadCustomerTier(const std::string& customer_id);
  // Grants waiting holds of one book while it has a copy free (see
  // GrantWaitingHolds); returns how many.
  absl::StatusOr<int> GrantWaiting(const std::string& book_id, const CallContext& ctx);
  // After a use case freed a copy of the rental's book: GrantWaiting, its
  // failure left to the reconciler. Passes `r` through.
  absl::StatusOr<domain::Rental> ThenGrant(absl::StatusOr<domain::Rental> r,
                                           const CallContext& ctx);
  // A hold as answered: a waiting one with its place on the list.
  domain::Rental WithQueuePosition(domain::Rental r);
  // Whether the local state knows the rental (in any status).
  bool RentalKnown(const std::string& rental_id);

  const RentalServiceConfig config_;
  BookLog& log_;
  RentalState& state_;
  PaymentGateway& payment_;
  ReturnsGateway& returns_;
  DeliveryGateway* const delivery_;
  IdGenerator& ids_;
  const Clock& clock_;
  const Failpoints& failpoints_;
  // Striped by book id: held while deciding, appending and applying.
  static constexpr size_t kBookLockStripes = 256;
  std::array<absl::Mutex, kBookLockStripes> book_locks_;
};

}  // namespace rentmesh::rental
