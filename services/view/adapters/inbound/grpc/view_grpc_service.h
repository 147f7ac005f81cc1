#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/message_allocator.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/view_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/view/v1/view.grpc.pb.h"

namespace rentmesh::view {

// rentmesh.view.v1.ViewService on the gRPC callback API.
//
// Without a consistency token a query is answered at once on the gRPC thread
// from the local store (a RocksDB read, no network). With a token, the call is
// parked on AppliedPositions (no thread waits) until the projection has applied
// it, then answered on the work pool; DEADLINE_EXCEEDED at the call's deadline
// or after `max_token_wait`. A rental the view does not know is looked for
// again after catching up with the streams' heads before NOT_FOUND.
//
// Authorization (`auth` says who calls): a customer reads only their own page
// and rentals; librarians and services read all; anonymous callers are
// refused (UNAUTHENTICATED), except for the public catalog.
class ViewGrpcService final : public v1::ViewService::CallbackService {
 public:
  struct Options {
    absl::Duration max_token_wait = absl::Seconds(5);
    // How long a NOT_FOUND may wait for the projection to catch up.
    absl::Duration max_catch_up_wait = absl::Seconds(2);
    // Changes buffered per watcher before it is dropped with RESOURCE_EXHAUSTED.
    size_t max_watch_buffer = 256;
    // The streams' last sequences now (blocking; run on the work pool).
    std::function<absl::StatusOr<std::vector<StreamSequence>>()> stream_heads;
  };

  ViewGrpcService(ViewService& service, WorkPool& pool, Options options,
                  const CallerAuthenticator& auth);

  // Ends every WatchMyPage stream with UNAVAILABLE; call before the server's
  // Shutdown so it does not wait for them.
  void CloseWatches();

  // v1::ViewService::CallbackService
  grpc::ServerUnaryReactor* GetMyPage(grpc::CallbackServerContext* ctx,
                                      const v1::GetMyPageRequest* request,
                                      v1::GetMyPageResponse* response) override;
  grpc::ServerUnaryReactor* GetRentalStatus(grpc::CallbackServerContext* ctx,
                                            const v1::GetRentalStatusRequest* request,
                                            v1::RentalStatusView* response) override;
  grpc::ServerUnaryReactor* ListCatalog(grpc::CallbackServerContext* ctx,
                                        const v1::ListCatalogRequest* request,
                                        v1::ListCatalogResponse* response) override;
  grpc::ServerWriteReactor<v1::MyPageChange>* WatchMyPage(
      grpc::CallbackServerContext* ctx, const v1::WatchMyPageRequest* request) override;

 private:
  // The caller, checked to be `customer_id` (or a librarian or service).
  absl::Status AuthorizeCustomer(const grpc::CallbackServerContext& ctx,
                                 const std::string& customer_id) const;
  // Answers a call: a status to finish it with, or nullopt when the answer
  // has arranged to finish the call itself later.
  using Answer = std::function<std::optional<absl::Status>()>;

  // Runs `answer` once `token` is applied (at once when it is empty or
  // already applied), then finishes `reactor` with its status.
  void AfterToken(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
                  const std::string& token, Answer answer);
  void RunOnPool(grpc::ServerUnaryReactor* reactor, Answer answer);
  absl::Time WaitDeadline(const grpc::CallbackServerContext& ctx, absl::Duration cap) const;

  ViewService& service_;
  WorkPool& pool_;
  const Options options_;
  const CallerAuthenticator& auth_;
  // Arena allocation of each unary call's messages.
  std::unique_ptr<grpc::MessageAllocator<v1::GetMyPageRequest, v1::GetMyPageResponse>>
      my_page_allocator_;
  std::unique_ptr<grpc::MessageAllocator<v1::GetRentalStatusRequest, v1::RentalStatusView>>
      status_allocator_;
  std::unique_ptr<grpc::MessageAllocator<v1::ListCatalogRequest, v1::ListCatalogResponse>>
      catalog_allocator_;
};

// Domain -> wire.
void ToProto(const RentalView& rental, v1::RentalSummary* out);

}  // namespace rentmesh::view
