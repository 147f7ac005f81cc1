#include "rental/core/rental_service.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rentmesh::rental {

using domain::Book;
using domain::BookEvent;
using domain::Rental;
using domain::RentalStatus;

namespace {

// What the request of a transition (return, cancel, release) must hold: an
// optional request_id and a reason of at most 1024 bytes.
absl::Status ValidateTransitionRequest(const std::string& request_id, const std::string& reason) {
  if (auto s = domain::ValidateId("request_id", request_id, false); !s.ok()) return s;
  if (reason.size() > 1024) return absl::InvalidArgumentError("reason is longer than 1024 bytes");
  return absl::OkStatus();
}

// A transition's retry: the rental is already in `status`, reached by this
// request_id (an empty request_id never matches).
std::function<bool(const Rental&)> RetryOf(RentalStatus status, const std::string& request_id) {
  return [status, &request_id](const Rental& r) {
    return r.status == status && !request_id.empty() && r.transition_request_id == request_id;
  };
}

// The idempotency key of a RentBook or HoldBook: its request_id or, when that
// is empty, the call's x-request-id. A mesh proxy keeps that header on the
// retries it makes itself, so a call without a request_id is still safe to
// retry inside the mesh; empty when neither is usable.
std::string IdempotencyKey(const std::string& request_id, const CallContext& ctx) {
  if (!request_id.empty()) return request_id;
  auto it = ctx.trace.find("x-request-id");
  if (it == ctx.trace.end() || !domain::ValidateId("x-request-id", it->second, true).ok()) {
    return "";
  }
  return it->second;
}

bool OutcomeUnknown(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
      return true;
    default:
      return false;
  }
}

absl::Status StatusOfFinishedRental(const Rental& r) {
  switch (r.status) {
    case RentalStatus::kRejected:
      return absl::FailedPreconditionError(
          absl::StrCat("payment declined for rental ", r.rental_id, ": ", r.failure_reason));
    case RentalStatus::kRefused:
      return absl::FailedPreconditionError(
          absl::StrCat(r.failure_reason, " (rental attempt ", r.rental_id,
                       " was refused; nothing was reserved or charged. Rent again with a new "
                       "request_id)"));
    case RentalStatus::kAborted:
      return absl::FailedPreconditionError(
          absl::StrCat("rental attempt ", r.rental_id, " was abandoned (", r.failure_reason,
                       "); nothing was charged. Rent again with a new request_id"));
    default:
      return absl::OkStatus();
  }
}

}  // namespace

RentalService::RentalService(RentalServiceConfig config, BookLog& log, RentalState& state,
                             PaymentGateway& payment, ReturnsGateway& returns, IdGenerator& ids,
                             const Clock& clock, const Failpoints& failpoints,
                             DeliveryGateway* delivery)
    : config_(std::move(config)),
      log_(log),
      state_(state),
      payment_(payment),
      returns_(returns),
      delivery_(delivery),
      ids_(ids),
      clock_(clock),
      failpoints_(failpoints) {}

absl::Time RentalService::WaitDeadline(const CallContext& ctx) const {
  return std::min(ctx.deadline, clock_.Now() + config_.catch_up_timeout);
}

absl::Status RentalService::CatchUp(const CallContext& ctx) {
  // The log's own clock: waits are real time even when the business clock is
  // injected.
  absl::Status s = log_.CatchUp(std::min(ctx.deadline, absl::Now() + config_.catch_up_timeout));
  if (s.ok()) return s;
  return absl::UnavailableError(
      absl::StrCat("cannot catch up with the rental log, try again shortly: ", s.message()));
}

absl::Status RentalService::CatchUpForRead(const CallContext& ctx) {
  if (ctx.read_position == 0) return CatchUp(ctx);
  absl::Status s = log_.WaitApplied(ctx.read_position,
                                    std::min(ctx.deadline, absl::Now() + config_.catch_up_timeout));
  if (s.ok()) return s;
  return absl::UnavailableError(absl::StrCat("this replica has not applied ", log_.StreamName(),
                                             ":", ctx.read_position,
                                             " yet, try again shortly: ", s.message()));
}

absl::StatusOr<uint64_t> RentalService::Commit(const std::string& key, const Decide& decide,
                                               const CallContext& ctx) {
  absl::MutexLock book_lock(&book_locks_[absl::HashOf(key) % kBookLockStripes]);
  bool caught_up = false;
  int ineffective_appends = 0;
  for (int attempt = 0; attempt < config_.max_conflict_retries; ++attempt) {
    absl::StatusOr<Decision> d = decide();
    if (!d.ok()) return d.status();
    if (!d->rejection.ok()) {
      if (caught_up) return d->rejection;
      if (absl::Status s = CatchUp(ctx); !s.ok()) return s;
      caught_up = true;
      continue;
    }
    if (!d->event.has_value() && !d->tier_event.has_value()) return uint64_t{0};
    // After an append that did not take effect, the same derived event id
    // would be dropped by the server as a duplicate of it: number the retry.
    if (ineffective_appends > 0 && !d->event_id.empty()) {
      absl::StrAppend(&d->event_id, "-", ineffective_appends);
    }
    EventContext ectx{"", ctx.trace, d->event_id};
    absl::StatusOr<uint64_t> pos =
        d->tier_event.has_value()
            ? log_.AppendTier(*d->tier_event, clock_.Now(), d->expected_position, ectx)
            : log_.Append(*d->event, clock_.Now(), d->expected_position, ectx);
    if (pos.ok()) {
      absl::Status applied =
          log_.WaitApplied(*pos, std::min(ctx.deadline, absl::Now() + config_.catch_up_timeout));
      if (!applied.ok()) {
        return absl::UnavailableError(
            absl::StrCat("the change was recorded but is not visible yet; retry to read it: ",
                         applied.message()));
      }
      if (!d->took_effect || d->took_effect(*pos)) return *pos;
      // Recorded, but another writer's event came first in stream order and
      // ours did not apply: decide again on the state as it now is.
      ++ineffective_appends;
      caught_up = true;
      continue;
    }
    if (pos.status().code() != absl::StatusCode::kAborted) {
      if (pos.status().code() == absl::StatusCode::kUnavailable) {
        return absl::UnavailableError(absl::StrCat(
            "the rental log is unavailable, try again shortly: ", pos.status().message()));
      }
      return pos.status();
    }
    // Another replica wrote first: see what it wrote, then decide again.
    if (absl::Status s = CatchUp(ctx); !s.ok()) return s;
    caught_up = true;
  }
  return absl::UnavailableError("too many concurrent changes to this book; try again shortly");
}

