#include "core/delivery_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rentmesh::delivery {
namespace {

using Type = DeliveryEvent::Type;

// Not catching up in time is this replica's transient condition, not the
// caller's: a retry (here or on another replica) succeeds.
absl::Status AsTransient(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
  return absl::UnavailableError(absl::StrCat(
      "not caught up with the delivery log in time, try again shortly (", status.message(), ")"));
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (absl::Status s = ValidateId("request_id", request_id, false); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), " (it makes the call safe to retry)"));
  }
  return absl::OkStatus();
}

absl::Status MayRead(const Delivery& d, const Caller& caller) {
  if (caller.staff || caller.subject == d.customer_id ||
      (caller.courier && !d.courier_id.empty() && caller.subject == d.courier_id)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("\"", caller.subject, "\" may not see delivery ", d.delivery_id));
}

DeliveryEvent EventFor(const Delivery& d, Type type, absl::Time at) {
  DeliveryEvent e;
  e.type = type;
  e.delivery_id = d.delivery_id;
  e.rental_id = d.rental_id;
  e.kind = d.kind;
  e.courier_id = d.courier_id;
  e.at = at;
  return e;
}

}  // namespace

std::string DeliveryService::RegionOf(absl::string_view customer_id) const {
  auto it = options_.customer_regions.find(std::string(customer_id));
  return it == options_.customer_regions.end() ? options_.default_region : it->second;
}

absl::StatusOr<Delivery> DeliveryService::Commit(absl::string_view delivery_id,
                                                 absl::string_view rental_id, DeliveryKind kind,
                                                 const Decide& decide, const EventTrace& trace,
                                                 absl::Time deadline) {
  bool caught_up = false;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<std::optional<Delivery>> found = repository_.FindDelivery(delivery_id);
    if (!found.ok()) return found.status();
    absl::StatusOr<std::optional<DeliveryEvent>> decision = decide(*found);
    if (!decision.ok()) {
      const absl::StatusCode code = decision.status().code();
      if (!caught_up &&
          (code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kNotFound)) {
        if (absl::Status s = log_.CatchUp(deadline); !s.ok()) return AsTransient(s);
        caught_up = true;
        continue;
      }
      return decision.status();
    }
    if (!decision->has_value()) {
      if (found->has_value()) return **found;
      return absl::NotFoundError(absl::StrCat("delivery ", delivery_id, " not found"));
    }
    DeliveryEvent event = **decision;
    absl::StatusOr<Delivery> next = Apply(*found, event, 0);
    if (!next.ok()) return next.status();
    event.version = next->version;
    absl::StatusOr<uint64_t> expected = repository_.SubjectSequence(rental_id, kind);
    if (!expected.ok()) return expected.status();
    absl::StatusOr<AppendResult> appended = log_.AppendDeliveryEvent(event, *expected, trace);
    if (!appended.ok()) {
      if (appended.status().code() != absl::StatusCode::kAborted) return appended.status();
      // Another request or replica wrote first: apply it and decide again.
      if (absl::Status s = log_.CatchUp(deadline); !s.ok()) return AsTransient(s);
      caught_up = true;
      continue;
    }
    if (absl::Status applied = log_.WaitApplied(appended->sequence, deadline); !applied.ok()) {
      // A fresh append stored exactly `event` where it applies, so `next` is
      // the answer before the local state shows it.
      if (!appended->duplicate) {
        next->sequence = appended->sequence;
        return next;
      }
      return AsTransient(applied);
    }
    found = repository_.FindDelivery(delivery_id);
    if (!found.ok()) return found.status();
    const uint64_t prior = next->version - 1;
    if (found->has_value() && (*found)->version > prior && (*found)->steps.size() > prior &&
        (*found)->steps[prior].status == next->status) {
      return **found;
    }
    // Stored, but another writer's event took effect first (possible on a
    // cluster): decide again on what is there now.
    caught_up = true;
  }
  return absl::UnavailableError(
      absl::StrCat("delivery ", delivery_id, " is being changed concurrently, try again shortly"));
}

