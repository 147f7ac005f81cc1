#pragma once

#include "core/domain/notification.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {

// Domain <-> wire (the API and the NOTIFICATION stream's bodies).
void ToProto(const Notification& n, v1::Notification* out);
Notification FromProto(const v1::Notification& n);

}  // namespace rentmesh::notification