bool RentalService::RentalKnown(const std::string& rental_id) {
  absl::StatusOr<std::optional<Rental>> r = state_.GetRental(rental_id);
  return !r.ok() || r->has_value();  // a read error is not a lost race
}

absl::StatusOr<Book> RentalService::ReadBook(const std::string& book_id) {
  absl::StatusOr<std::optional<Book>> b = state_.GetBook(book_id);
  if (!b.ok()) return b.status();
  if (!b->has_value()) return absl::NotFoundError(absl::StrCat("book \"", book_id, "\" not found"));
  return **b;
}

absl::StatusOr<Rental> RentalService::ReadRental(const std::string& rental_id) {
  absl::StatusOr<std::optional<Rental>> r = state_.GetRental(rental_id);
  if (!r.ok()) return r.status();
  if (!r->has_value()) {
    return absl::NotFoundError(absl::StrCat("rental \"", rental_id, "\" not found"));
  }
  return **r;
}

absl::StatusOr<Book> RentalService::AddBook(const AddBookCommand& in, const CallContext& ctx) {
  AddBookCommand cmd = in;
  if (cmd.daily_fee.currency.empty()) cmd.daily_fee.currency = config_.default_currency;
  if (auto s = domain::ValidateBookId(cmd.book_id); !s.ok()) return s;
  if (auto s = domain::ValidateTitle(cmd.title); !s.ok()) return s;
  if (auto s = domain::ValidateCopies("copies", cmd.copies); !s.ok()) return s;
  if (auto s = domain::ValidateMoney("daily_fee", cmd.daily_fee, domain::kMaxDailyFeeMinor);
      !s.ok()) {
    return s;
  }
  if (auto s = ctx.actor.MayManageBooks(); !s.ok()) return s;

  absl::StatusOr<uint64_t> pos = Commit(
      cmd.book_id,
      [&]() -> absl::StatusOr<Decision> {
        absl::StatusOr<std::optional<Book>> existing = state_.GetBook(cmd.book_id);
        if (!existing.ok()) return existing.status();
        Decision d;
        if (existing->has_value()) {
          const Book& b = **existing;
          if (b.title != cmd.title || b.daily_fee != cmd.daily_fee ||
              (b.version == 1 && b.copies != cmd.copies)) {
            // Not a retry of the same request: the id is taken.
            d.rejection = absl::AlreadyExistsError(
                absl::StrCat("book \"", cmd.book_id, "\" already exists with other details"));
          }
          return d;
        }
        absl::StatusOr<uint64_t> subject = state_.SubjectPosition(cmd.book_id);
        if (!subject.ok()) return subject.status();
        d.event = domain::BookAdded{cmd.book_id, cmd.title, cmd.copies, cmd.daily_fee};
        // Not 0: a message that is not ours may sit on the subject already.
        d.expected_position = *subject;
        return d;
      },
      ctx);
  if (!pos.ok()) return pos.status();
  absl::StatusOr<Book> book = ReadBook(cmd.book_id);
  if (book.ok() && (book->title != cmd.title || book->daily_fee != cmd.daily_fee)) {
    // Another writer's BookAdded took effect first.
    return absl::AlreadyExistsError(
        absl::StrCat("book \"", cmd.book_id, "\" already exists with other details"));
  }
  return book;
}

absl::StatusOr<Book> RentalService::StockBook(const StockBookCommand& cmd, const CallContext& ctx) {
  if (auto s = domain::ValidateBookId(cmd.book_id); !s.ok()) return s;
  if (auto s = domain::ValidateCopies("copies", cmd.copies); !s.ok()) return s;
  if (auto s = domain::ValidateId("request_id", cmd.request_id, /*required=*/true); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), " (it makes adding copies safe to retry)"));
  }
  if (auto s = ctx.actor.MayManageBooks(); !s.ok()) return s;

  absl::StatusOr<uint64_t> pos = Commit(
      cmd.book_id,
      [&]() -> absl::StatusOr<Decision> {
        Decision d;
        absl::StatusOr<std::optional<Book>> book = state_.GetBook(cmd.book_id);
        if (!book.ok()) return book.status();
        if (!book->has_value()) {
          d.rejection = absl::NotFoundError(absl::StrCat("book \"", cmd.book_id, "\" not found"));
          return d;
        }
        absl::StatusOr<bool> done = state_.HasStockRequest(cmd.book_id, cmd.request_id);
        if (!done.ok()) return done.status();
        if (*done) return d;
        const Book& b = **book;
        if (static_cast<int64_t>(b.copies) + cmd.copies > domain::kMaxCopies) {
          d.rejection = absl::FailedPreconditionError(absl::StrCat(
              "book \"", cmd.book_id, "\" would exceed ", domain::kMaxCopies, " copies"));
          return d;
        }
        d.event =
            domain::BookStocked{cmd.book_id, cmd.copies, b.copies + cmd.copies, cmd.request_id};
        d.expected_position = b.last_position;
        d.took_effect = [this, &cmd](uint64_t) {
          absl::StatusOr<bool> took = state_.HasStockRequest(cmd.book_id, cmd.request_id);
          return !took.ok() || *took;
        };
        return d;
      },
      ctx);
  if (!pos.ok()) return pos.status();
  (void)GrantWaiting(cmd.book_id, ctx);  // the reconciler retries a failure
  return ReadBook(cmd.book_id);
}

