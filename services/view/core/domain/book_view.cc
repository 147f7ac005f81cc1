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
  // BookStocked: the total is a fact (idempotent by itself); only an event
  // without one falls back to adding.
  book.copies = e.copies > 0 ? e.copies : book.copies + e.copies_added;
  return true;
}

}  // namespace rentmesh::view
