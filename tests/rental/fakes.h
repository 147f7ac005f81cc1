#pragma once

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rental/core/ports/book_log.h"
#include "rental/core/ports/id_generator.h"
#include "rental/core/ports/payment_gateway.h"
#include "rental/core/ports/rental_state.h"
#include "rental/core/ports/returns_gateway.h"
#include "rentmesh/common/clock.h"

// In-memory fakes of the rental core's own ports, for unit tests of the core.
namespace rentmesh::rental::testing {

// A log that applies each append at once, with the same optimistic
// concurrency rule as the real one (per book). Also the state it feeds.
class InMemoryRentalStore final : public BookLog, public RentalState {
 public:
  // BookLog
  absl::StatusOr<uint64_t> Append(const domain::BookEvent& event, absl::Time occurred_at,
                                  uint64_t expected_position, const EventContext&) override {
    absl::MutexLock lock(&mu_);
    if (!append_error_.ok()) return append_error_;
    if (before_append_) {
      auto hook = std::move(before_append_);
      before_append_ = nullptr;
      hook(*this);
    }
    const std::string& book_id = domain::BookIdOf(event);
    if (!ignore_expected_sequence_ && books_[book_id].last_position != expected_position) {
      return absl::AbortedError("wrong last sequence");
    }
    return AppendLocked(event, occurred_at);
  }
  // Appends as a writer whose expected-sequence check did not hold (the
  // JetStream cluster case of docs/cluster.md): the fold decides.
  uint64_t AppendUnchecked(const domain::BookEvent& event, absl::Time occurred_at) {
    absl::MutexLock lock(&mu_);
    return AppendLocked(event, occurred_at);
  }
  // Runs `hook` (under the store's lock: use AppendLocked through it) just
  // before the next Append is stored: another writer that got in first.
  void BeforeNextAppend(std::function<void(InMemoryRentalStore&)> hook) {
    absl::MutexLock lock(&mu_);
    before_append_ = std::move(hook);
  }
  // Stores `event` and folds it (the store's lock held).
  uint64_t AppendLocked(const domain::BookEvent& event, absl::Time occurred_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string& book_id = domain::BookIdOf(event);
    uint64_t pos = ++position_;
    domain::Rental none;
    std::string rental_id = domain::RentalIdOf(event);
    domain::Rental& rental = rental_id.empty() ? none : rentals_[rental_id];
    const auto* stocked = std::get_if<domain::BookStocked>(&event);
    rules::Verdict v = rules::Verdict::kDuplicate;
    if (stocked == nullptr || !stock_requests_.count(book_id + "/" + stocked->request_id)) {
      v = domain::Fold(books_[book_id], rental, event, pos, occurred_at);
    } else {
      books_[book_id].last_position = pos;
    }
    if (v == rules::Verdict::kApplies && stocked != nullptr) {
      stock_requests_.insert(book_id + "/" + stocked->request_id);
    }
    if (v != rules::Verdict::kApplies) ++ignored_;
    events_.push_back(event);
    return pos;
  }
  absl::StatusOr<uint64_t> AppendTier(const domain::CustomerTierSet& event, absl::Time occurred_at,
                                      uint64_t expected_position, const EventContext&) override {
    absl::MutexLock lock(&mu_);
    if (!append_error_.ok()) return append_error_;
    domain::CustomerTier& c = customers_[event.customer_id];
    if (!ignore_expected_sequence_ && c.last_position != expected_position) {
      return absl::AbortedError("wrong last sequence");
    }
    uint64_t pos = ++position_;
    const std::string key = event.customer_id + "/" + event.request_id;
    if (tier_requests_.count(key) > 0) {
      c.last_position = pos;
      ++ignored_;
      return pos;
    }
    if (domain::FoldTier(c, event, pos, occurred_at) == rules::Verdict::kApplies) {
      tier_requests_[key] = event.tier;
    } else {
      ++ignored_;
    }
    return pos;
  }
  absl::Status CatchUp(absl::Time) override { return absl::OkStatus(); }
  absl::Status WaitApplied(uint64_t, absl::Time) override { return absl::OkStatus(); }
  std::string StreamName() const override { return "RENTAL"; }