absl::StatusOr<Book> RentalService::GetBook(const std::string& book_id, const CallContext& ctx) {
  if (auto s = domain::ValidateBookId(book_id); !s.ok()) return s;
  // Read-your-writes across replicas: reflect the caller's token, or
  // everything the log holds now.
  absl::Status caught_up = CatchUpForRead(ctx);
  if (ctx.read_position > 0 && !caught_up.ok()) return caught_up;
  absl::StatusOr<Book> book = ReadBook(book_id);
  if (!caught_up.ok() && absl::IsNotFound(book.status())) return caught_up;
  return book;
}

absl::StatusOr<BookPage> RentalService::ListBooks(int page_size, const std::string& page_token,
                                                  const CallContext& ctx) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  if (page_size == 0) page_size = 50;
  page_size = std::min(page_size, 500);
  if (!page_token.empty()) {
    if (auto s = domain::ValidateBookId(page_token); !s.ok()) {
      return absl::InvalidArgumentError("page_token is not one this service issued");
    }
  }
  (void)CatchUp(ctx);  // best effort: a list is a snapshot either way
  absl::StatusOr<std::vector<Book>> books = state_.ListBooks(page_token, page_size + 1);
  if (!books.ok()) return books.status();
  BookPage page;
  if (static_cast<int>(books->size()) > page_size) {
    books->resize(page_size);
    page.next_page_token = books->back().book_id;
  }
  page.books = std::move(*books);
  return page;
}

absl::StatusOr<Rental> RentalService::RentBook(const RentBookCommand& in, const CallContext& ctx) {
  RentBookCommand cmd = in;
  if (!cmd.hold_id.empty()) {
    // Renting a hold: the hold says which book; it must be the caller's.
    if (auto s = domain::ValidateId("customer_id", cmd.customer_id, true); !s.ok()) return s;
    absl::StatusOr<Rental> hold = LoadHold(cmd.hold_id, ctx);
    if (!hold.ok()) return hold.status();
    if (hold->customer_id != cmd.customer_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("hold ", cmd.hold_id, " is not a hold of \"", cmd.customer_id, "\""));
    }
    if (cmd.book_id.empty()) cmd.book_id = hold->book_id;
    if (cmd.book_id != hold->book_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("book_id \"", cmd.book_id, "\" is not the book of hold ", cmd.hold_id));
    }
  }
  if (auto s = domain::ValidateId("customer_id", cmd.customer_id, true); !s.ok()) return s;
  if (auto s = domain::ValidateBookId(cmd.book_id); !s.ok()) return s;
  if (auto s = domain::ValidateDays(cmd.days); !s.ok()) return s;
  if (auto s = domain::ValidateId("request_id", cmd.request_id, false); !s.ok()) return s;
  if (auto s = ctx.actor.MayActFor(cmd.customer_id); !s.ok()) return s;
  cmd.request_id = IdempotencyKey(cmd.request_id, ctx);

  const bool renting_hold = !cmd.hold_id.empty();
  const std::string rental_id = renting_hold ? cmd.hold_id
                                : cmd.request_id.empty()
                                    ? ids_.NewId("rent-")
                                    : ids_.DerivedId("rent-", {cmd.customer_id, cmd.request_id});

  absl::StatusOr<std::optional<Rental>> known = state_.GetRental(rental_id);
  if (!known.ok()) return known.status();
  // A hold not yet rented reserves nothing new, but is paid like a new rental.
  const bool fresh =
      !known->has_value() || (renting_hold && (*known)->status == RentalStatus::kHeld);
  if (fresh && !payment_.Accepting()) {
    return absl::UnavailableError(
        renting_hold ? "payment is unavailable right now; please try again shortly (the hold "
                       "still keeps its copy; nothing was charged)"
                     : "payment is unavailable right now; please try again shortly (nothing was "
                       "reserved or charged)");
  }
  if (fresh && !renting_hold) {
    // A new rental is priced with the customer's tier: a tier a librarian
    // set on another replica must be seen, not missed through lag. (Renting
    // a hold caught up in LoadHold.)
    if (absl::Status s = CatchUp(ctx); !s.ok()) return s;
  }

  // 1. Reserve a copy (or take the hold's, or find the reservation of an
  // earlier attempt).
  absl::StatusOr<uint64_t> reserved = Commit(
      cmd.book_id,
      [&]() -> absl::StatusOr<Decision> {
        Decision d;
        absl::StatusOr<std::optional<Rental>> existing = state_.GetRental(rental_id);
        if (!existing.ok()) return existing.status();
        bool converting = false;
        if (existing->has_value()) {
          const Rental& r = **existing;
          if (renting_hold && r.status == RentalStatus::kHeld) {
            if (clock_.Now() > r.hold_expires_at) {
              d.rejection = absl::FailedPreconditionError(absl::StrCat(
                  "hold ", rental_id, " lapsed at ", absl::FormatTime(r.hold_expires_at),
                  "; nothing was reserved or charged"));
              return d;
            }
            converting = true;
          } else if (renting_hold && r.status == RentalStatus::kHoldWaiting) {
            d.rejection = absl::FailedPreconditionError(absl::StrCat(
                "hold ", rental_id,
                " is still on the waiting list and keeps no copy yet; nothing was reserved or "
                "charged"));
            return d;
          } else if (renting_hold && (r.status == RentalStatus::kHoldReleased ||
                                      r.status == RentalStatus::kHoldExpired)) {
            d.rejection = absl::FailedPreconditionError(
                absl::StrCat("hold ", rental_id,
                             r.status == RentalStatus::kHoldReleased ? " was released" : " lapsed",
                             "; it no longer keeps a copy (nothing was reserved or charged)"));
            return d;
          } else {
            if (r.customer_id != cmd.customer_id || r.book_id != cmd.book_id ||
                (r.status != RentalStatus::kRefused && r.days != cmd.days)) {
              d.rejection = absl::AlreadyExistsError(
                  renting_hold
                      ? absl::StrCat("hold ", rental_id, " was already rented with other details")
                      : absl::StrCat("request_id \"", cmd.request_id,
                                     "\" was already used for another rental"));
            }
            return d;
          }
        }
        absl::StatusOr<std::optional<Book>> book = state_.GetBook(cmd.book_id);
        if (!book.ok()) return book.status();
        if (!book->has_value()) {
          d.rejection = absl::NotFoundError(absl::StrCat("book \"", cmd.book_id, "\" not found"));
          return d;
        }
        const Book& b = **book;
        // A copy free while holds wait is theirs (the next grant takes it).
        if (!converting && (b.copies_available() <= 0 || !b.waiting.empty())) {
          std::string reason = absl::StrCat("no copy of \"", b.title, "\" is available right now");
          if (cmd.request_id.empty()) {
            // Nobody can retry this request: there is no earlier attempt to
            // account for.
            d.rejection = absl::FailedPreconditionError(reason);
            return d;
          }
          // A retried request may have an earlier attempt whose reservation
          // is still on its way into the log. Record the refusal first: in
          // stream order, whichever of the two lands first takes effect, so
          // the answer given is the one the log keeps.
          d.event = domain::RentalRefused{rental_id, cmd.book_id, cmd.customer_id,
                                          std::move(reason), cmd.request_id};
          d.expected_position = b.last_position;
          d.event_id = ids_.DerivedId("evt-", {rental_id, "refused"});
          d.took_effect = [this, &rental_id](uint64_t) { return RentalKnown(rental_id); };
          return d;
        }
        // The price is decided here, once, and carried by the rental's
        // events: a later change of the tier or the policy never reprices it.
        absl::StatusOr<domain::CustomerTier> tier = state_.GetCustomerTier(cmd.customer_id);
        if (!tier.ok()) return tier.status();
        const std::string tier_name = tier->tier.empty() ? domain::kStandardTier : tier->tier;
        const int32_t percent = config_.tiers.DiscountPercent(tier_name);
        const domain::Price price = domain::PriceRental(b.daily_fee, cmd.days, percent);
        domain::RentalRequested requested{
            rental_id, cmd.book_id, cmd.customer_id, cmd.days,  price.charged, cmd.request_id,
            b.title,   price.base,  price.discount,  tier_name, percent};
        if (converting) {
          requested.hold_id = rental_id;
          // The hold id is the retry key: an unknown payment outcome keeps
          // the reservation for a retry (and the reconciler), as with a
          // request_id.
          if (requested.request_id.empty()) requested.request_id = rental_id;
        }
        d.event = std::move(requested);
        d.expected_position = b.last_position;
        if (!cmd.request_id.empty() || converting) {
          d.event_id = ids_.DerivedId("evt-", {rental_id, "requested"});
        }
        if (converting) {
          d.took_effect = [this, &rental_id](uint64_t position) {
            absl::StatusOr<Rental> now = ReadRental(rental_id);
            return !now.ok() || now->last_position == position;
          };
        } else {
          d.took_effect = [this, &rental_id](uint64_t) { return RentalKnown(rental_id); };
        }
        return d;
      },
      ctx);
  if (!reserved.ok()) return reserved.status();

  absl::StatusOr<Rental> rental = ReadRental(rental_id);
  if (absl::IsNotFound(rental.status())) {
    // Our reservation was appended but did not take effect (another writer's
    // event landed first in stream order): nothing is reserved; decide anew.
    return absl::UnavailableError(
        "the book changed while reserving; nothing was reserved or charged, please try again");
  }
  if (!rental.ok()) return rental.status();
  if (rental->status == RentalStatus::kHeld) {
    return absl::UnavailableError(
        "the book changed while renting the hold; nothing was charged, please try again");
  }
  if (rental->status == RentalStatus::kPendingPayment) {
    // 2. Take the payment, 3. record its outcome.
    rental = CompletePayment(*rental, ctx, /*abandon_if_unknown=*/false);
    if (!rental.ok()) return rental.status();
  }
  if (absl::Status s = StatusOfFinishedRental(*rental); !s.ok()) return s;
  return rental;
}

