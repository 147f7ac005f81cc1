// Unit tests of the view's core: domain merge rules, queries, positions and
// watchers, against the in-memory store.
#include "core/view_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "in_memory_view_store.h"

namespace rentmesh::view {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

ViewEvent Event(EventKind kind, std::string type, std::string stream, uint64_t seq,
                absl::Duration offset, std::string rental_id, std::string customer = "cust-1") {
  ViewEvent e;
  e.kind = kind;
  e.event_type = std::move(type);
  e.event_id = absl::StrCat("evt-", e.event_type, "-", rental_id, "-", seq);
  e.stream = std::move(stream);
  e.sequence = seq;
  e.occurred_at = kT0 + offset;
  e.rental_id = std::move(rental_id);
  e.customer_id = std::move(customer);
  return e;
}

ViewEvent BookAdded(uint64_t seq, std::string book, int copies) {
  ViewEvent e =
      Event(EventKind::kBookAdded, "BookAdded", "RENTAL", seq, absl::ZeroDuration(), "", "");
  e.event_id = absl::StrCat("evt-book-", book, "-", seq);
  e.book_id = std::move(book);
  e.book_title = "Dune";
  e.copies = copies;
  e.amount = {"KRW", 1000};
  return e;
}

ViewEvent Requested(uint64_t seq, std::string rental, absl::Duration at,
                    std::string customer = "cust-1") {
  ViewEvent e =
      Event(EventKind::kRentalRequested, "RentalRequested", "RENTAL", seq, at, rental, customer);
  e.book_id = "book-1";
  e.book_title = "Dune";
  e.days = 3;
  e.amount = {"KRW", 3000};
  return e;
}

ViewEvent Rented(uint64_t seq, std::string rental, absl::Duration at,
                 std::string customer = "cust-1") {
  ViewEvent e = Event(EventKind::kBookRented, "BookRented", "RENTAL", seq, at, rental, customer);
  e.book_id = "book-1";
  e.book_title = "Dune";
  e.days = 3;
  e.amount = {"KRW", 3000};
  e.at = kT0 + at;
  e.due_at = kT0 + at + absl::Hours(72);
  return e;
}

ViewEvent Paid(uint64_t seq, std::string rental, absl::Duration at, int64_t amount = 3000) {
  ViewEvent e = Event(EventKind::kPaymentApproved, "PaymentApproved", "PAYMENT", seq, at, rental);
  e.amount = {"KRW", amount};
  return e;
}

ViewEvent Refunded(uint64_t seq, std::string rental, absl::Duration at) {
  ViewEvent e = Event(EventKind::kPaymentRefunded, "PaymentRefunded", "PAYMENT", seq, at, rental);
  e.amount = {"KRW", 3000};
  return e;
}

ViewEvent Cancelled(uint64_t seq, std::string rental, absl::Duration at) {
  ViewEvent e = Event(EventKind::kRentalCancelled, "RentalCancelled", "RENTAL", seq, at, rental);
  e.book_id = "book-1";
  e.at = kT0 + at;
  return e;
}

ViewEvent Returned(uint64_t seq, std::string rental, absl::Duration at, int64_t late_fee) {
  ViewEvent e = Event(EventKind::kBookReturned, "BookReturned", "RENTAL", seq, at, rental);
  e.book_id = "book-1";
  e.at = kT0 + at;
  e.amount = {"KRW", late_fee};
  return e;
}

class ViewServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ViewService::Create(store_, {"RENTAL", "PAYMENT", "RETURNS", "DELIVERY"});
    ASSERT_TRUE(s.ok()) << s.status();
    service_ = std::move(*s);
  }
  // The RENTAL stream always starts a book with BookAdded; the projection
  // applies rental events only to a book it knows (the stream's rules).
  void AddTheBook(int copies = 1000) {
    ASSERT_TRUE(service_->ApplyBatch("RENTAL", {BookAdded(0, "book-1", copies)}, 0).ok());
  }
  void Apply(const std::vector<ViewEvent>& events) {
    ASSERT_FALSE(events.empty());
    ASSERT_TRUE(service_->ApplyBatch(events[0].stream, events, events.back().sequence).ok());
  }
  RentalView Status(const std::string& rental) {
    auto r = service_->GetRentalStatus(rental);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RentalView{};
  }
  int Available(const std::string& book) {
    auto page = service_->ListCatalog(100, "");
    EXPECT_TRUE(page.ok());
    for (const BookView& b : page->books) {
      if (b.book_id == book) return b.Available();
    }
    return -1;
  }

  InMemoryViewStore store_;
  std::unique_ptr<ViewService> service_;
};

