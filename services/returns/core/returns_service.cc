#include "core/returns_service.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::returns {
namespace {

// Not catching up in time is this replica's transient condition, not the
// caller's: a retry (here or on another replica) succeeds.
absl::Status AsTransient(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
  return absl::UnavailableError(absl::StrCat(
      "not caught up with the returns log in time, try again shortly (", status.message(), ")"));
}

}  // namespace

absl::StatusOr<RecordedReturn> ReturnsService::ProcessReturn(const ReturnCommand& command,
                                                             const EventTrace& trace,
                                                             absl::Time deadline) {
  if (absl::Status valid = ValidateReturnCommand(command); !valid.ok()) return valid;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<std::optional<RecordedReturn>> known =
        repository_.FindByRental(command.rental_id);
    if (!known.ok()) return known.status();
    if (known->has_value()) return AnswerWithRecorded(command, **known);

    ReturnInspection inspection =
        InspectReturn(command, ids_.ReturnIdOf(command.rental_id), clock_.Now(), policy_);
    absl::StatusOr<AppendResult> appended = log_.AppendReturnCompleted(inspection, trace);
    if (appended.ok()) {
      absl::Status applied = log_.WaitApplied(appended->sequence, deadline);
      if (!applied.ok()) {
        // A fresh append stored exactly `inspection`, so it is the answer
        // even before the local state shows it; a duplicate's first copy may
        // differ (an earlier attempt's time), so it must be read.
        if (!appended->duplicate)
          return RecordedReturn{std::move(inspection), 1, appended->sequence};
        return AsTransient(applied);
      }
      known = repository_.FindByRental(command.rental_id);
      if (!known.ok()) return known.status();
      if (!known->has_value()) {
        return absl::InternalError(absl::StrCat("the return of rental ", command.rental_id,
                                                " was appended at sequence ", appended->sequence,
                                                " but the local state does not hold it"));
      }
      return AnswerWithRecorded(command, **known);
    }
    if (appended.status().code() != absl::StatusCode::kAborted) return appended.status();
    // Another request or replica recorded this rental's return first: apply
    // it locally and answer with it (next round).
    if (absl::Status caught = log_.CatchUp(deadline); !caught.ok()) return AsTransient(caught);
  }
  return absl::UnavailableError(absl::StrCat("the return of rental ", command.rental_id,
                                             " is being recorded concurrently, try again shortly"));
}

absl::StatusOr<RecordedReturn> ReturnsService::AnswerWithRecorded(
    const ReturnCommand& command, const RecordedReturn& recorded) const {
  if (IsSameReturnRequest(command, recorded.inspection)) return recorded;
  return absl::AlreadyExistsError(absl::StrCat(
      "rental ", command.rental_id, " was already returned as ", recorded.inspection.return_id,
      " for book ", recorded.inspection.book_id, ", customer ", recorded.inspection.customer_id,
      " and due date ", absl::FormatTime(recorded.inspection.due_at, absl::UTCTimeZone()),
      "; this request differs"));
}

// A recorded return never changes (one event per rental), so a local hit is
// already the latest state and needs no round trip; only an absence must be
// confirmed against the log.
template <typename Find>
absl::StatusOr<RecordedReturn> ReturnsService::FindAfterCatchUp(absl::string_view what,
                                                                absl::string_view id,
                                                                absl::Time deadline, Find find) {
  absl::StatusOr<std::optional<RecordedReturn>> found = find(id);
  if (!found.ok()) return found.status();
  if (found->has_value()) return **found;
  if (absl::Status caught = log_.CatchUp(deadline); !caught.ok()) return AsTransient(caught);
  found = find(id);
  if (!found.ok()) return found.status();
  if (found->has_value()) return **found;
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

absl::StatusOr<RecordedReturn> ReturnsService::GetReturn(absl::string_view return_id,
                                                         absl::Time deadline) {
  if (absl::Status valid = ValidateLookupId("return_id", return_id); !valid.ok()) return valid;
  return FindAfterCatchUp("return", return_id, deadline,
                          [this](absl::string_view id) { return repository_.FindByReturnId(id); });
}

absl::StatusOr<RecordedReturn> ReturnsService::GetRentalReturn(absl::string_view rental_id,
                                                               absl::Time deadline) {
  if (absl::Status valid = ValidateLookupId("rental_id", rental_id); !valid.ok()) return valid;
  return FindAfterCatchUp("return of rental", rental_id, deadline,
                          [this](absl::string_view id) { return repository_.FindByRental(id); });
}

}  // namespace rentmesh::returns