absl::StatusOr<Rental> RentalService::CompletePayment(const Rental& rental, const CallContext& ctx,
                                                      bool abandon_if_unknown) {
  PaymentRequest req{
      rental.rental_id, rental.customer_id, rental.fee,
      absl::StrCat("rental of \"", rental.book_title, "\" for ", rental.days, " days"), ctx.trace};
  absl::StatusOr<PaymentOutcome> outcome =
      payment_.Pay(req, std::min(ctx.deadline, absl::Now() + config_.payment_timeout));
  failpoints_.Hit("rental.after_payment");

  if (!outcome.ok()) {
    if (OutcomeUnknown(outcome.status()) && !abandon_if_unknown && !rental.request_id.empty()) {
      // The reservation stays: a retry with the same request_id resumes it,
      // and the reconciler settles it soon after the payment deadline if
      // nobody does. (Without a request_id nobody can resume it: it is
      // abandoned at once below, and the copy is free again.)
      return absl::UnavailableError(
          absl::StrCat("payment is unavailable right now; please try again shortly (",
                       outcome.status().message(), ")"));
    }
    std::string reason =
        OutcomeUnknown(outcome.status())
            ? absl::StrCat("payment unavailable: ", outcome.status().message())
            : absl::StrCat("payment refused the request: ", outcome.status().message());
    absl::Status s = CommitPendingOutcome(
        rental.rental_id,
        [&](const Rental& r) -> BookEvent {
          return domain::RentalAborted{r.rental_id, r.book_id, r.customer_id, reason};
        },
        ctx);
    if (!s.ok()) return s;
    if (OutcomeUnknown(outcome.status()) && !abandon_if_unknown) {
      return absl::UnavailableError(absl::StrCat(
          "payment is unavailable right now; nothing was reserved, and any charge is voided. "
          "Please try again shortly (",
          outcome.status().message(), ")"));
    }
    return ReadRental(rental.rental_id);
  }

  absl::Status s;
  if (outcome->approved) {
    s = CommitPendingOutcome(
        rental.rental_id,
        [&](const Rental& r) -> BookEvent {
          absl::Time now = clock_.Now();
          return domain::BookRented{r.rental_id,
                                    r.book_id,
                                    r.customer_id,
                                    r.days,
                                    r.fee,
                                    outcome->payment_id,
                                    now,
                                    now + absl::Hours(24) * r.days,
                                    r.book_title,
                                    r.base_fee,
                                    r.discount,
                                    r.tier,
                                    r.discount_percent};
        },
        ctx);
  } else {
    s = CommitPendingOutcome(
        rental.rental_id,
        [&](const Rental& r) -> BookEvent {
          return domain::RentalRejected{r.rental_id, r.book_id, r.customer_id,
                                        outcome->decline_reason};
        },
        ctx);
  }
  if (!s.ok()) return s;
  return ReadRental(rental.rental_id);
}

