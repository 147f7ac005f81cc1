#include "chaos_system.h"

#include <signal.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"

namespace rentmesh::chaos {
namespace {

std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChaosSystem>> ChaosSystem::Start(Nats nats, NetnsLab* lab) {
  std::unique_ptr<ChaosSystem> s(new ChaosSystem());
  int replicas = 1;
  if (nats == Nats::kSingle) {
    auto server = testing::NatsServer::Start();
    if (!server.ok()) return server.status();
    s->nats_ = std::move(*server);
  } else {
    replicas = 3;
    // The users and permissions of a real run, on every node.
    absl::StatusOr<testing::NatsAuth> auth = testing::MakeNatsAuth(s->dir_.Sub("nats-auth"));
    if (!auth.ok()) return auth.status();
    s->auth_ = std::move(*auth);
    absl::StatusOr<std::unique_ptr<testing::NatsCluster>> cluster;
    if (lab == nullptr) {
      cluster = testing::NatsCluster::StartOnLoopback(3, s->auth_.block);
    } else {
      std::vector<testing::NatsNodeAddress> nodes(3);
      for (int i = 0; i < 3; ++i) nodes[i] = {lab->Host(i), 4222, 6222, 8222, lab->Namespace(i)};
      cluster = testing::NatsCluster::Start(std::move(nodes), s->auth_.block);
    }
    if (!cluster.ok()) return cluster.status();
    s->cluster_ = std::move(*cluster);
    if (auto st = s->cluster_->WaitHealthy(absl::Seconds(30)); !st.ok()) return st;
    // A quorum guard next to each node, as the chart runs one in each NATS
    // pod (docs/cluster.md case 8). Each reconnects by itself after a kill.
    for (int i = 0; i < s->cluster_->size(); ++i) {
      const testing::NatsNodeAddress& a = s->cluster_->address(i);
      s->guards_.push_back(std::make_unique<testing::Subprocess>(
          std::vector<std::string>{
              testing::ToolBinary("quorum_guard"),
              absl::StrCat("--nats_url=nats://", s->auth_.client_user, ":",
                           s->auth_.client_password, "@", a.host, ":", a.client_port),
              "--admin_address=" + testing::FreeLoopbackAddress()},
          s->dir_.Sub(absl::StrCat("quorum-guard-", i, ".log"))));
    }
  }
  const std::string r = absl::StrCat("--stream_replicas=", replicas);
  auto& pay1 = s->Add("payment", "payment-1", {r});
  auto& pay2 = s->Add("payment", "payment-2", {r});
  auto& returns = s->Add("returns", "returns", {r});
  const std::vector<std::string> rental_args = {r, "--returns_address=" + returns.address()};
  // Each rental replica spreads Pay over both payment replicas (in a
  // different order, so each prefers its own).
  auto with = [&](const std::string& payments) {
    std::vector<std::string> a = rental_args;
    a.push_back("--payment_address=" + payments);
    return a;
  };
  s->Add("rental", "rental-1", with(pay1.address() + "," + pay2.address()));
  s->Add("rental", "rental-2", with(pay2.address() + "," + pay1.address()));
  s->Add("view", "view", {r});
  // Payment follows RENTAL, which rental creates: rental starts first (it
  // serves before payment is reachable).
  s->order_ = {"returns", "rental-1", "rental-2", "payment-1", "payment-2", "view"};
  for (const std::string& name : s->order_) {
    if (auto st = s->services_[name]->Start(); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat(name, ": ", st.message(), "; its log ends: ",
                                                  LastLine(s->dir_.Sub(name + ".log"))));
    }
  }
  return s;
}

e2e::ServiceProcess& ChaosSystem::Add(const std::string& service, const std::string& name,
                                      std::vector<std::string> args) {
  // Each service connects as its own NATS user.
  std::vector<std::string> nats_flags;
  if (nats_) {
    nats_flags = nats_->ServiceFlags(service);
  } else {
    nats_flags = {"--nats_url=" + cluster_->urls(),
                  "--nats_credentials=" + auth_.CredentialsFile(service)};
  }
  // Callers are verified as in a real run without a mesh: the clients send a
  // librarian's token, rental signs its calls to payment and returns.
  std::vector<std::string> identity = e2e::Identity().VerifyFlags();
  if (service == "rental") {
    for (std::string& f : e2e::Identity().SignFlags()) identity.push_back(std::move(f));
  }
  args.insert(args.begin(), identity.begin(), identity.end());
  auto p = std::make_unique<e2e::ServiceProcess>(service, name, std::move(nats_flags),
                                                 dir_.Sub(name), dir_.path(), std::move(args));
  order_.push_back(name);
  return *(services_[name] = std::move(p));
}

e2e::ServiceProcess* ChaosSystem::Service(const std::string& target) {
  auto it = services_.find(target);
  return it == services_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ChaosSystem::ServiceTargets() const { return order_; }

std::vector<std::string> ChaosSystem::NatsTargets() const {
  if (nats_) return {"nats"};
  std::vector<std::string> t;
  for (int i = 0; i < cluster_->size(); ++i) t.push_back(absl::StrCat("nats-", i));
  return t;
}

namespace {
int NodeOf(const std::string& target) {
  int i = -1;
  (void)absl::SimpleAtoi(target.substr(5), &i);
  return i;
}
}  // namespace

void ChaosSystem::Kill(const std::string& target) {
  if (auto* p = Service(target)) {
    p->Kill();
  } else if (target == "nats" && nats_) {
    if (nats_->pid() > 0) kill(nats_->pid(), SIGKILL);
  } else if (cluster_) {
    cluster_->Kill(NodeOf(target));
  }
}

void ChaosSystem::Terminate(const std::string& target) {
  if (auto* p = Service(target)) {
    p->Stop();
  } else if (target == "nats" && nats_) {
    nats_->Stop();
  } else if (cluster_) {
    cluster_->Stop(NodeOf(target));
  }
}

absl::Status ChaosSystem::Restart(const std::string& target) {
  if (auto* p = Service(target)) {
    p->StartNoWait();
    return absl::OkStatus();
  }
  if (target == "nats" && nats_) return nats_->Restart();
  return cluster_->Restart(NodeOf(target));
}

absl::Status ChaosSystem::WaitUp(const std::string& target, absl::Duration timeout) {
  if (auto* p = Service(target)) return testing::WaitForServing(p->address(), timeout);
  if (cluster_) return cluster_->WaitHealthy(timeout);
  return absl::OkStatus();
}

absl::Status ChaosSystem::EnsureAllUp(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status healthy;
  if (nats_ && !nats_->Running()) {
    if (auto s = nats_->Restart(); !s.ok()) return s;
  }
  if (cluster_) {
    for (int i = 0; i < cluster_->size(); ++i) {
      if (!cluster_->Running(i)) {
        if (auto s = cluster_->Restart(i); !s.ok()) return s;
      }
    }
    // Not healthy: reported at the end; the services are brought up anyway.
    healthy = cluster_->WaitHealthy(deadline - absl::Now());
  }
  for (const std::string& name : order_) {
    if (!services_[name]->Running()) services_[name]->StartNoWait();
  }
  for (const std::string& name : order_) {
    if (auto s = testing::WaitForServing(services_[name]->address(),
                                         std::max(deadline - absl::Now(), absl::Seconds(30)));
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));
    }
  }
  return healthy;
}

