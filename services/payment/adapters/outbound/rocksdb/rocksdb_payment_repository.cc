#include "payment/adapters/outbound/rocksdb/rocksdb_payment_repository.h"

#include <rocksdb/write_batch.h>

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "payment/core/domain/payment_rules.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

std::string RentalPrefix(absl::string_view rental_id) { return absl::StrCat("r/", rental_id, "/"); }

std::string EventKey(absl::string_view rental_id, uint64_t sequence) {
  return absl::StrCat(RentalPrefix(rental_id), absl::StrFormat("%020d", sequence));
}

std::string PaymentKey(absl::string_view payment_id) { return absl::StrCat("p/", payment_id); }

std::string EventIdKey(absl::string_view event_id) { return absl::StrCat("pe/", event_id); }

}  // namespace

absl::StatusOr<uint64_t> RocksDbPaymentRepository::AppliedPosition() const {
  return store_.GetPosition(kPositionName);
}

absl::Status RocksDbPaymentRepository::ApplyBatch(const std::vector<nats::StreamMessage>& batch) {
  if (batch.empty()) return absl::OkStatus();
  rocksdb::WriteBatch wb;
  std::set<std::string> applied_ids;  // of this batch, not yet in the store
  // The rentals this batch touches, folded up to the message in hand.
  std::map<std::string, RentalPayments, std::less<>> folded;
  for (const nats::StreamMessage& msg : batch) {
    std::optional<std::string> rental_id = RentalIdOfSubject(msg.subject);
    absl::StatusOr<events::v1::Envelope> envelope = events::ParseEnvelope(msg);
    std::optional<PaymentEvent> event;
    if (envelope.ok()) event = PaymentEventOf(*envelope);
    if (!rental_id.has_value() || !ValidateKey("rental_id", *rental_id).ok() ||
        !event.has_value()) {
      LogWarn("skipping a message that is not a payment event",
              {{"subject", msg.subject}, {"sequence", absl::StrCat(msg.sequence)}});
      continue;
    }
    // A second copy of an event (same event id under another Nats-Msg-Id, or
    // appended again after the duplicate window) is applied once.
    const std::string& event_id = envelope->event_id();
    if (!event_id.empty()) {
      if (applied_ids.count(event_id) > 0) continue;
      absl::StatusOr<std::optional<std::string>> seen = store_.Get(EventIdKey(event_id));
      if (!seen.ok()) return seen.status();
      if (seen->has_value()) {
        LogWarn("skipping an event applied before", {{"subject", msg.subject},
                                                     {"sequence", absl::StrCat(msg.sequence)},
                                                     {"event_id", event_id}});
        continue;
      }
      applied_ids.insert(event_id);
      wb.Put(EventIdKey(event_id), absl::StrCat(msg.sequence));
    }
    auto state = folded.find(*rental_id);
    if (state == folded.end()) {
      absl::StatusOr<RentalPayments> loaded = Load(*rental_id);
      if (!loaded.ok()) return loaded.status();
      state = folded.emplace(*rental_id, std::move(*loaded)).first;
    }
    if (rules::PaymentVerdict v = state->second.Apply(*event, msg.sequence);
        v != rules::PaymentVerdict::kApplies) {
      const std::string_view reason = rules::PaymentVerdictName(v);
      LogWarn("payment event does not apply to its payment; it changes nothing",
              {{"subject", msg.subject},
               {"sequence", absl::StrCat(msg.sequence)},
               {"event_type", envelope->event_type()},
               {"event_id", event_id},
               {"reason", std::string(reason)}});
      if (ignored_) {
        ignored_(events::kPaymentStream, envelope->event_type(),
                 absl::string_view(reason.data(), reason.size()));
      }
    }
    wb.Put(EventKey(*rental_id, msg.sequence), msg.data);
    if (ValidateKey("payment_id", event->payment_id).ok()) {
      wb.Put(PaymentKey(event->payment_id), *rental_id);
    }
  }
  rocksdb_store::StateStore::PutPosition(wb, kPositionName, batch.back().sequence);
  return store_.Write(wb);
}

absl::StatusOr<RentalPayments> RocksDbPaymentRepository::Load(absl::string_view rental_id) const {
  RentalPayments state{std::string(rental_id)};
  const std::string prefix = RentalPrefix(rental_id);
  absl::Status failure;
  absl::Status scan = store_.Scan(prefix, "", [&](absl::string_view key, absl::string_view value) {
    uint64_t sequence = 0;
    events::v1::Envelope envelope;
    if (!absl::SimpleAtoi(key.substr(prefix.size()), &sequence) ||
        !envelope.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failure = absl::DataLossError(absl::StrCat("unreadable payment event under ", key));
      return false;
    }
    if (std::optional<PaymentEvent> event = PaymentEventOf(envelope)) {
      state.Apply(*event, sequence);
    }
    return true;
  });
  if (!scan.ok()) return scan;
  if (!failure.ok()) return failure;
  return state;
}

absl::StatusOr<std::optional<std::string>> RocksDbPaymentRepository::FindRentalOf(
    absl::string_view payment_id) const {
  return store_.Get(PaymentKey(payment_id));
}

}  // namespace rentmesh::payment
