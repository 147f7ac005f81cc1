#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "payment/core/ports/payment_event_log.h"
#include "payment/core/ports/payment_ids.h"
#include "payment/core/ports/payment_repository.h"

namespace rentmesh::payment::testing {

// An in-memory fake of the log and of the local state together. The log is
// one sequence of events; the local state has applied a prefix of it
// (`applied_`), which WaitApplied/CatchUp advance. AppendFromAnotherReplica
// writes without advancing it, as another replica's write would look here.
class InMemoryPaymentEvents final : public PaymentEventLog, public PaymentRepository {
 public:
  struct Stored {
    uint64_t sequence;
    PaymentEvent event;
    EventMetadata metadata;
  };

  // PaymentEventLog
  absl::StatusOr<uint64_t> Append(const PaymentEvent& event, uint64_t /*version*/,
                                  uint64_t expected_sequence,
                                  const EventMetadata& metadata) override {
    if (before_append_) {
      auto hook = std::move(before_append_);
      before_append_ = nullptr;
      hook();
    }
    absl::MutexLock lock(&mu_);
    ++append_calls_;
    if (!unavailable_.ok()) return unavailable_;
    if (LastOfLocked(event.rental_id) != expected_sequence) {
      return absl::AbortedError("wrong last sequence");
    }
    uint64_t seq = log_.size() + 1;
    log_.push_back({seq, event, metadata});
    return seq;
  }
  absl::Status WaitApplied(uint64_t sequence, absl::Time) override {
    absl::MutexLock lock(&mu_);
    if (sequence > log_.size()) return absl::DeadlineExceededError("not in the log");
    applied_ = std::max<uint64_t>(applied_, sequence);
    return absl::OkStatus();
  }
  absl::Status CatchUp(absl::Time) override {
    absl::MutexLock lock(&mu_);
    ++catch_ups_;
    applied_ = log_.size();
    return absl::OkStatus();
  }

  // PaymentRepository
  absl::StatusOr<RentalPayments> Load(absl::string_view rental_id) const override {
    absl::MutexLock lock(&mu_);
    RentalPayments state{std::string(rental_id)};
    for (uint64_t i = 0; i < applied_; ++i) {
      if (log_[i].event.rental_id == rental_id) state.Apply(log_[i].event, log_[i].sequence);
    }
    return state;
  }
  absl::StatusOr<std::optional<std::string>> FindRentalOf(
      absl::string_view payment_id) const override {
    absl::MutexLock lock(&mu_);
    for (uint64_t i = 0; i < applied_; ++i) {
      if (log_[i].event.payment_id == payment_id) return {log_[i].event.rental_id};
    }
    return std::optional<std::string>();
  }

  // --- test controls ---
  uint64_t AppendFromAnotherReplica(const PaymentEvent& event) {
    absl::MutexLock lock(&mu_);
    uint64_t seq = log_.size() + 1;
    log_.push_back({seq, event, {}});
    return seq;
  }
  void BeforeNextAppend(std::function<void()> hook) { before_append_ = std::move(hook); }
  void SetUnavailable(absl::Status s) {
    absl::MutexLock lock(&mu_);
    unavailable_ = std::move(s);
  }
  std::vector<Stored> events() const {
    absl::MutexLock lock(&mu_);
    return log_;
  }
  int CountOf(PaymentEventType type) const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& s : log_) n += s.event.type == type ? 1 : 0;
    return n;
  }
  int catch_ups() const {
    absl::MutexLock lock(&mu_);
    return catch_ups_;
  }

 private:
  uint64_t LastOfLocked(absl::string_view rental_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t last = 0;
    for (const auto& s : log_) {
      if (s.event.rental_id == rental_id) last = s.sequence;
    }
    return last;
  }

  mutable absl::Mutex mu_;
  std::vector<Stored> log_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  int append_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int catch_ups_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status unavailable_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_append_;
};

// Readable ids; the real ones are hashes (adapters/outbound/ids).
class FakePaymentIds final : public PaymentIds {
 public:
  std::string RentalFee(absl::string_view rental_id) const override {
    return absl::StrCat("pay-", rental_id, "-fee");
  }
  std::string LateFee(absl::string_view rental_id, absl::string_view return_id) const override {
    return absl::StrCat("pay-", rental_id, "-late-", return_id);
  }
};

}  // namespace rentmesh::payment::testing
