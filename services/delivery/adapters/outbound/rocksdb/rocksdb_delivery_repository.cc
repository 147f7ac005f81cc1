#include "adapters/outbound/rocksdb/rocksdb_delivery_repository.h"

#include <map>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/proto/delivery_mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::delivery {
namespace {

std::string DeliveryKey(absl::string_view id) { return absl::StrCat("delivery/d/", id); }
std::string SubjectKey(absl::string_view rental_id, DeliveryKind kind) {
  return absl::StrCat("delivery/subj/", rental_id, "/", KindName(kind));
}
std::string RequestedPrefix(absl::string_view region) {
  return region.empty() ? "delivery/req/" : absl::StrCat("delivery/req/", region, "/");
}
std::string RequestedKey(absl::string_view region, absl::string_view id) {
  return absl::StrCat("delivery/req/", region, "/", id);
}
std::string CourierKey(absl::string_view id) { return absl::StrCat("delivery/courier/", id); }
std::string RegionKey(absl::string_view region, absl::string_view courier_id) {
  return absl::StrCat("delivery/region/", region, "/", courier_id);
}
std::string EventIdKey(absl::string_view id) { return absl::StrCat("delivery/event/", id); }

// What a subject of the stream names: a rental's delivery or a courier.
struct SubjectOf {
  bool delivery = false;
  std::string rental_id;
  DeliveryKind kind = DeliveryKind::kOutbound;
  std::string courier_id;
};

std::optional<SubjectOf> ParseSubject(absl::string_view subject) {
  std::vector<absl::string_view> t = absl::StrSplit(subject, '.');
  SubjectOf out;
  if (t.size() == 4 && t[0] == "delivery" && t[1] == "rental" &&
      ValidateId("rental_id", t[2], true).ok()) {
    absl::StatusOr<DeliveryKind> kind = ParseKindName(absl::AsciiStrToUpper(t[3]));
    if (!kind.ok()) return std::nullopt;
    out.delivery = true;
    out.rental_id = std::string(t[2]);
    out.kind = *kind;
    return out;
  }
  if (t.size() == 3 && t[0] == "delivery" && t[1] == "courier" &&
      ValidateId("courier_id", t[2], true).ok()) {
    out.courier_id = std::string(t[2]);
    return out;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<uint64_t> RocksDbDeliveryRepository::AppliedPosition() const {
  return store_.GetPosition(kPositionName);
}

absl::Status RocksDbDeliveryRepository::Apply(const std::vector<nats::StreamMessage>& batch) {
  if (batch.empty()) return absl::OkStatus();
  // What this batch changed, read before the store.
  std::map<std::string, std::optional<Delivery>> deliveries;
  std::map<std::string, uint64_t> subjects;
  absl::flat_hash_set<std::string> couriers;
  absl::flat_hash_set<std::string> event_ids;
  rocksdb::WriteBatch write;
  auto skip = [this](const nats::StreamMessage& msg, absl::string_view why) {
    ++ignored_;
    LogWarn("set aside a message of the DELIVERY stream",
            {{"sequence", absl::StrCat(msg.sequence)}, {"subject", msg.subject}, {"reason", why}});
  };
  for (const nats::StreamMessage& msg : batch) {
    std::optional<SubjectOf> subject = ParseSubject(msg.subject);
    if (!subject.has_value()) {
      skip(msg, "not a delivery or courier subject");
      continue;
    }
    // Any message on a delivery's subject moves its last sequence, so a
    // foreign message never wedges the delivery.
    if (subject->delivery) subjects[SubjectKey(subject->rental_id, subject->kind)] = msg.sequence;
    absl::StatusOr<events::v1::Envelope> envelope = events::ParseTrustedEnvelope(msg);
    if (!envelope.ok()) {
      skip(msg, envelope.status().message());
      continue;
    }
    if (event_ids.contains(envelope->event_id())) continue;
    absl::StatusOr<std::optional<std::string>> seen = store_.Get(EventIdKey(envelope->event_id()));
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) continue;

    if (!subject->delivery) {
      if (!envelope->has_courier_added() ||
          envelope->courier_added().courier_id() != subject->courier_id ||
          !ValidateRegion(envelope->courier_added().region()).ok()) {
        skip(msg, "not a CourierAdded for this courier");
        continue;
      }
      if (couriers.contains(subject->courier_id)) continue;
      absl::StatusOr<std::optional<Courier>> known = FindCourier(subject->courier_id);
      if (!known.ok()) return known.status();
      if (known->has_value()) continue;  // the first CourierAdded wins
      Courier c = FromCourierAdded(envelope->courier_added());
      write.Put(CourierKey(c.courier_id), ToCourierProto(c).SerializeAsString());
      write.Put(RegionKey(c.region, c.courier_id), "");
      couriers.insert(c.courier_id);
    } else {
      absl::StatusOr<std::optional<DeliveryEvent>> event = FromEnvelope(*envelope);
      if (!event.ok() || !event->has_value()) {
        skip(msg, event.ok() ? "not a delivery event" : event.status().message());
        continue;
      }
      if ((*event)->rental_id != subject->rental_id || (*event)->kind != subject->kind) {
        skip(msg, "the event names another rental or kind than its subject");
        continue;
      }
      if ((*event)->type == DeliveryEvent::Type::kRequested &&
          !ValidateRegion((*event)->region).ok()) {
        skip(msg, "DeliveryRequested without a valid region");
        continue;
      }
      const std::string id = (*event)->delivery_id;
      auto it = deliveries.find(id);
      if (it == deliveries.end()) {
        absl::StatusOr<std::optional<Delivery>> stored = FindDelivery(id);
        if (!stored.ok()) return stored.status();
        it = deliveries.emplace(id, *std::move(stored)).first;
      }
      absl::StatusOr<Delivery> next = delivery::Apply(it->second, **event, msg.sequence);
      if (!next.ok()) {
        skip(msg, next.status().message());
        continue;
      }
      if (it->second.has_value() && it->second->status == DeliveryStatus::kRequested) {
        write.Delete(RequestedKey(it->second->region, id));
      }
      if (next->status == DeliveryStatus::kRequested) write.Put(RequestedKey(next->region, id), "");
      write.Put(DeliveryKey(id), ToDeliveryProto(*next).SerializeAsString());
      it->second = *std::move(next);
    }
    event_ids.insert(envelope->event_id());
    write.Put(EventIdKey(envelope->event_id()), absl::StrCat(msg.sequence));
  }
  for (const auto& [key, sequence] : subjects) write.Put(key, absl::StrCat(sequence));
  rocksdb_store::StateStore::PutPosition(write, kPositionName, batch.back().sequence);
  return store_.Write(write);
}

absl::StatusOr<std::optional<Delivery>> RocksDbDeliveryRepository::FindDelivery(
    absl::string_view delivery_id) const {
  absl::StatusOr<std::optional<std::string>> value = store_.Get(DeliveryKey(delivery_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::nullopt;
  v1::Delivery proto;
  if (!proto.ParseFromString(**value)) {
    return absl::DataLossError(absl::StrCat("stored delivery ", delivery_id, " is corrupt"));
  }
  absl::StatusOr<Delivery> d = FromDeliveryProto(proto);
  if (!d.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored delivery ", delivery_id, " is corrupt: ", d.status().message()));
  }
  return *std::move(d);
}

absl::StatusOr<uint64_t> RocksDbDeliveryRepository::SubjectSequence(absl::string_view rental_id,
                                                                    DeliveryKind kind) const {
  absl::StatusOr<std::optional<std::string>> value = store_.Get(SubjectKey(rental_id, kind));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return 0;
  uint64_t sequence = 0;
  if (!absl::SimpleAtoi(**value, &sequence)) {
    return absl::DataLossError(
        absl::StrCat("stored subject sequence of rental ", rental_id, " is corrupt"));
  }
  return sequence;
}

absl::StatusOr<std::optional<Courier>> RocksDbDeliveryRepository::FindCourier(
    absl::string_view courier_id) const {
  absl::StatusOr<std::optional<std::string>> value = store_.Get(CourierKey(courier_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::nullopt;
  v1::Courier proto;
  if (!proto.ParseFromString(**value)) {
    return absl::DataLossError(absl::StrCat("stored courier ", courier_id, " is corrupt"));
  }
  return FromCourierProto(proto);
}

absl::StatusOr<std::vector<Courier>> RocksDbDeliveryRepository::ListCouriers(
    absl::string_view region) const {
  std::vector<std::string> ids;
  absl::Status scanned;
  if (region.empty()) {
    scanned = store_.Scan("delivery/courier/", "", [&](absl::string_view key, absl::string_view) {
      ids.emplace_back(key.substr(std::string_view("delivery/courier/").size()));
      return true;
    });
  } else {
    const std::string prefix = absl::StrCat("delivery/region/", region, "/");
    scanned = store_.Scan(prefix, "", [&](absl::string_view key, absl::string_view) {
      ids.emplace_back(key.substr(prefix.size()));
      return true;
    });
  }
  if (!scanned.ok()) return scanned;
  std::vector<Courier> out;
  for (const std::string& id : ids) {
    absl::StatusOr<std::optional<Courier>> c = FindCourier(id);
    if (!c.ok()) return c.status();
    if (c->has_value()) out.push_back(**c);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RocksDbDeliveryRepository::RequestedDeliveries(
    absl::string_view region, size_t limit) const {
  std::vector<std::string> out;
  absl::Status scanned =
      store_.Scan(RequestedPrefix(region), "", [&](absl::string_view key, absl::string_view) {
        out.emplace_back(key.substr(key.rfind('/') + 1));
        return out.size() < limit;
      });
  if (!scanned.ok()) return scanned;
  return out;
}

}  // namespace rentmesh::delivery
