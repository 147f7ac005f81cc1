#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/domain/return_inspection.h"
#include "core/ports/return_event_log.h"
#include "core/ports/return_id_scheme.h"
#include "core/ports/return_repository.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::returns {

// The returns use cases: inspect a returned copy once per rental, and look
// returns up. Thread-safe (all state is in the ports).
//
// Consistency: the rental's subject in the log may hold one ReturnCompleted
// only (append with "subject must be empty"), so two replicas racing on the
// same rental record one inspection and both answer with it. A replica never
// answers NOT_FOUND from lag: it catches up first.
class ReturnsService final {
 public:
  ReturnsService(ReturnRepository& repository, ReturnEventLog& log, const ReturnIdScheme& ids,
                 const Clock& clock, FeePolicy policy)
      : repository_(repository), log_(log), ids_(ids), clock_(clock), policy_(std::move(policy)) {}

  // Inspects the return of `command.rental_id` at the clock's now, records
  // ReturnCompleted and answers with the recorded return. Idempotent per
  // rental: once a return is recorded, any call for that rental answers with
  // it unchanged. Errors: INVALID_ARGUMENT (bad command, nothing written),
  // ALREADY_EXISTS (the rental's return was recorded for another book,
  // customer or due date), UNAVAILABLE (log unreachable, or not caught up by
  // `deadline`; safe to retry).
  absl::StatusOr<RecordedReturn> ProcessReturn(const ReturnCommand& command,
                                               const EventTrace& trace, absl::Time deadline);

  // The return with `return_id` / of `rental_id`. NOT_FOUND only after this
  // replica caught up with the log; UNAVAILABLE when it could not.
  absl::StatusOr<RecordedReturn> GetReturn(absl::string_view return_id, absl::Time deadline);
  absl::StatusOr<RecordedReturn> GetRentalReturn(absl::string_view rental_id, absl::Time deadline);

 private:
  // Conflicts on one rental resolve after one catch-up (its subject holds at
  // most one event); a few more rounds absorb a slow local follower.
  static constexpr int kMaxAttempts = 3;

  absl::StatusOr<RecordedReturn> AnswerWithRecorded(const ReturnCommand& command,
                                                    const RecordedReturn& recorded) const;
  template <typename Find>
  absl::StatusOr<RecordedReturn> FindAfterCatchUp(absl::string_view what, absl::string_view id,
                                                  absl::Time deadline, Find find);

  ReturnRepository& repository_;
  ReturnEventLog& log_;
  const ReturnIdScheme& ids_;
  const Clock& clock_;
  const FeePolicy policy_;
};

}  // namespace rentmesh::returns
