#include "core/view_service.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh::view {
namespace {

constexpr absl::string_view kMyPageTokenTag = "m1";
constexpr absl::string_view kCatalogTokenTag = "c1";

int EffectivePageSize(int requested) {
  if (requested == 0) return ViewService::kDefaultPageSize;
  return requested > ViewService::kMaxPageSize ? ViewService::kMaxPageSize : requested;
}

// Page tokens are opaque to clients: web-safe base64 of "<tag>\n<fields...>".
std::string EncodeToken(absl::string_view tag, std::initializer_list<absl::string_view> fields) {
  std::string raw(tag);
  for (absl::string_view f : fields) absl::StrAppend(&raw, "\n", f);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::vector<std::string>> DecodeToken(absl::string_view tag, absl::string_view token,
                                                     size_t fields) {
  const absl::Status bad =
      absl::InvalidArgumentError("page_token is not a token this service issued for this query");
  std::string raw;
  if (token.size() > 1024 || !absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, '\n');
  if (parts.size() != fields + 1 || parts[0] != tag) return bad;
  parts.erase(parts.begin());
  return parts;
}

// Keeps `row` in a bounded cache keyed by its id (evicting an arbitrary row
// when full: the cache only saves reads, the store has every row).
void KeepHot(std::unordered_map<std::string, RentalView>& cache, size_t max_rows,
             RentalView&& row) {
  if (cache.size() >= max_rows && cache.count(row.rental_id) == 0) cache.erase(cache.begin());
  std::string id = row.rental_id;
  cache[std::move(id)] = std::move(row);
}

void KeepHot(std::unordered_map<std::string, BookView>& cache, size_t max_rows, BookView&& row) {
  if (cache.size() >= max_rows && cache.count(row.book_id) == 0) cache.erase(cache.begin());
  std::string id = row.book_id;
  cache[std::move(id)] = std::move(row);
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (id.size() > ViewService::kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", ViewService::kMaxIdLength, " characters"));
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(field, " holds control characters"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ViewService>> ViewService::Create(
    ViewStore& store, const std::vector<std::string>& streams) {
  std::map<std::string, uint64_t> positions;
  for (const std::string& s : streams) {
    absl::StatusOr<uint64_t> pos = store.Position(s);
    if (!pos.ok()) return pos.status();
    positions[s] = *pos;
  }
  return std::unique_ptr<ViewService>(new ViewService(store, positions));
}

rules::Verdict ViewService::RentalStreamVerdict(const ViewEvent& e, const BookView& book,
                                               const RentalView& r) {
  using K = rules::RentalEventKind;
  K kind;
  switch (e.kind) {
    case EventKind::kBookAdded:
      kind = K::kBookAdded;
      break;
    case EventKind::kBookStocked:
      kind = K::kBookStocked;
      break;
    case EventKind::kRentalRequested:
      kind = K::kRentalRequested;
      break;
    case EventKind::kRentalRefused:
      kind = K::kRentalRefused;
      break;
    case EventKind::kBookRented:
      kind = K::kBookRented;
      break;
    case EventKind::kRentalRejected:
      kind = K::kRentalRejected;
      break;
    case EventKind::kRentalAborted:
      kind = K::kRentalAborted;
      break;
    case EventKind::kBookReturned:
      kind = K::kBookReturned;
      break;
    case EventKind::kRentalCancelled:
      kind = K::kRentalCancelled;
      break;
    default:
      return rules::Verdict::kApplies;  // not a RENTAL-stream fact
  }
  using P = rules::RentalPhase;
  P phase = P::kAbsent;
  if (r.refused) {
    phase = P::kRefused;
  } else if (r.cancelled) {
    phase = P::kCancelled;
  } else if (r.returned) {
    phase = P::kReturned;
  } else if (r.failed) {
    phase = P::kRejected;
  } else if (r.rented) {
    phase = P::kRented;
  } else if (r.requested) {
    phase = P::kPendingPayment;
  }
  rules::BookCounts counts{!book.title.empty(), book.copies, book.held};
  rules::Verdict v = rules::Check(counts, phase, kind);
  if (v == rules::Verdict::kApplies && phase != P::kAbsent && r.book_id != e.book_id) {
    return rules::Verdict::kRentalUnknown;  // that rental id belongs to another book
  }
  return v;
}

absl::Status ViewService::ApplyBatch(absl::string_view stream, const std::vector<ViewEvent>& events,
                                     uint64_t last_sequence) {
  struct PendingRental {
    RentalView view;
    bool stored = false;  // known before this batch
    std::optional<CustomerIndexKey> previous_key;
    bool changed = false;
    std::string last_event_type;
  };
  struct PendingBook {
    BookView view;
    bool stored = false;
    bool changed = false;
  };

  absl::MutexLock lock(&apply_mu_);
  // Rows touched by this batch, read once and written once.
  std::unordered_map<std::string, PendingRental> rentals;
  std::unordered_map<std::string, PendingBook> books;
  std::vector<std::string> rental_order;

  auto load_book = [&](const std::string& book_id) -> absl::StatusOr<PendingBook*> {
    auto it = books.find(book_id);
    if (it != books.end()) return &it->second;
    PendingBook p;
    if (auto hot = hot_books_.find(book_id); hot != hot_books_.end()) {
      p.view = std::move(hot->second);
      hot_books_.erase(hot);
      p.stored = true;
    } else {
      absl::StatusOr<std::optional<BookView>> stored = store_.LoadBook(book_id);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        p.view = std::move(**stored);
        p.stored = true;
      } else {
        p.view.book_id = book_id;
      }
    }
    return &books.emplace(book_id, std::move(p)).first->second;
  };
  auto load_rental = [&](const std::string& rental_id) -> absl::StatusOr<PendingRental*> {
    auto it = rentals.find(rental_id);
    if (it != rentals.end()) return &it->second;
    PendingRental p;
    if (auto hot = hot_rentals_.find(rental_id); hot != hot_rentals_.end()) {
      // Taken out: the commit puts the new version back (a failed commit
      // leaves the store's copy, which is read next time).
      p.view = std::move(hot->second);
      hot_rentals_.erase(hot);
      p.stored = true;
      p.previous_key = IndexKeyOf(p.view);
    } else {
      absl::StatusOr<std::optional<RentalView>> stored = store_.LoadRental(rental_id);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        p.view = std::move(**stored);
        p.stored = true;
        p.previous_key = IndexKeyOf(p.view);
      } else {
        p.view.rental_id = rental_id;
      }
    }
    rental_order.push_back(rental_id);
    return &rentals.emplace(rental_id, std::move(p)).first->second;
  };

  for (const ViewEvent& e : events) {
    if (IsRentalEvent(e.kind)) {
      if (e.rental_id.empty()) continue;  // Not attributable to a rental: nothing to show.
      absl::StatusOr<PendingRental*> r = load_rental(e.rental_id);
      if (!r.ok()) return r.status();
      if ((*r)->view.Applied(e.event_id)) continue;
      if (stream == "RENTAL") {
        const std::string& event_book = e.book_id.empty() ? (*r)->view.book_id : e.book_id;
        static const BookView kNoBook;
        const BookView* book = &kNoBook;
        if (!event_book.empty()) {
          absl::StatusOr<PendingBook*> b = load_book(event_book);
          if (!b.ok()) return b.status();
          book = &(*b)->view;
        }
        rules::Verdict v = RentalStreamVerdict(e, *book, (*r)->view);
        if (v != rules::Verdict::kApplies) {
          std::string_view reason = rules::VerdictName(v);
          NoteIgnored(stream, e.event_type, absl::string_view(reason.data(), reason.size()));
          continue;
        }
      }
      const bool held_before = (*r)->view.HoldsCopy();
      if (!ApplyToRental(e, (*r)->view)) continue;
      (*r)->changed = true;
      (*r)->last_event_type = e.event_type;
      const bool held_after = (*r)->view.HoldsCopy();
      const std::string& book_id = (*r)->view.book_id;
      if (book_id.empty()) continue;
      if (held_before != held_after || (*r)->view.book_title.empty()) {
        absl::StatusOr<PendingBook*> b = load_book(book_id);
        if (!b.ok()) return b.status();
        if (held_before != held_after) {
          (*b)->view.held += held_after ? 1 : -1;
          (*b)->changed = true;
        }
        if ((*r)->view.book_title.empty()) (*r)->view.book_title = (*b)->view.title;
      }
    } else if (e.kind == EventKind::kBookAdded || e.kind == EventKind::kBookStocked) {
      if (e.book_id.empty()) continue;
      absl::StatusOr<PendingBook*> b = load_book(e.book_id);
      if (!b.ok()) return b.status();
      const auto& ids = (*b)->view.applied_event_ids;
      const bool seen = std::find(ids.begin(), ids.end(), e.event_id) != ids.end();
      if (!seen && stream == "RENTAL") {
        rules::Verdict v = RentalStreamVerdict(e, (*b)->view, RentalView{});
        if (v != rules::Verdict::kApplies) {
          std::string_view reason = rules::VerdictName(v);
          NoteIgnored(stream, e.event_type, absl::string_view(reason.data(), reason.size()));
          continue;
        }
      }
      if (ApplyToBook(e, (*b)->view)) (*b)->changed = true;
    }
  }

  ProjectionCommit commit;
  commit.stream = std::string(stream);
  commit.position = last_sequence;
  for (const std::string& id : rental_order) {
    PendingRental& p = rentals.at(id);
    if (p.changed) commit.rentals.push_back({std::move(p.view), p.previous_key});
  }
  for (auto& [id, p] : books) {
    if (p.changed) commit.books.push_back(std::move(p.view));
  }
  absl::Status written = store_.Commit(commit);
  if (!written.ok()) return written;

  std::vector<std::string> changed_customers;
  for (const auto& c : commit.rentals) {
    if (!c.rental.customer_id.empty()) changed_customers.push_back(c.rental.customer_id);
    if (c.previous_key && c.previous_key->customer_id != c.rental.customer_id) {
      changed_customers.push_back(c.previous_key->customer_id);
    }
  }
  if (!changed_customers.empty()) ForgetPages(changed_customers);
  for (auto& c : commit.rentals) {
    RentalView& rental = c.rental;
    if (rental.customer_id.empty() || !watches_.Watching(rental.customer_id)) continue;
    // The change carries the summary only: copy the rental without its timeline.
    std::vector<TimelineEntry> timeline = std::move(rental.timeline);
    rental.timeline.clear();
    watches_.Publish(MyPageChange{rental, rentals.at(rental.rental_id).last_event_type});
    rental.timeline = std::move(timeline);
  }

  // Every row of the batch, as it now is in the store, stays hot.
  for (auto& c : commit.rentals) KeepHot(hot_rentals_, kMaxHotRentals, std::move(c.rental));
  for (auto& [id, p] : rentals) {
    if (!p.changed && p.stored) KeepHot(hot_rentals_, kMaxHotRentals, std::move(p.view));
  }
  for (BookView& b : commit.books) KeepHot(hot_books_, kMaxHotBooks, std::move(b));
  for (auto& [id, p] : books) {
    if (!p.changed && p.stored) KeepHot(hot_books_, kMaxHotBooks, std::move(p.view));
  }
  positions_->Advance(stream, last_sequence);
  return absl::OkStatus();
}

absl::StatusOr<ViewService::MyPage> ViewService::GetMyPage(absl::string_view customer_id,
                                                           int page_size,
                                                           absl::string_view page_token) const {
  if (absl::Status s = ValidateId("customer_id", customer_id); !s.ok()) return s;
  if (page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int limit = EffectivePageSize(page_size);
  std::optional<CustomerIndexKey> after;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts = DecodeToken(kMyPageTokenTag, page_token, 3);
    if (!parts.ok()) return parts.status();
    int64_t nanos = 0;
    if ((*parts)[0] != customer_id || !absl::SimpleAtoi((*parts)[1], &nanos) ||
        (*parts)[2].empty()) {
      return absl::InvalidArgumentError(
          "page_token is not a token this service issued for this customer");
    }
    after = CustomerIndexKey{std::string(customer_id), absl::FromUnixNanos(nanos), (*parts)[2]};
  }
  uint64_t generation = 0;
  if (!after.has_value()) {
    absl::MutexLock lock(&cache_mu_);
    auto it = page_cache_.find(std::string(customer_id));
    if (it != page_cache_.end() && it->second.limit == limit) return it->second.page;
    generation = cache_generation_;
  }
  absl::StatusOr<std::vector<RentalView>> rows =
      store_.ListCustomerRentals(customer_id, after, limit + 1);
  if (!rows.ok()) return rows.status();
  MyPage page;
  page.rentals = std::move(*rows);
  if (static_cast<int>(page.rentals.size()) > limit) {
    page.rentals.resize(limit);
    const RentalView& last = page.rentals.back();
    page.next_page_token = EncodeToken(
        kMyPageTokenTag,
        {customer_id, absl::StrCat(absl::ToUnixNanos(last.SortTime())), last.rental_id});
  }
  if (!after.has_value()) {
    absl::MutexLock lock(&cache_mu_);
    if (generation == cache_generation_) {
      if (page_cache_.size() >= kMaxCachedPages) page_cache_.erase(page_cache_.begin());
      page_cache_[std::string(customer_id)] = CachedPage{limit, page};
    }
  }
  return page;
}

void ViewService::ForgetPages(const std::vector<std::string>& customers) {
  absl::MutexLock lock(&cache_mu_);
  ++cache_generation_;
  for (const std::string& c : customers) page_cache_.erase(c);
}

absl::StatusOr<RentalView> ViewService::GetRentalStatus(absl::string_view rental_id) const {
  if (absl::Status s = ValidateId("rental_id", rental_id); !s.ok()) return s;
  absl::StatusOr<std::optional<RentalView>> row = store_.LoadRental(rental_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return absl::NotFoundError(absl::StrCat("rental \"", rental_id, "\" is not known to the view"));
  }
  return std::move(**row);
}

absl::StatusOr<ViewService::CatalogPage> ViewService::ListCatalog(
    int page_size, absl::string_view page_token) const {
  if (page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int limit = EffectivePageSize(page_size);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts = DecodeToken(kCatalogTokenTag, page_token, 1);
    if (!parts.ok()) return parts.status();
    if ((*parts)[0].empty()) return absl::InvalidArgumentError("page_token is malformed");
    after = std::move((*parts)[0]);
  }
  absl::StatusOr<std::vector<BookView>> rows = store_.ListBooks(after, limit + 1);
  if (!rows.ok()) return rows.status();
  CatalogPage page;
  page.books = std::move(*rows);
  if (static_cast<int>(page.books.size()) > limit) {
    page.books.resize(limit);
    page.next_page_token = EncodeToken(kCatalogTokenTag, {page.books.back().book_id});
  }
  return page;
}

}  // namespace rentmesh::view
