#pragma once

#include <cstdint>
#include <string_view>

// Which events of the RENTAL stream take effect.
//
// The stream's writers append with an expected subject sequence, so in the
// normal case every event on a book's subject was decided against the state
// it lands on. That check is not the guarantee: on a JetStream cluster a
// retried append can be stored next to the attempt it replaced (see
// docs/cluster.md), and anyone with publish rights could append anything. So
// every fold of the stream (rental's state, the view, payment's reactions)
// applies an event only when it fits the aggregate as folded so far, in
// stream order, and counts the rest. Folding the same stream with these rules
// gives the same state everywhere; the first applicable transition wins.
namespace rentmesh::rules {

// Where a rental id stands on its book's subject.
enum class RentalPhase {
  kAbsent,  // no effective event names it
  kPendingPayment,
  kRented,
  kReturned,
  kCancelled,
  kRejected,
  kAborted,
  kRefused,  // its request was definitely refused: the id can never reserve
  // A hold: the id names a copy kept for its customer until it lapses.
  kHeld,          // keeps a copy; RentalRequested of the same id converts it
  kHoldReleased,  // released by its customer: the copy is free again
  kHoldExpired,   // lapsed: the copy is free again
  // On the book's waiting list (no copy kept yet); HoldGranted makes it kHeld.
  kHoldWaiting,
};

enum class RentalEventKind {
  kBookAdded,
  kBookStocked,
  kRentalRequested,
  kRentalRefused,
  kBookRented,
  kRentalRejected,
  kRentalAborted,
  kBookReturned,
  kRentalCancelled,
  kHoldPlaced,
  kHoldReleased,
  kHoldExpired,
  kHoldQueued,
  kHoldGranted,
};

// The book's counters as folded so far.
struct BookCounts {
  bool exists = false;
  int64_t copies = 0;
  // Rentals and holds keeping a copy (held, pending payment or rented).
  int64_t active = 0;
  // Holds on the waiting list. While any wait, a free copy is theirs: a new
  // reservation or hold does not take it (HoldGranted gives it to the
  // oldest, which only the fold that keeps the list can name).
  int64_t waiting = 0;
};

enum class Verdict {
  kApplies,
  kBookExists,     // BookAdded for a book that has one
  kBookUnknown,    // an event for a book with no BookAdded
  kRentalIdTaken,  // RentalRequested/RentalRefused for an id already used
  kNoCopyFree,     // RentalRequested beyond the copies
  kRentalUnknown,  // a transition of a rental id never requested
  kNotPending,     // a payment outcome for a rental no longer awaiting one
  kNotRented,      // a return or cancel of a rental that is not RENTED
  kDuplicate,      // an event id or request id this fold applied already
  kOutOfRange,     // BookStocked adding no copies, or beyond the maximum
  kNotHeld,        // a release, expiry or conversion of a hold no longer held
  kNotWaiting,     // a grant of a hold not waiting, or not the oldest waiting
};

constexpr std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kApplies:
      return "applies";
    case Verdict::kBookExists:
      return "book_exists";
    case Verdict::kBookUnknown:
      return "book_unknown";
    case Verdict::kRentalIdTaken:
      return "rental_id_taken";
    case Verdict::kNoCopyFree:
      return "no_copy_free";
    case Verdict::kRentalUnknown:
      return "rental_unknown";
    case Verdict::kNotPending:
      return "not_pending";
    case Verdict::kNotRented:
      return "not_rented";
    case Verdict::kDuplicate:
      return "duplicate";
    case Verdict::kOutOfRange:
      return "out_of_range";
    case Verdict::kNotHeld:
      return "not_held";
    case Verdict::kNotWaiting:
      return "not_waiting";
  }
  return "unknown";
}

