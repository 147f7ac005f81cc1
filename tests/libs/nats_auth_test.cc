// NATS itself refuses what a service's user may not do: anonymous clients,
// wrong passwords, and publishing or subscribing outside its permissions
// (made by tools/nats_auth.sh, the same ones tools/run.sh and the chart use).
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/snapshot/state_snapshots.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::nats {
namespace {

class NatsAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto admin = JetStream::Connect(server_->url(), "test", absl::Seconds(5));
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
  }

  // Connects as a service's own user, as its binary would.
  std::unique_ptr<JetStream> As(const std::string& user) {
    ConnectOptions o;
    o.credentials_file = server_->auth().CredentialsFile(user);
    auto js = JetStream::Connect(server_->plain_url(), user, absl::Seconds(5), o);
    EXPECT_TRUE(js.ok()) << user << ": " << js.status();
    return js.ok() ? std::move(*js) : nullptr;
  }

  static PublishRequest Forged(const std::string& subject) {
    PublishRequest r;
    r.subject = subject;
    r.data = "forged";
    r.headers[kEventTypeHeader] = "PaymentApproved";
    r.timeout = absl::Milliseconds(500);
    return r;
  }

  uint64_t Last(const std::string& stream) {
    auto last = admin_->LastSequence(stream);
    EXPECT_TRUE(last.ok()) << last.status();
    return last.value_or(~0ull);
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<JetStream> admin_;
};

TEST_F(NatsAuthTest, AnonymousConnectionIsRefused) {
  auto js = JetStream::Connect(server_->plain_url(), "outsider", absl::Seconds(2));
  ASSERT_FALSE(js.ok());
  EXPECT_EQ(js.status().code(), absl::StatusCode::kUnauthenticated) << js.status();
}

TEST_F(NatsAuthTest, WrongPasswordIsRefusedAndNotLogged) {
  std::string path = server_->auth().dir + "/wrong.creds";
  std::ofstream(path) << "user=payment\npassword=not-the-password\n";
  ConnectOptions o;
  o.credentials_file = path;
  absl::Time start = absl::Now();
  auto js = JetStream::Connect(server_->plain_url(), "outsider", absl::Seconds(10), o);
  ASSERT_FALSE(js.ok());
  EXPECT_EQ(js.status().code(), absl::StatusCode::kUnauthenticated) << js.status();
  EXPECT_FALSE(absl::StrContains(js.status().message(), "not-the-password"));
  // Refused credentials are not retried for the whole connect timeout.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(NatsAuthTest, ForgedPaymentApprovedNeverReachesThePaymentStream) {
  std::unique_ptr<JetStream> payment = As("payment");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(payment->EnsureStream({"PAYMENT", {"payment.>"}, 1, absl::Minutes(2)}).ok());

  // No credentials: not even connected (above). Rental's credentials: the
  // connection works, the publish to payment.> is refused by the server.
  std::unique_ptr<JetStream> rental = As("rental");
  ASSERT_NE(rental, nullptr);
  auto forged = rental->Publish(Forged("payment.p-forged"));
  EXPECT_FALSE(forged.ok());
  // A plain core-NATS publish (no ack awaited) does not get in either.
  ASSERT_EQ(natsConnection_PublishString(rental->connection(), "payment.p-forged", "forged"),
            NATS_OK);
  natsConnection_FlushTimeout(rental->connection(), 1000);
  // The view publishes nothing at all.
  std::unique_ptr<JetStream> view = As("view");
  ASSERT_NE(view, nullptr);
  EXPECT_FALSE(view->Publish(Forged("payment.p-forged")).ok());
  ASSERT_EQ(natsConnection_PublishString(view->connection(), "payment.p-forged", "forged"),
            NATS_OK);
  natsConnection_FlushTimeout(view->connection(), 1000);

  EXPECT_EQ(Last("PAYMENT"), 0u);
  const std::string violations = server_->PermissionViolations();
  EXPECT_TRUE(absl::StrContains(violations, "\"rental\"")) << violations;
  EXPECT_TRUE(absl::StrContains(violations, "\"view\"")) << violations;

  // Payment itself may.
  auto real = payment->Publish(Forged("payment.p-1"));
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(Last("PAYMENT"), 1u);
}

TEST_F(NatsAuthTest, EachServicePublishesOnlyItsOwnSubjects) {
  struct Case {
    std::string user, stream, own, foreign;
  };
  for (const Case& c : {Case{"rental", "RENTAL", "rental.b1", "returns.r1"},
                        Case{"returns", "RETURNS", "returns.r1", "rental.b1"},
                        Case{"payment", "PAYMENT", "payment.p1", "rental.b1"}}) {
    std::unique_ptr<JetStream> js = As(c.user);
    ASSERT_NE(js, nullptr);
    ASSERT_TRUE(
        js->EnsureStream({c.stream,
                          {absl::StrCat(absl::string_view(c.own).substr(0, c.own.find('.')), ".>")},
                          1,
                          absl::Minutes(2)})
            .ok())
        << c.user;
    auto own = js->Publish(Forged(c.own));
    EXPECT_TRUE(own.ok()) << c.user << ": " << own.status();
    EXPECT_FALSE(js->Publish(Forged(c.foreign)).ok()) << c.user << " published " << c.foreign;
  }
  EXPECT_EQ(Last("RENTAL"), 1u);
  EXPECT_EQ(Last("RETURNS"), 1u);
}

// The view's user may create (when missing), read and follow every stream it
// projects, DELIVERY included, and its followers ask nothing it may not ask.
TEST_F(NatsAuthTest, TheViewFollowsEveryStreamItProjects) {
  std::unique_ptr<JetStream> view = As("view");
  ASSERT_NE(view, nullptr);
  struct Case {
    std::string stream, writer, subject;
  };
  const Case cases[] = {{"RENTAL", "rental", "rental.book.b1"},
                        {"PAYMENT", "payment", "payment.rental.r1"},
                        {"RETURNS", "returns", "returns.rental.r1"},
                        {"DELIVERY", "delivery", "delivery.rental.r1.outbound"}};
  std::vector<std::unique_ptr<StreamFollower>> followers;
  std::vector<std::unique_ptr<std::atomic<int>>> seen;
  for (const Case& c : cases) {
    const std::string all = absl::StrCat(c.subject.substr(0, c.subject.find('.')), ".>");
    ASSERT_TRUE(view->EnsureStream({c.stream, {all}, 1, absl::Minutes(2)}).ok()) << c.stream;
    std::unique_ptr<JetStream> writer = As(c.writer);
    ASSERT_NE(writer, nullptr);
    auto ack = writer->Publish(Forged(c.subject));
    ASSERT_TRUE(ack.ok()) << c.writer << ": " << ack.status();
    seen.push_back(std::make_unique<std::atomic<int>>(0));
    std::atomic<int>* count = seen.back().get();
    StreamFollower::Options o;
    o.stream = c.stream;
    o.subject = all;
    auto f = StreamFollower::Start(*view, o, [count](const std::vector<StreamMessage>& batch) {
      *count += static_cast<int>(batch.size());
      return absl::OkStatus();
    });
    ASSERT_TRUE(f.ok()) << c.stream << ": " << f.status();
    ASSERT_TRUE((*f)->CatchUp(absl::Now() + absl::Seconds(5)).ok()) << c.stream;
    EXPECT_EQ(count->load(), 1) << c.stream;
    followers.push_back(std::move(*f));
  }
  followers.clear();
  EXPECT_FALSE(absl::StrContains(server_->PermissionViolations(), "\"view\""))
      << server_->PermissionViolations();
}

// The notification user follows DELIVERY (its own fold) and takes the
// deliveries' subjects through its durables there, one per channel; it
// publishes nothing on DELIVERY, and no other service may delete those durables.
TEST_F(NatsAuthTest, NotificationFollowsDeliveryThroughItsOwnDurables) {
  std::unique_ptr<JetStream> notification = As("notification");
  ASSERT_NE(notification, nullptr);
  ASSERT_TRUE(notification->EnsureStream({"DELIVERY", {"delivery.>"}, 1, absl::Minutes(2)}).ok());
  std::unique_ptr<JetStream> delivery = As("delivery");
  ASSERT_NE(delivery, nullptr);
  ASSERT_TRUE(delivery->Publish(Forged("delivery.courier.kim")).ok());
  ASSERT_TRUE(delivery->Publish(Forged("delivery.rental.r1.outbound")).ok());
  EXPECT_FALSE(notification->Publish(Forged("delivery.rental.r2.outbound")).ok());

  std::atomic<int> followed{0};
  StreamFollower::Options fo;
  fo.stream = "DELIVERY";
  fo.subject = "delivery.>";
  auto follower =
      StreamFollower::Start(*notification, fo, [&followed](const std::vector<StreamMessage>& b) {
        followed += static_cast<int>(b.size());
        return absl::OkStatus();
      });
  ASSERT_TRUE(follower.ok()) << follower.status();
  ASSERT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(followed.load(), 2);

  std::vector<std::unique_ptr<DurableConsumer>> durables;
  std::atomic<int> handled{0};
  for (const char* channel : {"log", "webhook"}) {
    DurableConsumer::Options o;
    o.stream = "DELIVERY";
    o.durable = absl::StrCat("notification-", channel, "-delivery");
    o.filter_subject = "delivery.rental.>";
    o.fetch_wait = absl::Milliseconds(100);
    auto c = DurableConsumer::Start(*notification, o, [&handled](const StreamMessage& m) {
      EXPECT_EQ(m.subject, "delivery.rental.r1.outbound");
      ++handled;
      return absl::OkStatus();
    });
    ASSERT_TRUE(c.ok()) << channel << ": " << c.status();
    durables.push_back(std::move(*c));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (handled.load() < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(handled.load(), 2);
  durables.clear();
  follower->reset();

  // The view may not delete notification's durable (nor may anyone but it).
  std::unique_ptr<JetStream> view = As("view");
  ASSERT_NE(view, nullptr);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(
      js_DeleteConsumer(view->context(), "DELIVERY", "notification-log-delivery", nullptr, &jerr),
      NATS_OK);
  jsConsumerInfo* info = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&info, admin_->context(), "DELIVERY", "notification-log-delivery",
                               nullptr, &jerr),
            NATS_OK);
  jsConsumerInfo_Destroy(info);
  const std::string violations = server_->PermissionViolations();
  EXPECT_TRUE(absl::StrContains(violations, "\"view\"")) << violations;
  // Everything notification asked besides its one refused publish was allowed.
  EXPECT_TRUE(absl::StrContains(violations, "delivery.rental.r2.outbound")) << violations;
  for (absl::string_view line : absl::StrSplit(violations, '\n')) {
    if (absl::StrContains(line, "\"notification\"")) {
      EXPECT_TRUE(absl::StrContains(line, "delivery.rental.r2.outbound")) << line;
    }
  }
}

TEST_F(NatsAuthTest, RentalTakesAndRestoresItsOwnSnapshotsOnly) {
  std::unique_ptr<JetStream> rental = As("rental");
  ASSERT_NE(rental, nullptr);
  ASSERT_TRUE(rental->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  PublishRequest event;
  event.subject = "rental.book.b1";
  event.data = "e";
  ASSERT_TRUE(rental->Publish(event).ok());
  testing::TempDir dir;
  auto store = rocksdb_store::StateStore::Open(dir.Sub("a"));
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::WriteBatch batch;
  batch.Put("book/b1", "x");
  rocksdb_store::StateStore::PutPosition(batch, "RENTAL", 1);
  ASSERT_TRUE((*store)->Write(batch).ok());

  snapshot::StateSnapshots snapshots(*rental, {"rental", "RENTAL", "RENTAL"});
  ASSERT_TRUE(snapshots.EnsureStream().ok());
  for (int i = 0; i < 2; ++i) {  // the second one purges the first
    auto taken = snapshots.Take(**store);
    ASSERT_TRUE(taken.ok()) << taken.status();
  }
  auto empty = rocksdb_store::StateStore::Open(dir.Sub("b"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto restored = snapshots.Restore(**empty);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->source, snapshot::RestoreSource::kSnapshot)
      << restored->reason << ": " << restored->detail;
  EXPECT_EQ((*empty)->Get("book/b1")->value_or(""), "x");
  EXPECT_FALSE(absl::StrContains(server_->PermissionViolations(), "\"rental\""))
      << server_->PermissionViolations();

  // Not another service's snapshots, nor a purge of its own history.
  std::unique_ptr<JetStream> payment = As("payment");
  ASSERT_NE(payment, nullptr);
  snapshot::StateSnapshots foreign(*payment, {"rental", "RENTAL", "RENTAL"});
  EXPECT_FALSE(foreign.Take(**store).ok());
  EXPECT_FALSE(rental->Purge("RENTAL", "rental.>", 0).ok());
  EXPECT_EQ(Last("RENTAL"), 1u);
  EXPECT_TRUE(absl::StrContains(server_->PermissionViolations(), "\"payment\""))
      << server_->PermissionViolations();
}

TEST_F(NatsAuthTest, AServiceCannotListenToOthersTraffic) {
  ASSERT_TRUE(admin_->EnsureStream({"PAYMENT", {"payment.>"}, 1, absl::Minutes(2)}).ok());
  std::unique_ptr<JetStream> view = As("view");
  ASSERT_NE(view, nullptr);
  // Everything, and another user's inboxes (where its replies arrive).
  natsSubscription* all = nullptr;
  natsSubscription* inbox = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&all, view->connection(), ">"), NATS_OK);
  ASSERT_EQ(natsConnection_SubscribeSync(&inbox, view->connection(), "_INBOX_payment.>"), NATS_OK);
  natsConnection_FlushTimeout(view->connection(), 1000);
  std::unique_ptr<JetStream> payment = As("payment");
  ASSERT_NE(payment, nullptr);
  ASSERT_TRUE(payment->Publish(Forged("payment.p1")).ok());
  natsMsg* msg = nullptr;
  EXPECT_EQ(natsSubscription_NextMsg(&msg, all, 300), NATS_TIMEOUT);
  EXPECT_EQ(natsSubscription_NextMsg(&msg, inbox, 300), NATS_TIMEOUT);
  if (msg != nullptr) natsMsg_Destroy(msg);
  natsSubscription_Destroy(all);
  natsSubscription_Destroy(inbox);
  EXPECT_TRUE(absl::StrContains(server_->PermissionViolations(), "Subscription Violation"))
      << server_->PermissionViolations();
}

// docs/operations.md "Rotating the NATS credentials", step by step: the
// service never loses its connection, the old password stops working at the end.
TEST_F(NatsAuthTest, RotationAddsTheNewUserBeforeRemovingTheOld) {
  const std::string dir = server_->auth().dir;
  const std::string old_creds = dir + "/rental.old.creds";
  std::unique_ptr<JetStream> before = As("rental");
  ASSERT_NE(before, nullptr);
  ASSERT_TRUE(before->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());

  ASSERT_EQ(std::system(("bash '" RENTMESH_SOURCE_DIR "/tools/nats_auth.sh' '" + dir +
                         "' --rotate rental 2>/dev/null")
                            .c_str()),
            0);
  ASSERT_TRUE(server_->Reload().ok());
  // Both work: the running service, and one started with the new file.
  EXPECT_TRUE(before->Publish(Forged("rental.b1")).ok());
  std::unique_ptr<JetStream> after = As("rental");
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(after->Publish(Forged("rental.b2")).ok());
  auto creds = ReadCredentialsFile(server_->auth().CredentialsFile("rental"));
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->user, "rental-2");
  EXPECT_EQ(creds->inbox_prefix, "_INBOX_rental");
  ConnectOptions old_options;
  old_options.credentials_file = old_creds;
  EXPECT_TRUE(
      JetStream::Connect(server_->plain_url(), "rental", absl::Seconds(2), old_options).ok());

  // Old one retired: it is refused from now on; the new one goes on.
  std::string old_copy = dir + "/kept-old.creds";
  std::ifstream in(old_creds);
  std::ofstream(old_copy) << in.rdbuf();
  ASSERT_EQ(std::system(("bash '" RENTMESH_SOURCE_DIR "/tools/nats_auth.sh' '" + dir +
                         "' --retire rental 2>/dev/null")
                            .c_str()),
            0);
  ASSERT_TRUE(server_->Reload().ok());
  old_options.credentials_file = old_copy;
  EXPECT_EQ(JetStream::Connect(server_->plain_url(), "rental", absl::Seconds(2), old_options)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(after->Publish(Forged("rental.b3")).ok());
  EXPECT_EQ(Last("RENTAL"), 3u);
  // The unrestricted test user survived both steps.
  EXPECT_TRUE(admin_->LastSequence("RENTAL").ok());
  EXPECT_TRUE(JetStream::Connect(server_->url(), "test", absl::Seconds(2)).ok());
}

TEST_F(NatsAuthTest, TlsWithTheServersCa) {
  auto server = testing::NatsServer::Start({.auth = true, .tls = true});
  ASSERT_TRUE(server.ok()) << server.status();
  ConnectOptions o;
  o.credentials_file = (*server)->auth().CredentialsFile("rental");
  o.tls_ca_file = (*server)->tls().ca_file;
  auto js = JetStream::Connect((*server)->plain_url(), "rental", absl::Seconds(5), o);
  ASSERT_TRUE(js.ok()) << js.status();
  ASSERT_TRUE((*js)->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  EXPECT_TRUE((*js)->Publish(Forged("rental.b1")).ok());

  // With a client certificate too.
  o.tls_cert_file = (*server)->tls().client_cert_file;
  o.tls_key_file = (*server)->tls().client_key_file;
  EXPECT_TRUE(JetStream::Connect((*server)->plain_url(), "rental", absl::Seconds(5), o).ok());

  // Without TLS the server (which requires it) does not let the client in.
  ConnectOptions plain;
  plain.credentials_file = o.credentials_file;
  EXPECT_FALSE(JetStream::Connect((*server)->plain_url(), "rental", absl::Seconds(1), plain).ok());
  // A CA that did not sign the server's certificate.
  testing::TempDir other;
  auto other_tls = testing::MakeNatsTls(other.path());
  ASSERT_TRUE(other_tls.ok()) << other_tls.status();
  ConnectOptions wrong_ca = plain;
  wrong_ca.tls_ca_file = other_tls->ca_file;
  EXPECT_FALSE(
      JetStream::Connect((*server)->plain_url(), "rental", absl::Seconds(1), wrong_ca).ok());
}

TEST(NatsCredentialsTest, BadFilesAreClearErrors) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.Sub(name)) << text;
    return dir.Sub(name);
  };
  auto ok = ReadCredentialsFile(write("ok", "# comment\nuser=rental\n password = s3cret \n"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->user, "rental");
  EXPECT_EQ(ok->password, "s3cret");
  for (const auto& [name, text] :
       std::vector<std::pair<std::string, std::string>>{{"nopw", "user=rental\n"},
                                                        {"nouser", "password=x\n"},
                                                        {"junk", "user rental\n"},
                                                        {"key", "user=a\npassword=b\ntoken=c\n"},
                                                        {"baduser", "user=a.b\npassword=x\n"}}) {
    auto r = ReadCredentialsFile(write(name, text));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  auto missing = ReadCredentialsFile(dir.Sub("missing"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  // A connect with a bad file fails before reaching any server.
  ConnectOptions o;
  o.credentials_file = dir.Sub("missing");
  EXPECT_EQ(JetStream::Connect("nats://127.0.0.1:1", "x", absl::Seconds(1), o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NatsCredentialsTest, UrlsAreRedacted) {
  EXPECT_EQ(RedactUrl("nats://u:p@h:4222,tls://a@b:1,nats://c:2"),
            "nats://h:4222,tls://b:1,nats://c:2");
  EXPECT_EQ(RedactUrl("h:4222"), "h:4222");
}

}  // namespace
}  // namespace rentmesh::nats
