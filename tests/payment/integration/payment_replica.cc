#include "integration/payment_replica.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment::testing {

absl::StatusOr<std::unique_ptr<PaymentReplica>> PaymentReplica::Start(const std::string& nats_url,
                                                                      const std::string& data_dir,
                                                                      Options options) {
  std::unique_ptr<PaymentReplica> r(new PaymentReplica());
  absl::StatusOr<std::unique_ptr<nats::JetStream>> js =
      nats::JetStream::Connect(nats_url, "payment-test", absl::Seconds(5));
  if (!js.ok()) return js.status();
  r->js_ = std::move(*js);
  if (absl::Status s = r->js_->EnsureStream(PaymentStreamSpec(1)); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> store =
      rocksdb_store::StateStore::Open(data_dir);
  if (!store.ok()) return store.status();
  r->store_ = std::move(*store);
  r->repository_ = std::make_unique<RocksDbPaymentRepository>(*r->store_);
  absl::StatusOr<uint64_t> position = r->repository_->AppliedPosition();
  if (!position.ok()) return position.status();
  RocksDbPaymentRepository* repo = r->repository_.get();
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower = nats::StreamFollower::Start(
      *r->js_, {events::kPaymentStream, "payment.>", *position, 1024},
      [repo](const std::vector<nats::StreamMessage>& batch) { return repo->ApplyBatch(batch); });
  if (!follower.ok()) return follower.status();
  r->follower_ = std::move(*follower);
  r->log_ = std::make_unique<JetStreamPaymentEventLog>(*r->js_, *r->follower_, r->failpoints_);
  r->service_ = std::make_unique<PaymentService>(*r->log_, *r->repository_, r->ids_, r->clock_,
                                                 PaymentPolicy{options.max_amount_minor});
  if (absl::Status s = r->follower_->CatchUp(absl::Now() + absl::Seconds(10)); !s.ok()) return s;
  if (options.reactions) {
    if (absl::Status s = r->js_->EnsureStream(RentalStreamSpec(1)); !s.ok()) return s;
    r->rental_status_ = std::make_unique<RocksDbRentalStatus>(*r->store_);
    absl::StatusOr<uint64_t> rental_position = r->rental_status_->AppliedPosition();
    if (!rental_position.ok()) return rental_position.status();
    RocksDbRentalStatus* status = r->rental_status_.get();
    absl::StatusOr<std::unique_ptr<nats::StreamFollower>> rental_follower =
        nats::StreamFollower::Start(*r->js_,
                                    {events::kRentalStream, "rental.>", *rental_position, 1024},
                                    [status](const std::vector<nats::StreamMessage>& batch) {
                                      return status->ApplyBatch(batch);
                                    });
    if (!rental_follower.ok()) return rental_follower.status();
    r->rental_follower_ = std::move(*rental_follower);
    r->effects_ = std::make_unique<FollowedRentalEffects>(*r->rental_follower_, *r->rental_status_);
    r->reactions_ = std::make_unique<PaymentReactions>(*r->service_, *r->effects_);
    PaymentReactionConsumers::Options copts;
    copts.fetch_wait = absl::Milliseconds(100);
    copts.backoff_initial = absl::Milliseconds(20);
    copts.backoff_max = absl::Milliseconds(200);
    if (options.max_deliver > 0) copts.max_deliver = options.max_deliver;
    absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> consumers =
        PaymentReactionConsumers::Start(*r->js_, *r->reactions_, copts);
    if (!consumers.ok()) return consumers.status();
    r->consumers_ = std::move(*consumers);
    if (options.reconcile_after > absl::ZeroDuration()) {
      r->reconciler_ = std::make_unique<ReactionReconciler>(
          *r->js_, *r->rental_status_, *r->reactions_,
          ReactionReconciler::Options{options.reconcile_after, absl::Milliseconds(200), 256});
    }
  }
  r->pool_ = std::make_unique<WorkPool>(options.workers, static_cast<size_t>(options.max_inflight));
  r->grpc_service_ = std::make_unique<PaymentGrpcService>(*r->service_, *r->pool_, *r->auth_);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start("127.0.0.1:0", {r->grpc_service_.get()});
  if (!server.ok()) return server.status();
  r->server_ = std::move(*server);
  r->server_->SetServing(true);
  r->address_ = absl::StrCat("127.0.0.1:", r->server_->port());
  r->stub_ = v1::PaymentService::NewStub(
      grpc::CreateChannel(r->address_, grpc::InsecureChannelCredentials()));
  return r;
}

PaymentReplica::~PaymentReplica() {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  pool_.reset();
  reconciler_.reset();
  consumers_.reset();
  rental_follower_.reset();
  follower_.reset();
  store_.reset();
  js_.reset();
}

}  // namespace rentmesh::payment::testing
