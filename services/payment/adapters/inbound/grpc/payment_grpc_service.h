#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/status.h"
#include "payment/core/payment_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"

namespace rentmesh::payment {

// rentmesh.payment.v1.PaymentService over the core's use cases. A handler
// validates and authorizes on the gRPC thread (cheap, no I/O), then hands the
// use case to the WorkPool and returns; the worker finishes the call. A full
// pool answers RESOURCE_EXHAUSTED at once, and a call whose deadline passed
// while queued is dropped with DEADLINE_EXCEEDED without writing anything.
//
// Authorization (`auth` says who calls): Pay is an internal saga step that
// only the rental service may call; Refund only a librarian (payment's own
// reactions refund without gRPC); a customer may read only their own
// payments; anonymous callers are refused (UNAUTHENTICATED).
class PaymentGrpcService final : public v1::PaymentService::CallbackService {
 public:
  PaymentGrpcService(PaymentService& payments, WorkPool& pool, const CallerAuthenticator& auth)
      : payments_(payments), pool_(pool), auth_(auth) {}

  // v1::PaymentService::CallbackService
  grpc::ServerUnaryReactor* Pay(grpc::CallbackServerContext* ctx, const v1::PayRequest* request,
                                v1::Payment* response) override;
  grpc::ServerUnaryReactor* Refund(grpc::CallbackServerContext* ctx,
                                   const v1::RefundRequest* request,
                                   v1::Payment* response) override;
  grpc::ServerUnaryReactor* GetPayment(grpc::CallbackServerContext* ctx,
                                       const v1::GetPaymentRequest* request,
                                       v1::Payment* response) override;
  grpc::ServerUnaryReactor* ListRentalPayments(grpc::CallbackServerContext* ctx,
                                               const v1::ListRentalPaymentsRequest* request,
                                               v1::ListRentalPaymentsResponse* response) override;

 private:
  // Finishes the call with `status` at once (no work submitted).
  static grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx,
                                             const absl::Status& status);
  // Runs `work` on the pool and finishes the call with what it returns.
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   std::function<absl::Status(const RequestContext&)> work);

  PaymentService& payments_;
  WorkPool& pool_;
  const CallerAuthenticator& auth_;
};

}  // namespace rentmesh::payment
