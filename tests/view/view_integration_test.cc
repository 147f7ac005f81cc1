// The view against a real nats-server and RocksDB: queries over gRPC,
// catch-up, rebuild, duplicates, out-of-order delivery, replicas, the token
// wait and the watch stream.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"
#include "view_test_support.h"

namespace rentmesh::view {
namespace {

using testing_support::EventWriter;
using testing_support::ViewInstance;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(5)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  return ctx;
}

class ViewIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
    auto js = nats::JetStream::Connect(nats_->url(), "writer", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
    writer_ = std::make_unique<EventWriter>(*js_);
    ASSERT_TRUE(writer_->EnsureStreams().ok());
  }

  std::unique_ptr<ViewInstance> StartView(const std::string& name) {
    auto v = ViewInstance::Start(nats_->url(), dir_.Sub(name));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::move(*v) : nullptr;
  }

  // Three rentals of cust-1 (rented+paid and delivered, cancelled+refunded with
  // its delivery, returned with a late fee) and one of cust-2, over the four
  // streams.
  void PublishStory() {
    ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 3, 1000).ok());
    ASSERT_TRUE(writer_->BookAdded("book-2", "Emma", 1, 500).ok());
    Rent("r-1", "book-1", "cust-1", kT0);
    Rent("r-2", "book-1", "cust-1", kT0 + absl::Hours(1));
    ASSERT_TRUE(
        writer_->RentalCancelled("r-2", "book-1", "cust-1", 3000, kT0 + absl::Hours(2)).ok());
    ASSERT_TRUE(writer_->PaymentRefunded("r-2", "cust-1", 3000, kT0 + absl::Hours(2)).ok());
    Rent("r-3", "book-2", "cust-1", kT0 + absl::Hours(3));
    ASSERT_TRUE(
        writer_->ReturnCompleted("r-3", "book-2", "cust-1", 700, kT0 + absl::Hours(100)).ok());
    ASSERT_TRUE(writer_->BookReturned("r-3", "book-2", "cust-1", 700, kT0 + absl::Hours(100)).ok());
    ASSERT_TRUE(
        writer_->LateFeeCharged("r-3", "cust-1", 700, kT0 + absl::Hours(100) + absl::Seconds(1))
            .ok());
    Rent("r-4", "book-1", "cust-2", kT0 + absl::Hours(4));
    // r-1 delivered, r-2's delivery cancelled with the rental.
    for (const char* step :
         {"DeliveryRequested", "DeliveryAssigned", "DeliveryPickedUp", "DeliveryDelivered"}) {
      ASSERT_TRUE(
          writer_->DeliveryStep(step, "r-1", "OUTBOUND", "kim", kT0 + absl::Minutes(30)).ok());
    }
    ASSERT_TRUE(
        writer_->DeliveryStep("DeliveryRequested", "r-2", "OUTBOUND", "", kT0 + absl::Hours(1))
            .ok());
    ASSERT_TRUE(
        writer_->DeliveryStep("DeliveryCancelled", "r-2", "OUTBOUND", "", kT0 + absl::Hours(2))
            .ok());
  }

  void Rent(const std::string& rental, const std::string& book, const std::string& customer,
            absl::Time at, int64_t fee = 3000) {
    ASSERT_TRUE(writer_->RentalRequested(rental, book, customer, 3, fee, at).ok());
    ASSERT_TRUE(writer_->PaymentApproved(rental, customer, fee, at + absl::Seconds(1)).ok());
    ASSERT_TRUE(writer_->BookRented(rental, book, customer, 3, fee, at + absl::Seconds(2)).ok());
  }

  // Every query's full output, for comparing projections.
  std::string Snapshot(ViewInstance& v, const std::string& token = "") {
    std::string out;
    for (const char* customer : {"cust-1", "cust-2"}) {
      v1::GetMyPageRequest req;
      req.set_customer_id(customer);
      req.set_consistency_token(token);
      v1::GetMyPageResponse resp;
      grpc::Status s = v.stub().GetMyPage(Ctx().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      absl::StrAppend(&out, resp.DebugString());
    }
    for (const char* rental : {"r-1", "r-2", "r-3", "r-4"}) {
      v1::GetRentalStatusRequest req;
      req.set_rental_id(rental);
      v1::RentalStatusView resp;
      grpc::Status s = v.stub().GetRentalStatus(Ctx().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << rental << ": " << s.error_message();
      absl::StrAppend(&out, resp.DebugString());
    }
    v1::ListCatalogRequest req;
    v1::ListCatalogResponse resp;
    EXPECT_TRUE(v.stub().ListCatalog(Ctx().get(), req, &resp).ok());
    absl::StrAppend(&out, resp.DebugString());
    return out;
  }

  std::string AllTokens() {
    std::string token;
    for (const char* s : {"RENTAL", "PAYMENT", "RETURNS", "DELIVERY"}) {
      absl::StrAppend(&token, token.empty() ? "" : ",", s, ":", *js_->LastSequence(s));
    }
    return token;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> js_;
  std::unique_ptr<EventWriter> writer_;
};

TEST_F(ViewIntegrationTest, GetMyPageListsTheCustomersRentalsNewestFirstWithTheirOutcome) {
  auto view = StartView("a");
  PublishStory();
  v1::GetMyPageRequest req;
  req.set_customer_id("cust-1");
  req.set_consistency_token(AllTokens());
  v1::GetMyPageResponse resp;
  grpc::Status s = view->stub().GetMyPage(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.rentals_size(), 3);
  EXPECT_TRUE(resp.next_page_token().empty());
  const v1::RentalSummary& returned = resp.rentals(0);
  EXPECT_EQ(returned.rental_id(), "r-3");
  EXPECT_EQ(returned.status(), v1::RENTAL_STATE_RETURNED);
  EXPECT_EQ(returned.book_title(), "Emma");
  EXPECT_EQ(returned.late_fee().amount_minor(), 700);
  EXPECT_EQ(returned.returned_at().seconds(), absl::ToUnixSeconds(kT0 + absl::Hours(100)));
  const v1::RentalSummary& cancelled = resp.rentals(1);
  EXPECT_EQ(cancelled.status(), v1::RENTAL_STATE_CANCELLED);
  EXPECT_EQ(cancelled.amount_paid().amount_minor(), 3000);
  EXPECT_EQ(cancelled.refund().amount_minor(), 3000);
  EXPECT_TRUE(cancelled.has_cancelled_at());
  const v1::RentalSummary& rented = resp.rentals(2);
  EXPECT_EQ(rented.rental_id(), "r-1");
  EXPECT_EQ(rented.status(), v1::RENTAL_STATE_RENTED);
  EXPECT_EQ(rented.amount_paid().currency(), "KRW");
  EXPECT_EQ(rented.due_at().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Seconds(2) + absl::Hours(72)));
  EXPECT_EQ(rented.days(), 3);
  // Where each rental's delivery stands.
  EXPECT_EQ(rented.delivery_status(), v1::DELIVERY_STATUS_DELIVERED);
  EXPECT_EQ(rented.courier_id(), "kim");
  EXPECT_EQ(cancelled.delivery_status(), v1::DELIVERY_STATUS_CANCELLED);
  EXPECT_TRUE(cancelled.courier_id().empty());
  EXPECT_EQ(returned.delivery_status(), v1::DELIVERY_STATUS_UNSPECIFIED);

  // Two per page, then the rest.
  req.set_page_size(2);
  v1::GetMyPageResponse first, second;
  ASSERT_TRUE(view->stub().GetMyPage(Ctx().get(), req, &first).ok());
  ASSERT_EQ(first.rentals_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  req.set_page_token(first.next_page_token());
  ASSERT_TRUE(view->stub().GetMyPage(Ctx().get(), req, &second).ok());
  ASSERT_EQ(second.rentals_size(), 1);
  EXPECT_EQ(second.rentals(0).rental_id(), "r-1");
  EXPECT_TRUE(second.next_page_token().empty());

  req.set_page_token("not-a-token");
  EXPECT_EQ(view->stub().GetMyPage(Ctx().get(), req, &second).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_token("");
  req.set_customer_id("");
  EXPECT_EQ(view->stub().GetMyPage(Ctx().get(), req, &second).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ViewIntegrationTest, GetRentalStatusShowsTheTimelineInOrderAndOnlyToItsCustomer) {
  auto view = StartView("a");
  PublishStory();
  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-3");
  req.set_consistency_token(AllTokens());
  v1::RentalStatusView resp;
  grpc::Status s = view->stub().GetRentalStatus(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.rental().status(), v1::RENTAL_STATE_RETURNED);
  std::vector<std::string> types;
  for (const auto& t : resp.timeline()) types.push_back(t.event_type());
  EXPECT_EQ(types, (std::vector<std::string>{"RentalRequested", "PaymentApproved", "BookRented",
                                             "ReturnCompleted", "BookReturned", "LateFeeCharged"}));
  // Events of the same time keep their stream order.
  EXPECT_EQ(resp.timeline(3).at().seconds(), resp.timeline(4).at().seconds());
  for (int i = 1; i < resp.timeline_size(); ++i) {
    EXPECT_LE(resp.timeline(i - 1).at().seconds(), resp.timeline(i).at().seconds());
  }

  auto as = [&](const std::string& subject, const std::string& roles) {
    auto ctx = Ctx();
    ctx->AddMetadata(CallerIdentity::kSubjectHeader, subject);
    if (!roles.empty()) ctx->AddMetadata(CallerIdentity::kRolesHeader, roles);
    v1::RentalStatusView out;
    return view->stub().GetRentalStatus(ctx.get(), req, &out).error_code();
  };
  EXPECT_EQ(as("cust-1", ""), grpc::StatusCode::OK);
  EXPECT_EQ(as("cust-2", ""), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(as("staff-9", "librarian"), grpc::StatusCode::OK);

  auto page_ctx = Ctx();
  page_ctx->AddMetadata(CallerIdentity::kSubjectHeader, "cust-2");
  v1::GetMyPageRequest page;
  page.set_customer_id("cust-1");
  v1::GetMyPageResponse page_resp;
  EXPECT_EQ(view->stub().GetMyPage(page_ctx.get(), page, &page_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  req.set_rental_id("r-unknown");
  req.clear_consistency_token();
  EXPECT_EQ(view->stub().GetRentalStatus(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ViewIntegrationTest, ListCatalogShowsCopiesInStockAndCopiesAvailable) {
  auto view = StartView("a");
  PublishStory();
  v1::ListCatalogRequest req;
  req.set_consistency_token(AllTokens());
  v1::ListCatalogResponse resp;
  ASSERT_TRUE(view->stub().ListCatalog(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.books_size(), 2);
  EXPECT_EQ(resp.books(0).book_id(), "book-1");
  EXPECT_EQ(resp.books(0).title(), "Dune");
  EXPECT_EQ(resp.books(0).copies(), 3);
  EXPECT_EQ(resp.books(0).copies_available(), 1);  // r-1 and r-4 hold copies, r-2 gave its back
  EXPECT_EQ(resp.books(0).daily_fee().amount_minor(), 1000);
  EXPECT_EQ(resp.books(1).copies_available(), 1);  // r-3 returned
  req.set_page_size(1);
  ASSERT_TRUE(view->stub().ListCatalog(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.books_size(), 1);
  req.set_page_token(resp.next_page_token());
  ASSERT_TRUE(view->stub().ListCatalog(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.books_size(), 1);
  EXPECT_EQ(resp.books(0).book_id(), "book-2");
}

TEST_F(ViewIntegrationTest, AnEventDeliveredTwiceChangesNothing) {
  auto view = StartView("a");
  PublishStory();
  const std::string before = Snapshot(*view, AllTokens());
  // Replays under new Nats-Msg-Ids: the server stores them again.
  ASSERT_TRUE(writer_->PaymentRefunded("r-2", "cust-1", 3000, kT0 + absl::Hours(2)).ok());
  const events::v1::Envelope refund = writer_->last_envelope();
  const std::string refund_subject = writer_->last_subject();
  ASSERT_TRUE(writer_->BookReturned("r-1", "book-1", "cust-1", 0, kT0 + absl::Hours(50)).ok());
  const events::v1::Envelope returned = writer_->last_envelope();
  const std::string returned_subject = writer_->last_subject();
  const std::string once = Snapshot(*view, AllTokens());
  EXPECT_NE(once, before);
  ASSERT_TRUE(writer_->Republish(refund, refund_subject, "replay-1").ok());
  ASSERT_TRUE(writer_->Republish(returned, returned_subject, "replay-2").ok());
  ASSERT_TRUE(writer_->Republish(returned, returned_subject, "replay-3").ok());
  EXPECT_EQ(Snapshot(*view, AllTokens()), once);

  v1::ListCatalogRequest req;
  v1::ListCatalogResponse resp;
  ASSERT_TRUE(view->stub().ListCatalog(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.books(0).copies_available(), 2);  // r-1's copy came back once
}

TEST_F(ViewIntegrationTest, PaymentEventsPublishedBeforeTheRentalEventsEndCorrect) {
  auto view = StartView("a");
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 1, 1000).ok());
  ASSERT_TRUE(writer_->PaymentApproved("r-9", "cust-1", 3000, kT0).ok());
  ASSERT_TRUE(writer_->PaymentRefunded("r-9", "cust-1", 3000, kT0 + absl::Hours(1)).ok());
  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-9");
  req.set_consistency_token(AllTokens());
  v1::RentalStatusView early;
  ASSERT_TRUE(view->stub().GetRentalStatus(Ctx().get(), req, &early).ok());
  EXPECT_EQ(early.rental().status(), v1::RENTAL_STATE_PENDING);

  ASSERT_TRUE(writer_->RentalRequested("r-9", "book-1", "cust-1", 3, 3000, kT0).ok());
  ASSERT_TRUE(writer_->BookRented("r-9", "book-1", "cust-1", 3, 3000, kT0).ok());
  ASSERT_TRUE(writer_->RentalCancelled("r-9", "book-1", "cust-1", 3000, kT0 + absl::Hours(1)).ok());
  req.set_consistency_token(AllTokens());
  v1::RentalStatusView late;
  ASSERT_TRUE(view->stub().GetRentalStatus(Ctx().get(), req, &late).ok());
  EXPECT_EQ(late.rental().status(), v1::RENTAL_STATE_CANCELLED);
  EXPECT_EQ(late.rental().amount_paid().amount_minor(), 3000);
  EXPECT_EQ(late.rental().refund().amount_minor(), 3000);
  EXPECT_EQ(late.rental().book_title(), "Dune");
  ASSERT_EQ(late.timeline_size(), 5);
  EXPECT_EQ(late.timeline(4).event_type(), "RentalCancelled");  // same time, later in its stream
  // A replica that reads the streams in the natural order agrees.
  auto other = StartView("b");
  v1::RentalStatusView fresh;
  ASSERT_TRUE(other->stub().GetRentalStatus(Ctx().get(), req, &fresh).ok());
  EXPECT_EQ(fresh.DebugString(), late.DebugString());
}

TEST_F(ViewIntegrationTest, TwoReplicasHoldTheSameProjection) {
  auto a = StartView("a");
  auto b = StartView("b");
  PublishStory();
  const std::string token = AllTokens();
  EXPECT_EQ(Snapshot(*a, token), Snapshot(*b, token));
}

TEST_F(ViewIntegrationTest, ARebuildFromAnEmptyStoreEqualsTheIncrementalProjection) {
  auto incremental = StartView("incremental");
  // Applied in many small batches as the events arrive.
  PublishStory();
  for (int i = 0; i < 30; ++i)
    Rent(absl::StrCat("extra-", i), "book-2", "cust-2", kT0 + absl::Minutes(i));
  const std::string token = AllTokens();
  const std::string expected = Snapshot(*incremental, token);
  auto rebuilt = StartView("rebuilt");  // empty store: replays all four streams
  EXPECT_EQ(Snapshot(*rebuilt, ""), expected);
  EXPECT_EQ(rebuilt->service().positions().Applied("RENTAL"), *js_->LastSequence("RENTAL"));
}

TEST_F(ViewIntegrationTest, AQueryWithATokenAheadOfTheProjectionWaitsThenAnswers) {
  auto view = StartView("a");
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 1, 1000).ok());
  const uint64_t next = *js_->LastSequence("RENTAL") + 1;
  v1::GetMyPageRequest req;
  req.set_customer_id("cust-1");
  req.set_consistency_token(absl::StrCat("RENTAL:", next));
  v1::GetMyPageResponse resp;
  grpc::Status status;
  absl::Duration took;
  std::thread query([&] {
    const absl::Time start = absl::Now();
    status = view->stub().GetMyPage(Ctx().get(), req, &resp);
    took = absl::Now() - start;
  });
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(writer_->RentalRequested("r-1", "book-1", "cust-1", 3, 3000, kT0).ok());
  query.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(took, absl::Milliseconds(250));
  ASSERT_EQ(resp.rentals_size(), 1);
  EXPECT_EQ(resp.rentals(0).status(), v1::RENTAL_STATE_PENDING);
}

TEST_F(ViewIntegrationTest, AnUnreachableTokenFailsWithDeadlineExceededWithinTheDeadline) {
  auto view = StartView("a");
  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-1");
  req.set_consistency_token("RENTAL:1000000");
  v1::RentalStatusView resp;
  const absl::Time start = absl::Now();
  grpc::Status s = view->stub().GetRentalStatus(Ctx(absl::Milliseconds(400)).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  req.set_consistency_token("BOOKS:1");
  EXPECT_EQ(view->stub().GetRentalStatus(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_consistency_token("RENTAL:x");
  EXPECT_EQ(view->stub().GetRentalStatus(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A rental's outbound delivery through every step, then a return pickup, as
// the delivery service appends them (CourierAdded in between, which no rental
// shows); read with a two-stream token.
TEST_F(ViewIntegrationTest, DeliveryStepsShowOnMyPageAndInTheTimeline) {
  auto view = StartView("a");
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 2, 1000).ok());
  Rent("r-1", "book-1", "cust-1", kT0);
  const std::string rental_token = writer_->last_token();
  const absl::Time t = kT0 + absl::Minutes(1);
  ASSERT_TRUE(writer_->DeliveryStep("DeliveryRequested", "r-1", "OUTBOUND", "", t).ok());
  ASSERT_TRUE(writer_->CourierAdded("kim", t + absl::Seconds(1)).ok());
  ASSERT_TRUE(
      writer_->DeliveryStep("DeliveryAssigned", "r-1", "OUTBOUND", "kim", t + absl::Seconds(1))
          .ok());

  v1::GetMyPageRequest page;
  page.set_customer_id("cust-1");
  page.set_consistency_token(absl::StrCat(rental_token, ",", writer_->last_token()));
  v1::GetMyPageResponse page_resp;
  ASSERT_TRUE(view->stub().GetMyPage(Ctx().get(), page, &page_resp).ok());
  ASSERT_EQ(page_resp.rentals_size(), 1);
  EXPECT_EQ(page_resp.rentals(0).delivery_status(), v1::DELIVERY_STATUS_ASSIGNED);
  EXPECT_EQ(page_resp.rentals(0).courier_id(), "kim");
  EXPECT_EQ(page_resp.rentals(0).status(), v1::RENTAL_STATE_RENTED);
  EXPECT_FALSE(page_resp.rentals(0).has_delivered_at());

  ASSERT_TRUE(
      writer_->DeliveryStep("DeliveryPickedUp", "r-1", "OUTBOUND", "kim", t + absl::Minutes(10))
          .ok());
  ASSERT_TRUE(
      writer_->DeliveryStep("DeliveryDelivered", "r-1", "OUTBOUND", "kim", t + absl::Minutes(40))
          .ok());
  ASSERT_TRUE(
      writer_->DeliveryStep("DeliveryRequested", "r-1", "RETURN", "", kT0 + absl::Hours(70)).ok());
  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-1");
  req.set_consistency_token(writer_->last_token());
  v1::RentalStatusView resp;
  grpc::Status s = view->stub().GetRentalStatus(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::RentalSummary& r = resp.rental();
  EXPECT_EQ(r.delivery_status(), v1::DELIVERY_STATUS_DELIVERED);
  EXPECT_EQ(r.courier_id(), "kim");
  EXPECT_EQ(r.delivery_id(), DerivedId("dlv-", {"r-1", "OUTBOUND"}));
  EXPECT_EQ(r.delivered_at().seconds(), absl::ToUnixSeconds(t + absl::Minutes(40)));
  EXPECT_EQ(r.return_pickup_status(), v1::DELIVERY_STATUS_REQUESTED);
  std::vector<std::string> types;
  for (const auto& e : resp.timeline()) types.push_back(e.event_type());
  EXPECT_EQ(types,
            (std::vector<std::string>{"RentalRequested", "PaymentApproved", "BookRented",
                                      "DeliveryRequested", "DeliveryAssigned", "DeliveryPickedUp",
                                      "DeliveryDelivered", "DeliveryRequested"}));
  EXPECT_EQ(resp.timeline(6).description(), "delivered by courier kim");
  EXPECT_EQ(resp.timeline(7).description(), "return pickup requested in seoul");
  // A rental no delivery event touched shows none.
  Rent("r-2", "book-1", "cust-2", kT0 + absl::Hours(80));
  req.set_rental_id("r-2");
  req.set_consistency_token(writer_->last_token());
  ASSERT_TRUE(view->stub().GetRentalStatus(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.rental().delivery_status(), v1::DELIVERY_STATUS_UNSPECIFIED);
  EXPECT_TRUE(resp.rental().courier_id().empty());
}

TEST_F(ViewIntegrationTest, AQueryWithADeliveryTokenAheadOfTheProjectionWaitsThenAnswers) {
  auto view = StartView("a");
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 1, 1000).ok());
  Rent("r-1", "book-1", "cust-1", kT0);
  ASSERT_TRUE(writer_->DeliveryStep("DeliveryRequested", "r-1", "OUTBOUND", "", kT0).ok());
  const uint64_t next = *js_->LastSequence("DELIVERY") + 1;
  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-1");
  req.set_consistency_token(absl::StrCat(writer_->last_token(), ",DELIVERY:", next));
  v1::RentalStatusView resp;
  grpc::Status status;
  absl::Duration took;
  std::thread query([&] {
    const absl::Time start = absl::Now();
    status = view->stub().GetRentalStatus(Ctx().get(), req, &resp);
    took = absl::Now() - start;
  });
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(writer_->DeliveryStep("DeliveryAssigned", "r-1", "OUTBOUND", "kim", kT0).ok());
  query.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_EQ(resp.rental().delivery_status(), v1::DELIVERY_STATUS_ASSIGNED);

  req.set_consistency_token("DELIVERY:1000000");
  EXPECT_EQ(
      view->stub().GetRentalStatus(Ctx(absl::Milliseconds(400)).get(), req, &resp).error_code(),
      grpc::StatusCode::DEADLINE_EXCEEDED);
}

// A delivery event counts only from producer "delivery": one claiming another
// producer on DELIVERY, or carried on another service's stream, is set aside.
TEST_F(ViewIntegrationTest, DeliveryEventsFromAnotherProducerAreSetAside) {
  auto view = StartView("a");
  std::atomic<int> foreign{0};
  view->service().SetIgnoredObserver(
      [&foreign](absl::string_view, absl::string_view, absl::string_view reason) {
        if (reason == "foreign_producer") ++foreign;
      });
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 1, 1000).ok());
  Rent("r-1", "book-1", "cust-1", kT0);
  ASSERT_TRUE(writer_->DeliveryStep("DeliveryRequested", "r-1", "OUTBOUND", "", kT0).ok());
  events::v1::Envelope forged;
  auto* p = forged.mutable_delivery_assigned();
  p->set_delivery_id(DerivedId("dlv-", {"r-1", "OUTBOUND"}));
  p->set_rental_id("r-1");
  p->set_kind("OUTBOUND");
  p->set_courier_id("mallory");
  events::EnvelopeHeader h;
  h.aggregate_type = "delivery";
  h.aggregate_id = p->delivery_id();
  h.correlation_id = "r-1";
  h.occurred_at = kT0 + absl::Minutes(1);
  h.producer = "payment";
  events::Seal(h, forged);
  ASSERT_TRUE(writer_->Republish(forged, "delivery.rental.r-1.outbound", "forged-1").ok());
  const std::string on_delivery = writer_->last_token();
  ASSERT_TRUE(writer_->Republish(forged, "payment.rental.r-1", "forged-2").ok());

  v1::GetRentalStatusRequest req;
  req.set_rental_id("r-1");
  req.set_consistency_token(absl::StrCat(on_delivery, ",", writer_->last_token()));
  v1::RentalStatusView resp;
  ASSERT_TRUE(view->stub().GetRentalStatus(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.rental().delivery_status(), v1::DELIVERY_STATUS_REQUESTED);
  EXPECT_TRUE(resp.rental().courier_id().empty());
  for (const auto& e : resp.timeline()) EXPECT_NE(e.event_type(), "DeliveryAssigned");
  EXPECT_EQ(foreign.load(), 2);
}

TEST_F(ViewIntegrationTest, WatchMyPageReceivesAChangeAsItIsApplied) {
  auto view = StartView("a");
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 2, 1000).ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchMyPageRequest req;
  req.set_customer_id("cust-1");
  auto reader = view->stub().WatchMyPage(&ctx, req);
  reader->WaitForInitialMetadata();  // the watch is registered
  ASSERT_TRUE(writer_->RentalRequested("r-1", "book-1", "cust-2", 3, 3000, kT0).ok());  // not mine
  ASSERT_TRUE(writer_->RentalRequested("r-2", "book-1", "cust-1", 3, 3000, kT0).ok());
  v1::MyPageChange change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.rental().rental_id(), "r-2");
  EXPECT_EQ(change.rental().status(), v1::RENTAL_STATE_PENDING);
  EXPECT_EQ(change.event_type(), "RentalRequested");
  ASSERT_TRUE(writer_->PaymentApproved("r-2", "cust-1", 3000, kT0).ok());
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.rental().amount_paid().amount_minor(), 3000);
  ctx.TryCancel();
  while (reader->Read(&change)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ViewIntegrationTest, AViewStartedBeforeTheWritersCreatesTheStreamsAndFollowsThem) {
  auto empty = testing::NatsServer::Start();  // no stream exists yet
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto view = ViewInstance::Start((*empty)->url(), dir_.Sub("early"));
  ASSERT_TRUE(view.ok()) << view.status();
  auto js = nats::JetStream::Connect((*empty)->url(), "late-writer", absl::Seconds(5));
  ASSERT_TRUE(js.ok());
  EventWriter writer(**js);
  ASSERT_TRUE(writer.BookAdded("book-1", "Dune", 2, 1000).ok());
  v1::ListCatalogRequest req;
  req.set_consistency_token(writer.last_token());
  v1::ListCatalogResponse resp;
  ASSERT_TRUE((*view)->stub().ListCatalog(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.books_size(), 1);
  EXPECT_EQ(resp.books(0).copies_available(), 2);
}

TEST_F(ViewIntegrationTest, ViewServerThatWasDownCatchesUpOnEverythingItMissed) {
  const std::string address = testing::FreeLoopbackAddress();
  const std::vector<std::string> argv = {testing::ServiceBinary("view"),
                                         "--grpc_address=" + address,
                                         "--admin_address=" + testing::FreeLoopbackAddress(),
                                         "--nats_url=" + nats_->url(),
                                         "--trust_mesh",
                                         "--data_dir=" + dir_.Sub("server")};
  auto server = std::make_unique<testing::Subprocess>(argv, dir_.Sub("view.log"));
  ASSERT_TRUE(testing::WaitForServing(address, absl::Seconds(20)).ok());
  auto stub =
      v1::ViewService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(writer_->BookAdded("book-1", "Dune", 10, 1000).ok());
  Rent("r-0", "book-1", "cust-1", kT0);
  server->Stop(SIGTERM);

  for (int i = 1; i <= 5; ++i)
    Rent(absl::StrCat("r-", i), "book-1", "cust-1", kT0 + absl::Minutes(i));
  ASSERT_TRUE(writer_->ReturnCompleted("r-0", "book-1", "cust-1", 0, kT0 + absl::Hours(1)).ok());
  ASSERT_TRUE(writer_->BookReturned("r-0", "book-1", "cust-1", 0, kT0 + absl::Hours(1)).ok());
  ASSERT_TRUE(
      writer_->DeliveryStep("DeliveryRequested", "r-5", "OUTBOUND", "", kT0 + absl::Hours(1)).ok());
  server = std::make_unique<testing::Subprocess>(argv, dir_.Sub("view.log"));
  ASSERT_TRUE(testing::WaitForServing(address, absl::Seconds(20)).ok());
  // Serving means caught up: no token needed.
  v1::GetMyPageRequest req;
  req.set_customer_id("cust-1");
  v1::GetMyPageResponse resp;
  grpc::Status s = stub->GetMyPage(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.rentals_size(), 6);
  EXPECT_EQ(resp.rentals(0).rental_id(), "r-5");
  EXPECT_EQ(resp.rentals(0).delivery_status(), v1::DELIVERY_STATUS_REQUESTED);
  EXPECT_EQ(resp.rentals(5).status(), v1::RENTAL_STATE_RETURNED);
  v1::ListCatalogRequest cat;
  v1::ListCatalogResponse books;
  ASSERT_TRUE(stub->ListCatalog(Ctx().get(), cat, &books).ok());
  EXPECT_EQ(books.books(0).copies_available(), 5);
  EXPECT_EQ(server->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace rentmesh::view
