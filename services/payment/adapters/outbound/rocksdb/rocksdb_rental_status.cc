#include "payment/adapters/outbound/rocksdb/rocksdb_rental_status.h"

#include <rocksdb/write_batch.h>

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

namespace ev = ::rentmesh::events::v1;
using rules::RentalEventKind;
using rules::RentalPhase;

// As rental's domain::kMaxCopies: a BookStocked beyond it does not apply.
constexpr int64_t kMaxCopies = 100000;

std::string BookKey(absl::string_view book_id) { return absl::StrCat("rb/", book_id); }
std::string PhaseKey(absl::string_view rental_id) { return absl::StrCat("rs/", rental_id); }
std::string EffectKey(uint64_t sequence) { return absl::StrFormat("rx/%020d", sequence); }
constexpr char kDuePrefix[] = "rq/";
std::string DueKey(uint64_t sequence) { return absl::StrFormat("rq/%020d", sequence); }
std::string EventIdKey(absl::string_view event_id) { return absl::StrCat("re/", event_id); }

struct BookState {
  bool exists = false;
  int64_t copies = 0;
  int64_t active = 0;
};
struct RentalState {
  RentalPhase phase = RentalPhase::kAbsent;
  std::string book_id;
};

absl::string_view Name(rules::Verdict v) {
  std::string_view name = rules::VerdictName(v);
  return absl::string_view(name.data(), name.size());
}

std::string Encode(const BookState& b) { return absl::StrCat(b.copies, ",", b.active); }
std::string Encode(const RentalState& r) {
  return absl::StrCat(static_cast<int>(r.phase), ",", r.book_id);
}

absl::StatusOr<BookState> DecodeBook(const std::optional<std::string>& v) {
  BookState b;
  if (!v.has_value()) return b;
  std::pair<std::string, std::string> parts = absl::StrSplit(*v, absl::MaxSplits(',', 1));
  if (!absl::SimpleAtoi(parts.first, &b.copies) || !absl::SimpleAtoi(parts.second, &b.active)) {
    return absl::DataLossError(absl::StrCat("unreadable book counts \"", *v, "\""));
  }
  b.exists = true;
  return b;
}

absl::StatusOr<RentalState> DecodeRental(const std::optional<std::string>& v) {
  RentalState r;
  if (!v.has_value()) return r;
  std::pair<std::string, std::string> parts = absl::StrSplit(*v, absl::MaxSplits(',', 1));
  int phase = 0;
  if (!absl::SimpleAtoi(parts.first, &phase) || phase < 0 ||
      phase > static_cast<int>(RentalPhase::kRefused)) {
    return absl::DataLossError(absl::StrCat("unreadable rental phase \"", *v, "\""));
  }
  r.phase = static_cast<RentalPhase>(phase);
  r.book_id = parts.second;
  return r;
}

}  // namespace

std::optional<RentalEventKind> KindOf(const ev::Envelope& event) {
  switch (event.payload_case()) {
    case ev::Envelope::kBookAdded:
      return RentalEventKind::kBookAdded;
    case ev::Envelope::kBookStocked:
      return RentalEventKind::kBookStocked;
    case ev::Envelope::kRentalRequested:
      return RentalEventKind::kRentalRequested;
    case ev::Envelope::kRentalRefused:
      return RentalEventKind::kRentalRefused;
    case ev::Envelope::kBookRented:
      return RentalEventKind::kBookRented;
    case ev::Envelope::kRentalRejected:
      return RentalEventKind::kRentalRejected;
    case ev::Envelope::kRentalAborted:
      return RentalEventKind::kRentalAborted;
    case ev::Envelope::kBookReturned:
      return RentalEventKind::kBookReturned;
    case ev::Envelope::kRentalCancelled:
      return RentalEventKind::kRentalCancelled;
    default:
      return std::nullopt;
  }
}