absl::Status RentalService::CommitPendingOutcome(const std::string& rental_id,
                                                 std::function<BookEvent(const Rental&)> make,
                                                 const CallContext& ctx) {
  // Settled meanwhile (a retry, the reconciler): nothing more to write.
  auto settled = [](const Rental& r) { return r.status != RentalStatus::kPendingPayment; };
  auto always = [](const Rental&) { return absl::OkStatus(); };
  absl::StatusOr<Rental> r = CommitTransition(rental_id, settled, always, make, ctx);
  if (r.ok() && (r->status == RentalStatus::kRejected || r->status == RentalStatus::kAborted)) {
    (void)GrantWaiting(r->book_id, ctx);  // its copy is free: the reconciler retries a failure
  }
  return r.status();
}

absl::StatusOr<Rental> RentalService::CommitTransition(
    const std::string& rental_id, const std::function<bool(const Rental&)>& done,
    const std::function<absl::Status(const Rental&)>& allowed,
    const std::function<BookEvent(const Rental&)>& make, const CallContext& ctx) {
  // A rental never changes book: read it once to know which book to lock.
  absl::StatusOr<Rental> current = ReadRental(rental_id);
  if (!current.ok()) return current.status();
  absl::StatusOr<uint64_t> pos = Commit(
      current->book_id,
      [&]() -> absl::StatusOr<Decision> {
        Decision d;
        absl::StatusOr<Rental> r = ReadRental(rental_id);
        if (!r.ok()) return r.status();
        if (done(*r)) return d;
        if (absl::Status s = allowed(*r); !s.ok()) {
          d.rejection = s;
          return d;
        }
        absl::StatusOr<Book> b = ReadBook(r->book_id);
        if (!b.ok()) return b.status();
        d.event = make(*r);
        d.expected_position = b->last_position;
        d.took_effect = [this, &rental_id](uint64_t position) {
          absl::StatusOr<Rental> now = ReadRental(rental_id);
          return !now.ok() || now->last_position == position;
        };
        return d;
      },
      ctx);
  if (!pos.ok()) return pos.status();
  // Commit decided again until our event took effect (Decision::took_effect).
  return ReadRental(rental_id);
}

absl::StatusOr<Rental> RentalService::LoadRental(const std::string& rental_id,
                                                 const CallContext& ctx) {
  if (auto s = domain::ValidateId("rental_id", rental_id, true); !s.ok()) return s;
  absl::Status caught_up = CatchUp(ctx);
  absl::StatusOr<Rental> r = ReadRental(rental_id);
  if (!caught_up.ok() && absl::IsNotFound(r.status())) return caught_up;
  if (!r.ok()) return r.status();
  if (auto s = ctx.actor.MayActFor(r->customer_id); !s.ok()) return s;
  return r;
}

absl::StatusOr<Rental> RentalService::GetRental(const std::string& rental_id,
                                                const CallContext& ctx) {
  if (ctx.read_position == 0) return LoadRental(rental_id, ctx);
  if (auto s = domain::ValidateId("rental_id", rental_id, true); !s.ok()) return s;
  // A token that is not reached is an error, never an older answer.
  if (absl::Status s = CatchUpForRead(ctx); !s.ok()) return s;
  absl::StatusOr<Rental> r = ReadRental(rental_id);
  if (!r.ok()) return r.status();
  if (auto s = ctx.actor.MayActFor(r->customer_id); !s.ok()) return s;
  return r;
}

absl::StatusOr<Rental> RentalService::ReturnBook(const ReturnBookCommand& cmd,
                                                 const CallContext& ctx) {
  if (auto s = domain::ValidateId("request_id", cmd.request_id, false); !s.ok()) return s;
  absl::StatusOr<Rental> rental = LoadRental(cmd.rental_id, ctx);
  if (!rental.ok()) return rental.status();
  auto illegal = [&](const Rental& r) -> absl::Status {
    switch (r.status) {
      case RentalStatus::kRented:
        return absl::OkStatus();
      case RentalStatus::kReturned:
        return absl::FailedPreconditionError(
            absl::StrCat("rental ", r.rental_id, " was already returned"));
      case RentalStatus::kCancelled:
        return absl::FailedPreconditionError(
            absl::StrCat("rental ", r.rental_id, " was cancelled; there is nothing to return"));
      default:
        return absl::FailedPreconditionError(absl::StrCat(
            "rental ", r.rental_id, " is ", domain::RentalStatusName(r.status), ", not RENTED"));
    }
  };
  const auto is_retry = RetryOf(RentalStatus::kReturned, cmd.request_id);
  if (is_retry(*rental)) return rental;
  if (auto s = illegal(*rental); !s.ok()) return s;

  ReturnRequest req{rental->rental_id, rental->book_id, rental->customer_id,
                    rental->due_at,    cmd.damaged,     rental->discount_percent,
                    ctx.trace};
  absl::StatusOr<ReturnOutcome> outcome =
      returns_.ProcessReturn(req, std::min(ctx.deadline, absl::Now() + config_.returns_timeout));
  failpoints_.Hit("rental.after_return_processed");
  if (!outcome.ok()) {
    if (OutcomeUnknown(outcome.status())) {
      return absl::UnavailableError(absl::StrCat(
          "return processing is unavailable right now; the book is still rented to you. "
          "Please try again shortly (",
          outcome.status().message(), ")"));
    }
    return outcome.status();
  }

  return ThenGrant(CommitTransition(
                       cmd.rental_id, is_retry, illegal,
                       [&](const Rental& r) -> BookEvent {
                         return domain::BookReturned{r.rental_id,          r.book_id,
                                                     r.customer_id,        outcome->return_id,
                                                     outcome->returned_at, outcome->total_fee,
                                                     cmd.request_id};
                       },
                       ctx),
                   ctx);
}

