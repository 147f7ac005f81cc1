#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rentmesh/common/work_pool.h"

namespace rentmesh {

// The call's deadline; absl::InfiniteFuture() when the client set none.
absl::Time DeadlineOf(const grpc::ServerContextBase& ctx);

// Runs a unary call's blocking work on `pool` (never on a gRPC thread) and
// finishes `reactor` with the status `work` returns. A full pool finishes the
// call at once with RESOURCE_EXHAUSTED(`overloaded_message`); work picked up
// after `deadline` finishes with DEADLINE_EXCEEDED without running, so a
// caller that gave up causes no effect. The request and response stay valid
// until Finish, so `work` may use them.
void FinishOnPool(WorkPool& pool, grpc::ServerUnaryReactor* reactor, absl::Time deadline,
                  absl::string_view overloaded_message, std::function<absl::Status()> work);

}  // namespace rentmesh
