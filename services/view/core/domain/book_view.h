#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/domain/view_event.h"

namespace rentmesh::view {

// A catalog line: copies in stock and copies not held by a rental.
struct BookView {
  std::string book_id;
  std::string title;
  int32_t copies = 0;
  Money daily_fee;
  // Copies reserved or rented now. Changed only when a rental starts or stops
  // holding a copy, which the rental's own record makes idempotent.
  int32_t held = 0;
  // Ids of the catalog events applied (BookAdded, BookStocked): a handful per book.
  std::vector<std::string> applied_event_ids;

  int32_t Available() const { return copies > held ? copies - held : 0; }
};

// Applies BookAdded or BookStocked. Returns false when already applied or not
// a catalog event.
bool ApplyToBook(const ViewEvent& event, BookView& book);

}  // namespace rentmesh::view