TEST_F(ViewServiceTest, ARentedAndPaidRentalShowsAsRentedWithItsAmountAndDueDate) {
  Apply({BookAdded(1, "book-1", 2), Requested(2, "r1", absl::Seconds(1)),
         Rented(3, "r1", absl::Seconds(2))});
  Apply({Paid(1, "r1", absl::Seconds(2))});
  RentalView r = Status("r1");
  EXPECT_EQ(r.State(), RentalState::kRented);
  EXPECT_EQ(r.AmountPaid().minor, 3000);
  EXPECT_EQ(r.due_at, kT0 + absl::Seconds(2) + absl::Hours(72));
  EXPECT_EQ(r.book_title, "Dune");
  ASSERT_EQ(r.timeline.size(), 3u);
  EXPECT_EQ(r.timeline[0].event_type, "RentalRequested");
  EXPECT_EQ(Available("book-1"), 1);
}

TEST_F(ViewServiceTest, PaymentEventsBeforeRentalEventsEndInTheSameProjection) {
  std::vector<ViewEvent> rental = {BookAdded(1, "book-1", 2), Requested(2, "r1", absl::Seconds(1)),
                                   Rented(3, "r1", absl::Seconds(2)),
                                   Cancelled(4, "r1", absl::Seconds(5))};
  std::vector<ViewEvent> payment = {Paid(1, "r1", absl::Seconds(2)),
                                    Refunded(2, "r1", absl::Seconds(6))};

  InMemoryViewStore other;
  auto reversed = ViewService::Create(other, {"RENTAL", "PAYMENT", "RETURNS"});
  ASSERT_TRUE(reversed.ok());
  ASSERT_TRUE((*reversed)->ApplyBatch("PAYMENT", payment, 2).ok());
  // Between the streams: a payment-only rental is listed as pending.
  EXPECT_EQ((*reversed)->GetRentalStatus("r1")->State(), RentalState::kPending);
  ASSERT_TRUE((*reversed)->ApplyBatch("RENTAL", rental, 4).ok());

  Apply(rental);
  Apply(payment);

  RentalView a = Status("r1");
  RentalView b = *(*reversed)->GetRentalStatus("r1");
  EXPECT_EQ(a.State(), RentalState::kCancelled);
  EXPECT_EQ(b.State(), RentalState::kCancelled);
  EXPECT_EQ(a.AmountPaid(), b.AmountPaid());
  EXPECT_EQ(b.refunded.minor, 3000);
  EXPECT_EQ(a.cancelled_at, b.cancelled_at);
  ASSERT_EQ(a.timeline.size(), b.timeline.size());
  for (size_t i = 0; i < a.timeline.size(); ++i) {
    EXPECT_EQ(a.timeline[i].event_id, b.timeline[i].event_id) << i;
  }
  EXPECT_EQ(a.customer_id, b.customer_id);
  EXPECT_EQ(a.book_title, b.book_title);
}

