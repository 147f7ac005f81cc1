// The auditor on a stream written by hand: it must fold with the stream rules
// and count what a replica that folded every event would have got wrong.
#include "auditor.h"

#include <gtest/gtest.h>

#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::chaos {
namespace {

namespace ev = ::rentmesh::events::v1;

class AuditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto nats = testing::NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = std::move(*nats);
    auto js = nats::JetStream::Connect(nats_->url(), "auditor-test", absl::Seconds(10));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
    for (const auto& [stream, subject] :
         {std::pair{"RENTAL", "rental.>"}, {"PAYMENT", "payment.>"}, {"RETURNS", "returns.>"}}) {
      ASSERT_TRUE(js_->EnsureStream({stream, {subject}}).ok());
    }
  }

  void Append(const std::string& subject, const std::string& producer, ev::Envelope env) {
    events::EnvelopeHeader h;
    h.aggregate_type = producer;
    h.aggregate_id = subject;
    h.producer = producer;
    h.occurred_at = absl::Now();
    events::Seal(h, env);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(env, subject, std::nullopt)).ok());
  }
  void Rental(ev::Envelope env) { Append("rental.book.b", "rental", std::move(env)); }

  ev::Envelope Requested(const std::string& id, const std::string& request) {
    ev::Envelope e;
    auto* p = e.mutable_rental_requested();
    p->set_rental_id(id);
    p->set_book_id("b");
    p->set_customer_id("c");
    p->set_request_id(request);
    return e;
  }
  ev::Envelope Rented(const std::string& id) {
    ev::Envelope e;
    e.mutable_book_rented()->set_rental_id(id);
    e.mutable_book_rented()->set_book_id("b");
    return e;
  }
  ev::Envelope Cancelled(const std::string& id) {
    ev::Envelope e;
    e.mutable_rental_cancelled()->set_rental_id(id);
    e.mutable_rental_cancelled()->set_book_id("b");
    return e;
  }
  void Approved(const std::string& id) {
    ev::Envelope e;
    e.mutable_payment_approved()->set_rental_id(id);
    e.mutable_payment_approved()->mutable_amount()->set_amount_minor(1000);
    Append("payment.rental." + id, "payment", std::move(e));
  }
  void Refunded(const std::string& id) {
    ev::Envelope e;
    e.mutable_payment_refunded()->set_rental_id(id);
    e.mutable_payment_refunded()->mutable_amount()->set_amount_minor(1000);
    Append("payment.rental." + id, "payment", std::move(e));
  }

  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> js_;
};

TEST_F(AuditorTest, ASecondCancelChangesNothingAndTheReservationItFreedIsOversold) {
  ev::Envelope added;
  added.mutable_book_added()->set_book_id("b");
  added.mutable_book_added()->set_copies(1);
  Rental(added);
  Rental(Requested("r1", "q1"));
  Rental(Rented("r1"));
  Approved("r1");
  Rental(Cancelled("r1"));
  Refunded("r1");
  Rental(Cancelled("r1"));  // does not apply: r1 is CANCELLED
  Rental(Requested("r2", "q2"));
  Rental(Rented("r2"));
  Approved("r2");
  Rental(Requested("r3", "q3"));  // beyond the one copy: r2 holds it
  Rental(Rented("r3"));
  Approved("r3");

  AuditInput in;
  in.nats_urls = nats_->url();
  in.settle = absl::ZeroDuration();
  OpRecord ok;
  ok.kind = OpKind::kRent;
  ok.customer_id = "c";
  ok.request_id = "q3";
  ok.rental_id = "r3";
  ok.final_code = grpc::StatusCode::OK;
  ok.ok_rental_ids = {"r3"};
  in.records.push_back(ok);
  OpRecord refused = ok;
  refused.request_id = "q2";
  refused.rental_id.clear();
  refused.ok_rental_ids.clear();
  refused.final_code = grpc::StatusCode::FAILED_PRECONDITION;
  in.records.push_back(refused);

  absl::StatusOr<AuditReport> report = Audit(in);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->inapplicable["RentalCancelled"], 1);
  EXPECT_EQ(report->inapplicable["RentalRequested"], 1);
  EXPECT_EQ(report->inapplicable["BookRented"], 1);
  EXPECT_EQ(report->books_over_copies_in_raw_fold, 0);
  EXPECT_EQ(report->violations["acknowledged rentals lost"], 1);
  EXPECT_EQ(report->violations["oversold (rental beyond the copies acted on)"], 1);
  EXPECT_EQ(report->violations["charges without a rental"], 1);
  EXPECT_EQ(report->violations["definite refusals that later completed"], 1);
  EXPECT_EQ(report->violations["cancels without a refund"], 0);
  EXPECT_EQ(report->total(), 4);
}

TEST_F(AuditorTest, ACleanLifecycleHasNoViolation) {
  ev::Envelope added;
  added.mutable_book_added()->set_book_id("b");
  added.mutable_book_added()->set_copies(1);
  Rental(added);
  Rental(Requested("r1", "q1"));
  Rental(Rented("r1"));
  Approved("r1");
  Rental(Cancelled("r1"));
  Refunded("r1");
  AuditInput in;
  in.nats_urls = nats_->url();
  in.settle = absl::ZeroDuration();
  absl::StatusOr<AuditReport> report = Audit(in);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->total(), 0);
  EXPECT_TRUE(report->inapplicable.empty());
  EXPECT_EQ(report->rentals, 1);
}

}  // namespace
}  // namespace rentmesh::chaos
