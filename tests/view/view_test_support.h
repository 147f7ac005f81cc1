#pragma once

// Test support for the view's integration tests and benchmarks: an in-process
// view instance (real RocksDB, real JetStream, real gRPC server on loopback)
// and a writer of realistic event envelopes on the writers' subjects.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/inbound/grpc/view_grpc_service.h"
#include "adapters/inbound/nats/view_followers.h"
#include "adapters/outbound/rocksdb/rocksdb_view_store.h"
#include "core/view_service.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/view/v1/view.grpc.pb.h"

namespace rentmesh::view::testing_support {

// A whole view, in process, wired as main.cc wires it.
class ViewInstance {
 public:
  static absl::StatusOr<std::unique_ptr<ViewInstance>> Start(const std::string& nats_url,
                                                             const std::string& data_dir) {
    std::unique_ptr<ViewInstance> v(new ViewInstance());
    auto js = nats::JetStream::Connect(nats_url, "view-test", absl::Seconds(5));
    if (!js.ok()) return js.status();
    v->js_ = std::move(*js);
    auto state = rocksdb_store::StateStore::Open(data_dir);
    if (!state.ok()) return state.status();
    v->state_ = std::move(*state);
    v->store_ = std::make_unique<RocksDbViewStore>(*v->state_);
    std::vector<std::string> names;
    for (const auto& s : DefaultFollowedStreams()) names.push_back(s.name);
    auto service = ViewService::Create(*v->store_, names);
    if (!service.ok()) return service.status();
    v->service_ = std::move(*service);
    auto followers = ViewFollowers::Start(*v->js_, *v->service_, DefaultFollowedStreams(), 1);
    if (!followers.ok()) return followers.status();
    v->followers_ = std::move(*followers);
    if (auto s = v->followers_->CatchUp(absl::Now() + absl::Seconds(20)); !s.ok()) return s;
    v->pool_ = std::make_unique<WorkPool>(4, 1024);
    ViewGrpcService::Options options;
    ViewFollowers* f = v->followers_.get();
    options.stream_heads = [f] { return f->Heads(); };
    v->grpc_ = std::make_unique<ViewGrpcService>(*v->service_, *v->pool_, options, *v->auth_);
    auto server = GrpcServer::Start("127.0.0.1:0", {v->grpc_.get()});
    if (!server.ok()) return server.status();
    v->server_ = std::move(*server);
    v->server_->SetServing(true);
    v->address_ = absl::StrCat("127.0.0.1:", v->server_->port());
    v->stub_ = v1::ViewService::NewStub(
        grpc::CreateChannel(v->address_, grpc::InsecureChannelCredentials()));
    return v;
  }

  ~ViewInstance() {
    stub_.reset();
    if (grpc_) grpc_->CloseWatches();
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    grpc_.reset();
    pool_.reset();
    followers_.reset();
    service_.reset();
  }

  v1::ViewService::Stub& stub() { return *stub_; }
  ViewService& service() { return *service_; }
  ViewFollowers& followers() { return *followers_; }
  const std::string& address() const { return address_; }

 private:
  ViewInstance() = default;
  std::unique_ptr<nats::JetStream> js_;
  std::unique_ptr<rocksdb_store::StateStore> state_;
  std::unique_ptr<RocksDbViewStore> store_;
  std::unique_ptr<ViewService> service_;
  std::unique_ptr<ViewFollowers> followers_;
  std::unique_ptr<WorkPool> pool_;
  // A view inside a mesh: x-rentmesh-* headers are believed (the identity
  // checks without a mesh have their own tests).
  std::unique_ptr<CallerAuthenticator> auth_ = CallerAuthenticator::TrustingMesh();
  std::unique_ptr<ViewGrpcService> grpc_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::unique_ptr<v1::ViewService::Stub> stub_;
};

inline common::v1::Money Krw(int64_t minor) {
  common::v1::Money m;
  m.set_currency("KRW");
  m.set_amount_minor(minor);
  return m;
}

// Publishes envelopes as the rental, payment, returns and delivery services do:
// RENTAL on rental.book.<book_id>, PAYMENT on payment.rental.<rental_id>,
// RETURNS on returns.rental.<rental_id>, DELIVERY on
// delivery.rental.<rental_id>.<outbound|return> (expected subject sequence,
// derived event ids) and delivery.courier.<courier_id>.
class EventWriter {
 public:
  explicit EventWriter(nats::JetStream& js) : js_(js) {}

  absl::Status EnsureStreams() {
    for (const auto& s : DefaultFollowedStreams()) {
      if (auto st = js_.EnsureStream({s.name, {s.subjects}, 1, absl::Minutes(2)}); !st.ok())
        return st;
    }
    return absl::OkStatus();
  }

  // The consistency token of the last publish.
  std::string last_token() const { return last_token_; }
  const events::v1::Envelope& last_envelope() const { return last_; }

  // Publishes `env` (already sealed) once more; a new Nats-Msg-Id makes the
  // server store it again, as a replay or an upstream retry would.
  absl::StatusOr<uint64_t> Republish(const events::v1::Envelope& env, const std::string& subject,
                                     const std::string& msg_id) {
    nats::PublishRequest req = events::ToPublishRequest(env, subject, std::nullopt);
    req.msg_id = msg_id;
    return Send(req, subject);
  }
  std::string last_subject() const { return last_subject_; }