TEST_F(ViewServiceTest, EveryDeliveryOrderOfTheStreamsGivesTheSameRental) {
  std::vector<ViewEvent> events = {
      Requested(1, "r1", absl::Seconds(1)), Rented(2, "r1", absl::Seconds(2)),
      Paid(1, "r1", absl::Seconds(2)), Returned(3, "r1", absl::Hours(100), 500)};
  ViewEvent fee =
      Event(EventKind::kLateFeeCharged, "LateFeeCharged", "PAYMENT", 2, absl::Hours(101), "r1");
  fee.amount = {"KRW", 500};
  events.push_back(fee);
  ViewEvent inspected =
      Event(EventKind::kReturnCompleted, "ReturnCompleted", "RETURNS", 1, absl::Hours(100), "r1");
  inspected.amount = {"KRW", 500};
  inspected.at = kT0 + absl::Hours(100);
  events.push_back(inspected);

  std::mt19937 rng(7);
  std::optional<RentalView> first;
  for (int round = 0; round < 20; ++round) {
    // Any interleaving of the streams; each stream keeps its own order.
    std::shuffle(events.begin(), events.end(), rng);
    std::stable_partition(events.begin(), events.end(),
                          [](const ViewEvent& e) { return e.stream == "RENTAL"; });
    std::vector<ViewEvent> rental_events;
    for (const ViewEvent& e : events)
      if (e.stream == "RENTAL") rental_events.push_back(e);
    std::sort(rental_events.begin(), rental_events.end(),
              [](const ViewEvent& a, const ViewEvent& b) { return a.sequence < b.sequence; });
    std::vector<ViewEvent> order;
    size_t next_rental = 0;
    for (const ViewEvent& e : events) {
      if (e.stream == "RENTAL") continue;
      // Deliver some RENTAL events (in order) before each other event.
      size_t take = rng() % (rental_events.size() - next_rental + 1);
      for (size_t k = 0; k < take; ++k) order.push_back(rental_events[next_rental++]);
      order.push_back(e);
    }
    while (next_rental < rental_events.size()) order.push_back(rental_events[next_rental++]);
    InMemoryViewStore store;
    auto service = *ViewService::Create(store, {"RENTAL", "PAYMENT", "RETURNS"});
    ASSERT_TRUE(service->ApplyBatch("RENTAL", {BookAdded(0, "book-1", 2)}, 0).ok());
    for (const ViewEvent& e : order)
      ASSERT_TRUE(service->ApplyBatch(e.stream, {e}, e.sequence).ok());
    RentalView r = *service->GetRentalStatus("r1");
    EXPECT_EQ(r.State(), RentalState::kReturned);
    EXPECT_EQ(r.LateFee().minor, 500);
    EXPECT_EQ(r.AmountPaid().minor, 3000);
    if (!first) {
      first = r;
      continue;
    }
    ASSERT_EQ(r.timeline.size(), first->timeline.size());
    for (size_t i = 0; i < r.timeline.size(); ++i) {
      EXPECT_EQ(r.timeline[i].event_id, first->timeline[i].event_id);
    }
    EXPECT_EQ(r.SortTime(), first->SortTime());
  }
}

TEST_F(ViewServiceTest, AnEventAppliedTwiceChangesNothing) {
  Apply({BookAdded(1, "book-1", 1), Requested(2, "r1", absl::Seconds(1)),
         Rented(3, "r1", absl::Seconds(2))});
  Apply({Paid(1, "r1", absl::Seconds(2)), Refunded(2, "r1", absl::Seconds(3))});
  // The same events again, as a replay or a redelivery under another msg id.
  ViewEvent again = Refunded(7, "r1", absl::Seconds(3));
  again.event_id = Refunded(2, "r1", absl::Seconds(3)).event_id;
  Apply({Paid(1, "r1", absl::Seconds(2)), again});
  Apply({Requested(2, "r1", absl::Seconds(1)), Rented(3, "r1", absl::Seconds(2))});
  RentalView r = Status("r1");
  EXPECT_EQ(r.refunded.minor, 3000);
  EXPECT_EQ(r.timeline.size(), 4u);
  EXPECT_EQ(Available("book-1"), 0);
  EXPECT_EQ(service_->positions().Applied("PAYMENT"), 7u);
}

TEST_F(ViewServiceTest, ReleasedCopiesBecomeAvailableAgain) {
  Apply({BookAdded(1, "book-1", 2), Requested(2, "r1", absl::Seconds(1)),
         Requested(3, "r2", absl::Seconds(2)), Rented(4, "r1", absl::Seconds(3))});
  EXPECT_EQ(Available("book-1"), 0);
  ViewEvent rejected =
      Event(EventKind::kRentalRejected, "RentalRejected", "RENTAL", 5, absl::Seconds(4), "r2");
  rejected.book_id = "book-1";
  Apply({rejected});
  EXPECT_EQ(Status("r2").State(), RentalState::kFailed);
  EXPECT_EQ(Available("book-1"), 1);
  Apply({Returned(6, "r1", absl::Seconds(9), 0)});
  EXPECT_EQ(Available("book-1"), 2);
  ViewEvent stocked = BookAdded(7, "book-1", 0);
  stocked.kind = EventKind::kBookStocked;
  stocked.event_type = "BookStocked";
  stocked.copies = 5;
  Apply({stocked});
  EXPECT_EQ(Available("book-1"), 5);
}

