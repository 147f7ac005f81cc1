#include "adapters/outbound/rocksdb/rocksdb_return_repository.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "adapters/proto/return_mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::returns {
namespace {

std::string RentalKey(absl::string_view rental_id) {
  return absl::StrCat("returns/rental/", rental_id);
}
std::string ReturnIdKey(absl::string_view return_id) {
  return absl::StrCat("returns/id/", return_id);
}
std::string EventIdKey(absl::string_view event_id) {
  return absl::StrCat("returns/event/", event_id);
}

void SkipMessage(const nats::StreamMessage& msg, absl::string_view why) {
  LogWarn("skipping a message of the RETURNS stream",
          {{"sequence", absl::StrCat(msg.sequence)}, {"subject", msg.subject}, {"reason", why}});
}

}  // namespace

absl::StatusOr<uint64_t> RocksDbReturnRepository::AppliedPosition() const {
  return store_.GetPosition(kPositionName);
}

absl::Status RocksDbReturnRepository::Apply(const std::vector<nats::StreamMessage>& batch) {
  if (batch.empty()) return absl::OkStatus();
  rocksdb::WriteBatch write;
  absl::flat_hash_set<std::string> in_batch;   // rentals recorded by this batch
  absl::flat_hash_set<std::string> event_ids;  // events applied by this batch
  for (const nats::StreamMessage& msg : batch) {
    // Only our own events: garbage or a foreign producer is never applied.
    absl::StatusOr<events::v1::Envelope> envelope = events::ParseTrustedEnvelope(msg);
    if (!envelope.ok()) {
      SkipMessage(msg, envelope.status().message());
      continue;
    }
    // An event id applied before (a second copy) is skipped.
    if (event_ids.contains(envelope->event_id())) continue;
    absl::StatusOr<std::optional<std::string>> seen = store_.Get(EventIdKey(envelope->event_id()));
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) continue;
    if (!envelope->has_return_completed()) {
      SkipMessage(msg, absl::StrCat("unexpected event type \"", envelope->event_type(), "\""));
      continue;
    }
    absl::StatusOr<ReturnInspection> inspection = FromReturnCompleted(envelope->return_completed());
    if (!inspection.ok()) {
      SkipMessage(msg, inspection.status().message());
      continue;
    }
    if (in_batch.contains(inspection->rental_id)) continue;
    absl::StatusOr<std::optional<std::string>> existing =
        store_.Get(RentalKey(inspection->rental_id));
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) continue;  // replay of an applied event, or a later duplicate

    RecordedReturn recorded{*std::move(inspection), envelope->aggregate_version(), msg.sequence};
    write.Put(RentalKey(recorded.inspection.rental_id),
              ToReturnProto(recorded).SerializeAsString());
    write.Put(ReturnIdKey(recorded.inspection.return_id), recorded.inspection.rental_id);
    in_batch.insert(recorded.inspection.rental_id);
    event_ids.insert(envelope->event_id());
    write.Put(EventIdKey(envelope->event_id()), absl::StrCat(msg.sequence));
  }
  rocksdb_store::StateStore::PutPosition(write, kPositionName, batch.back().sequence);
  return store_.Write(write);
}

absl::StatusOr<std::optional<RecordedReturn>> RocksDbReturnRepository::FindByRental(
    absl::string_view rental_id) const {
  absl::StatusOr<std::optional<std::string>> value = store_.Get(RentalKey(rental_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::nullopt;
  v1::Return proto;
  if (!proto.ParseFromString(**value)) {
    return absl::DataLossError(absl::StrCat("stored return of rental ", rental_id, " is corrupt"));
  }
  absl::StatusOr<RecordedReturn> recorded = FromReturnProto(proto);
  if (!recorded.ok()) {
    return absl::DataLossError(absl::StrCat("stored return of rental ", rental_id,
                                            " is corrupt: ", recorded.status().message()));
  }
  return *std::move(recorded);
}

absl::StatusOr<std::optional<RecordedReturn>> RocksDbReturnRepository::FindByReturnId(
    absl::string_view return_id) const {
  absl::StatusOr<std::optional<std::string>> rental_id = store_.Get(ReturnIdKey(return_id));
  if (!rental_id.ok()) return rental_id.status();
  if (!rental_id->has_value()) return std::nullopt;
  return FindByRental(**rental_id);
}

}  // namespace rentmesh::returns