absl::StatusOr<Delivery> DeliveryService::TryAssign(const Delivery& delivery,
                                                    const EventTrace& trace, absl::Time deadline) {
  if (delivery.status != DeliveryStatus::kRequested) return delivery;
  absl::StatusOr<std::vector<Courier>> couriers = repository_.ListCouriers(delivery.region);
  if (!couriers.ok()) return couriers.status();
  std::vector<std::string> ids;
  for (const Courier& c : *couriers) ids.push_back(c.courier_id);
  std::optional<std::string> chosen = ChooseCourier(delivery.delivery_id, std::move(ids));
  if (!chosen.has_value()) return delivery;  // stays REQUESTED until one is added
  return Commit(
      delivery.delivery_id, delivery.rental_id, delivery.kind,
      [&](const std::optional<Delivery>& d) -> absl::StatusOr<std::optional<DeliveryEvent>> {
        if (!d.has_value() || d->status != DeliveryStatus::kRequested) return std::nullopt;
        DeliveryEvent e = EventFor(*d, Type::kAssigned, clock_.Now());
        e.courier_id = *chosen;
        return e;
      },
      trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::RequestForRental(const RentalPaid& paid,
                                                           const EventTrace& trace,
                                                           absl::Time deadline) {
  if (absl::Status s = ValidateId("rental_id", paid.rental_id, true); !s.ok()) return s;
  if (absl::Status s = ValidateId("customer_id", paid.customer_id, false); !s.ok()) return s;
  if (absl::Status s = ValidateId("book_id", paid.book_id, false); !s.ok()) return s;
  const std::string region = RegionOf(paid.customer_id);
  const std::string id = ids_.DeliveryIdOf(paid.rental_id, DeliveryKind::kOutbound);
  absl::StatusOr<Delivery> d = Commit(
      id, paid.rental_id, DeliveryKind::kOutbound,
      [&](const std::optional<Delivery>& found) -> absl::StatusOr<std::optional<DeliveryEvent>> {
        if (found.has_value()) return std::nullopt;
        DeliveryEvent e;
        e.type = Type::kRequested;
        e.delivery_id = id;
        e.rental_id = paid.rental_id;
        e.kind = DeliveryKind::kOutbound;
        e.customer_id = paid.customer_id;
        e.book_id = paid.book_id;
        e.region = region;
        e.request_id = paid.event_id;
        e.at = clock_.Now();
        return e;
      },
      trace, deadline);
  if (!d.ok()) return d.status();
  return TryAssign(*d, trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::RequestReturnPickup(absl::string_view rental_id,
                                                              absl::string_view request_id,
                                                              const Caller& caller,
                                                              const EventTrace& trace,
                                                              absl::Time deadline) {
  if (absl::Status s = ValidateId("rental_id", rental_id, true); !s.ok()) return s;
  if (absl::Status s = ValidateRequestId(request_id); !s.ok()) return s;
  absl::StatusOr<Delivery> outbound =
      Find(ids_.DeliveryIdOf(rental_id, DeliveryKind::kOutbound), deadline);
  if (absl::IsNotFound(outbound.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("rental ", rental_id, " was not delivered; there is nothing to pick up"));
  }
  if (!outbound.ok()) return outbound.status();
  if (!caller.staff && caller.subject != outbound->customer_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        "\"", caller.subject, "\" may not ask for the return pickup of rental ", rental_id));
  }
  const std::string id = ids_.DeliveryIdOf(rental_id, DeliveryKind::kReturn);
  absl::StatusOr<Delivery> d = Commit(
      id, rental_id, DeliveryKind::kReturn,
      [&](const std::optional<Delivery>& found) -> absl::StatusOr<std::optional<DeliveryEvent>> {
        if (found.has_value()) return std::nullopt;
        if (outbound->status != DeliveryStatus::kDelivered) {
          return absl::FailedPreconditionError(absl::StrCat("rental ", rental_id, "'s delivery is ",
                                                            StatusName(outbound->status),
                                                            ", not DELIVERED"));
        }
        DeliveryEvent e;
        e.type = Type::kRequested;
        e.delivery_id = id;
        e.rental_id = std::string(rental_id);
        e.kind = DeliveryKind::kReturn;
        e.customer_id = outbound->customer_id;
        e.book_id = outbound->book_id;
        e.region = outbound->region;
        e.request_id = std::string(request_id);
        e.at = clock_.Now();
        return e;
      },
      trace, deadline);
  if (!d.ok()) return d.status();
  return TryAssign(*d, trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::CourierStep(absl::string_view delivery_id,
                                                      absl::string_view request_id,
                                                      const Caller& caller, Type type,
                                                      const EventTrace& trace,
                                                      absl::Time deadline) {
  if (absl::Status s = ValidateId("delivery_id", delivery_id, false); !s.ok()) return s;
  if (absl::Status s = ValidateRequestId(request_id); !s.ok()) return s;
  const bool pickup = type == Type::kPickedUp;
  if (!caller.courier) {
    return absl::PermissionDeniedError(
        absl::StrCat("only a courier may mark a delivery ", pickup ? "picked up" : "delivered"));
  }
  const DeliveryStatus from = pickup ? DeliveryStatus::kAssigned : DeliveryStatus::kPickedUp;
  const DeliveryStatus to = pickup ? DeliveryStatus::kPickedUp : DeliveryStatus::kDelivered;
  absl::StatusOr<Delivery> known = Find(delivery_id, deadline);
  if (!known.ok()) return known.status();
  return Commit(
      delivery_id, known->rental_id, known->kind,
      [&](const std::optional<Delivery>& d) -> absl::StatusOr<std::optional<DeliveryEvent>> {
        if (!d.has_value()) {
          return absl::NotFoundError(absl::StrCat("delivery ", delivery_id, " not found"));
        }
        if (d->status == DeliveryStatus::kRequested) {
          return absl::FailedPreconditionError(
              absl::StrCat("delivery ", delivery_id, " has no courier yet"));
        }
        if (d->courier_id != caller.subject) {
          return absl::PermissionDeniedError(
              absl::StrCat("delivery ", delivery_id, " is assigned to another courier"));
        }
        if (d->status == to && d->RequestIdOf(to) == request_id) return std::nullopt;
        if (d->status != from) {
          return absl::FailedPreconditionError(absl::StrCat(
              "delivery ", delivery_id, " is ", StatusName(d->status), ", not ", StatusName(from)));
        }
        DeliveryEvent e = EventFor(*d, type, clock_.Now());
        e.request_id = std::string(request_id);
        return e;
      },
      trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::PickUp(absl::string_view delivery_id,
                                                 absl::string_view request_id, const Caller& caller,
                                                 const EventTrace& trace, absl::Time deadline) {
  return CourierStep(delivery_id, request_id, caller, Type::kPickedUp, trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::Deliver(absl::string_view delivery_id,
                                                  absl::string_view request_id,
                                                  const Caller& caller, const EventTrace& trace,
                                                  absl::Time deadline) {
  return CourierStep(delivery_id, request_id, caller, Type::kDelivered, trace, deadline);
}

absl::StatusOr<Delivery> DeliveryService::Cancel(absl::string_view rental_id,
                                                 absl::string_view reason,
                                                 absl::string_view request_id,
                                                 const EventTrace& trace, absl::Time deadline) {
  if (absl::Status s = ValidateId("rental_id", rental_id, true); !s.ok()) return s;
  if (absl::Status s = ValidateRequestId(request_id); !s.ok()) return s;
  if (reason.size() > kMaxReasonLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason is longer than ", kMaxReasonLength, " bytes"));
  }
  const std::string id = ids_.DeliveryIdOf(rental_id, DeliveryKind::kOutbound);
  return Commit(
      id, rental_id, DeliveryKind::kOutbound,
      [&](const std::optional<Delivery>& d) -> absl::StatusOr<std::optional<DeliveryEvent>> {
        if (d.has_value() && d->status == DeliveryStatus::kCancelled) return std::nullopt;
        if (d.has_value() && d->status != DeliveryStatus::kRequested &&
            d->status != DeliveryStatus::kAssigned) {
          return absl::FailedPreconditionError(
              absl::StrCat("delivery ", id, " of rental ", rental_id, " is ", StatusName(d->status),
                           "; it can no longer be cancelled"));
        }
        DeliveryEvent e;
        if (d.has_value()) {
          e = EventFor(*d, Type::kCancelled, clock_.Now());
        } else {
          e.type = Type::kCancelled;
          e.delivery_id = id;
          e.rental_id = std::string(rental_id);
          e.kind = DeliveryKind::kOutbound;
          e.at = clock_.Now();
        }
        e.reason = std::string(reason);
        e.request_id = std::string(request_id);
        return e;
      },
      trace, deadline);
}

absl::StatusOr<Courier> DeliveryService::AddCourier(const Courier& courier, const Caller& caller,
                                                    const EventTrace& trace, absl::Time deadline) {
  if (absl::Status s = ValidateId("courier_id", courier.courier_id, true); !s.ok()) return s;
  if (absl::Status s = ValidateRegion(courier.region); !s.ok()) return s;
  if (courier.name.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("name is longer than ", kMaxIdLength, " characters"));
  }
  if (absl::Status s = ValidateRequestId(courier.request_id); !s.ok()) return s;
  if (!caller.staff) return absl::PermissionDeniedError("only a librarian may add couriers");
  bool caught_up = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<std::optional<Courier>> known = repository_.FindCourier(courier.courier_id);
    if (!known.ok()) return known.status();
    if (known->has_value()) {
      if ((*known)->region != courier.region) {
        return absl::AlreadyExistsError(absl::StrCat("courier ", courier.courier_id,
                                                     " serves region ", (*known)->region, ", not ",
                                                     courier.region));
      }
      // Assign what waits there (also after a crash right after the add).
      if (absl::StatusOr<int> n = AssignPending(courier.region, trace, deadline); !n.ok()) {
        return n.status();
      }
      return **known;
    }
    if (!caught_up) {
      if (absl::Status s = log_.CatchUp(deadline); !s.ok()) return AsTransient(s);
      caught_up = true;
      continue;
    }
    Courier added = courier;
    added.added_at = clock_.Now();
    absl::StatusOr<AppendResult> appended = log_.AppendCourierAdded(added, trace);
    if (!appended.ok() && appended.status().code() != absl::StatusCode::kAborted) {
      return appended.status();
    }
    const absl::Status synced =
        appended.ok() ? log_.WaitApplied(appended->sequence, deadline) : log_.CatchUp(deadline);
    if (!synced.ok()) return AsTransient(synced);
  }
  return absl::UnavailableError(absl::StrCat("courier ", courier.courier_id,
                                             " is being added concurrently, try again shortly"));
}

absl::StatusOr<std::vector<Courier>> DeliveryService::ListCouriers(absl::string_view region,
                                                                   absl::Time deadline) {
  if (!region.empty()) {
    if (absl::Status s = ValidateRegion(region); !s.ok()) return s;
  }
  if (absl::Status s = log_.CatchUp(deadline); !s.ok()) return AsTransient(s);
  return repository_.ListCouriers(region);
}

absl::StatusOr<int> DeliveryService::AssignPending(absl::string_view region,
                                                   const EventTrace& trace, absl::Time deadline) {
  absl::StatusOr<std::vector<std::string>> waiting =
      repository_.RequestedDeliveries(region, /*limit=*/1000);
  if (!waiting.ok()) return waiting.status();
  int assigned = 0;
  for (const std::string& id : *waiting) {
    absl::StatusOr<std::optional<Delivery>> d = repository_.FindDelivery(id);
    if (!d.ok()) return d.status();
    if (!d->has_value()) continue;
    absl::StatusOr<Delivery> after = TryAssign(**d, trace, deadline);
    if (!after.ok()) return after.status();
    if (after->status == DeliveryStatus::kAssigned) ++assigned;
  }
  return assigned;
}

absl::StatusOr<std::map<std::string, DeliveryService::Backlog>> DeliveryService::AwaitingCourier(
    size_t limit) const {
  absl::StatusOr<std::vector<std::string>> waiting = repository_.RequestedDeliveries("", limit);
  if (!waiting.ok()) return waiting.status();
  std::map<std::string, Backlog> out;
  for (const std::string& id : *waiting) {
    absl::StatusOr<std::optional<Delivery>> d = repository_.FindDelivery(id);
    if (!d.ok()) return d.status();
    if (!d->has_value() || (*d)->status != DeliveryStatus::kRequested) continue;
    Backlog& b = out[(*d)->region];
    ++b.waiting;
    for (const DeliveryStep& step : (*d)->steps) {
      if (step.status != DeliveryStatus::kRequested) continue;
      b.oldest_requested_at = std::min(b.oldest_requested_at, step.at);
      break;
    }
  }
  return out;
}

absl::StatusOr<Delivery> DeliveryService::Find(absl::string_view delivery_id, absl::Time deadline) {
  // Deliveries change: catch up so that a read right after a write on
  // another replica sees it; a local hit still answers when the log cannot
  // be asked.
  const absl::Status caught = log_.CatchUp(deadline);
  absl::StatusOr<std::optional<Delivery>> found = repository_.FindDelivery(delivery_id);
  if (!found.ok()) return found.status();
  if (found->has_value()) return **found;
  if (!caught.ok()) return AsTransient(caught);
  return absl::NotFoundError(absl::StrCat("delivery ", delivery_id, " not found"));
}

absl::StatusOr<Delivery> DeliveryService::Get(absl::string_view delivery_id, const Caller& caller,
                                              absl::Time deadline) {
  if (absl::Status s = ValidateId("delivery_id", delivery_id, false); !s.ok()) return s;
  absl::StatusOr<Delivery> d = Find(delivery_id, deadline);
  if (!d.ok()) return d.status();
  if (absl::Status s = MayRead(*d, caller); !s.ok()) return s;
  return d;
}

absl::StatusOr<Delivery> DeliveryService::GetForRental(absl::string_view rental_id,
                                                       DeliveryKind kind, const Caller& caller,
                                                       absl::Time deadline) {
  if (absl::Status s = ValidateId("rental_id", rental_id, true); !s.ok()) return s;
  absl::StatusOr<Delivery> d = Find(ids_.DeliveryIdOf(rental_id, kind), deadline);
  if (absl::IsNotFound(d.status())) {
    return absl::NotFoundError(
        absl::StrCat("rental ", rental_id, " has no ", KindName(kind), " delivery"));
  }
  if (!d.ok()) return d.status();
  if (absl::Status s = MayRead(*d, caller); !s.ok()) return s;
  return d;
}

}  // namespace rentmesh::delivery
