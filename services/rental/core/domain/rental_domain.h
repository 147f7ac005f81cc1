#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rentmesh/rules/rental_stream_rules.h"

// The rental context's model: a book (copies in stock) and the rentals of it
// form one aggregate, because every rental transition changes how many copies
// are free. Pure: std + absl only.
namespace rentmesh::rental::domain {

struct Money {
  std::string currency;  // ISO 4217
  int64_t amount_minor = 0;
  friend bool operator==(const Money& a, const Money& b) {
    return a.currency == b.currency && a.amount_minor == b.amount_minor;
  }
  friend bool operator!=(const Money& a, const Money& b) { return !(a == b); }
};

enum class RentalStatus {
  kPendingPayment,
  kRented,
  kReturned,
  kCancelled,
  kRejected,
  kAborted,
  // The request was refused for good (no copy was free): recorded so that a
  // late-arriving reservation of the same request can never take effect.
  kRefused,
  // A hold (HoldBook): a copy kept for the customer until hold_expires_at,
  // turned into a rental of the same id by RentBook with the hold id.
  kHeld,
  kHoldReleased,
  kHoldExpired,
  // A hold on the book's waiting list (HoldQueued): it keeps no copy until
  // HoldGranted makes it kHeld.
  kHoldWaiting,
};
absl::string_view RentalStatusName(RentalStatus s);

struct Book {
  std::string book_id;
  std::string title;
  int32_t copies = 0;
  // Rentals and holds keeping a copy: held, reserved (awaiting payment) or
  // rented.
  int32_t active_rentals = 0;
  Money daily_fee;
  absl::Time created_at = absl::InfinitePast();
  uint64_t version = 0;
  // Stream position of the last event on this book's subject (rentals
  // included): the expected sequence for the next append.
  uint64_t last_position = 0;
  // The waiting list: ids of holds in status kHoldWaiting, oldest first (the
  // order of their HoldQueued in the stream).
  std::vector<std::string> waiting{};

  int32_t copies_available() const { return copies - active_rentals; }
  // 1-based place of a waiting hold on the list, 0 when it is not on it.
  int32_t QueuePosition(const std::string& hold_id) const;
};

struct Rental {
  std::string rental_id;
  std::string customer_id;
  std::string book_id;
  std::string book_title;
  int32_t days = 0;
  RentalStatus status = RentalStatus::kPendingPayment;
  // What was charged: base_fee - discount, decided once at RentBook.
  Money fee;
  Money base_fee;
  Money discount;
  // The customer's tier then, and its discount (the late fee gets it too).
  std::string tier;
  int32_t discount_percent = 0;
  std::string payment_id;
  absl::Time requested_at = absl::InfinitePast();
  absl::Time rented_at = absl::InfinitePast();
  absl::Time due_at = absl::InfinitePast();
  absl::Time returned_at = absl::InfinitePast();
  absl::Time cancelled_at = absl::InfinitePast();
  std::string return_id;
  Money late_fee;
  std::string cancel_reason;
  std::string failure_reason;
  std::string request_id;
  // The request ids that returned / cancelled it, so a retry gets the result.
  std::string transition_request_id;
  uint64_t version = 0;
  // Stream position of this rental's last event.
  uint64_t last_position = 0;
  // Set when the record began as a hold (HoldPlaced): its id is the hold id.
  absl::Time held_at = absl::InfinitePast();
  absl::Time hold_expires_at = absl::InfinitePast();

  // Not stored: a waiting hold's place on its book's list, filled in by the
  // use cases that answer with it (0 otherwise).
  int32_t queue_position = 0;

