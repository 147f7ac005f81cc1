#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/domain/delivery.h"
#include "core/ports/delivery_event_log.h"
#include "core/ports/delivery_id_scheme.h"
#include "core/ports/delivery_repository.h"

namespace rentmesh::delivery {

// The DELIVERY stream and its fold in memory: an append checks the expected
// subject sequence like JetStream and is applied at once with the domain
// rules (tests that need lag use `hold_back`).
class InMemoryDeliveryLog final : public DeliveryEventLog, public DeliveryRepository {
 public:
  // DeliveryEventLog
  absl::StatusOr<AppendResult> AppendDeliveryEvent(const DeliveryEvent& event,
                                                   uint64_t expected_sequence,
                                                   const EventTrace&) override {
    absl::MutexLock lock(&mu_);
    if (!available) return absl::UnavailableError("log down");
    const std::string subject = Subject(event.rental_id, event.kind);
    if (subjects_[subject] != expected_sequence) return absl::AbortedError("wrong last sequence");
    const uint64_t seq = ++last_;
    subjects_[subject] = seq;
    ++appends;
    std::optional<Delivery> current;
    if (auto it = deliveries_.find(event.delivery_id); it != deliveries_.end())
      current = it->second;
    absl::StatusOr<Delivery> next = Apply(current, event, seq);
    if (next.ok()) deliveries_[event.delivery_id] = *next;
    events.push_back(event);
    return AppendResult{seq, false};
  }
  absl::StatusOr<AppendResult> AppendCourierAdded(const Courier& courier,
                                                  const EventTrace&) override {
    absl::MutexLock lock(&mu_);
    if (!available) return absl::UnavailableError("log down");
    if (couriers_.count(courier.courier_id) > 0) return absl::AbortedError("wrong last sequence");
    couriers_[courier.courier_id] = courier;
    return AppendResult{++last_, false};
  }
  absl::Status WaitApplied(uint64_t, absl::Time) override { return absl::OkStatus(); }
  absl::Status CatchUp(absl::Time) override {
    ++catch_ups;
    return available ? absl::OkStatus() : absl::UnavailableError("log down");
  }

  // DeliveryRepository
  absl::StatusOr<std::optional<Delivery>> FindDelivery(absl::string_view id) const override {
    absl::MutexLock lock(&mu_);
    auto it = deliveries_.find(std::string(id));
    if (it == deliveries_.end()) return std::nullopt;
    return it->second;
  }
  absl::StatusOr<uint64_t> SubjectSequence(absl::string_view rental_id,
                                           DeliveryKind kind) const override {
    absl::MutexLock lock(&mu_);
    auto it = subjects_.find(Subject(rental_id, kind));
    return it == subjects_.end() ? 0 : it->second;
  }
  absl::StatusOr<std::optional<Courier>> FindCourier(absl::string_view id) const override {
    absl::MutexLock lock(&mu_);
    auto it = couriers_.find(std::string(id));
    if (it == couriers_.end()) return std::nullopt;
    return it->second;
  }
  absl::StatusOr<std::vector<Courier>> ListCouriers(absl::string_view region) const override {
    absl::MutexLock lock(&mu_);
    std::vector<Courier> out;
    for (const auto& [id, c] : couriers_) {
      if (region.empty() || c.region == region) out.push_back(c);
    }
    return out;
  }
  absl::StatusOr<std::vector<std::string>> RequestedDeliveries(absl::string_view region,
                                                               size_t limit) const override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& [id, d] : deliveries_) {
      if (d.status == DeliveryStatus::kRequested && (region.empty() || d.region == region) &&
          out.size() < limit) {
        out.push_back(id);
      }
    }
    return out;
  }

  bool available = true;
  int appends = 0;
  int catch_ups = 0;
  std::vector<DeliveryEvent> events;

 private:
  static std::string Subject(absl::string_view rental_id, DeliveryKind kind) {
    return absl::StrCat(rental_id, "/", KindName(kind));
  }
  mutable absl::Mutex mu_;
  uint64_t last_ = 0;
  std::map<std::string, uint64_t> subjects_;
  std::map<std::string, Delivery> deliveries_;
  std::map<std::string, Courier> couriers_;
};

class TestIdScheme final : public DeliveryIdScheme {
 public:
  std::string DeliveryIdOf(absl::string_view rental_id, DeliveryKind kind) const override {
    return absl::StrCat("dlv-", rental_id, "-", KindName(kind));
  }
};

}  // namespace rentmesh::delivery
