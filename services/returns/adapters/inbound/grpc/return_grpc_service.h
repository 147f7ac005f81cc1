#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "core/returns_service.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"

namespace rentmesh::returns {

// rentmesh.returns.v1.ReturnService over gRPC's callback API. Handlers
// convert and validate on the gRPC thread, then run the use case on the
// WorkPool (it waits on JetStream round trips); a full pool answers
// RESOURCE_EXHAUSTED at once. Callers with an identity (x-rentmesh-subject)
// that are not librarians may only touch their own returns.
class ReturnGrpcService final : public v1::ReturnService::CallbackService {
 public:
  // `max_wait` bounds how long a call may wait for catch-up when the client
  // set no shorter deadline.
  ReturnGrpcService(ReturnsService& service, WorkPool& pool, absl::Duration max_wait)
      : service_(service), pool_(pool), max_wait_(max_wait) {}

  // v1::ReturnService::CallbackService
  grpc::ServerUnaryReactor* ProcessReturn(grpc::CallbackServerContext* ctx,
                                          const v1::ProcessReturnRequest* request,
                                          v1::Return* response) override;
  grpc::ServerUnaryReactor* GetReturn(grpc::CallbackServerContext* ctx,
                                      const v1::GetReturnRequest* request,
                                      v1::Return* response) override;
  grpc::ServerUnaryReactor* GetRentalReturn(grpc::CallbackServerContext* ctx,
                                            const v1::GetRentalReturnRequest* request,
                                            v1::Return* response) override;

 private:
  absl::Time DeadlineOf(const grpc::CallbackServerContext& ctx) const;

  ReturnsService& service_;
  WorkPool& pool_;
  const absl::Duration max_wait_;
};

}  // namespace rentmesh::returns