  // RentalState
  absl::StatusOr<std::optional<domain::Book>> GetBook(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    auto it = books_.find(id);
    if (it == books_.end() || it->second.version == 0) return std::optional<domain::Book>();
    return std::optional<domain::Book>(it->second);
  }
  absl::StatusOr<uint64_t> SubjectPosition(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    auto it = books_.find(id);
    return it == books_.end() ? 0 : it->second.last_position;
  }
  absl::StatusOr<std::optional<domain::Rental>> GetRental(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    auto it = rentals_.find(id);
    if (it == rentals_.end() || it->second.version == 0) return std::optional<domain::Rental>();
    return std::optional<domain::Rental>(it->second);
  }
  absl::StatusOr<bool> HasStockRequest(const std::string& book, const std::string& req) override {
    absl::MutexLock lock(&mu_);
    return stock_requests_.count(book + "/" + req) > 0;
  }
  absl::StatusOr<domain::CustomerTier> GetCustomerTier(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    auto it = customers_.find(id);
    domain::CustomerTier out = it == customers_.end() ? domain::CustomerTier{} : it->second;
    out.customer_id = id;
    return out;
  }
  absl::StatusOr<std::optional<std::string>> TierRequest(const std::string& id,
                                                         const std::string& req) override {
    absl::MutexLock lock(&mu_);
    auto it = tier_requests_.find(id + "/" + req);
    if (it == tier_requests_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::StatusOr<std::vector<domain::Book>> ListBooks(const std::string& after,
                                                      int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<domain::Book> out;
    for (auto it = books_.upper_bound(after);
         it != books_.end() && static_cast<int>(out.size()) < limit; ++it) {
      if (it->second.version > 0) out.push_back(it->second);
    }
    return out;
  }
  absl::StatusOr<std::vector<domain::Rental>> PendingRentals(absl::Time before,
                                                             int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<domain::Rental> out;
    for (const auto& [id, r] : rentals_) {
      if (r.status == domain::RentalStatus::kPendingPayment && r.requested_at < before &&
          static_cast<int>(out.size()) < limit) {
        out.push_back(r);
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<domain::Rental>> LapsedHolds(absl::Time before, int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<domain::Rental> out;
    for (const auto& [id, r] : rentals_) {
      if (r.status == domain::RentalStatus::kHeld && r.hold_expires_at < before &&
          static_cast<int>(out.size()) < limit) {
        out.push_back(r);
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<domain::Book>> BooksWithWaiting(int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<domain::Book> out;
    for (const auto& [id, b] : books_) {
      if (b.version > 0 && !b.waiting.empty() && static_cast<int>(out.size()) < limit) {
        out.push_back(b);
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<domain::Rental>> CustomerHolds(const std::string& customer_id,
                                                            int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<domain::Rental> out;
    for (const auto& [id, r] : rentals_) {
      if (r.is_hold() && r.customer_id == customer_id && static_cast<int>(out.size()) < limit) {
        out.push_back(r);
      }
    }
    return out;
  }

  size_t event_count() {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }
  std::vector<domain::BookEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Events that were recorded but did not apply.
  size_t ignored_count() {
    absl::MutexLock lock(&mu_);
    return ignored_;
  }
  void set_ignore_expected_sequence(bool ignore) {
    absl::MutexLock lock(&mu_);
    ignore_expected_sequence_ = ignore;
  }
  void set_append_error(absl::Status s) {
    absl::MutexLock lock(&mu_);
    append_error_ = std::move(s);
  }

 private:
  std::function<void(InMemoryRentalStore&)> before_append_ ABSL_GUARDED_BY(mu_);

  absl::Mutex mu_;
  size_t ignored_ ABSL_GUARDED_BY(mu_) = 0;
  bool ignore_expected_sequence_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t position_ = 0;
  std::map<std::string, domain::Book> books_;
  std::map<std::string, domain::Rental> rentals_;
  std::set<std::string> stock_requests_;
  std::map<std::string, domain::CustomerTier> customers_;
  std::map<std::string, std::string> tier_requests_;
  std::vector<domain::BookEvent> events_;
  absl::Status append_error_;
};

// A payment service that is idempotent per rental id, like the real one.
class FakePaymentGateway final : public PaymentGateway {
 public:
  absl::StatusOr<PaymentOutcome> Pay(const PaymentRequest& req, absl::Time) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!failure_.ok()) return failure_;
    auto it = outcomes_.find(req.rental_id);
    if (it != outcomes_.end()) return it->second;
    PaymentOutcome out;
    if (req.amount.amount_minor > limit_) {
      out.decline_reason = "amount exceeds the per-payment limit";
    } else {
      out.approved = true;
      out.payment_id = "pay-" + req.rental_id;
      charged_[req.rental_id] = req.amount.amount_minor;
    }
    outcomes_[req.rental_id] = out;
    return out;
  }
  bool Accepting() override { return accepting_; }

  void Fail(absl::Status s) {
    absl::MutexLock l(&mu_);
    failure_ = std::move(s);
  }
  void Recover() {
    absl::MutexLock l(&mu_);
    failure_ = absl::OkStatus();
  }
  void set_limit(int64_t limit) {
    absl::MutexLock l(&mu_);
    limit_ = limit;
  }
  void set_accepting(bool a) { accepting_ = a; }
  int calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  std::map<std::string, int64_t> charged() {
    absl::MutexLock l(&mu_);
    return charged_;
  }

 private:
  absl::Mutex mu_;
  absl::Status failure_;
  int64_t limit_ = 1000000;
  bool accepting_ = true;
  int calls_ = 0;
  std::map<std::string, PaymentOutcome> outcomes_;
  std::map<std::string, int64_t> charged_;
};

class FakeReturnsGateway final : public ReturnsGateway {
 public:
  explicit FakeReturnsGateway(const Clock& clock) : clock_(clock) {}
  absl::StatusOr<ReturnOutcome> ProcessReturn(const ReturnRequest& req, absl::Time) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!failure_.ok()) return failure_;
    auto it = done_.find(req.rental_id);
    if (it != done_.end()) return it->second;
    absl::Time now = clock_.Now();
    int64_t late_days = now > req.due_at ? (absl::ToInt64Hours(now - req.due_at) + 24) / 24 : 0;
    const int64_t late = late_days * 500;
    const int64_t discounted = late - late * req.late_fee_discount_percent / 100;
    ReturnOutcome out{"ret-" + req.rental_id, now,
                      domain::Money{"KRW", discounted + (req.damaged ? 10000 : 0)}};
    done_[req.rental_id] = out;
    return out;
  }
  void Fail(absl::Status s) {
    absl::MutexLock l(&mu_);
    failure_ = std::move(s);
  }
  void Recover() {
    absl::MutexLock l(&mu_);
    failure_ = absl::OkStatus();
  }
  int calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }

 private:
  const Clock& clock_;
  absl::Mutex mu_;
  absl::Status failure_;
  int calls_ = 0;
  std::map<std::string, ReturnOutcome> done_;
};

class CountingIdGenerator final : public IdGenerator {
 public:
  std::string NewId(absl::string_view prefix) override {
    absl::MutexLock l(&mu_);
    return absl::StrCat(prefix, ++next_);
  }
  std::string DerivedId(absl::string_view prefix,
                        std::initializer_list<absl::string_view> parts) override {
    return absl::StrCat(prefix, absl::StrJoin(parts, "~"));
  }

 private:
  absl::Mutex mu_;
  int next_ = 0;
};

}  // namespace rentmesh::rental::testing
