#include "rentmesh/common/pool_dispatch.h"

#include <string>

#include "rentmesh/common/grpc_status.h"

namespace rentmesh {

absl::Time DeadlineOf(const grpc::ServerContextBase& ctx) {
  std::chrono::system_clock::time_point d = ctx.deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(d);
}

void FinishOnPool(WorkPool& pool, grpc::ServerUnaryReactor* reactor, absl::Time deadline,
                  absl::string_view overloaded_message, std::function<absl::Status()> work) {
  bool queued = pool.TrySubmit([reactor, deadline, work = std::move(work)] {
    if (absl::Now() >= deadline) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                       "the deadline passed while the request was queued; nothing was done"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(overloaded_message)));
  }
}

}  // namespace rentmesh
