#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/return_inspection.h"

namespace rentmesh::returns {

// Reads of this replica's local state (the projection of the RETURNS stream).
// It may lag the stream: callers catch up through ReturnEventLog before they
// trust an absence.
class ReturnRepository {
 public:
  virtual ~ReturnRepository() = default;

  // The recorded return of `rental_id`; nullopt when this replica has not
  // applied one. INTERNAL/UNAVAILABLE when the store cannot be read.
  virtual absl::StatusOr<std::optional<RecordedReturn>> FindByRental(
      absl::string_view rental_id) const = 0;
  // The same, by return id.
  virtual absl::StatusOr<std::optional<RecordedReturn>> FindByReturnId(
      absl::string_view return_id) const = 0;
};

}  // namespace rentmesh::returns