// Whether an event of `kind` applies to `book` and (for rental events) the
// rental's `phase` (kAbsent for book events). Duplicates (an event id or a
// stock request id seen before) are the caller's to detect.
constexpr Verdict Check(const BookCounts& book, RentalPhase phase, RentalEventKind kind) {
  if (kind == RentalEventKind::kBookAdded) {
    return book.exists ? Verdict::kBookExists : Verdict::kApplies;
  }
  if (!book.exists) return Verdict::kBookUnknown;
  switch (kind) {
    case RentalEventKind::kBookAdded:
      return Verdict::kApplies;  // handled above
    case RentalEventKind::kBookStocked:
      return Verdict::kApplies;
    case RentalEventKind::kRentalRequested:
      // Converting a hold: the rental takes the copy the hold kept.
      if (phase == RentalPhase::kHeld) return Verdict::kApplies;
      if (phase == RentalPhase::kHoldReleased || phase == RentalPhase::kHoldExpired ||
          phase == RentalPhase::kHoldWaiting) {
        return Verdict::kNotHeld;
      }
      if (phase != RentalPhase::kAbsent) return Verdict::kRentalIdTaken;
      return book.active < book.copies && book.waiting == 0 ? Verdict::kApplies
                                                            : Verdict::kNoCopyFree;
    case RentalEventKind::kHoldPlaced:
      if (phase != RentalPhase::kAbsent) return Verdict::kRentalIdTaken;
      return book.active < book.copies && book.waiting == 0 ? Verdict::kApplies
                                                            : Verdict::kNoCopyFree;
    case RentalEventKind::kHoldQueued:
      // Joins the list whether or not a copy is free meanwhile: the next
      // grant settles it.
      return phase == RentalPhase::kAbsent ? Verdict::kApplies : Verdict::kRentalIdTaken;
    case RentalEventKind::kHoldGranted:
      // Only the oldest waiting hold, and only while a copy is free (the
      // fold that keeps the list checks "oldest").
      if (phase == RentalPhase::kAbsent) return Verdict::kRentalUnknown;
      if (phase != RentalPhase::kHoldWaiting) return Verdict::kNotWaiting;
      return book.active < book.copies ? Verdict::kApplies : Verdict::kNoCopyFree;
    case RentalEventKind::kHoldReleased:
      if (phase == RentalPhase::kAbsent) return Verdict::kRentalUnknown;
      return phase == RentalPhase::kHeld || phase == RentalPhase::kHoldWaiting ? Verdict::kApplies
                                                                               : Verdict::kNotHeld;
    case RentalEventKind::kHoldExpired:
      if (phase == RentalPhase::kAbsent) return Verdict::kRentalUnknown;
      return phase == RentalPhase::kHeld ? Verdict::kApplies : Verdict::kNotHeld;
    case RentalEventKind::kRentalRefused:
      return phase == RentalPhase::kAbsent ? Verdict::kApplies : Verdict::kRentalIdTaken;
    case RentalEventKind::kBookRented:
    case RentalEventKind::kRentalRejected:
    case RentalEventKind::kRentalAborted:
      if (phase == RentalPhase::kAbsent) return Verdict::kRentalUnknown;
      return phase == RentalPhase::kPendingPayment ? Verdict::kApplies : Verdict::kNotPending;
    case RentalEventKind::kBookReturned:
    case RentalEventKind::kRentalCancelled:
      if (phase == RentalPhase::kAbsent) return Verdict::kRentalUnknown;
      return phase == RentalPhase::kRented ? Verdict::kApplies : Verdict::kNotRented;
  }
  return Verdict::kApplies;
}

// The phase an applicable event leaves its rental in (unchanged for book
// events).
constexpr RentalPhase PhaseAfter(RentalPhase phase, RentalEventKind kind) {
  switch (kind) {
    case RentalEventKind::kBookAdded:
    case RentalEventKind::kBookStocked:
      return phase;
    case RentalEventKind::kRentalRequested:
      return RentalPhase::kPendingPayment;
    case RentalEventKind::kRentalRefused:
      return RentalPhase::kRefused;
    case RentalEventKind::kBookRented:
      return RentalPhase::kRented;
    case RentalEventKind::kRentalRejected:
      return RentalPhase::kRejected;
    case RentalEventKind::kRentalAborted:
      return RentalPhase::kAborted;
    case RentalEventKind::kBookReturned:
      return RentalPhase::kReturned;
    case RentalEventKind::kRentalCancelled:
      return RentalPhase::kCancelled;
    case RentalEventKind::kHoldPlaced:
      return RentalPhase::kHeld;
    case RentalEventKind::kHoldReleased:
      return RentalPhase::kHoldReleased;
    case RentalEventKind::kHoldExpired:
      return RentalPhase::kHoldExpired;
    case RentalEventKind::kHoldQueued:
      return RentalPhase::kHoldWaiting;
    case RentalEventKind::kHoldGranted:
      return RentalPhase::kHeld;
  }
  return phase;
}

// How an applicable event changes the book's count of copies taken (by
// rentals and holds), given the phase it found its rental in: a rental that
// converts a hold keeps the hold's copy, and a waiting hold keeps none.
constexpr int ActiveDelta(RentalEventKind kind, RentalPhase before = RentalPhase::kAbsent) {
  switch (kind) {
    case RentalEventKind::kRentalRequested:
      return before == RentalPhase::kHeld ? 0 : 1;
    case RentalEventKind::kHoldPlaced:
    case RentalEventKind::kHoldGranted:
      return 1;
    case RentalEventKind::kHoldReleased:
      return before == RentalPhase::kHoldWaiting ? 0 : -1;
    case RentalEventKind::kRentalRejected:
    case RentalEventKind::kRentalAborted:
    case RentalEventKind::kBookReturned:
    case RentalEventKind::kRentalCancelled:
    case RentalEventKind::kHoldExpired:
      return -1;
    default:
      return 0;
  }
}

}  // namespace rentmesh::rules
