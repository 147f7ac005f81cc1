#include "payment/adapters/outbound/rocksdb/rocksdb_rental_status.h"

#include <rocksdb/write_batch.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

namespace ev = ::rentmesh::events::v1;

std::string PhaseKey(absl::string_view rental_id) { return absl::StrCat("rs/", rental_id); }
std::string EffectKey(uint64_t sequence) { return absl::StrFormat("rx/%020d", sequence); }
std::string EventIdKey(absl::string_view event_id) { return absl::StrCat("re/", event_id); }

}  // namespace

std::optional<RentalPhase> EffectiveTransition(const ev::Envelope& event,
                                               std::optional<RentalPhase> current) {
  const bool pending = current == RentalPhase::kPendingPayment;
  const bool rented = current == RentalPhase::kRented;
  switch (event.payload_case()) {
    case ev::Envelope::kRentalRequested:
      if (!current.has_value()) return RentalPhase::kPendingPayment;
      return std::nullopt;
    case ev::Envelope::kBookRented:
      if (pending) return RentalPhase::kRented;
      return std::nullopt;
    case ev::Envelope::kRentalRejected:
      if (pending) return RentalPhase::kRejected;
      return std::nullopt;
    case ev::Envelope::kRentalAborted:
      if (pending) return RentalPhase::kAborted;
      return std::nullopt;
    case ev::Envelope::kBookReturned:
      if (rented) return RentalPhase::kReturned;
      return std::nullopt;
    case ev::Envelope::kRentalCancelled:
      if (rented) return RentalPhase::kCancelled;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string RentalIdOfRentalEvent(const ev::Envelope& event) {
  switch (event.payload_case()) {
    case ev::Envelope::kRentalRequested:
      return event.rental_requested().rental_id();
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
  std::map<std::string, RentalPhase> phases;
  std::set<std::string> event_ids;
  for (const nats::StreamMessage& msg : batch) {
    absl::StatusOr<ev::Envelope> envelope = events::ParseTrustedEnvelope(msg);
    if (!envelope.ok()) {
      ++skipped_;
      LogWarn("not applying an untrusted RENTAL message",
              {{"subject", msg.subject},
               {"sequence", absl::StrCat(msg.sequence)},
               {"error", envelope.status().ToString()}});
      continue;
    }
    const std::string rental_id = RentalIdOfRentalEvent(*envelope);
    if (rental_id.empty()) continue;  // book-level
    const std::string& event_id = envelope->event_id();
    if (event_ids.count(event_id) > 0) {
      ++skipped_;
      continue;
    }
    absl::StatusOr<std::optional<std::string>> seen = store_.Get(EventIdKey(event_id));
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) {
      ++skipped_;
      continue;
    }
    std::optional<RentalPhase> current;
    if (auto it = phases.find(rental_id); it != phases.end()) {
      current = it->second;
    } else {
      absl::StatusOr<std::optional<RentalPhase>> stored = PhaseOf(rental_id);
      if (!stored.ok()) return stored.status();
      current = *stored;
    }
    std::optional<RentalPhase> next = EffectiveTransition(*envelope, current);
    if (!next.has_value()) {
      ++skipped_;
      continue;
    }
    phases[rental_id] = *next;
    event_ids.insert(event_id);
    wb.Put(PhaseKey(rental_id), std::string(1, static_cast<char>(*next)));
    wb.Put(EffectKey(msg.sequence), events::EventTypeOf(*envelope));
    wb.Put(EventIdKey(event_id), absl::StrCat(msg.sequence));
  }
  rocksdb_store::StateStore::PutPosition(wb, kPositionName, batch.back().sequence);
  return store_.Write(wb);
}

absl::StatusOr<bool> RocksDbRentalStatus::WasEffective(uint64_t sequence) const {
  absl::StatusOr<std::optional<std::string>> v = store_.Get(EffectKey(sequence));
  if (!v.ok()) return v.status();
  return v->has_value();
}

absl::StatusOr<std::optional<RentalPhase>> RocksDbRentalStatus::PhaseOf(
    absl::string_view rental_id) const {
  absl::StatusOr<std::optional<std::string>> v = store_.Get(PhaseKey(rental_id));
  if (!v.ok()) return v.status();
  if (!v->has_value() || (*v)->size() != 1) return std::optional<RentalPhase>();
  return std::optional<RentalPhase>(static_cast<RentalPhase>((**v)[0]));
}

}  // namespace rentmesh::payment
