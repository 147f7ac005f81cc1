// The payment service over a real nats-server and real RocksDB, in process.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "integration/payment_replica.h"
#include "integration/payment_test_support.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::payment::testing {
namespace {

using Code = grpc::StatusCode;

std::string FeeId(const std::string& rental_id) {
  return DerivedId("pay-", {rental_id, "RENTAL_FEE"});
}

class PaymentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = rentmesh::testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
  }

  std::unique_ptr<PaymentReplica> StartReplica(const std::string& name,
                                               PaymentReplica::Options options = {}) {
    auto r = PaymentReplica::Start(nats_->url(), dir_.Sub(name), options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  uint64_t PaymentStreamLast(PaymentReplica& r) {
    absl::StatusOr<uint64_t> last = r.js().LastSequence(events::kPaymentStream);
    EXPECT_TRUE(last.ok()) << last.status();
    return last.ok() ? *last : 0;
  }

  rentmesh::testing::TempDir dir_;
  std::unique_ptr<rentmesh::testing::NatsServer> nats_;
};

TEST_F(PaymentIntegrationTest, PayThenRetryReturnsTheSamePaymentAndWritesOneEvent) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  Call first = Pay(a->stub(), PayRequestFor("rent-1", 4500));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.payment.payment_id(), FeeId("rent-1"));
  EXPECT_EQ(first.payment.status(), v1::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(first.payment.kind(), v1::PAYMENT_KIND_RENTAL_FEE);
  EXPECT_EQ(first.payment.amount().amount_minor(), 4500);
  EXPECT_EQ(first.payment.version(), 1u);
  EXPECT_EQ(first.payment.consistency_token(), "PAYMENT:1");

  Call retry = Pay(a->stub(), PayRequestFor("rent-1", 4500));
  ASSERT_TRUE(retry.status.ok()) << retry.status.error_message();
  EXPECT_EQ(retry.payment.SerializeAsString(), first.payment.SerializeAsString());
  EXPECT_EQ(PaymentStreamLast(*a), 1u);
  EXPECT_EQ(CountPaymentEvents(a->js(), "PaymentApproved"), 1);
}

TEST_F(PaymentIntegrationTest, EventsCarryCorrelationCausationProducerAndTheCallersTrace) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  Call paid = Pay(a->stub(), PayRequestFor("rent-trace", 1000),
                  {{"traceparent", traceparent}, {"x-request-id", "req-42"}});
  ASSERT_TRUE(paid.status.ok()) << paid.status.error_message();
  auto messages = ReadStream(a->js(), events::kPaymentStream, "payment.>");
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->size(), 1u);
  const nats::StreamMessage& m = (*messages)[0];
  EXPECT_EQ(m.subject, "payment.rental.rent-trace");
  EXPECT_EQ(m.Header("traceparent"), traceparent);
  auto envelope = events::ParseEnvelope(m);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->event_type(), "PaymentApproved");
  EXPECT_EQ(envelope->correlation_id(), "rent-trace");
  EXPECT_EQ(envelope->causation_id(), "request:req-42");
  EXPECT_EQ(envelope->producer(), "payment");
  EXPECT_EQ(envelope->aggregate_id(), "rent-trace");
  EXPECT_EQ(envelope->aggregate_version(), 1u);
  EXPECT_EQ(envelope->trace().traceparent(), traceparent);
  EXPECT_EQ(envelope->payment_approved().payment_id(), paid.payment.payment_id());
}

TEST_F(PaymentIntegrationTest, DeclinedPayIsFailedPreconditionAndItsRetryIsDeclinedAgain) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  Call first = Pay(a->stub(), PayRequestFor("rent-big", 1'000'001));
  EXPECT_EQ(first.status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_NE(first.status.error_message().find("amount exceeds the per-payment limit"),
            std::string::npos);
  Call retry = Pay(a->stub(), PayRequestFor("rent-big", 1'000'001));
  EXPECT_EQ(retry.status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_EQ(PaymentStreamLast(*a), 1u);
  Call seen = GetPayment(a->stub(), FeeId("rent-big"));
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.payment.status(), v1::PAYMENT_STATUS_DECLINED);
  EXPECT_EQ(seen.payment.decline_reason(), "amount exceeds the per-payment limit");
}

TEST_F(PaymentIntegrationTest, ReusedRentalKeyWithAnotherAmountOrCustomerIsAlreadyExists) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(Pay(a->stub(), PayRequestFor("rent-1", 4500)).status.ok());
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-1", 4600)).status.error_code(),
            Code::ALREADY_EXISTS);
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-1", 4500, "bob")).status.error_code(),
            Code::ALREADY_EXISTS);
  EXPECT_EQ(PaymentStreamLast(*a), 1u);
}

