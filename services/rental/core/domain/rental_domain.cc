#include "rental/core/domain/rental_domain.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rental/core/domain/pricing.h"
#include "rentmesh/common/overloaded.h"

namespace rentmesh::rental::domain {

absl::string_view RentalStatusName(RentalStatus s) {
  switch (s) {
    case RentalStatus::kPendingPayment:
      return "PENDING_PAYMENT";
    case RentalStatus::kRented:
      return "RENTED";
    case RentalStatus::kReturned:
      return "RETURNED";
    case RentalStatus::kCancelled:
      return "CANCELLED";
    case RentalStatus::kRejected:
      return "REJECTED";
    case RentalStatus::kAborted:
      return "ABORTED";
    case RentalStatus::kRefused:
      return "REFUSED";
    case RentalStatus::kHeld:
      return "HELD";
    case RentalStatus::kHoldReleased:
      return "HOLD_RELEASED";
    case RentalStatus::kHoldExpired:
      return "HOLD_EXPIRED";
    case RentalStatus::kHoldWaiting:
      return "HOLD_WAITING";
  }
  return "UNKNOWN";
}

const std::string& BookIdOf(const BookEvent& e) {
  return std::visit([](const auto& ev) -> const std::string& { return ev.book_id; }, e);
}

std::string RentalIdOf(const BookEvent& e) {
  return std::visit(
      [](const auto& ev) -> std::string {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, BookAdded> || std::is_same_v<T, BookStocked>) {
          return {};
        } else if constexpr (std::is_same_v<T, HoldPlaced> || std::is_same_v<T, HoldReleased> ||
                             std::is_same_v<T, HoldExpired> || std::is_same_v<T, HoldQueued> ||
                             std::is_same_v<T, HoldGranted>) {
          return ev.hold_id;
        } else {
          return ev.rental_id;
        }
      },
      e);
}

namespace {

void ApplyToBook(Book& book, const BookEvent& e, rules::RentalPhase before, absl::Time at) {
  std::visit(Overloaded{
                 [&](const BookAdded& ev) {
                   book.book_id = ev.book_id;
                   book.title = ev.title;
                   book.copies = ev.copies;
                   book.daily_fee = ev.daily_fee;
                   book.created_at = at;
                 },
                 // Added, not set to the event's total: two requests decided
                 // on the same state both add their copies.
                 [&](const BookStocked& ev) { book.copies += ev.copies_added; },
                 [&](const auto&) {},
             },
             e);
  book.active_rentals += rules::ActiveDelta(KindOf(e), before);
  // The waiting list: joined by HoldQueued, left by the grant (the head) or
  // a release of a waiting hold.
  const std::string id = RentalIdOf(e);
  if (std::holds_alternative<HoldQueued>(e)) {
    book.waiting.push_back(id);
  } else if (before == rules::RentalPhase::kHoldWaiting) {
    book.waiting.erase(std::remove(book.waiting.begin(), book.waiting.end(), id),
                       book.waiting.end());
  }
  ++book.version;
}

void ApplyToRental(Rental& r, const BookEvent& e, uint64_t position, absl::Time at) {
  std::visit(Overloaded{
                 [&](const BookAdded&) {},
                 [&](const BookStocked&) {},
                 [&](const RentalRequested& ev) {
                   r.rental_id = ev.rental_id;
                   r.book_id = ev.book_id;
                   r.customer_id = ev.customer_id;
                   r.days = ev.days;
                   r.fee = ev.fee;
                   if (ev.base_fee.currency.empty()) {
                     // Recorded before pricing tiers: no discount.
                     r.base_fee = ev.fee;
                     r.discount = Money{ev.fee.currency, 0};
                     r.tier = kStandardTier;
                   } else {
                     r.base_fee = ev.base_fee;
                     r.discount = ev.discount;
                     r.tier = ev.tier;
                   }
                   r.discount_percent = ev.discount_percent;
                   r.request_id = ev.request_id;
                   r.book_title = ev.book_title;
                   r.requested_at = at;
                   r.status = RentalStatus::kPendingPayment;
                 },
                 [&](const RentalRefused& ev) {
                   r.rental_id = ev.rental_id;
                   r.book_id = ev.book_id;
                   r.customer_id = ev.customer_id;
                   r.request_id = ev.request_id;
                   r.requested_at = at;
                   r.failure_reason = ev.reason;
                   r.status = RentalStatus::kRefused;
                 },
                 [&](const BookRented& ev) {
                   r.status = RentalStatus::kRented;
                   r.payment_id = ev.payment_id;
                   r.rented_at = ev.rented_at;
                   r.due_at = ev.due_at;
                 },
                 [&](const RentalRejected& ev) {
                   r.status = RentalStatus::kRejected;
                   r.failure_reason = ev.reason;
                 },
                 [&](const RentalAborted& ev) {
                   r.status = RentalStatus::kAborted;
                   r.failure_reason = ev.reason;
                 },
                 [&](const BookReturned& ev) {
                   r.status = RentalStatus::kReturned;
                   r.return_id = ev.return_id;
                   r.returned_at = ev.returned_at;
                   r.late_fee = ev.late_fee;
                   r.transition_request_id = ev.request_id;
                 },
                 [&](const RentalCancelled& ev) {
                   r.status = RentalStatus::kCancelled;
                   r.cancelled_at = ev.cancelled_at;
                   r.cancel_reason = ev.reason;
                   r.transition_request_id = ev.request_id;
                 },
                 [&](const HoldPlaced& ev) {
                   r.rental_id = ev.hold_id;
                   r.book_id = ev.book_id;
                   r.customer_id = ev.customer_id;
                   r.request_id = ev.request_id;
                   r.book_title = ev.book_title;
                   r.requested_at = at;
                   r.held_at = at;
                   r.hold_expires_at = ev.expires_at;
                   r.status = RentalStatus::kHeld;
                 },
                 [&](const HoldReleased& ev) {
                   r.status = RentalStatus::kHoldReleased;
                   r.cancel_reason = ev.reason;
                   r.cancelled_at = at;
                   r.transition_request_id = ev.request_id;
                 },
                 [&](const HoldExpired&) { r.status = RentalStatus::kHoldExpired; },
                 [&](const HoldQueued& ev) {
                   r.rental_id = ev.hold_id;
                   r.book_id = ev.book_id;
                   r.customer_id = ev.customer_id;
                   r.request_id = ev.request_id;
                   r.book_title = ev.book_title;
                   r.requested_at = at;
                   r.held_at = at;  // placed (on the list) then
                   r.status = RentalStatus::kHoldWaiting;
                 },
                 [&](const HoldGranted& ev) {
                   r.hold_expires_at = ev.expires_at;
                   r.status = RentalStatus::kHeld;
                 },
             },
             e);
  ++r.version;
  r.last_position = position;
}

}  // namespace