  absl::StatusOr<uint64_t> BookAdded(const std::string& book, const std::string& title, int copies,
                                     int64_t daily_fee) {
    events::v1::Envelope env;
    auto* p = env.mutable_book_added();
    p->set_book_id(book);
    p->set_title(title);
    p->set_copies(copies);
    *p->mutable_daily_fee() = Krw(daily_fee);
    return Emit(env, "book", book, "", absl::StrCat("rental.book.", book), absl::Now());
  }
  absl::StatusOr<uint64_t> RentalRequested(const std::string& rental, const std::string& book,
                                           const std::string& customer, int days, int64_t fee,
                                           absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_rental_requested();
    p->set_rental_id(rental);
    p->set_book_id(book);
    p->set_customer_id(customer);
    p->set_days(days);
    *p->mutable_fee() = Krw(fee);
    p->set_book_title("");
    return Emit(env, "book", book, rental, absl::StrCat("rental.book.", book), at);
  }
  absl::StatusOr<uint64_t> BookRented(const std::string& rental, const std::string& book,
                                      const std::string& customer, int days, int64_t fee,
                                      absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_book_rented();
    p->set_rental_id(rental);
    p->set_book_id(book);
    p->set_customer_id(customer);
    p->set_days(days);
    *p->mutable_fee() = Krw(fee);
    p->set_payment_id(absl::StrCat("pay-", rental));
    *p->mutable_rented_at() = events::ToProtoTime(at);
    *p->mutable_due_at() = events::ToProtoTime(at + absl::Hours(24 * days));
    return Emit(env, "book", book, rental, absl::StrCat("rental.book.", book), at);
  }
  absl::StatusOr<uint64_t> RentalCancelled(const std::string& rental, const std::string& book,
                                           const std::string& customer, int64_t fee,
                                           absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_rental_cancelled();
    p->set_rental_id(rental);
    p->set_book_id(book);
    p->set_customer_id(customer);
    p->set_reason("changed my mind");
    *p->mutable_cancelled_at() = events::ToProtoTime(at);
    *p->mutable_fee() = Krw(fee);
    return Emit(env, "book", book, rental, absl::StrCat("rental.book.", book), at);
  }
  absl::StatusOr<uint64_t> BookReturned(const std::string& rental, const std::string& book,
                                        const std::string& customer, int64_t late_fee,
                                        absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_book_returned();
    p->set_rental_id(rental);
    p->set_book_id(book);
    p->set_customer_id(customer);
    p->set_return_id(absl::StrCat("ret-", rental));
    *p->mutable_returned_at() = events::ToProtoTime(at);
    *p->mutable_late_fee() = Krw(late_fee);
    return Emit(env, "book", book, rental, absl::StrCat("rental.book.", book), at);
  }
  absl::StatusOr<uint64_t> PaymentApproved(const std::string& rental, const std::string& customer,
                                           int64_t amount, absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_payment_approved();
    p->set_payment_id(absl::StrCat("pay-", rental));
    p->set_rental_id(rental);
    p->set_customer_id(customer);
    *p->mutable_amount() = Krw(amount);
    return Emit(env, "payment", absl::StrCat("pay-", rental), rental,
                absl::StrCat("payment.rental.", rental), at);
  }
  absl::StatusOr<uint64_t> PaymentRefunded(const std::string& rental, const std::string& customer,
                                           int64_t amount, absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_payment_refunded();
    p->set_payment_id(absl::StrCat("pay-", rental));
    p->set_rental_id(rental);
    p->set_customer_id(customer);
    *p->mutable_amount() = Krw(amount);
    p->set_reason("cancelled");
    return Emit(env, "payment", absl::StrCat("pay-", rental), rental,
                absl::StrCat("payment.rental.", rental), at);
  }
  absl::StatusOr<uint64_t> LateFeeCharged(const std::string& rental, const std::string& customer,
                                          int64_t amount, absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_late_fee_charged();
    p->set_payment_id(absl::StrCat("fee-", rental));
    p->set_rental_id(rental);
    p->set_customer_id(customer);
    *p->mutable_amount() = Krw(amount);
    p->set_return_id(absl::StrCat("ret-", rental));
    return Emit(env, "payment", absl::StrCat("fee-", rental), rental,
                absl::StrCat("payment.rental.", rental), at);
  }
  absl::StatusOr<uint64_t> ReturnCompleted(const std::string& rental, const std::string& book,
                                           const std::string& customer, int64_t fee,
                                           absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_return_completed();
    p->set_return_id(absl::StrCat("ret-", rental));
    p->set_rental_id(rental);
    p->set_book_id(book);
    p->set_customer_id(customer);
    *p->mutable_returned_at() = events::ToProtoTime(at);
    *p->mutable_late_fee() = Krw(fee);
    *p->mutable_damage_fee() = Krw(0);
    *p->mutable_total_fee() = Krw(fee);
    p->set_condition("GOOD");
    return Emit(env, "return", absl::StrCat("ret-", rental), rental,
                absl::StrCat("returns.rental.", rental), at);
  }