absl::StatusOr<std::vector<std::string>> ChaosSystem::AddBooks(int books, int copies) {
  auto stub = rental::v1::RentalService::NewStub(services_["rental-1"]->Channel());
  std::vector<std::string> ids;
  for (int i = 0; i < books; ++i) {
    rental::v1::AddBookRequest add;
    add.set_book_id(absl::StrCat("book-", i));
    add.set_title(absl::StrCat("Book ", i));
    add.set_copies(copies);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1000);
    rental::v1::Book out;
    grpc::ClientContext ctx;
    e2e::WithDeadline(ctx, absl::Seconds(10));
    grpc::Status st = stub->AddBook(&ctx, add, &out);
    if (!st.ok()) return absl::InternalError(absl::StrCat("AddBook: ", st.error_message()));
    ids.push_back(add.book_id());
  }
  return ids;
}

std::string ChaosSystem::nats_urls() const {
  if (nats_) return nats_->url();
  std::vector<std::string> urls;
  for (int i = 0; i < cluster_->size(); ++i) {
    const testing::NatsNodeAddress& a = cluster_->address(i);
    urls.push_back(absl::StrCat("nats://", auth_.client_user, ":", auth_.client_password, "@",
                                a.host, ":", a.client_port));
  }
  return absl::StrJoin(urls, ",");
}

std::vector<std::string> ChaosSystem::rental_addresses() const {
  return {services_.at("rental-1")->address(), services_.at("rental-2")->address()};
}

std::string ChaosSystem::view_address() const { return services_.at("view")->address(); }

}  // namespace rentmesh::chaos