int32_t Book::QueuePosition(const std::string& hold_id) const {
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (waiting[i] == hold_id) return static_cast<int32_t>(i + 1);
  }
  return 0;
}

rules::RentalEventKind KindOf(const BookEvent& e) {
  using K = rules::RentalEventKind;
  return std::visit(Overloaded{
                        [](const BookAdded&) { return K::kBookAdded; },
                        [](const BookStocked&) { return K::kBookStocked; },
                        [](const RentalRequested&) { return K::kRentalRequested; },
                        [](const RentalRefused&) { return K::kRentalRefused; },
                        [](const BookRented&) { return K::kBookRented; },
                        [](const RentalRejected&) { return K::kRentalRejected; },
                        [](const RentalAborted&) { return K::kRentalAborted; },
                        [](const BookReturned&) { return K::kBookReturned; },
                        [](const RentalCancelled&) { return K::kRentalCancelled; },
                        [](const HoldPlaced&) { return K::kHoldPlaced; },
                        [](const HoldReleased&) { return K::kHoldReleased; },
                        [](const HoldExpired&) { return K::kHoldExpired; },
                        [](const HoldQueued&) { return K::kHoldQueued; },
                        [](const HoldGranted&) { return K::kHoldGranted; },
                    },
                    e);
}

rules::RentalPhase PhaseOf(const Rental& r) {
  using P = rules::RentalPhase;
  if (r.version == 0) return P::kAbsent;
  switch (r.status) {
    case RentalStatus::kPendingPayment:
      return P::kPendingPayment;
    case RentalStatus::kRented:
      return P::kRented;
    case RentalStatus::kReturned:
      return P::kReturned;
    case RentalStatus::kCancelled:
      return P::kCancelled;
    case RentalStatus::kRejected:
      return P::kRejected;
    case RentalStatus::kAborted:
      return P::kAborted;
    case RentalStatus::kRefused:
      return P::kRefused;
    case RentalStatus::kHeld:
      return P::kHeld;
    case RentalStatus::kHoldReleased:
      return P::kHoldReleased;
    case RentalStatus::kHoldExpired:
      return P::kHoldExpired;
    case RentalStatus::kHoldWaiting:
      return P::kHoldWaiting;
  }
  return P::kAbsent;
}

