#include "core/domain/delivery.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rentmesh::delivery {
namespace {

absl::Status NotApplicable(const std::optional<Delivery>& current, const DeliveryEvent& event) {
  return absl::FailedPreconditionError(absl::StrCat(
      EventTypeName(event.type), " does not apply to delivery ", event.delivery_id, " while ",
      current.has_value() ? StatusName(current->status) : "it does not exist"));
}

// A stable hash (absl::Hash is seeded per process): FNV-1a over the id.
uint64_t StableHash(absl::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

absl::string_view StatusName(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kRequested:
      return "REQUESTED";
    case DeliveryStatus::kAssigned:
      return "ASSIGNED";
    case DeliveryStatus::kPickedUp:
      return "PICKED_UP";
    case DeliveryStatus::kDelivered:
      return "DELIVERED";
    case DeliveryStatus::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

absl::string_view KindName(DeliveryKind kind) {
  return kind == DeliveryKind::kReturn ? "RETURN" : "OUTBOUND";
}

absl::StatusOr<DeliveryKind> ParseKindName(absl::string_view name) {
  if (name == "OUTBOUND") return DeliveryKind::kOutbound;
  if (name == "RETURN") return DeliveryKind::kReturn;
  return absl::InvalidArgumentError(absl::StrCat("unknown delivery kind \"", name, "\""));
}

absl::string_view EventTypeName(DeliveryEvent::Type type) {
  switch (type) {
    case DeliveryEvent::Type::kRequested:
      return "DeliveryRequested";
    case DeliveryEvent::Type::kAssigned:
      return "DeliveryAssigned";
    case DeliveryEvent::Type::kPickedUp:
      return "DeliveryPickedUp";
    case DeliveryEvent::Type::kDelivered:
      return "DeliveryDelivered";
    case DeliveryEvent::Type::kCancelled:
      return "DeliveryCancelled";
  }
  return "Unknown";
}

std::string Delivery::RequestIdOf(DeliveryStatus s) const {
  for (const DeliveryStep& step : steps) {
    if (step.status == s) return step.request_id;
  }
  return "";
}

absl::StatusOr<Delivery> Apply(const std::optional<Delivery>& current, const DeliveryEvent& event,
                               uint64_t sequence) {
  using Type = DeliveryEvent::Type;
  if (current.has_value() &&
      (current->delivery_id != event.delivery_id || current->rental_id != event.rental_id ||
       current->kind != event.kind)) {
    return absl::FailedPreconditionError(
        absl::StrCat(EventTypeName(event.type), " names delivery ", event.delivery_id,
                     " of rental ", event.rental_id, ", not ", current->delivery_id));
  }
  Delivery next;
  DeliveryStep step;
  step.at = event.at;
  step.request_id = event.request_id;
  switch (event.type) {
    case Type::kRequested:
      if (current.has_value()) return NotApplicable(current, event);
      next.delivery_id = event.delivery_id;
      next.rental_id = event.rental_id;
      next.kind = event.kind;
      next.customer_id = event.customer_id;
      next.book_id = event.book_id;
      next.region = event.region;
      next.status = DeliveryStatus::kRequested;
      break;
    case Type::kAssigned:
      if (!current.has_value() || current->status != DeliveryStatus::kRequested ||
          event.courier_id.empty()) {
        return NotApplicable(current, event);
      }
      next = *current;
      next.status = DeliveryStatus::kAssigned;
      next.courier_id = event.courier_id;
      break;
    case Type::kPickedUp:
      if (!current.has_value() || current->status != DeliveryStatus::kAssigned ||
          current->courier_id != event.courier_id) {
        return NotApplicable(current, event);
      }
      next = *current;
      next.status = DeliveryStatus::kPickedUp;
      break;
    case Type::kDelivered:
      if (!current.has_value() || current->status != DeliveryStatus::kPickedUp ||
          current->courier_id != event.courier_id) {
        return NotApplicable(current, event);
      }
      next = *current;
      next.status = DeliveryStatus::kDelivered;
      break;
    case Type::kCancelled:
      if (current.has_value() && current->status != DeliveryStatus::kRequested &&
          current->status != DeliveryStatus::kAssigned) {
        return NotApplicable(current, event);
      }
      if (current.has_value()) {
        next = *current;
      } else {
        next.delivery_id = event.delivery_id;
        next.rental_id = event.rental_id;
        next.kind = event.kind;
      }
      next.status = DeliveryStatus::kCancelled;
      step.note = event.reason;
      break;
  }
  step.status = next.status;
  step.courier_id = next.courier_id;
  next.steps.push_back(std::move(step));
  next.version = current.has_value() ? current->version + 1 : 1;
  next.sequence = sequence;
  return next;
}

absl::Status ValidateId(absl::string_view field, absl::string_view value, bool subject_token) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must not contain whitespace or control characters"));
    }
    if (subject_token && (c == '.' || c == '*' || c == '>')) {
      return absl::InvalidArgumentError(absl::StrCat(field, " must not contain '.', '*' or '>'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRegion(absl::string_view region) {
  if (region.empty()) return absl::InvalidArgumentError("region is required");
  if (region.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("region is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "region \"", region, "\" may hold only lowercase letters, digits, '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> ChooseCourier(absl::string_view delivery_id,
                                         std::vector<std::string> couriers) {
  if (couriers.empty()) return std::nullopt;
  std::sort(couriers.begin(), couriers.end());
  return couriers[StableHash(delivery_id) % couriers.size()];
}

}  // namespace rentmesh::delivery