  // One step of a rental's delivery, kind "OUTBOUND" or "RETURN", as the
  // delivery service appends it: DeliveryRequested (customer, book, region
  // seoul), DeliveryAssigned / DeliveryPickedUp / DeliveryDelivered (courier),
  // DeliveryCancelled (reason). `producer` other than "delivery" forges it.
  absl::StatusOr<uint64_t> DeliveryStep(const std::string& type, const std::string& rental,
                                        const std::string& kind, const std::string& courier,
                                        absl::Time at, const std::string& customer = "cust-1",
                                        const std::string& book = "book-1") {
    events::v1::Envelope env;
    const std::string delivery = DerivedId("dlv-", {rental, kind});
    auto time = events::ToProtoTime(at);
    if (type == "DeliveryRequested") {
      auto* p = env.mutable_delivery_requested();
      p->set_delivery_id(delivery);
      p->set_rental_id(rental);
      p->set_kind(kind);
      p->set_customer_id(customer);
      p->set_book_id(book);
      p->set_region("seoul");
      *p->mutable_requested_at() = time;
    } else if (type == "DeliveryAssigned") {
      auto* p = env.mutable_delivery_assigned();
      p->set_delivery_id(delivery);
      p->set_rental_id(rental);
      p->set_kind(kind);
      p->set_courier_id(courier);
      *p->mutable_assigned_at() = time;
    } else if (type == "DeliveryPickedUp") {
      auto* p = env.mutable_delivery_picked_up();
      p->set_delivery_id(delivery);
      p->set_rental_id(rental);
      p->set_kind(kind);
      p->set_courier_id(courier);
      *p->mutable_picked_up_at() = time;
    } else if (type == "DeliveryDelivered") {
      auto* p = env.mutable_delivery_delivered();
      p->set_delivery_id(delivery);
      p->set_rental_id(rental);
      p->set_kind(kind);
      p->set_courier_id(courier);
      *p->mutable_delivered_at() = time;
    } else if (type == "DeliveryCancelled") {
      auto* p = env.mutable_delivery_cancelled();
      p->set_delivery_id(delivery);
      p->set_rental_id(rental);
      p->set_kind(kind);
      p->set_reason("rental cancelled");
      *p->mutable_cancelled_at() = time;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("no delivery event ", type));
    }
    const std::string subject =
        absl::StrCat("delivery.rental.", rental, ".", kind == "RETURN" ? "return" : "outbound");
    events::EnvelopeHeader h;
    h.aggregate_type = "delivery";
    h.aggregate_id = delivery;
    h.aggregate_version = ++delivery_versions_[delivery];
    h.correlation_id = rental;
    h.occurred_at = at;
    h.producer = "delivery";
    h.event_id = DerivedId("evt-", {delivery, type});
    events::Seal(h, env);
    last_ = env;
    // The delivery's previous event here is its subject's last (this writer
    // is the subject's only one).
    absl::StatusOr<uint64_t> seq =
        Send(events::ToPublishRequest(env, subject, subject_sequences_[subject]), subject);
    if (seq.ok()) subject_sequences_[subject] = *seq;
    return seq;
  }
  absl::StatusOr<uint64_t> CourierAdded(const std::string& courier, absl::Time at) {
    events::v1::Envelope env;
    auto* p = env.mutable_courier_added();
    p->set_courier_id(courier);
    p->set_region("seoul");
    p->set_name(courier);
    *p->mutable_added_at() = events::ToProtoTime(at);
    return Emit(env, "courier", courier, "", absl::StrCat("delivery.courier.", courier), at);
  }

 private:
  absl::StatusOr<uint64_t> Emit(events::v1::Envelope& env, const std::string& aggregate_type,
                                const std::string& aggregate_id, const std::string& rental,
                                const std::string& subject, absl::Time at) {
    events::EnvelopeHeader h;
    h.aggregate_type = aggregate_type;
    h.aggregate_id = aggregate_id;
    h.aggregate_version = ++versions_;
    h.correlation_id = rental;
    h.occurred_at = at;
    h.producer = std::string(events::OwnerOfSubject(subject));
    events::Seal(h, env);
    last_ = env;
    return Send(events::ToPublishRequest(env, subject, std::nullopt), subject);
  }
  absl::StatusOr<uint64_t> Send(const nats::PublishRequest& req, const std::string& subject) {
    absl::StatusOr<nats::PubAck> ack = js_.Publish(req);
    if (!ack.ok()) return ack.status();
    last_token_ = FormatConsistencyToken(ack->stream, ack->sequence);
    last_subject_ = subject;
    return ack->sequence;
  }

  nats::JetStream& js_;
  uint64_t versions_ = 0;
  std::map<std::string, uint64_t> delivery_versions_;
  std::map<std::string, uint64_t> subject_sequences_;
  events::v1::Envelope last_;
  std::string last_token_;
  std::string last_subject_;
};

}  // namespace rentmesh::view::testing_support