TEST_F(ViewServiceTest, MyPageListsNewestFirstAcrossPages) {
  AddTheBook();
  std::vector<ViewEvent> batch;
  for (int i = 0; i < 45; ++i)
    batch.push_back(Requested(i + 1, absl::StrCat("r", i), absl::Seconds(i)));
  batch.push_back(Requested(46, "other", absl::Seconds(100), "cust-2"));
  Apply(batch);
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = service_->GetMyPage("cust-1", 0, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const RentalView& r : page->rentals) seen.push_back(r.rental_id);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 45u);
  EXPECT_EQ(seen.front(), "r44");
  EXPECT_EQ(seen.back(), "r0");
  EXPECT_EQ(service_->GetMyPage("cust-1", 1000, "")->rentals.size(), 45u);
}

TEST_F(ViewServiceTest, MyPageShowsAChangeAppliedAfterThePageWasRead) {
  AddTheBook();
  Apply({Requested(1, "r1", absl::Seconds(1))});
  ASSERT_EQ(service_->GetMyPage("cust-1", 0, "")->rentals.at(0).State(), RentalState::kPending);
  ASSERT_EQ(service_->GetMyPage("cust-1", 0, "")->rentals.size(),
            1u);  // served again, maybe cached
  Apply({Rented(2, "r1", absl::Seconds(2)), Requested(3, "r2", absl::Seconds(3))});
  auto page = service_->GetMyPage("cust-1", 0, "");
  ASSERT_EQ(page->rentals.size(), 2u);
  EXPECT_EQ(page->rentals[1].State(), RentalState::kRented);
  EXPECT_EQ(service_->GetMyPage("cust-1", 1, "")->rentals.size(), 1u);
}

