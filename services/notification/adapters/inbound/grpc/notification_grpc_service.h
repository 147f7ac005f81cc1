#pragma once

#include <grpcpp/grpcpp.h>

#include "core/notification_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/notification/v1/notification.grpc.pb.h"

namespace rentmesh::notification {

// rentmesh.notification.v1.NotificationService on the gRPC callback API.
// Input is checked on the gRPC thread (INVALID_ARGUMENT); the listing, which
// first catches up with the NOTIFICATION stream, runs on the work pool
// (RESOURCE_EXHAUSTED when it is full). A customer lists only their own
// notifications; librarians and services anyone's; anonymous callers are
// refused.
class NotificationGrpcService final : public v1::NotificationService::CallbackService {
 public:
  NotificationGrpcService(NotificationService& service, WorkPool& pool,
                          const CallerAuthenticator& auth)
      : service_(service), pool_(pool), auth_(auth) {}

  // v1::NotificationService::CallbackService
  grpc::ServerUnaryReactor* ListNotifications(grpc::CallbackServerContext* ctx,
                                              const v1::ListNotificationsRequest* request,
                                              v1::ListNotificationsResponse* response) override;

 private:
  NotificationService& service_;
  WorkPool& pool_;
  const CallerAuthenticator& auth_;
};

}  // namespace rentmesh::notification