TEST_F(PaymentIntegrationTest, TwoReplicasRacingPayForTheSameRentalWriteExactlyOneEventEach) {
  auto a = StartReplica("a");
  auto b = StartReplica("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRentals = 20;
  for (int i = 0; i < kRentals; ++i) {
    const std::string rental = absl::StrCat("rent-race-", i);
    Call on_a, on_b;
    std::thread ta([&] { on_a = Pay(a->stub(), PayRequestFor(rental, 1000 + i)); });
    std::thread tb([&] { on_b = Pay(b->stub(), PayRequestFor(rental, 1000 + i)); });
    ta.join();
    tb.join();
    ASSERT_TRUE(on_a.status.ok()) << on_a.status.error_message();
    ASSERT_TRUE(on_b.status.ok()) << on_b.status.error_message();
    EXPECT_EQ(on_a.payment.payment_id(), on_b.payment.payment_id());
    EXPECT_EQ(on_a.payment.created_at().SerializeAsString(),
              on_b.payment.created_at().SerializeAsString());
    EXPECT_EQ(on_a.payment.consistency_token(), on_b.payment.consistency_token());
  }
  EXPECT_EQ(PaymentStreamLast(*a), static_cast<uint64_t>(kRentals));
  EXPECT_EQ(CountPaymentEvents(a->js(), "PaymentApproved"), kRentals);
}

TEST_F(PaymentIntegrationTest, GetPaymentOnReplicaBRightAfterPayOnReplicaAFindsIt) {
  auto a = StartReplica("a");
  auto b = StartReplica("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 20; ++i) {
    const std::string rental = absl::StrCat("rent-ryw-", i);
    Call paid = Pay(a->stub(), PayRequestFor(rental, 700));
    ASSERT_TRUE(paid.status.ok()) << paid.status.error_message();
    Call seen = GetPayment(b->stub(), paid.payment.payment_id());
    ASSERT_TRUE(seen.status.ok()) << i << ": " << seen.status.error_message();
    EXPECT_EQ(seen.payment.SerializeAsString(), paid.payment.SerializeAsString());
    // A refund on B right after the pay on A is decided on the fresh state too.
    Call refunded = Refund(b->stub(), paid.payment.payment_id(), "test");
    ASSERT_TRUE(refunded.status.ok()) << refunded.status.error_message();
    Call seen_on_a = GetPayment(a->stub(), paid.payment.payment_id());
    EXPECT_EQ(seen_on_a.payment.status(), v1::PAYMENT_STATUS_REFUNDED);
  }
  grpc::ClientContext ctx;
  v1::ListRentalPaymentsRequest req;
  req.set_rental_id("rent-ryw-3");
  v1::ListRentalPaymentsResponse resp;
  ASSERT_TRUE(b->stub().ListRentalPayments(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.payments_size(), 1);
  EXPECT_EQ(resp.payments(0).status(), v1::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(resp.payments(0).version(), 2u);
}

TEST_F(PaymentIntegrationTest, ReplicaRestartedWithItsStoreDeletedRebuildsAndAnswersTheSame) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  std::vector<v1::Payment> before;
  for (int i = 0; i < 10; ++i) {
    Call paid = Pay(a->stub(), PayRequestFor(absl::StrCat("rent-rb-", i), 100 * (i + 1)));
    ASSERT_TRUE(paid.status.ok());
  }
  ASSERT_TRUE(Refund(a->stub(), FeeId("rent-rb-3"), "damaged").status.ok());
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-rb-big", 9'000'000)).status.error_code(),
            Code::FAILED_PRECONDITION);
  for (int i = 0; i < 10; ++i) {
    before.push_back(GetPayment(a->stub(), FeeId(absl::StrCat("rent-rb-", i))).payment);
  }
  const uint64_t last = PaymentStreamLast(*a);
  a.reset();
  std::filesystem::remove_all(dir_.Sub("a"));

  auto rebuilt = StartReplica("a");
  ASSERT_NE(rebuilt, nullptr);
  for (int i = 0; i < 10; ++i) {
    Call seen = GetPayment(rebuilt->stub(), FeeId(absl::StrCat("rent-rb-", i)));
    ASSERT_TRUE(seen.status.ok()) << seen.status.error_message();
    EXPECT_EQ(seen.payment.SerializeAsString(), before[i].SerializeAsString()) << i;
  }
  Call retry = Pay(rebuilt->stub(), PayRequestFor("rent-rb-0", 100));
  ASSERT_TRUE(retry.status.ok());
  EXPECT_EQ(retry.payment.SerializeAsString(), before[0].SerializeAsString());
  EXPECT_EQ(Pay(rebuilt->stub(), PayRequestFor("rent-rb-big", 9'000'000)).status.error_code(),
            Code::FAILED_PRECONDITION);
  EXPECT_EQ(PaymentStreamLast(*rebuilt), last);
}

TEST_F(PaymentIntegrationTest, BadInputIsInvalidArgumentAndWritesNothing) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  std::vector<v1::PayRequest> bad;
  bad.push_back(PayRequestFor("", 100));
  bad.push_back(PayRequestFor("rent-1", 100, ""));
  bad.push_back(PayRequestFor("rent-1", 0));
  bad.push_back(PayRequestFor("rent-1", -100));
  bad.push_back(PayRequestFor(std::string(129, 'r'), 100));
  bad.push_back(PayRequestFor("rent.1", 100));
  bad.push_back(PayRequestFor("rent-1", INT64_MAX));
  v1::PayRequest no_currency = PayRequestFor("rent-1", 100);
  no_currency.mutable_amount()->clear_currency();
  bad.push_back(no_currency);
  v1::PayRequest no_amount = PayRequestFor("rent-1", 100);
  no_amount.clear_amount();
  bad.push_back(no_amount);
  for (const auto& req : bad) {
    Call c = Pay(a->stub(), req);
    EXPECT_EQ(c.status.error_code(), Code::INVALID_ARGUMENT) << req.ShortDebugString();
    EXPECT_FALSE(c.status.error_message().empty());
  }
  EXPECT_EQ(Refund(a->stub(), "").status.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(GetPayment(a->stub(), std::string(200, 'p')).status.error_code(),
            Code::INVALID_ARGUMENT);
  EXPECT_EQ(PaymentStreamLast(*a), 0u);
}

TEST_F(PaymentIntegrationTest, RefundTransitionsAreEnforcedOverGrpc) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(Pay(a->stub(), PayRequestFor("rent-ok", 500)).status.ok());
  (void)Pay(a->stub(), PayRequestFor("rent-no", 5'000'000));
  Call refunded = Refund(a->stub(), FeeId("rent-ok"), "customer asked");
  ASSERT_TRUE(refunded.status.ok()) << refunded.status.error_message();
  EXPECT_EQ(refunded.payment.status(), v1::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(refunded.payment.refunded().amount_minor(), 500);
  EXPECT_EQ(refunded.payment.refund_reason(), "customer asked");
  EXPECT_EQ(refunded.payment.consistency_token(), "PAYMENT:3");
  Call again = Refund(a->stub(), FeeId("rent-ok"), "twice");
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.payment.SerializeAsString(), refunded.payment.SerializeAsString());
  EXPECT_EQ(Refund(a->stub(), FeeId("rent-no")).status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_EQ(Refund(a->stub(), FeeId("rent-unknown")).status.error_code(), Code::NOT_FOUND);
  EXPECT_EQ(GetPayment(a->stub(), FeeId("rent-unknown")).status.error_code(), Code::NOT_FOUND);
  EXPECT_EQ(PaymentStreamLast(*a), 3u);
}

// Pay is an internal saga step: no customer may call it, not even for
// themselves (in the mesh, only a call without identity headers is a service).
TEST_F(PaymentIntegrationTest, ACustomerCanNeitherPayNorReadAnotherCustomer) {
  auto a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  const std::vector<std::pair<std::string, std::string>> bob = {{"x-rentmesh-subject", "bob"}};
  const std::vector<std::pair<std::string, std::string>> alice = {{"x-rentmesh-subject", "alice"}};
  const std::vector<std::pair<std::string, std::string>> librarian = {
      {"x-rentmesh-subject", "lib-1"}, {"x-rentmesh-roles", "librarian"}};
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-1", 100, "alice"), bob).status.error_code(),
            Code::PERMISSION_DENIED);
  EXPECT_EQ(PaymentStreamLast(*a), 0u);
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-1", 100, "alice"), alice).status.error_code(),
            Code::PERMISSION_DENIED);
  EXPECT_EQ(Pay(a->stub(), PayRequestFor("rent-1", 100, "alice"), librarian).status.error_code(),
            Code::PERMISSION_DENIED);
  EXPECT_EQ(PaymentStreamLast(*a), 0u);
  ASSERT_TRUE(Pay(a->stub(), PayRequestFor("rent-1", 100, "alice")).status.ok());
  EXPECT_EQ(GetPayment(a->stub(), FeeId("rent-1"), bob).status.error_code(),
            Code::PERMISSION_DENIED);
  EXPECT_TRUE(GetPayment(a->stub(), FeeId("rent-1"), alice).status.ok());
  EXPECT_TRUE(GetPayment(a->stub(), FeeId("rent-1"), librarian).status.ok());
}

}  // namespace
}  // namespace rentmesh::payment::testing
