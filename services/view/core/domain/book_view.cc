#include "core/domain/book_view.h"

#include <algorithm>

namespace rentmesh::view {

bool ApplyToBook(const ViewEvent& e, BookView& book) {
  if (e.kind != EventKind::kBookAdded && e.kind != EventKind::kBookStocked) return false;
  auto& ids = book.applied_event_ids;
  if (std::find(ids.begin(), ids.end(), e.event_id) != ids.end()) return false;
  ids.push_back(e.event_id);
  if (e.kind == EventKind::kBookAdded) {
    if (!e.book_title.empty()) book.title = e.book_title;
    book.copies = e.copies;
    book.daily_fee = e.amount;
    return true;
  }
  // BookStocked adds its copies, as the rental service's own fold does (two
  // requests decided on the same state both count); an event without
  // copies_added falls back to its total.
  book.copies = e.copies_added > 0 ? book.copies + e.copies_added : std::max(book.copies, e.copies);
  return true;
}

}  // namespace rentmesh::view
