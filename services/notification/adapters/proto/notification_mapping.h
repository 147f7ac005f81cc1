#pragma once

#include "core/domain/notification.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {

// Domain <-> wire (the API and the NOTIFICATION stream's bodies).
v1::NotificationKind ToProto(NotificationKind kind);
NotificationKind FromProto(v1::NotificationKind kind);
void ToProto(const Notification& n, v1::Notification* out);
Notification FromProto(const v1::Notification& n);

}  // namespace rentmesh::notification