absl::StatusOr<Rental> RentalService::CancelRental(const CancelRentalCommand& cmd,
                                                   const CallContext& ctx) {
  if (auto s = ValidateTransitionRequest(cmd.request_id, cmd.reason); !s.ok()) return s;
  absl::StatusOr<Rental> rental = LoadRental(cmd.rental_id, ctx);
  if (!rental.ok()) return rental.status();
  const auto is_retry = RetryOf(RentalStatus::kCancelled, cmd.request_id);
  auto illegal = [&](const Rental& r) -> absl::Status {
    switch (r.status) {
      case RentalStatus::kRented:
        break;
      case RentalStatus::kCancelled:
        return absl::FailedPreconditionError(
            absl::StrCat("rental ", r.rental_id, " was already cancelled"));
      case RentalStatus::kReturned:
        return absl::FailedPreconditionError(
            absl::StrCat("rental ", r.rental_id, " was returned; it can no longer be cancelled"));
      default:
        return absl::FailedPreconditionError(absl::StrCat(
            "rental ", r.rental_id, " is ", domain::RentalStatusName(r.status), ", not RENTED"));
    }
    if (clock_.Now() - r.rented_at > config_.cancel_window) {
      return absl::FailedPreconditionError(
          absl::StrCat("the cancellation window of ", absl::FormatDuration(config_.cancel_window),
                       " after renting has passed for rental ", r.rental_id));
    }
    return absl::OkStatus();
  };
  if (is_retry(*rental)) return rental;

  if (delivery_ != nullptr) {
    if (auto s = illegal(*rental); !s.ok()) return s;
    // The delivery first: a copy on its way cannot be un-rented. Idempotent,
    // so a retry of this cancel (or a later one) may call it again.
    DeliveryCancelRequest req{
        rental->rental_id, cmd.reason,
        cmd.request_id.empty() ? absl::StrCat("cancel-", rental->rental_id) : cmd.request_id,
        ctx.trace};
    absl::Status cancelled = delivery_->CancelDelivery(
        req, std::min(ctx.deadline, absl::Now() + config_.delivery_timeout));
    if (!cancelled.ok()) {
      if (OutcomeUnknown(cancelled)) {
        return absl::UnavailableError(absl::StrCat(
            "the delivery service is unavailable right now; rental ", rental->rental_id,
            " is not cancelled. Please try again shortly (", cancelled.message(), ")"));
      }
      if (absl::IsFailedPrecondition(cancelled)) {
        return absl::FailedPreconditionError(
            absl::StrCat("rental ", rental->rental_id,
                         " can no longer be cancelled: its delivery is under way or done (",
                         cancelled.message(), ")"));
      }
      return cancelled;
    }
  }

  return ThenGrant(CommitTransition(
                       cmd.rental_id, is_retry, illegal,
                       [&](const Rental& r) -> BookEvent {
                         return domain::RentalCancelled{r.rental_id, r.book_id,     r.customer_id,
                                                        cmd.reason,  clock_.Now(),  r.payment_id,
                                                        r.fee,       cmd.request_id};
                       },
                       ctx),
                   ctx);
}

absl::StatusOr<CustomerTierView> RentalService::ReadCustomerTier(const std::string& customer_id) {
  absl::StatusOr<domain::CustomerTier> record = state_.GetCustomerTier(customer_id);
  if (!record.ok()) return record.status();
  CustomerTierView view;
  view.record = *std::move(record);
  view.record.customer_id = customer_id;
  view.tier = view.record.tier.empty() ? domain::kStandardTier : view.record.tier;
  view.discount_percent = config_.tiers.DiscountPercent(view.tier);
  return view;
}

absl::StatusOr<CustomerTierView> RentalService::SetCustomerTier(const SetCustomerTierCommand& cmd,
                                                                const CallContext& ctx) {
  if (auto s = domain::ValidateId("customer_id", cmd.customer_id, true); !s.ok()) return s;
  if (auto s = domain::ValidateTierName(cmd.tier); !s.ok()) return s;
  if (auto s = domain::ValidateId("request_id", cmd.request_id, true); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), " (it makes setting a tier safe to retry)"));
  }
  if (!config_.tiers.Knows(cmd.tier)) {
    std::vector<std::string> tiers = config_.tiers.Tiers();
    tiers.insert(tiers.begin(), domain::kStandardTier);
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown tier \"", cmd.tier, "\"; the configured tiers are ", absl::StrJoin(tiers, ", ")));
  }
  if (auto s = ctx.actor.MaySetTiers(); !s.ok()) return s;

  absl::StatusOr<uint64_t> pos = Commit(
      absl::StrCat("customer/", cmd.customer_id),
      [&]() -> absl::StatusOr<Decision> {
        Decision d;
        absl::StatusOr<std::optional<std::string>> done =
            state_.TierRequest(cmd.customer_id, cmd.request_id);
        if (!done.ok()) return done.status();
        if (done->has_value()) {
          if (**done != cmd.tier) {
            d.rejection = absl::AlreadyExistsError(absl::StrCat(
                "request_id \"", cmd.request_id, "\" already set tier \"", **done, "\""));
          }
          return d;
        }
        absl::StatusOr<domain::CustomerTier> current = state_.GetCustomerTier(cmd.customer_id);
        if (!current.ok()) return current.status();
        d.tier_event = domain::CustomerTierSet{cmd.customer_id, cmd.tier, cmd.request_id,
                                               ctx.actor.customer_id};
        d.expected_position = current->last_position;
        d.event_id = ids_.DerivedId("evt-", {cmd.customer_id, cmd.request_id, "tier"});
        d.took_effect = [this, &cmd](uint64_t) {
          absl::StatusOr<std::optional<std::string>> took =
              state_.TierRequest(cmd.customer_id, cmd.request_id);
          return !took.ok() || took->has_value();
        };
        return d;
      },
      ctx);
  if (!pos.ok()) return pos.status();
  return ReadCustomerTier(cmd.customer_id);
}

