#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "core/returns_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"

namespace rentmesh::returns {

// rentmesh.returns.v1.ReturnService over gRPC's callback API. Handlers
// convert and validate on the gRPC thread, then run the use case on the
// WorkPool (it waits on JetStream round trips); a full pool answers
// RESOURCE_EXHAUSTED at once. ProcessReturn is an internal saga step that
// only the rental service may call; a customer may read only their own
// returns (a librarian any); anonymous callers are refused.
class ReturnGrpcService final : public v1::ReturnService::CallbackService {
 public:
  // `max_wait` bounds how long a call may wait for catch-up when the client
  // set no shorter deadline.
  ReturnGrpcService(ReturnsService& service, WorkPool& pool, absl::Duration max_wait,
                    const CallerAuthenticator& auth)
      : service_(service), pool_(pool), max_wait_(max_wait), auth_(auth) {}

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
  // The caller of a read: UNAUTHENTICATED for a bad token or no identity.
  absl::StatusOr<CallerIdentity> Reader(const grpc::CallbackServerContext& ctx) const;

  ReturnsService& service_;
  WorkPool& pool_;
  const absl::Duration max_wait_;
  const CallerAuthenticator& auth_;
};

}  // namespace rentmesh::returns
