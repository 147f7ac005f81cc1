#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "payment/adapters/inbound/grpc/payment_grpc_service.h"
#include "payment/adapters/inbound/nats/payment_reactions.h"
#include "payment/adapters/inbound/nats/reaction_reconciler.h"
#include "payment/adapters/outbound/ids/derived_payment_ids.h"
#include "payment/adapters/outbound/nats/jetstream_payment_event_log.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_payment_repository.h"
#include "payment/core/payment_service.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::payment::testing {

// One in-process payment instance wired as main.cc wires it (real JetStream,
// real RocksDB in `data_dir`, a real gRPC server on a free loopback port),
// with a stub to call it. Destroying it stops it in reverse order; the data
// dir stays.
class PaymentReplica {
 public:
  struct Options {
    bool reactions = false;
    int workers = 4;
    int max_inflight = 64;
    int64_t max_amount_minor = 1'000'000;
    // Deliveries of one reaction before it is dead-lettered (0: the default).
    int max_deliver = 0;
    // With reactions: re-drive the reactions due this long after they were
    // folded (ReactionReconciler, as main.cc runs it); zero: no reconciler.
    absl::Duration reconcile_after = absl::ZeroDuration();
  };

  static absl::StatusOr<std::unique_ptr<PaymentReplica>> Start(const std::string& nats_url,
                                                               const std::string& data_dir,
                                                               Options options);
  ~PaymentReplica();

  v1::PaymentService::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }
  nats::JetStream& js() { return *js_; }
  // nullptr without reactions.
  PaymentReactionConsumers* consumers() { return consumers_.get(); }
  // nullptr without reactions.
  const PaymentReactions* reactions() const { return reactions_.get(); }
  const RocksDbRentalStatus* rental_status() const { return rental_status_.get(); }
  // nullptr without reconcile_after.
  const ReactionReconciler* reconciler() const { return reconciler_.get(); }

 private:
  PaymentReplica() = default;

  std::unique_ptr<nats::JetStream> js_;
  std::unique_ptr<rocksdb_store::StateStore> store_;
  std::unique_ptr<RocksDbPaymentRepository> repository_;
  std::unique_ptr<nats::StreamFollower> follower_;
  Failpoints failpoints_ = *Failpoints::Parse("");
  std::unique_ptr<JetStreamPaymentEventLog> log_;
  DerivedPaymentIds ids_;
  SystemClock clock_;
  std::unique_ptr<PaymentService> service_;
  std::unique_ptr<RocksDbRentalStatus> rental_status_;
  std::unique_ptr<nats::StreamFollower> rental_follower_;
  std::unique_ptr<FollowedRentalEffects> effects_;
  std::unique_ptr<PaymentReactions> reactions_;
  std::unique_ptr<PaymentReactionConsumers> consumers_;
  std::unique_ptr<ReactionReconciler> reconciler_;
  std::unique_ptr<WorkPool> pool_;
  // These replicas stand in for payment inside a mesh: a call without
  // identity headers is a service (the identity checks have their own tests).
  std::unique_ptr<CallerAuthenticator> auth_ = CallerAuthenticator::TrustingMesh();
  std::unique_ptr<PaymentGrpcService> grpc_service_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::unique_ptr<v1::PaymentService::Stub> stub_;
};

}  // namespace rentmesh::payment::testing
