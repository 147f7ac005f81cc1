#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/ports/return_event_log.h"
#include "core/ports/return_id_scheme.h"
#include "core/ports/return_repository.h"

namespace rentmesh::returns {

// An in-memory stand-in for the RETURNS stream and one replica's projection
// of it. The log and the local state are kept apart so tests can make the
// replica lag: AppendFromAnotherReplica writes to the log only, and the
// state catches up on WaitApplied/CatchUp, as the StreamFollower would.
class InMemoryReturnsLog final : public ReturnEventLog, public ReturnRepository {
 public:
  struct Entry {
    ReturnInspection inspection;
    EventTrace trace;
  };

  // Makes every following append fail with `status` (OK to heal).
  void FailAppendsWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    append_error_ = std::move(status);
  }
  // Makes CatchUp/WaitApplied fail with `status` without applying (OK to heal).
  void FailCatchUpWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    catch_up_error_ = std::move(status);
  }
  // Another replica appends: the log grows, this replica's state does not.
  uint64_t AppendFromAnotherReplica(const ReturnInspection& inspection) {
    absl::MutexLock lock(&mu_);
    log_.push_back({inspection, {}});
    return log_.size();
  }
  std::vector<Entry> Events() const {
    absl::MutexLock lock(&mu_);
    return log_;
  }

  // ReturnEventLog
  absl::StatusOr<AppendResult> AppendReturnCompleted(const ReturnInspection& inspection,
                                                     const EventTrace& trace) override {
    absl::MutexLock lock(&mu_);
    if (!append_error_.ok()) return append_error_;
    for (const Entry& e : log_) {
      if (e.inspection.rental_id == inspection.rental_id) {
        return absl::AbortedError(absl::StrCat("subject of ", inspection.rental_id, " not empty"));
      }
    }
    log_.push_back({inspection, trace});
    return AppendResult{log_.size(), false};
  }
  absl::Status WaitApplied(uint64_t sequence, absl::Time) override {
    absl::MutexLock lock(&mu_);
    if (!catch_up_error_.ok()) return catch_up_error_;
    if (sequence > log_.size()) return absl::DeadlineExceededError("beyond the log");
    ApplyUpTo(sequence);
    return absl::OkStatus();
  }
  absl::Status CatchUp(absl::Time) override {
    absl::MutexLock lock(&mu_);
    if (!catch_up_error_.ok()) return catch_up_error_;
    ApplyUpTo(log_.size());
    return absl::OkStatus();
  }

  // ReturnRepository
  absl::StatusOr<std::optional<RecordedReturn>> FindByRental(
      absl::string_view rental_id) const override {
    absl::MutexLock lock(&mu_);
    auto it = by_rental_.find(std::string(rental_id));
    if (it == by_rental_.end()) return std::nullopt;
    return it->second;
  }
  absl::StatusOr<std::optional<RecordedReturn>> FindByReturnId(
      absl::string_view return_id) const override {
    absl::MutexLock lock(&mu_);
    for (const auto& [rental, recorded] : by_rental_) {
      if (recorded.inspection.return_id == return_id) return recorded;
    }
    return std::nullopt;
  }

 private:
  void ApplyUpTo(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (; applied_ < sequence; ++applied_) {
      const ReturnInspection& r = log_[applied_].inspection;
      by_rental_.emplace(r.rental_id, RecordedReturn{r, 1, applied_ + 1});
    }
  }

  mutable absl::Mutex mu_;
  std::vector<Entry> log_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, RecordedReturn> by_rental_ ABSL_GUARDED_BY(mu_);
  absl::Status append_error_ ABSL_GUARDED_BY(mu_);
  absl::Status catch_up_error_ ABSL_GUARDED_BY(mu_);
};

// "ret-<rental_id>": readable in assertions; the real scheme hashes.
class PrefixReturnIdScheme final : public ReturnIdScheme {
 public:
  std::string ReturnIdOf(absl::string_view rental_id) const override {
    return absl::StrCat("ret-", rental_id);
  }
};

}  // namespace rentmesh::returns
