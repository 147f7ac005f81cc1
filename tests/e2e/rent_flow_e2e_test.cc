// Issue 2's invariants, proven on the real binaries with a real nats-server and
// RocksDB: rent and pay, replicas racing, kill -9 mid-saga, payment down and
// back, bad input, rebuild from the log, health and reflection.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "reflection_subset.grpc.pb.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using payment::v1::PaymentService;
using rental::v1::RentalService;

class RentFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    system_ = System::Start();
    ASSERT_NE(system_, nullptr);
    payment_ = &system_->Add("payment", "payment");
    ASSERT_TRUE(payment_->Start().ok()) << "payment did not start; see " << system_->dir();
  }

  // Every service did all it needed with its own NATS user's permissions:
  // the server refused nothing (a missing permission shows up here first).
  void TearDown() override {
    if (system_ == nullptr) return;
    system_->StopAll();
    EXPECT_EQ(system_->nats().PermissionViolations(), "") << "see " << system_->dir();
  }

  ServiceProcess& AddRental(const std::string& name, std::vector<std::string> args = {}) {
    args.push_back("--payment_address=" + payment_->address());
    args.push_back("--returns_address=" + testing::FreeLoopbackAddress());
    return system_->Add("rental", name, std::move(args));
  }

  static std::unique_ptr<RentalService::Stub> Rental(const ServiceProcess& p) {
    return RentalService::NewStub(p.Channel());
  }

  static grpc::Status AddBook(RentalService::Stub& stub, const std::string& id, int copies,
                              int64_t fee = 1000) {
    rental::v1::AddBookRequest req;
    req.set_book_id(id);
    req.set_title("Title of " + id);
    req.set_copies(copies);
    req.mutable_daily_fee()->set_currency("KRW");
    req.mutable_daily_fee()->set_amount_minor(fee);
    rental::v1::Book book;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub.AddBook(&ctx, req, &book);
  }

  static grpc::Status Rent(RentalService::Stub& stub, const std::string& customer,
                           const std::string& book, int days, const std::string& request_id,
                           rental::v1::Rental* out, absl::Duration deadline = absl::Seconds(10)) {
    rental::v1::RentBookRequest req;
    req.set_customer_id(customer);
    req.set_book_id(book);
    req.set_days(days);
    req.set_request_id(request_id);
    grpc::ClientContext ctx;
    WithDeadline(ctx, deadline);
    return stub.RentBook(&ctx, req, out);
  }

  static grpc::Status GetBook(RentalService::Stub& stub, const std::string& id,
                              rental::v1::Book* out) {
    rental::v1::GetBookRequest req;
    req.set_book_id(id);
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub.GetBook(&ctx, req, out);
  }

  static grpc::Status GetRental(RentalService::Stub& stub, const std::string& id,
                                rental::v1::Rental* out) {
    rental::v1::GetRentalRequest req;
    req.set_rental_id(id);
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub.GetRental(&ctx, req, out);
  }

  std::vector<payment::v1::Payment> PaymentsOf(const std::string& rental_id) {
    auto stub = PaymentService::NewStub(payment_->Channel());
    payment::v1::ListRentalPaymentsRequest req;
    req.set_rental_id(rental_id);
    payment::v1::ListRentalPaymentsResponse resp;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    grpc::Status st = stub->ListRentalPayments(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.payments().begin(), resp.payments().end()};
  }

  uint64_t RentalStreamLength() {
    auto js = nats::JetStream::Connect(system_->nats().url(), "probe", absl::Seconds(5));
    EXPECT_TRUE(js.ok());
    auto last = (*js)->LastSequence("RENTAL");
    EXPECT_TRUE(last.ok()) << last.status();
    return last.value_or(0);
  }

  std::unique_ptr<System> system_;
  ServiceProcess* payment_ = nullptr;
};