absl::StatusOr<CustomerTierView> RentalService::GetCustomerTier(const std::string& customer_id,
                                                                const CallContext& ctx) {
  if (auto s = domain::ValidateId("customer_id", customer_id, true); !s.ok()) return s;
  if (auto s = ctx.actor.MayActFor(customer_id); !s.ok()) return s;
  if (absl::Status s = CatchUp(ctx); !s.ok()) return s;
  return ReadCustomerTier(customer_id);
}

absl::StatusOr<int> RentalService::ReconcilePending(const CallContext& ctx) {
  absl::StatusOr<std::vector<Rental>> stale =
      state_.PendingRentals(clock_.Now() - config_.reconcile_after, 100);
  if (!stale.ok()) return stale.status();
  int resolved = 0;
  for (const Rental& r : *stale) {
    absl::StatusOr<Rental> done = CompletePayment(r, ctx, /*abandon_if_unknown=*/true);
    if (done.ok() && done->status != RentalStatus::kPendingPayment) ++resolved;
  }
  return resolved;
}

absl::StatusOr<Rental> RentalService::LoadHold(const std::string& hold_id, const CallContext& ctx) {
  if (auto s = domain::ValidateId("hold_id", hold_id, true); !s.ok()) return s;
  absl::StatusOr<Rental> r = LoadRental(hold_id, ctx);
  if (absl::IsNotFound(r.status()) || (r.ok() && !r->is_hold())) {
    return absl::NotFoundError(absl::StrCat("hold \"", hold_id, "\" not found"));
  }
  return r;
}

absl::StatusOr<Rental> RentalService::HoldBook(const HoldBookCommand& in, const CallContext& ctx) {
  HoldBookCommand cmd = in;
  if (auto s = domain::ValidateId("customer_id", cmd.customer_id, true); !s.ok()) return s;
  if (auto s = domain::ValidateBookId(cmd.book_id); !s.ok()) return s;
  if (auto s = domain::ValidateId("request_id", cmd.request_id, false); !s.ok()) return s;
  if (auto s = ctx.actor.MayActFor(cmd.customer_id); !s.ok()) return s;
  cmd.request_id = IdempotencyKey(cmd.request_id, ctx);

  const std::string hold_id = cmd.request_id.empty()
                                  ? ids_.NewId("hold-")
                                  : ids_.DerivedId("hold-", {cmd.customer_id, cmd.request_id});
  absl::StatusOr<uint64_t> pos = Commit(
      cmd.book_id,
      [&]() -> absl::StatusOr<Decision> {
        Decision d;
        absl::StatusOr<std::optional<Rental>> existing = state_.GetRental(hold_id);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          const Rental& r = **existing;
          if (r.customer_id != cmd.customer_id || r.book_id != cmd.book_id ||
              !(r.is_hold() || r.status == RentalStatus::kRefused)) {
            d.rejection = absl::AlreadyExistsError(absl::StrCat(
                "request_id \"", cmd.request_id, "\" was already used for another hold"));
          }
          return d;  // a retry: the hold as it now is
        }
        absl::StatusOr<std::optional<Book>> book = state_.GetBook(cmd.book_id);
        if (!book.ok()) return book.status();
        if (!book->has_value()) {
          d.rejection = absl::NotFoundError(absl::StrCat("book \"", cmd.book_id, "\" not found"));
          return d;
        }
        const Book& b = **book;
        d.expected_position = b.last_position;
        d.took_effect = [this, &hold_id](uint64_t) { return RentalKnown(hold_id); };
        // A copy free while others wait is theirs: join the list behind them.
        if (b.copies_available() <= 0 || !b.waiting.empty()) {
          if (cmd.wait_if_unavailable) {
            d.event =
                domain::HoldQueued{hold_id, cmd.book_id, cmd.customer_id, cmd.request_id, b.title};
            if (!cmd.request_id.empty()) d.event_id = ids_.DerivedId("evt-", {hold_id, "queued"});
            return d;
          }
          std::string reason =
              absl::StrCat("no copy of \"", b.title, "\" is free to hold right now");
          if (cmd.request_id.empty()) {
            d.rejection = absl::FailedPreconditionError(reason);
            return d;
          }
          // As for RentBook: the refusal is recorded first, so an earlier
          // attempt's hold still on its way into the log cannot take effect
          // after this answer.
          d.event = domain::RentalRefused{hold_id, cmd.book_id, cmd.customer_id, std::move(reason),
                                          cmd.request_id};
          d.event_id = ids_.DerivedId("evt-", {hold_id, "refused"});
          return d;
        }
        d.event = domain::HoldPlaced{hold_id,
                                     cmd.book_id,
                                     cmd.customer_id,
                                     cmd.request_id,
                                     clock_.Now() + config_.hold_duration,
                                     b.title};
        if (!cmd.request_id.empty()) d.event_id = ids_.DerivedId("evt-", {hold_id, "placed"});
        return d;
      },
      ctx);
  if (!pos.ok()) return pos.status();
  absl::StatusOr<Rental> hold = ReadRental(hold_id);
  if (absl::IsNotFound(hold.status())) {
    return absl::UnavailableError(
        "the book changed while placing the hold; nothing is held, please try again");
  }
  if (!hold.ok()) return hold.status();
  if (hold->status == RentalStatus::kRefused) {
    return absl::FailedPreconditionError(
        absl::StrCat(hold->failure_reason, " (hold attempt ", hold_id,
                     " was refused; nothing is held. Hold again with a new request_id)"));
  }
  if (hold->status == RentalStatus::kHoldWaiting) {
    // Queued behind a grant still to be written (a copy was free but others
    // waited): write it now rather than at the next reconcile.
    (void)GrantWaiting(cmd.book_id, ctx);
    absl::StatusOr<Rental> now = ReadRental(hold_id);
    if (now.ok()) return WithQueuePosition(*std::move(now));
  }
  return hold;
}