rules::Verdict Fold(Book& book, Rental& rental, const BookEvent& e, uint64_t position,
                    absl::Time at) {
  book.last_position = position;
  const rules::RentalEventKind kind = KindOf(e);
  const bool rental_event =
      kind != rules::RentalEventKind::kBookAdded && kind != rules::RentalEventKind::kBookStocked;
  rules::BookCounts counts{book.version > 0, book.copies, book.active_rentals,
                           static_cast<int64_t>(book.waiting.size())};
  const rules::RentalPhase before = rental_event ? PhaseOf(rental) : rules::RentalPhase::kAbsent;
  rules::Verdict v = rules::Check(counts, before, kind);
  if (v != rules::Verdict::kApplies) return v;
  if (rental_event && rental.version > 0 && rental.book_id != BookIdOf(e)) {
    return rules::Verdict::kRentalUnknown;  // that id belongs to another book
  }
  if (const auto* requested = std::get_if<RentalRequested>(&e);
      requested != nullptr && before == rules::RentalPhase::kHeld) {
    // Only the hold's own customer converts it, naming it, before it lapsed.
    if (requested->hold_id != rental.rental_id || requested->customer_id != rental.customer_id) {
      return rules::Verdict::kRentalIdTaken;
    }
    if (at > rental.hold_expires_at) return rules::Verdict::kNotHeld;
  }
  if (std::holds_alternative<HoldGranted>(e) &&
      (book.waiting.empty() || book.waiting.front() != rental.rental_id)) {
    return rules::Verdict::kNotWaiting;  // first come, first served
  }
  if (const auto* stocked = std::get_if<BookStocked>(&e);
      stocked != nullptr &&
      (stocked->copies_added <= 0 ||
       static_cast<int64_t>(book.copies) + stocked->copies_added > kMaxCopies)) {
    return rules::Verdict::kOutOfRange;
  }
  ApplyToBook(book, e, before, at);
  if (rental_event) ApplyToRental(rental, e, position, at);
  return v;
}

rules::Verdict FoldTier(CustomerTier& customer, const CustomerTierSet& e, uint64_t position,
                        absl::Time at) {
  customer.last_position = position;
  if (!ValidateId("customer_id", e.customer_id, true).ok() || !ValidateTierName(e.tier).ok()) {
    return rules::Verdict::kOutOfRange;
  }
  customer.customer_id = e.customer_id;
  customer.tier = e.tier;
  customer.set_by = e.set_by;
  customer.request_id = e.request_id;
  customer.updated_at = at;
  ++customer.version;
  return rules::Verdict::kApplies;
}

absl::Status ValidateBookId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("book_id is required");
  if (id.size() > 64) return absl::InvalidArgumentError("book_id is longer than 64 characters");
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return absl::InvalidArgumentError("book_id may hold only letters, digits, '_' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateId(absl::string_view field, absl::string_view id, bool required) {
  if (id.empty()) {
    return required ? absl::InvalidArgumentError(absl::StrCat(field, " is required"))
                    : absl::OkStatus();
  }
  if (id.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is longer than 128 characters"));
  }
  for (char c : id) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " may hold only printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTitle(absl::string_view title) {
  if (absl::StripAsciiWhitespace(title).empty())
    return absl::InvalidArgumentError("title is required");
  if (title.size() > 512) return absl::InvalidArgumentError("title is longer than 512 bytes");
  return absl::OkStatus();
}

absl::Status ValidateCopies(absl::string_view field, int32_t copies) {
  if (copies < 1 || copies > kMaxCopies) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be between 1 and ", kMaxCopies, ", got ", copies));
  }
  return absl::OkStatus();
}

absl::Status ValidateMoney(absl::string_view field, const Money& money, int64_t max_minor) {
  if (money.currency.size() != 3 || !absl::ascii_isupper(money.currency[0]) ||
      !absl::ascii_isupper(money.currency[1]) || !absl::ascii_isupper(money.currency[2])) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".currency must be an ISO 4217 code such as KRW"));
  }
  if (money.amount_minor <= 0 || money.amount_minor > max_minor) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".amount_minor must be between 1 and ",
                                                   max_minor, ", got ", money.amount_minor));
  }
  return absl::OkStatus();
}

absl::Status ValidateDays(int32_t days) {
  if (days < 1 || days > kMaxDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("days must be between 1 and ", kMaxDays, ", got ", days));
  }
  return absl::OkStatus();
}

Money RentalFee(const Money& daily_fee, int32_t days) {
  return Money{daily_fee.currency, daily_fee.amount_minor * days};
}

}  // namespace rentmesh::rental::domain
