#include "adapters/inbound/grpc/notification_grpc_service.h"

#include "adapters/proto/notification_mapping.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::notification {

grpc::ServerUnaryReactor* NotificationGrpcService::ListNotifications(
    grpc::CallbackServerContext* ctx, const v1::ListNotificationsRequest* request,
    v1::ListNotificationsResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status valid = ValidateId("customer_id", request->customer_id());
  if (valid.ok() && request->page_size() < 0) {
    valid = absl::InvalidArgumentError("page_size must not be negative");
  }
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(*ctx);
  absl::Status allowed =
      caller.ok() ? caller->AuthorizeCustomer(request->customer_id()) : caller.status();
  if (!allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  const bool queued = pool_.TrySubmit([this, reactor, request, response] {
    absl::StatusOr<NotificationHistory::Page> page = service_.ListNotifications(
        request->customer_id(), request->page_size(), request->page_token());
    if (!page.ok()) {
      reactor->Finish(ToGrpcStatus(page.status()));
      return;
    }
    for (const Notification& n : page->notifications) ToProto(n, response->add_notifications());
    response->set_next_page_token(page->next_page_token);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "the notification service is overloaded; try again shortly"));
  }
  return reactor;
}

}  // namespace rentmesh::notification