TEST_F(ViewServiceTest, BadQueriesFailWithInvalidArgument) {
  EXPECT_EQ(service_->GetMyPage("", 10, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetMyPage(std::string(129, 'c'), 10, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetMyPage("cust-1", -1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetMyPage("cust-1", 10, "garbage!").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetMyPage("cust-1", 10, absl::WebSafeBase64Escape("m1\ncust-1\nxx\nr1"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->ListCatalog(10, "zzzz").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetRentalStatus("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetRentalStatus("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ViewServiceTest, AFailedCommitAppliesNothingAndKeepsThePosition) {
  store_.FailCommits(true);
  EXPECT_FALSE(service_->ApplyBatch("RENTAL", {Requested(1, "r1", absl::Seconds(1))}, 1).ok());
  EXPECT_EQ(service_->positions().Applied("RENTAL"), 0u);
  EXPECT_EQ(service_->GetRentalStatus("r1").status().code(), absl::StatusCode::kNotFound);
}

TEST(AppliedPositionsTest, AWaiterRunsOnceItsPositionsAreApplied) {
  AppliedPositions positions({{"RENTAL", 0}, {"PAYMENT", 0}});
  absl::Notification done;
  absl::Status result = absl::UnknownError("not called");
  positions.WhenApplied({{"RENTAL", 2}, {"PAYMENT", 1}}, absl::Now() + absl::Seconds(10),
                        [&](absl::Status s) {
                          result = s;
                          done.Notify();
                        });
  positions.Advance("RENTAL", 5);
  EXPECT_FALSE(done.HasBeenNotified());
  positions.Advance("PAYMENT", 1);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(1)));
  EXPECT_TRUE(result.ok()) << result;
}

TEST(AppliedPositionsTest, AnUnreachedPositionFailsWithDeadlineExceededAtItsDeadline) {
  AppliedPositions positions({{"RENTAL", 3}});
  const absl::Time start = absl::Now();
  absl::Status s = positions.WaitApplied({{"RENTAL", 4}}, start + absl::Milliseconds(150));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(140));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(positions.WaitApplied({{"RENTAL", 3}}, start).ok());
}

TEST(AppliedPositionsTest, AnUnknownStreamIsInvalidArgument) {
  AppliedPositions positions({{"RENTAL", 3}});
  EXPECT_EQ(positions.Validate({{"BOOKS", 1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(positions.Validate({{"RENTAL", 100}}).ok());
}

TEST(AppliedPositionsTest, PendingWaitersFailWithUnavailableAtShutdown) {
  absl::Status result;
  {
    AppliedPositions positions({{"RENTAL", 0}});
    positions.WhenApplied({{"RENTAL", 1}}, absl::Now() + absl::Hours(1),
                          [&](absl::Status s) { result = s; });
  }
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable);
}

class RecordingSink final : public MyPageSink {
 public:
  explicit RecordingSink(size_t capacity) : capacity_(capacity) {}
  bool OnChange(const MyPageChange& change) override {
    if (changes.size() >= capacity_) return false;
    changes.push_back(change);
    return true;
  }
  void OnClose(const absl::Status& why) override { closed = why; }
  std::vector<MyPageChange> changes;
  absl::Status closed;

 private:
  size_t capacity_;
};

TEST_F(ViewServiceTest, WatchersReceiveTheirCustomersChangesOnly) {
  AddTheBook();
  RecordingSink mine(100), theirs(100);
  uint64_t a = service_->watches().Subscribe("cust-1", mine);
  service_->watches().Subscribe("cust-2", theirs);
  Apply({Requested(1, "r1", absl::Seconds(1)), Rented(2, "r1", absl::Seconds(2))});
  ASSERT_EQ(mine.changes.size(), 1u);  // one change per rental per batch
  EXPECT_EQ(mine.changes[0].event_type, "BookRented");
  EXPECT_EQ(mine.changes[0].rental.State(), RentalState::kRented);
  EXPECT_TRUE(theirs.changes.empty());
  service_->watches().Unsubscribe(a);
  Apply({Paid(1, "r1", absl::Seconds(2))});
  EXPECT_EQ(mine.changes.size(), 1u);
}

TEST_F(ViewServiceTest, AWatcherThatGivesUpIsDroppedAndClosingEndsTheRest) {
  AddTheBook();
  RecordingSink slow(1), fine(100);
  service_->watches().Subscribe("cust-1", slow);
  service_->watches().Subscribe("cust-1", fine);
  Apply({Requested(1, "r1", absl::Seconds(1))});
  Apply({Requested(2, "r2", absl::Seconds(2))});
  EXPECT_EQ(service_->watches().Watchers(), 1u);
  service_->watches().CloseAll(absl::UnavailableError("bye"));
  EXPECT_EQ(fine.closed.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fine.changes.size(), 2u);
  EXPECT_EQ(service_->watches().Watchers(), 0u);
}

TEST_F(ViewServiceTest, ConcurrentFollowersOnOneRentalLoseNoFact) {
  AddTheBook();
  // The three streams apply on their own threads; the merges must serialize.
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(service_
                      ->ApplyBatch("RENTAL",
                                   {Requested(i + 1, absl::StrCat("r", i), absl::Seconds(i))},
                                   i + 1)
                      .ok());
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(
          service_
              ->ApplyBatch("PAYMENT", {Paid(i + 1, absl::StrCat("r", i), absl::Seconds(i))}, i + 1)
              .ok());
    }
  });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 200; ++i) {
    RentalView r = Status(absl::StrCat("r", i));
    EXPECT_TRUE(r.requested && r.payment_approved) << i;
    EXPECT_EQ(r.timeline.size(), 2u);
  }
}

TEST_F(ViewServiceTest, EventsThatDoNotApplyToTheRentalAreIgnoredAndCounted) {
  std::map<std::string, int> ignored;
  service_->SetIgnoredObserver([&](absl::string_view, absl::string_view, absl::string_view reason) {
    ++ignored[std::string(reason)];
  });
  AddTheBook(1);
  ViewEvent cancel1 =
      Event(EventKind::kRentalCancelled, "RentalCancelled", "RENTAL", 3, absl::Seconds(3), "r1");
  cancel1.book_id = "book-1";
  ViewEvent cancel2 = cancel1;
  cancel2.sequence = 4;
  cancel2.event_id = "evt-second-cancel";
  // A second reservation of the only copy, and the same cancel stored twice
  // (a cluster can store a retried append beside the first).
  Apply({Requested(1, "r1", absl::Seconds(1)), Requested(2, "r2", absl::Seconds(1), "cust-2"),
         Rented(3, "r1", absl::Seconds(2)), cancel1, cancel2});
  EXPECT_EQ(ignored["no_copy_free"], 1);
  EXPECT_EQ(ignored["not_rented"], 1);
  EXPECT_EQ(Available("book-1"), 1);
  EXPECT_EQ(service_->GetRentalStatus("r2").status().code(), absl::StatusCode::kNotFound);
  RentalView r1 = Status("r1");
  EXPECT_EQ(r1.State(), RentalState::kCancelled);
  EXPECT_EQ(r1.timeline.size(), 3u);
}

TEST_F(ViewServiceTest, ARentalShowsThePriceBreakdownItsEventsCarry) {
  ViewEvent requested = Requested(2, "r1", absl::Seconds(1));
  ViewEvent rented = Rented(3, "r1", absl::Seconds(2));
  for (ViewEvent* e : {&requested, &rented}) {
    e->amount = {"KRW", 2400};
    e->base_fee = {"KRW", 3000};
    e->discount = {"KRW", 600};
    e->tier = "vip";
    e->discount_percent = 20;
  }
  Apply({BookAdded(1, "book-1", 2), requested, rented});
  RentalView r = Status("r1");
  EXPECT_EQ(r.base_fee, (Money{"KRW", 3000}));
  EXPECT_EQ(r.discount, (Money{"KRW", 600}));
  EXPECT_EQ(r.tier, "vip");
  EXPECT_EQ(r.discount_percent, 20);
  EXPECT_EQ(r.AmountPaid().minor, 2400);
  ASSERT_FALSE(r.timeline.empty());
  EXPECT_NE(r.timeline[0].description.find("20% vip discount"), std::string::npos)
      << r.timeline[0].description;
}

TEST_F(ViewServiceTest, ARentalFromBeforeTiersShowsNoBreakdown) {
  Apply({BookAdded(1, "book-1", 2), Requested(2, "r1", absl::Seconds(1)),
         Rented(3, "r1", absl::Seconds(2))});
  RentalView r = Status("r1");
  EXPECT_TRUE(r.base_fee.currency.empty());
  EXPECT_EQ(r.discount_percent, 0);
}

TEST_F(ViewServiceTest, ACustomerTierChangeChangesNoRentalAndIsNotSetAside) {
  int ignored = 0;
  service_->SetIgnoredObserver(
      [&ignored](absl::string_view, absl::string_view, absl::string_view) { ++ignored; });
  Apply({BookAdded(1, "book-1", 2), Requested(2, "r1", absl::Seconds(1))});
  ViewEvent tier = Event(EventKind::kCustomerTierSet, "CustomerTierSet", "RENTAL", 3,
                         absl::Seconds(3), "", "cust-1");
  Apply({tier});
  EXPECT_EQ(ignored, 0);
  EXPECT_EQ(Status("r1").timeline.size(), 1u);
}

// A delivery step as the delivery service emits it (customer and book only on
// DeliveryRequested; kind "OUTBOUND" or "RETURN").
ViewEvent Delivery(EventKind kind, uint64_t seq, std::string rental, absl::Duration at,
                   std::string courier = "", std::string delivery_kind = "OUTBOUND") {
  static const std::map<EventKind, std::string> kTypes = {
      {EventKind::kDeliveryRequested, "DeliveryRequested"},
      {EventKind::kDeliveryAssigned, "DeliveryAssigned"},
      {EventKind::kDeliveryPickedUp, "DeliveryPickedUp"},
      {EventKind::kDeliveryDelivered, "DeliveryDelivered"},
      {EventKind::kDeliveryCancelled, "DeliveryCancelled"}};
  ViewEvent e = Event(kind, kTypes.at(kind), "DELIVERY", seq, at, rental,
                      kind == EventKind::kDeliveryRequested ? "cust-1" : "");
  e.event_id = absl::StrCat("evt-", e.event_type, "-", rental, "-", delivery_kind);
  e.delivery_id = absl::StrCat("dlv-", rental, "-", delivery_kind);
  e.delivery_kind = std::move(delivery_kind);
  e.courier_id = std::move(courier);
  if (kind == EventKind::kDeliveryRequested) {
    e.book_id = "book-1";
    e.region = "seoul";
  }
  e.at = kT0 + at;
  return e;
}

std::vector<ViewEvent> OutboundDelivered(const std::string& rental) {
  return {Delivery(EventKind::kDeliveryRequested, 1, rental, absl::Seconds(3)),
          Delivery(EventKind::kDeliveryAssigned, 2, rental, absl::Seconds(4), "kim"),
          Delivery(EventKind::kDeliveryPickedUp, 3, rental, absl::Seconds(5), "kim"),
          Delivery(EventKind::kDeliveryDelivered, 4, rental, absl::Seconds(6), "kim")};
}

TEST_F(ViewServiceTest, EachDeliveryStepMovesTheRentalsDeliveryAndJoinsItsTimeline) {
  AddTheBook();
  Apply({Requested(2, "r1", absl::Seconds(1)), Rented(3, "r1", absl::Seconds(2))});
  EXPECT_EQ(Status("r1").delivery.State(), DeliveryState::kNone);
  const std::vector<ViewEvent> steps = OutboundDelivered("r1");
  const DeliveryState want[] = {DeliveryState::kRequested, DeliveryState::kAssigned,
                                DeliveryState::kPickedUp, DeliveryState::kDelivered};
  for (size_t i = 0; i < steps.size(); ++i) {
    Apply({steps[i]});
    RentalView r = Status("r1");
    EXPECT_EQ(r.delivery.State(), want[i]) << i;
    EXPECT_EQ(r.delivery.courier_id, i == 0 ? "" : "kim") << i;
    EXPECT_EQ(r.timeline.size(), 3 + i) << i;
    EXPECT_EQ(r.timeline.back().event_type, steps[i].event_type);
    EXPECT_EQ(r.timeline.back().stream, "DELIVERY");
  }
  RentalView r = Status("r1");
  EXPECT_EQ(r.delivery.delivery_id, "dlv-r1-OUTBOUND");
  EXPECT_EQ(r.delivery.delivered_at, kT0 + absl::Seconds(6));
  EXPECT_EQ(r.timeline[2].description, "delivery requested in seoul");
  EXPECT_EQ(r.timeline[3].description, "delivery assigned to courier kim");
  EXPECT_EQ(r.timeline[5].description, "delivered by courier kim");
  // The rental itself is as it was: delivery facts never change its state.
  EXPECT_EQ(r.State(), RentalState::kRented);
  EXPECT_EQ(r.return_pickup.State(), DeliveryState::kNone);
}

TEST_F(ViewServiceTest, DeliveryStepsInAnyOrderAndAnyInterleavingGiveTheSameRental) {
  std::vector<ViewEvent> events = OutboundDelivered("r1");
  events.push_back(Requested(1, "r1", absl::Seconds(1)));
  events.push_back(Rented(2, "r1", absl::Seconds(2)));
  events.push_back(Paid(1, "r1", absl::Seconds(2)));
  std::mt19937 rng(11);
  std::optional<RentalView> first;
  for (int round = 0; round < 30; ++round) {
    // Fully shuffled, DELIVERY steps included: the fold must not rely on
    // their order (RENTAL keeps its own, as the stream's rules need it).
    std::shuffle(events.begin(), events.end(), rng);
    std::vector<ViewEvent> order = events;
    std::vector<size_t> rental_slots;
    std::vector<ViewEvent> rental_events;
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i].stream == "RENTAL") {
        rental_slots.push_back(i);
        rental_events.push_back(order[i]);
      }
    }
    std::sort(rental_events.begin(), rental_events.end(),
              [](const ViewEvent& a, const ViewEvent& b) { return a.sequence < b.sequence; });
    for (size_t k = 0; k < rental_slots.size(); ++k) order[rental_slots[k]] = rental_events[k];

    InMemoryViewStore store;
    auto service = *ViewService::Create(store, {"RENTAL", "PAYMENT", "RETURNS", "DELIVERY"});
    ASSERT_TRUE(service->ApplyBatch("RENTAL", {BookAdded(0, "book-1", 2)}, 0).ok());
    for (const ViewEvent& e : order)
      ASSERT_TRUE(service->ApplyBatch(e.stream, {e}, e.sequence).ok());
    RentalView r = *service->GetRentalStatus("r1");
    EXPECT_EQ(r.delivery.State(), DeliveryState::kDelivered);
    EXPECT_EQ(r.delivery.courier_id, "kim");
    EXPECT_EQ(r.State(), RentalState::kRented);
    EXPECT_EQ(r.customer_id, "cust-1");
    if (!first) {
      first = r;
      continue;
    }
    ASSERT_EQ(r.timeline.size(), first->timeline.size());
    for (size_t i = 0; i < r.timeline.size(); ++i) {
      EXPECT_EQ(r.timeline[i].event_id, first->timeline[i].event_id);
    }
    EXPECT_EQ(r.SortTime(), first->SortTime());
  }
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->timeline.size(), 7u);
}

