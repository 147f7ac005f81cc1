#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/telemetry/admin_server.h"

namespace rentmesh::telemetry {

// The admin routes that look at and re-drive dead letters:
//   GET  /admin/deadletters            JSON list of the attached consumers' dead letters
//   POST /admin/deadletters/replay?seq=N
//        re-drives DEADLETTER message N through the consumer it came from
//        (DurableConsumer::Replay: the original is fetched by stream and
//        sequence and handled again; on success the dead letter is removed).
//        200 replayed, 404 no such dead letter (or its original is gone),
//        400 bad request, 409/503/500 the handler's error (the dead letter stays).
// Routes() goes to ServiceTelemetry::Start before the consumers exist; they
// are attached once started (503 until then) and detached before they go.
class DeadLetterAdmin {
 public:
  std::vector<AdminServer::Route> Routes();
  void Attach(nats::DurableConsumer& consumer);
  void DetachAll();

  // What the routes do, for tests and tools.
  AdminServer::Reply List();
  AdminServer::Reply Replay(const std::string& seq_text);

 private:
  absl::Mutex mu_;
  std::vector<nats::DurableConsumer*> consumers_ ABSL_GUARDED_BY(mu_);
};

// HTTP status for a status code (OK 200, NOT_FOUND 404, INVALID_ARGUMENT 400, ...).
int HttpStatusOf(const absl::Status& status);

}  // namespace rentmesh::telemetry