std::string BookIdOfRentalEvent(const ev::Envelope& event) {
  switch (event.payload_case()) {
    case ev::Envelope::kBookAdded:
      return event.book_added().book_id();
    case ev::Envelope::kBookStocked:
      return event.book_stocked().book_id();
    case ev::Envelope::kRentalRequested:
      return event.rental_requested().book_id();
    case ev::Envelope::kRentalRefused:
      return event.rental_refused().book_id();
    case ev::Envelope::kBookRented:
      return event.book_rented().book_id();
    case ev::Envelope::kRentalRejected:
      return event.rental_rejected().book_id();
    case ev::Envelope::kRentalAborted:
      return event.rental_aborted().book_id();
    case ev::Envelope::kBookReturned:
      return event.book_returned().book_id();
    case ev::Envelope::kRentalCancelled:
      return event.rental_cancelled().book_id();
    default:
      return "";
  }
}

std::string RentalIdOfRentalEvent(const ev::Envelope& event) {
  switch (event.payload_case()) {
    case ev::Envelope::kRentalRequested:
      return event.rental_requested().rental_id();
    case ev::Envelope::kRentalRefused:
      return event.rental_refused().rental_id();
    case ev::Envelope::kBookRented:
      return event.book_rented().rental_id();
    case ev::Envelope::kRentalRejected:
      return event.rental_rejected().rental_id();
    case ev::Envelope::kRentalAborted:
      return event.rental_aborted().rental_id();
    case ev::Envelope::kBookReturned:
      return event.book_returned().rental_id();
    case ev::Envelope::kRentalCancelled:
      return event.rental_cancelled().rental_id();
    default:
      return "";
  }
}

absl::StatusOr<uint64_t> RocksDbRentalStatus::AppliedPosition() const {
  return store_.GetPosition(kPositionName);
}

absl::Status RocksDbRentalStatus::ApplyBatch(const std::vector<nats::StreamMessage>& batch) {
  if (batch.empty()) return absl::OkStatus();
  rocksdb::WriteBatch wb;
  // What this batch changed, read before the store.
  std::map<std::string, BookState> books;
  std::map<std::string, RentalState> rentals;
  std::set<std::string> event_ids;
  auto book_of = [&](const std::string& id) -> absl::StatusOr<BookState*> {
    auto it = books.find(id);
    if (it == books.end()) {
      absl::StatusOr<std::optional<std::string>> v = store_.Get(BookKey(id));
      if (!v.ok()) return v.status();
      absl::StatusOr<BookState> b = DecodeBook(*v);
      if (!b.ok()) return b.status();
      it = books.emplace(id, *b).first;
    }
    return &it->second;
  };
  auto rental_of = [&](const std::string& id) -> absl::StatusOr<RentalState*> {
    auto it = rentals.find(id);
    if (it == rentals.end()) {
      absl::StatusOr<std::optional<std::string>> v = store_.Get(PhaseKey(id));
      if (!v.ok()) return v.status();
      absl::StatusOr<RentalState> r = DecodeRental(*v);
      if (!r.ok()) return r.status();
      it = rentals.emplace(id, *r).first;
    }
    return &it->second;
  };
  auto skip = [&](const nats::StreamMessage& msg, absl::string_view why) {
    ++skipped_;
    LogInfo("RENTAL event does not apply; payment ignores it",
            {{"subject", msg.subject}, {"sequence", absl::StrCat(msg.sequence)}, {"why", why}});
  };
  for (const nats::StreamMessage& msg : batch) {
    absl::StatusOr<ev::Envelope> envelope = events::ParseTrustedEnvelope(msg);
    if (!envelope.ok()) {
      skip(msg, envelope.status().message());
      continue;
    }
    std::optional<RentalEventKind> kind = KindOf(*envelope);
    if (!kind.has_value()) {
      skip(msg, "not a RENTAL-stream event");
      continue;
    }
    const std::string book_id = BookIdOfRentalEvent(*envelope);
    if (book_id.empty() || msg.subject != absl::StrCat("rental.book.", book_id)) {
      skip(msg, "the subject is not its book's");
      continue;
    }
    const std::string& event_id = envelope->event_id();
    if (event_ids.count(event_id) > 0) {
      skip(msg, Name(rules::Verdict::kDuplicate));
      continue;
    }
    absl::StatusOr<std::optional<std::string>> seen = store_.Get(EventIdKey(event_id));
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) {
      skip(msg, Name(rules::Verdict::kDuplicate));
      continue;
    }
    absl::StatusOr<BookState*> book = book_of(book_id);
    if (!book.ok()) return book.status();
    const std::string rental_id = RentalIdOfRentalEvent(*envelope);
    const bool rental_event = !rental_id.empty();
    RentalState* rental = nullptr;
    if (rental_event) {
      absl::StatusOr<RentalState*> r = rental_of(rental_id);
      if (!r.ok()) return r.status();
      rental = *r;
    } else if (kind != RentalEventKind::kBookAdded && kind != RentalEventKind::kBookStocked) {
      skip(msg, "no rental id");
      continue;
    }
    const RentalPhase phase = rental_event ? rental->phase : RentalPhase::kAbsent;
    rules::Verdict v =
        rules::Check({(*book)->exists, (*book)->copies, (*book)->active}, phase, *kind);
    if (v == rules::Verdict::kApplies && rental_event && phase != RentalPhase::kAbsent &&
        rental->book_id != book_id) {
      v = rules::Verdict::kRentalUnknown;  // that rental id belongs to another book
    }
    if (v == rules::Verdict::kApplies && kind == RentalEventKind::kBookStocked) {
      const int64_t added = envelope->book_stocked().copies_added();
      if (added <= 0 || (*book)->copies + added > kMaxCopies) v = rules::Verdict::kOutOfRange;
    }
    if (v != rules::Verdict::kApplies) {
      skip(msg, Name(v));
      continue;
    }
    // Applies.
    if (kind == RentalEventKind::kBookAdded) {
      (*book)->exists = true;
      (*book)->copies = envelope->book_added().copies();
    } else if (kind == RentalEventKind::kBookStocked) {
      (*book)->copies += envelope->book_stocked().copies_added();
    }
    (*book)->active += rules::ActiveDelta(*kind);
    wb.Put(BookKey(book_id), Encode(**book));
    if (rental_event) {
      rental->phase = rules::PhaseAfter(phase, *kind);
      rental->book_id = book_id;
      wb.Put(PhaseKey(rental_id), Encode(*rental));
      wb.Put(EffectKey(msg.sequence), events::EventTypeOf(*envelope));
      const bool reaction = kind == RentalEventKind::kRentalCancelled ||
                            kind == RentalEventKind::kRentalAborted ||
                            (kind == RentalEventKind::kBookReturned &&
                             envelope->book_returned().late_fee().amount_minor() > 0);
      if (reaction) wb.Put(DueKey(msg.sequence), absl::StrCat(absl::ToUnixMillis(absl::Now())));
    }
    event_ids.insert(event_id);
    wb.Put(EventIdKey(event_id), absl::StrCat(msg.sequence));
  }
  rocksdb_store::StateStore::PutPosition(wb, kPositionName, batch.back().sequence);
  return store_.Write(wb);
}

