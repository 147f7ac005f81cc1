#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::delivery {

// Ids and regions travel into NATS subjects and RocksDB keys; longer ones are
// rejected.
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxReasonLength = 1024;
// The role a courier's credential carries; its subject is the courier id.
inline constexpr char kCourierRole[] = "courier";

enum class DeliveryStatus { kRequested, kAssigned, kPickedUp, kDelivered, kCancelled };
// The copy to the customer, or back from them for the return.
enum class DeliveryKind { kOutbound, kReturn };

// "REQUESTED", ... / "OUTBOUND", "RETURN": the spellings events and logs carry.
absl::string_view StatusName(DeliveryStatus status);
absl::string_view KindName(DeliveryKind kind);
// INVALID_ARGUMENT for anything but "OUTBOUND" or "RETURN".
absl::StatusOr<DeliveryKind> ParseKindName(absl::string_view name);

// One step of a delivery's history.
struct DeliveryStep {
  DeliveryStatus status = DeliveryStatus::kRequested;
  absl::Time at;
  std::string courier_id;
  std::string request_id;
  std::string note;

  friend bool operator==(const DeliveryStep& a, const DeliveryStep& b) {
    return a.status == b.status && a.at == b.at && a.courier_id == b.courier_id &&
           a.request_id == b.request_id && a.note == b.note;
  }
};

// A delivery as its events made it.
struct Delivery {
  std::string delivery_id;
  std::string rental_id;
  DeliveryKind kind = DeliveryKind::kOutbound;
  DeliveryStatus status = DeliveryStatus::kRequested;
  std::string customer_id;
  std::string book_id;
  std::string region;
  std::string courier_id;
  std::vector<DeliveryStep> steps;
  // Events applied (the aggregate's version) and the stream sequence of the
  // last one: the expected subject sequence of the next append.
  uint64_t version = 0;
  uint64_t sequence = 0;

  // The request id of the step that reached `status` ("" when none did).
  std::string RequestIdOf(DeliveryStatus status) const;
};

// What a delivery's event says; the fields a type does not use stay empty.
struct DeliveryEvent {
  enum class Type { kRequested, kAssigned, kPickedUp, kDelivered, kCancelled };
  Type type = Type::kRequested;
  std::string delivery_id;
  std::string rental_id;
  DeliveryKind kind = DeliveryKind::kOutbound;
  std::string customer_id;  // kRequested
  std::string book_id;      // kRequested
  std::string region;       // kRequested
  std::string courier_id;   // kAssigned, kPickedUp, kDelivered
  std::string reason;       // kCancelled
  std::string request_id;
  absl::Time at;
  // The delivery's version after this event (set when it is decided).
  uint64_t version = 0;
};

absl::string_view EventTypeName(DeliveryEvent::Type type);

// The delivery that `event` makes of `current` (nullopt: no event yet), or
// FAILED_PRECONDITION when the event does not apply there: REQUESTED and a
// first CANCELLED only to a new delivery; ASSIGNED only while REQUESTED;
// PICKED_UP only while ASSIGNED, by the assigned courier; DELIVERED only
// while PICKED_UP, by that courier; CANCELLED while REQUESTED or ASSIGNED.
// The same rules decide a command and fold the stream, so an event that
// does not fit (a writer that bypassed the expected-sequence check) changes
// nothing on any replica. `sequence` is the event's stream sequence.
absl::StatusOr<Delivery> Apply(const std::optional<Delivery>& current, const DeliveryEvent& event,
                               uint64_t sequence);

// A courier and the region they serve.
struct Courier {
  std::string courier_id;
  std::string region;
  std::string name;
  absl::Time added_at;
  std::string request_id;
};

// INVALID_ARGUMENT naming `field` when `value` is empty, longer than
// kMaxIdLength or holds whitespace, control characters or (for a subject
// token) '.', '*' or '>'.
absl::Status ValidateId(absl::string_view field, absl::string_view value, bool subject_token);
// Regions are subject tokens too, and lowercase letters, digits, '-' and '_'.
absl::Status ValidateRegion(absl::string_view region);

// The courier of `region` that a delivery goes to: among `couriers` (all of
// that region), the one `delivery_id` hashes to in courier-id order, so every
// replica picks the same. nullopt when there is none.
std::optional<std::string> ChooseCourier(absl::string_view delivery_id,
                                         std::vector<std::string> couriers);

}  // namespace rentmesh::delivery
