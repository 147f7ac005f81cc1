// State snapshots on the real binaries: rental_server snapshots its state as
// it goes, and a replica restarted with an empty data dir (a pod's emptyDir)
// loads the newest snapshot, replays only the tail and answers for every
// rental, all with rental's own NATS permissions.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using rental::v1::RentalService;

TEST(SnapshotE2eTest, AReplicaRestartedEmptyLoadsTheSnapshotAndReplaysOnlyTheTail) {
  auto system = System::Start();
  ASSERT_NE(system, nullptr);
  ServiceProcess& payment = system->Add("payment", "payment");
  ServiceProcess& returns = system->Add("returns", "returns");
  ServiceProcess& rental = system->Add(
      "rental", "rental",
      {"--payment_address=" + payment.address(), "--returns_address=" + returns.address(),
       "--snapshot_every_events=20", "--snapshot_interval=0"});
  ASSERT_TRUE(payment.Start().ok());
  ASSERT_TRUE(returns.Start().ok());
  ASSERT_TRUE(rental.Start().ok());
  auto stub = RentalService::NewStub(rental.Channel());
  {
    rental::v1::AddBookRequest add;
    add.set_book_id("dune");
    add.set_title("Dune");
    add.set_copies(100);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1000);
    rental::v1::Book book;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    ASSERT_TRUE(stub->AddBook(&ctx, add, &book).ok());
  }
  std::vector<std::string> rentals;
  auto rent = [&](int n) {
    for (int i = 0; i < n; ++i) {
      rental::v1::RentBookRequest req;
      req.set_customer_id(absl::StrCat("c", rentals.size()));
      req.set_book_id("dune");
      req.set_days(2);
      req.set_request_id(absl::StrCat("r", rentals.size()));
      rental::v1::Rental r;
      grpc::ClientContext ctx;
      WithDeadline(ctx, absl::Seconds(10));
      grpc::Status st = stub->RentBook(&ctx, req, &r);
      ASSERT_TRUE(st.ok()) << st.error_message();
      rentals.push_back(r.rental_id());
    }
  };
  rent(15);  // 1 + 2 events per rental
  auto js = nats::JetStream::Connect(system->nats().url(), "test", absl::Seconds(5));
  ASSERT_TRUE(js.ok()) << js.status();
  uint64_t snapshot_seq = 0;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto m = (*js)->LastMessage("SNAPSHOT_RENTAL", "snapshot.rental.manifest");
        if (m.ok()) snapshot_seq = m->sequence;
        return m.ok();
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << "rental_server took no snapshot";
  rent(3);  // the tail
  rental.Stop();
  std::filesystem::remove_all(rental.data_dir());

  ASSERT_TRUE(rental.Start().ok());
  stub = RentalService::NewStub(rental.Channel());
  for (const std::string& id : rentals) {
    rental::v1::GetRentalRequest req;
    req.set_rental_id(id);
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    grpc::Status st = stub->GetRental(&ctx, req, &r);
    ASSERT_TRUE(st.ok()) << id << ": " << st.error_message();
    EXPECT_EQ(r.rental_id(), id);
    EXPECT_EQ(r.status(), rental::v1::RENTAL_STATUS_RENTED) << id;
  }
  system->StopAll();
  std::stringstream log;
  log << std::ifstream(absl::StrCat(system->dir(), "/rental.log")).rdbuf();
  EXPECT_TRUE(absl::StrContains(log.str(), "state loaded from a snapshot"))
      << "see " << system->dir();
  EXPECT_EQ(system->nats().PermissionViolations(), "") << "see " << system->dir();
}

}  // namespace
}  // namespace rentmesh::e2e