absl::StatusOr<std::vector<uint64_t>> RocksDbRentalStatus::DueReactions(absl::Time applied_before,
                                                                        size_t limit) const {
  std::vector<uint64_t> out;
  const int64_t before_ms = absl::ToUnixMillis(applied_before);
  absl::Status s = store_.Scan(kDuePrefix, "", [&](absl::string_view key, absl::string_view value) {
    uint64_t seq = 0;
    int64_t at_ms = 0;
    if (absl::SimpleAtoi(key.substr(sizeof(kDuePrefix) - 1), &seq) &&
        absl::SimpleAtoi(value, &at_ms) && at_ms < before_ms) {
      out.push_back(seq);
    }
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status RocksDbRentalStatus::ReactionReconciled(uint64_t sequence) {
  rocksdb::WriteBatch wb;
  wb.Delete(DueKey(sequence));
  return store_.Write(wb);
}

absl::StatusOr<bool> RocksDbRentalStatus::WasEffective(uint64_t sequence) const {
  absl::StatusOr<std::optional<std::string>> v = store_.Get(EffectKey(sequence));
  if (!v.ok()) return v.status();
  return v->has_value();
}

absl::StatusOr<RentalPhase> RocksDbRentalStatus::PhaseOf(absl::string_view rental_id) const {
  absl::StatusOr<std::optional<std::string>> v = store_.Get(PhaseKey(rental_id));
  if (!v.ok()) return v.status();
  absl::StatusOr<RentalState> r = DecodeRental(*v);
  if (!r.ok()) return r.status();
  return r->phase;
}

}  // namespace rentmesh::payment