TEST_F(RentFlowTest, ARentalExistsOnlyWithAnApprovedPayment) {
  auto& rental = AddRental("rental");
  ASSERT_TRUE(rental.Start().ok());
  auto stub = Rental(rental);
  ASSERT_TRUE(AddBook(*stub, "dune", 2, 1500).ok());

  rental::v1::Rental r;
  grpc::Status st = Rent(*stub, "alice", "dune", 3, "req-1", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.status(), rental::v1::RENTAL_STATUS_RENTED);
  EXPECT_EQ(r.fee().amount_minor(), 4500);
  EXPECT_FALSE(r.consistency_token().empty());
  auto payments = PaymentsOf(r.rental_id());
  ASSERT_EQ(payments.size(), 1u);
  EXPECT_EQ(payments[0].payment_id(), r.payment_id());
  EXPECT_EQ(payments[0].status(), payment::v1::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(payments[0].amount().amount_minor(), 4500);

  // The same request again: the same rental, no second charge.
  rental::v1::Rental again;
  ASSERT_TRUE(Rent(*stub, "alice", "dune", 3, "req-1", &again).ok());
  EXPECT_EQ(again.rental_id(), r.rental_id());
  EXPECT_EQ(PaymentsOf(r.rental_id()).size(), 1u);

  // Declined (over the payment limit): FAILED_PRECONDITION, no rental, copy kept.
  ASSERT_TRUE(AddBook(*stub, "atlas", 1, 900000).ok());
  rental::v1::Rental declined;
  st = Rent(*stub, "bob", "atlas", 2, "req-2", &declined);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  rental::v1::Book atlas;
  ASSERT_TRUE(GetBook(*stub, "atlas", &atlas).ok());
  EXPECT_EQ(atlas.copies_available(), 1);
  rental::v1::Book dune;
  ASSERT_TRUE(GetBook(*stub, "dune", &dune).ok());
  EXPECT_EQ(dune.copies_available(), 1);
}

TEST_F(RentFlowTest, TwoReplicasRacingForTheLastCopiesNeverRentMoreThanTheCopies) {
  auto& a = AddRental("rental-a");
  auto& b = AddRental("rental-b");
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  auto sa = Rental(a);
  auto sb = Rental(b);
  constexpr int kCopies = 5;
  constexpr int kCustomers = 40;
  ASSERT_TRUE(AddBook(*sa, "last-copies", kCopies).ok());

  std::atomic<int> ok{0}, no_copy{0}, other{0};
  std::vector<std::string> rented(kCustomers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCustomers; ++i) {
    threads.emplace_back([&, i] {
      rental::v1::Rental r;
      grpc::Status st = Rent(i % 2 == 0 ? *sa : *sb, "customer-" + std::to_string(i), "last-copies",
                             1, "race-" + std::to_string(i), &r);
      if (st.ok()) {
        ++ok;
        rented[i] = r.rental_id();
      } else if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        ++no_copy;
      } else {
        ++other;
        ADD_FAILURE() << "unexpected " << st.error_code() << ": " << st.error_message();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kCopies);
  EXPECT_EQ(no_copy.load(), kCustomers - kCopies);

  rental::v1::Book book_a, book_b;
  ASSERT_TRUE(GetBook(*sa, "last-copies", &book_a).ok());
  ASSERT_TRUE(GetBook(*sb, "last-copies", &book_b).ok());
  EXPECT_EQ(book_a.copies_available(), 0);
  EXPECT_EQ(book_b.copies_available(), 0);
  // Every rental is readable on both replicas, paid exactly once.
  for (int i = 0; i < kCustomers; ++i) {
    if (rented[i].empty()) continue;
    rental::v1::Rental on_a, on_b;
    ASSERT_TRUE(GetRental(*sa, rented[i], &on_a).ok());
    ASSERT_TRUE(GetRental(*sb, rented[i], &on_b).ok());
    EXPECT_EQ(on_a.status(), rental::v1::RENTAL_STATUS_RENTED);
    EXPECT_EQ(on_b.version(), on_a.version());
    EXPECT_EQ(PaymentsOf(rented[i]).size(), 1u);
  }
}

TEST_F(RentFlowTest, AReadOnOneReplicaRightAfterAWriteOnTheOtherSeesIt) {
  auto& a = AddRental("rental-a");
  auto& b = AddRental("rental-b");
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  auto sa = Rental(a);
  auto sb = Rental(b);
  for (int i = 0; i < 20; ++i) {
    std::string id = "book-" + std::to_string(i);
    ASSERT_TRUE(AddBook(i % 2 ? *sa : *sb, id, 1).ok());
    rental::v1::Book book;
    grpc::Status st = GetBook(i % 2 ? *sb : *sa, id, &book);
    ASSERT_TRUE(st.ok()) << i << ": " << st.error_message();
    rental::v1::Rental r;
    ASSERT_TRUE(Rent(i % 2 ? *sb : *sa, "reader", id, 1, "ryw-" + id, &r).ok());
    rental::v1::Rental seen;
    st = GetRental(i % 2 ? *sa : *sb, r.rental_id(), &seen);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(seen.status(), rental::v1::RENTAL_STATUS_RENTED);
    rental::v1::Book after;
    ASSERT_TRUE(GetBook(i % 2 ? *sa : *sb, id, &after).ok());
    EXPECT_EQ(after.copies_available(), 0);
  }
}

TEST_F(RentFlowTest, KillBetweenPaymentApprovalAndRecordingEndsConsistentAfterRestart) {
  auto& rental = AddRental("rental", {"--payment_deadline_ms=500", "--reconcile_after_ms=1000",
                                      "--reconcile_interval_ms=200"});
  ASSERT_TRUE(rental.Start().ok());
  auto stub = Rental(rental);
  ASSERT_TRUE(AddBook(*stub, "dune", 2).ok());
  rental.Stop();

  // The same instance (same RocksDB folder), now set to die right after the
  // payment is approved, before the rental is recorded.
  ASSERT_TRUE(rental.Start({"--failpoints=rental.after_payment=crash"}).ok());
  stub = Rental(rental);
  rental::v1::Rental r;
  grpc::Status st = Rent(*stub, "alice", "dune", 2, "crash-1", &r);
  EXPECT_FALSE(st.ok());
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (rental.Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_FALSE(rental.Running()) << "the failpoint did not crash the process";

  const std::string rental_id = DerivedId("rent-", {"alice", "crash-1"});
  auto charged = PaymentsOf(rental_id);
  ASSERT_EQ(charged.size(), 1u) << "payment was taken before the crash";
  EXPECT_EQ(charged[0].status(), payment::v1::PAYMENT_STATUS_APPROVED);

  // Restarted, the system settles by itself: the rental exists with its payment.
  ASSERT_TRUE(rental.Start().ok());
  stub = Rental(rental);
  rental::v1::Rental settled;
  deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (GetRental(*stub, rental_id, &settled).ok() &&
        settled.status() != rental::v1::RENTAL_STATUS_PENDING_PAYMENT) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(settled.status(), rental::v1::RENTAL_STATUS_RENTED);
  EXPECT_EQ(settled.payment_id(), charged[0].payment_id());
  auto payments = PaymentsOf(rental_id);
  ASSERT_EQ(payments.size(), 1u);
  EXPECT_EQ(payments[0].status(), payment::v1::PAYMENT_STATUS_APPROVED);
  rental::v1::Book book;
  ASSERT_TRUE(GetBook(*stub, "dune", &book).ok());
  EXPECT_EQ(book.copies_available(), 1);
}

TEST_F(RentFlowTest, PaymentStoppedFailsFastWithUnavailableAndRentingResumesWhenItIsBack) {
  auto& rental = AddRental("rental", {"--payment_deadline_ms=2000", "--breaker_open_ms=1000"});
  ASSERT_TRUE(rental.Start().ok());
  auto stub = Rental(rental);
  ASSERT_TRUE(AddBook(*stub, "dune", 100).ok());
  payment_->Stop();

  for (int i = 0; i < 8; ++i) {
    rental::v1::Rental r;
    absl::Time start = absl::Now();
    grpc::Status st = Rent(*stub, "alice", "dune", 1, "down-" + std::to_string(i), &r);
    absl::Duration took = absl::Now() - start;
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    EXPECT_NE(st.error_message().find("try again shortly"), std::string::npos)
        << st.error_message();
    EXPECT_LT(took, absl::Milliseconds(1000)) << "attempt " << i << " took " << took;
  }

  ASSERT_TRUE(payment_->Start().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  grpc::Status st;
  int attempt = 0;
  do {
    rental::v1::Rental r;
    st = Rent(*stub, "alice", "dune", 1, "back-" + std::to_string(attempt++), &r);
    if (!st.ok()) absl::SleepFor(absl::Milliseconds(200));
  } while (!st.ok() && absl::Now() < deadline);
  EXPECT_TRUE(st.ok()) << "renting did not resume: " << st.error_message();
}

TEST_F(RentFlowTest, BadInputGetsAClearErrorAndWritesNothing) {
  auto& rental = AddRental("rental");
  ASSERT_TRUE(rental.Start().ok());
  auto stub = Rental(rental);
  ASSERT_TRUE(AddBook(*stub, "dune", 1).ok());
  const uint64_t before = RentalStreamLength();

  rental::v1::Rental r;
  EXPECT_EQ(Rent(*stub, "", "dune", 1, "", &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rent(*stub, "alice", "", 1, "", &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rent(*stub, "alice", "dune", 0, "", &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rent(*stub, "alice", "dune", -1, "", &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rent(*stub, "alice", "no-such-book", 1, "", &r).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(AddBook(*stub, "x", 0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddBook(*stub, "x", 10000000).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddBook(*stub, "x", 1, -10).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddBook(*stub, "x", 1, int64_t{1} << 50).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddBook(*stub, "a.b", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  rental::v1::Rental missing;
  EXPECT_EQ(GetRental(*stub, "nope", &missing).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RentalStreamLength(), before);
}

TEST_F(RentFlowTest, AServiceRestartedWithItsStoreDeletedRebuildsFromJetStream) {
  auto& rental = AddRental("rental");
  ASSERT_TRUE(rental.Start().ok());
  auto stub = Rental(rental);
  ASSERT_TRUE(AddBook(*stub, "dune", 3).ok());
  rental::v1::Rental r1, r2;
  ASSERT_TRUE(Rent(*stub, "alice", "dune", 2, "a", &r1).ok());
  ASSERT_TRUE(Rent(*stub, "bob", "dune", 4, "b", &r2).ok());
  rental::v1::Book before;
  ASSERT_TRUE(GetBook(*stub, "dune", &before).ok());
  rental.Stop();
  std::filesystem::remove_all(rental.data_dir());

  ASSERT_TRUE(rental.Start().ok());
  stub = Rental(rental);
  rental::v1::Book after;
  ASSERT_TRUE(GetBook(*stub, "dune", &after).ok());
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  for (const auto* r : {&r1, &r2}) {
    rental::v1::Rental again;
    ASSERT_TRUE(GetRental(*stub, r->rental_id(), &again).ok());
    EXPECT_EQ(again.SerializeAsString(), r->SerializeAsString());
  }
}

TEST_F(RentFlowTest, EveryServerOffersHealthAndReflection) {
  auto& rental = AddRental("rental");
  ASSERT_TRUE(rental.Start().ok());
  for (ServiceProcess* p : {&rental, payment_}) {
    auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(p->Channel());
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(5));
    auto stream = stub->ServerReflectionInfo(&ctx);
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    ASSERT_TRUE(stream->Write(req));
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    std::set<std::string> names;
    for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
    EXPECT_TRUE(names.count("grpc.health.v1.Health")) << p->address();
    EXPECT_TRUE(names.count("grpc.reflection.v1alpha.ServerReflection"));
    EXPECT_TRUE(names.count("rentmesh.rental.v1.RentalService") ||
                names.count("rentmesh.payment.v1.PaymentService"));
    // describe: the file defining a method is served too.
    req.set_file_containing_symbol(p == &rental ? "rentmesh.rental.v1.RentalService"
                                                : "rentmesh.payment.v1.PaymentService");
    ASSERT_TRUE(stream->Write(req));
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_GT(resp.file_descriptor_response().file_descriptor_proto_size(), 0);
    stream->WritesDone();
  }
}

}  // namespace
}  // namespace rentmesh::e2e