TEST_F(ViewServiceTest, ADeliveryStepDeliveredTwiceIsAppliedOnce) {
  AddTheBook();
  Apply({Requested(2, "r1", absl::Seconds(1)), Rented(3, "r1", absl::Seconds(2))});
  std::vector<ViewEvent> steps = OutboundDelivered("r1");
  steps.resize(2);
  Apply(steps);
  // The same events again under new stream positions (a republish).
  std::vector<ViewEvent> again = steps;
  for (ViewEvent& e : again) e.sequence += 10;
  Apply(again);
  Apply({steps[1]});
  RentalView r = Status("r1");
  EXPECT_EQ(r.delivery.State(), DeliveryState::kAssigned);
  EXPECT_EQ(r.timeline.size(), 4u);
  EXPECT_EQ(service_->positions().Applied("DELIVERY"), 12u);
}

TEST_F(ViewServiceTest, ACancelledDeliveryAndAReturnPickupAreShownApart) {
  AddTheBook();
  Apply({Requested(2, "r1", absl::Seconds(1)), Rented(3, "r1", absl::Seconds(2))});
  ViewEvent cancelled = Delivery(EventKind::kDeliveryCancelled, 3, "r1", absl::Seconds(4));
  cancelled.reason = "rental cancelled";
  Apply({Delivery(EventKind::kDeliveryRequested, 1, "r1", absl::Seconds(3)),
         Delivery(EventKind::kDeliveryAssigned, 2, "r1", absl::Seconds(3), "kim"), cancelled});
  Apply({Delivery(EventKind::kDeliveryRequested, 4, "r1", absl::Hours(50), "", "RETURN"),
         Delivery(EventKind::kDeliveryAssigned, 5, "r1", absl::Hours(51), "lee", "RETURN")});
  RentalView r = Status("r1");
  EXPECT_EQ(r.delivery.State(), DeliveryState::kCancelled);
  EXPECT_EQ(r.delivery.courier_id, "kim");
  EXPECT_EQ(r.return_pickup.State(), DeliveryState::kAssigned);
  EXPECT_EQ(r.return_pickup.courier_id, "lee");
  EXPECT_EQ(r.return_pickup.delivery_id, "dlv-r1-RETURN");
  ASSERT_EQ(r.timeline.size(), 7u);
  EXPECT_EQ(r.timeline[4].description, "delivery cancelled: rental cancelled");
  EXPECT_EQ(r.timeline[5].description, "return pickup requested in seoul");
  EXPECT_EQ(r.timeline[6].description, "return pickup assigned to courier lee");
}

TEST_F(ViewServiceTest, ADeliveryFirstRentalIsListedOnItsCustomersPage) {
  // DeliveryRequested carries the customer: the rental is on the page even
  // before its RENTAL events are applied; a courier event changes no rental.
  Apply({Delivery(EventKind::kDeliveryRequested, 1, "r9", absl::Seconds(3)),
         Event(EventKind::kCourierAdded, "CourierAdded", "DELIVERY", 2, absl::Seconds(3), "", "")});
  auto page = service_->GetMyPage("cust-1", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->rentals.size(), 1u);
  EXPECT_EQ(page->rentals[0].rental_id, "r9");
  EXPECT_EQ(page->rentals[0].delivery.State(), DeliveryState::kRequested);
  EXPECT_EQ(page->rentals[0].State(), RentalState::kPending);
  EXPECT_EQ(service_->positions().Applied("DELIVERY"), 2u);
}

}  // namespace
}  // namespace rentmesh::view
