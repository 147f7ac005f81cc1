#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/time/time.h"
#include "core/delivery_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/delivery/v1/delivery.grpc.pb.h"

namespace rentmesh::delivery {

// rentmesh.delivery.v1.DeliveryService over gRPC's callback API. Handlers
// identify the caller on the gRPC thread, then run the use case on the
// WorkPool (it waits on JetStream round trips); a full pool answers
// RESOURCE_EXHAUSTED at once. Anonymous callers are refused
// (UNAUTHENTICATED); couriers are callers with the role "courier" whose
// subject is their courier id; CancelDelivery is an internal step of the
// rental service (librarians may too).
class DeliveryGrpcService final : public v1::DeliveryService::CallbackService {
 public:
  // `max_wait` bounds how long a call may wait for catch-up when the client
  // set no shorter deadline.
  DeliveryGrpcService(DeliveryService& service, WorkPool& pool, absl::Duration max_wait,
                      const CallerAuthenticator& auth)
      : service_(service), pool_(pool), max_wait_(max_wait), auth_(auth) {}

  // v1::DeliveryService::CallbackService
  grpc::ServerUnaryReactor* GetDelivery(grpc::CallbackServerContext* ctx,
                                        const v1::GetDeliveryRequest* request,
                                        v1::Delivery* response) override;
  grpc::ServerUnaryReactor* GetRentalDelivery(grpc::CallbackServerContext* ctx,
                                              const v1::GetRentalDeliveryRequest* request,
                                              v1::Delivery* response) override;
  grpc::ServerUnaryReactor* PickUpDelivery(grpc::CallbackServerContext* ctx,
                                           const v1::PickUpDeliveryRequest* request,
                                           v1::Delivery* response) override;
  grpc::ServerUnaryReactor* CompleteDelivery(grpc::CallbackServerContext* ctx,
                                             const v1::CompleteDeliveryRequest* request,
                                             v1::Delivery* response) override;
  grpc::ServerUnaryReactor* CancelDelivery(grpc::CallbackServerContext* ctx,
                                           const v1::CancelDeliveryRequest* request,
                                           v1::Delivery* response) override;
  grpc::ServerUnaryReactor* RequestReturnPickup(grpc::CallbackServerContext* ctx,
                                                const v1::RequestReturnPickupRequest* request,
                                                v1::Delivery* response) override;
  grpc::ServerUnaryReactor* AddCourier(grpc::CallbackServerContext* ctx,
                                       const v1::AddCourierRequest* request,
                                       v1::Courier* response) override;
  grpc::ServerUnaryReactor* ListCouriers(grpc::CallbackServerContext* ctx,
                                         const v1::ListCouriersRequest* request,
                                         v1::ListCouriersResponse* response) override;

 private:
  // The work of one call, given who calls, the call's trace and deadline.
  using Work =
      std::function<absl::Status(const Caller& caller, const EventTrace& trace, absl::Time)>;
  // Identifies the caller (UNAUTHENTICATED when anonymous or a token does
  // not verify; `guard` may refuse further) and runs `work` on the pool.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx,
                                const std::function<absl::Status(const CallerIdentity&)>& guard,
                                Work work);

  DeliveryService& service_;
  WorkPool& pool_;
  const absl::Duration max_wait_;
  const CallerAuthenticator& auth_;
};

}  // namespace rentmesh::delivery