absl::StatusOr<std::vector<Rental>> RentalService::ListHolds(const std::string& customer_id,
                                                             const CallContext& ctx) {
  if (auto s = domain::ValidateId("customer_id", customer_id, true); !s.ok()) return s;
  if (auto s = ctx.actor.MayActFor(customer_id); !s.ok()) return s;
  if (absl::Status s = CatchUp(ctx); !s.ok()) return s;
  absl::StatusOr<std::vector<Rental>> holds = state_.CustomerHolds(customer_id, 500);
  if (!holds.ok()) return holds;
  for (Rental& h : *holds) h = WithQueuePosition(std::move(h));
  return holds;
}

absl::StatusOr<Rental> RentalService::ReleaseHold(const ReleaseHoldCommand& cmd,
                                                  const CallContext& ctx) {
  if (auto s = ValidateTransitionRequest(cmd.request_id, cmd.reason); !s.ok()) return s;
  absl::StatusOr<Rental> hold = LoadHold(cmd.hold_id, ctx);
  if (!hold.ok()) return hold.status();
  const auto is_retry = RetryOf(RentalStatus::kHoldReleased, cmd.request_id);
  auto illegal = [&](const Rental& r) -> absl::Status {
    switch (r.status) {
      case RentalStatus::kHeld:
      case RentalStatus::kHoldWaiting:  // leaves the waiting list
        return absl::OkStatus();
      case RentalStatus::kHoldReleased:
        return absl::FailedPreconditionError(
            absl::StrCat("hold ", r.rental_id, " was already released"));
      case RentalStatus::kHoldExpired:
        return absl::FailedPreconditionError(
            absl::StrCat("hold ", r.rental_id, " lapsed; its copy is free already"));
      default:
        return absl::FailedPreconditionError(absl::StrCat(
            "hold ", r.rental_id, " was rented (rental ", r.rental_id, " is ",
            domain::RentalStatusName(r.status), "); cancel or return the rental instead"));
    }
  };
  if (is_retry(*hold)) return hold;
  return ThenGrant(CommitTransition(
                       cmd.hold_id, is_retry, illegal,
                       [&](const Rental& r) -> BookEvent {
                         return domain::HoldReleased{r.rental_id, r.book_id, r.customer_id,
                                                     cmd.reason, cmd.request_id};
                       },
                       ctx),
                   ctx);
}

absl::StatusOr<int> RentalService::ExpireHolds(const CallContext& ctx) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::vector<Rental>> lapsed = state_.LapsedHolds(now, 100);
  if (!lapsed.ok()) return lapsed.status();
  int expired = 0;
  for (const Rental& hold : *lapsed) {
    // Released, rented or expired meanwhile (by a request, or by the
    // reconciler of another replica): nothing to write.
    auto settled = [](const Rental& r) { return r.status != RentalStatus::kHeld; };
    auto always = [](const Rental&) { return absl::OkStatus(); };
    absl::StatusOr<Rental> done = CommitTransition(
        hold.rental_id, settled, always,
        [](const Rental& r) -> BookEvent {
          return domain::HoldExpired{r.rental_id, r.book_id, r.customer_id, r.hold_expires_at};
        },
        ctx);
    if (done.ok() && done->status == RentalStatus::kHoldExpired) ++expired;
  }
  return expired;
}

absl::StatusOr<int> RentalService::GrantWaiting(const std::string& book_id,
                                                const CallContext& ctx) {
  int granted = 0;
  for (;;) {
    std::string head;
    absl::StatusOr<uint64_t> pos = Commit(
        book_id,
        [&]() -> absl::StatusOr<Decision> {
          Decision d;
          head.clear();
          absl::StatusOr<std::optional<Book>> book = state_.GetBook(book_id);
          if (!book.ok()) return book.status();
          if (!book->has_value() || (*book)->waiting.empty() || (*book)->copies_available() <= 0) {
            return d;  // nothing to grant
          }
          const Book& b = **book;
          absl::StatusOr<Rental> hold = ReadRental(b.waiting.front());
          if (!hold.ok()) return hold.status();
          head = hold->rental_id;
          d.event = domain::HoldGranted{hold->rental_id, book_id, hold->customer_id,
                                        clock_.Now() + config_.hold_duration};
          d.expected_position = b.last_position;
          // The same id on every replica: the server drops a second copy.
          d.event_id = ids_.DerivedId("evt-", {hold->rental_id, "granted"});
          d.took_effect = [this, id = hold->rental_id](uint64_t) {
            absl::StatusOr<Rental> r = ReadRental(id);
            return !r.ok() || r->status != RentalStatus::kHoldWaiting;
          };
          return d;
        },
        ctx);
    if (!pos.ok()) return pos.status();
    if (*pos == 0) return granted;  // no copy free, or nobody waiting
    ++granted;
  }
}

absl::StatusOr<Rental> RentalService::ThenGrant(absl::StatusOr<Rental> r, const CallContext& ctx) {
  if (r.ok()) (void)GrantWaiting(r->book_id, ctx);  // the reconciler retries a failure
  return r;
}

Rental RentalService::WithQueuePosition(Rental r) {
  if (r.status != RentalStatus::kHoldWaiting) return r;
  absl::StatusOr<std::optional<Book>> book = state_.GetBook(r.book_id);
  if (book.ok() && book->has_value()) r.queue_position = (*book)->QueuePosition(r.rental_id);
  return r;
}

absl::StatusOr<int> RentalService::GrantWaitingHolds(const CallContext& ctx) {
  absl::StatusOr<std::vector<Book>> books = state_.BooksWithWaiting(100);
  if (!books.ok()) return books.status();
  int granted = 0;
  for (const Book& b : *books) {
    if (b.copies_available() <= 0) continue;
    absl::StatusOr<int> n = GrantWaiting(b.book_id, ctx);
    if (n.ok()) granted += *n;
  }
  return granted;
}

}  // namespace rentmesh::rental