  bool is_hold() const { return held_at != absl::InfinitePast(); }
};

// --- events: the facts of this aggregate ---
struct BookAdded {
  std::string book_id;
  std::string title;
  int32_t copies = 0;
  Money daily_fee;
};
struct BookStocked {
  std::string book_id;
  int32_t copies_added = 0;
  int32_t copies_total = 0;
  std::string request_id;
};
struct RentalRequested {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  int32_t days = 0;
  // What is charged (base_fee - discount).
  Money fee;
  std::string request_id;
  std::string book_title;
  // Empty currency in events written before pricing tiers: then base_fee is
  // the fee and there is no discount.
  Money base_fee{};
  Money discount{};
  std::string tier{};
  int32_t discount_percent = 0;
  // Set (= rental_id) when the rental converts the customer's hold.
  std::string hold_id{};
};
// A definite "no" to a rent request, recorded before it is answered.
struct RentalRefused {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string reason;
  std::string request_id;
};
struct BookRented {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  int32_t days = 0;
  Money fee;
  std::string payment_id;
  absl::Time rented_at;
  absl::Time due_at;
  std::string book_title;
  Money base_fee{};
  Money discount{};
  std::string tier{};
  int32_t discount_percent = 0;
};
struct RentalRejected {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string reason;
};
struct RentalAborted {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string reason;
};
struct BookReturned {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string return_id;
  absl::Time returned_at;
  Money late_fee;
  std::string request_id;
};
struct RentalCancelled {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  std::string reason;
  absl::Time cancelled_at;
  std::string payment_id;
  Money fee;
  std::string request_id;
};

// A copy kept for the customer until expires_at (decided by the writer, so
// every replica folds the same expiry).
struct HoldPlaced {
  std::string hold_id;
  std::string book_id;
  std::string customer_id;
  std::string request_id;
  absl::Time expires_at;
  std::string book_title;
};
struct HoldReleased {
  std::string hold_id;
  std::string book_id;
  std::string customer_id;
  std::string reason;
  std::string request_id;
};
struct HoldExpired {
  std::string hold_id;
  std::string book_id;
  std::string customer_id;
  absl::Time expires_at;
};

// No copy was free: the hold joins the book's waiting list (keeps no copy).
struct HoldQueued {
  std::string hold_id;
  std::string book_id;
  std::string customer_id;
  std::string request_id;
  std::string book_title;
};
// The oldest waiting hold gets the copy that came back, until expires_at
// (decided by the writer from the grant).
struct HoldGranted {
  std::string hold_id;
  std::string book_id;
  std::string customer_id;
  absl::Time expires_at;
};

using BookEvent = std::variant<BookAdded, BookStocked, RentalRequested, RentalRefused, BookRented,
                               RentalRejected, RentalAborted, BookReturned, RentalCancelled,
                               HoldPlaced, HoldReleased, HoldExpired, HoldQueued, HoldGranted>;

const std::string& BookIdOf(const BookEvent& e);
// The rental (or hold: the same id space) an event is about; empty for
// book-only events.
std::string RentalIdOf(const BookEvent& e);

rules::RentalEventKind KindOf(const BookEvent& e);
// A rental's phase for the stream's rules (kAbsent for a default Rental).
rules::RentalPhase PhaseOf(const Rental& rental);

// Folds one event of the book's subject into the book and, for rental
// events, into `rental` (a default Rental when the id is new). The event
// changes them only when the stream's rules say it applies (see
// rentmesh/rules/rental_stream_rules.h); the book's last_position advances
// to `position` in every case, since it is the subject's last sequence, the
// expected sequence of the next append. `at` is when the event occurred.
// Beyond the shared rules, a RentalRequested converts a hold only when it
// names the hold (hold_id), its customer, and occurred before the hold lapsed;
// a HoldGranted applies only to the hold at the head of book.waiting.
rules::Verdict Fold(Book& book, Rental& rental, const BookEvent& e, uint64_t position,
                    absl::Time at);

// The tier of a customer nobody gave one. It is always valid; it gives no
// discount unless the policy names it.
inline constexpr char kStandardTier[] = "standard";

// A customer's pricing tier as set by librarians: its own aggregate on the
// RENTAL stream (one subject per customer).
struct CustomerTier {
  std::string customer_id;
  // Empty: never set (the customer is "standard").
  std::string tier;
  std::string set_by;
  std::string request_id;
  absl::Time updated_at = absl::InfinitePast();
  uint64_t version = 0;
  // Stream position of the last message on the customer's subject, applied
  // or not: the expected sequence of the next append.
  uint64_t last_position = 0;
};
struct CustomerTierSet {
  std::string customer_id;
  std::string tier;
  std::string request_id;
  std::string set_by;
};

// Folds a CustomerTierSet of the customer's subject into `customer`
// (last_position advances to `position` in every case). It applies when it
// names a valid tier; the caller drops request ids applied before
// (kDuplicate). The fold does not consult the policy: a tier the policy no
// longer names simply gives no discount.
rules::Verdict FoldTier(CustomerTier& customer, const CustomerTierSet& e, uint64_t position,
                        absl::Time at);

// --- limits and validation (INVALID_ARGUMENT with a message naming the field) ---
inline constexpr int32_t kMaxCopies = 100000;
inline constexpr int64_t kMaxDailyFeeMinor = 100000000;
inline constexpr int32_t kMaxDays = 365;

// book ids end up in subject names: 1..64 of [A-Za-z0-9_-].
absl::Status ValidateBookId(absl::string_view id);
// customer, rental and request ids: 1..128 printable ASCII without spaces.
absl::Status ValidateId(absl::string_view field, absl::string_view id, bool required);
absl::Status ValidateTitle(absl::string_view title);
absl::Status ValidateCopies(absl::string_view field, int32_t copies);
absl::Status ValidateMoney(absl::string_view field, const Money& money, int64_t max_minor);
absl::Status ValidateDays(int32_t days);

// daily fee x days (validated inputs cannot overflow).
Money RentalFee(const Money& daily_fee, int32_t days);

}  // namespace rentmesh::rental::domain
