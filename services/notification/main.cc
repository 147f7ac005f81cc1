// The notification server: composition root only. Flags -> NotificationConfig
// -> adapters -> core -> consumers and gRPC, and shutdown in reverse.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/inbound/grpc/notification_grpc_service.h"
#include "adapters/inbound/nats/notification_consumers.h"
#include "adapters/inbound/timer/due_reminder_timer.h"
#include "adapters/outbound/channels/log_channel.h"
#include "adapters/outbound/channels/webhook_channel.h"
#include "adapters/outbound/nats/jetstream_notification_history.h"
#include "adapters/outbound/nats/jetstream_reminder_log.h"
#include "adapters/outbound/rocksdb/rocksdb_delivery_facts.h"
#include "adapters/outbound/rocksdb/rocksdb_due_timers.h"
#include "adapters/outbound/rocksdb/rocksdb_notification_store.h"
#include "adapters/outbound/telemetry/prometheus_delivery_observer.h"
#include "core/due_reminder_scheduler.h"
#include "core/notification_service.h"
#include "notification_config.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/security_flags.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/nats_flags.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/durable_catch_up.h"
#include "rentmesh/telemetry/liveness_watch.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50056", "gRPC listen address (port 0: any)");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9456",
          "admin HTTP address: /metrics and /healthz");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, data_dir, "var/notification",
          "RocksDB folder of this replica's fold of the NOTIFICATION stream");
ABSL_FLAG(int, stream_replicas, 1, "replicas of the streams this service creates");
ABSL_FLAG(int, workers, 4, "threads answering ListNotifications");
ABSL_FLAG(int, max_inflight, 256, "queued calls beyond which calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(5), "longest wait on JetStream per operation");
ABSL_FLAG(absl::Duration, rebuild_flush_interval, absl::Seconds(10),
          "while catching up at start, how often progress is made durable");
ABSL_FLAG(bool, log_channel, true, "send every notification to the log channel");
ABSL_FLAG(std::string, webhook_url, "",
          "http://host:port/path to POST notifications to (empty: no webhook channel)");
ABSL_FLAG(std::string, webhook_secret_file, "",
          "file holding the webhook's HMAC-SHA256 signing secret (Rentmesh-Signature header)");
ABSL_FLAG(absl::Duration, webhook_timeout, absl::Seconds(5), "deadline of one webhook call");
ABSL_FLAG(int, max_attempts, 2000,
          "attempts of one delivery before it is recorded as failed (2000: about 16 h at "
          "--retry_max=30s)");
ABSL_FLAG(absl::Duration, retry_initial, absl::Milliseconds(200),
          "first redelivery delay of a failed delivery (doubles per attempt)");
ABSL_FLAG(absl::Duration, retry_max, absl::Seconds(30), "longest redelivery delay");
ABSL_FLAG(bool, reminders, true, "send due-soon and overdue reminders (the due-date timer)");
ABSL_FLAG(absl::Duration, due_soon_window, absl::Hours(24),
          "how long before the due date the due-soon reminder goes out");
ABSL_FLAG(absl::Duration, due_scan_interval, absl::Seconds(30),
          "how often the due-date timer looks for reminders to schedule");
ABSL_FLAG(absl::Duration, liveness_pool_bound, absl::Seconds(30),
          "liveness NOT_SERVING when a queued call waited longer than this");
ABSL_FLAG(absl::Duration, liveness_follower_bound, absl::Seconds(60),
          "liveness NOT_SERVING when the history follower had messages and applied none for "
          "this long");

namespace rentmesh::notification {
namespace {

NotificationConfig ConfigFromFlags() {
  NotificationConfig c;
  c.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  c.admin_address = absl::GetFlag(FLAGS_admin_address);
  c.nats_url = absl::GetFlag(FLAGS_nats_url);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.stream_replicas = absl::GetFlag(FLAGS_stream_replicas);
  c.workers = absl::GetFlag(FLAGS_workers);
  c.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  c.max_wait = absl::GetFlag(FLAGS_max_wait);
  c.rebuild_flush_interval = absl::GetFlag(FLAGS_rebuild_flush_interval);
  c.log_channel = absl::GetFlag(FLAGS_log_channel);
  c.webhook_url = absl::GetFlag(FLAGS_webhook_url);
  c.webhook_secret_file = absl::GetFlag(FLAGS_webhook_secret_file);
  c.webhook_timeout = absl::GetFlag(FLAGS_webhook_timeout);
  c.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  c.retry_initial = absl::GetFlag(FLAGS_retry_initial);
  c.retry_max = absl::GetFlag(FLAGS_retry_max);
  c.reminders = absl::GetFlag(FLAGS_reminders);
  c.due_soon_window = absl::GetFlag(FLAGS_due_soon_window);
  c.due_scan_interval = absl::GetFlag(FLAGS_due_scan_interval);
  c.liveness_pool_bound = absl::GetFlag(FLAGS_liveness_pool_bound);
  c.liveness_follower_bound = absl::GetFlag(FLAGS_liveness_follower_bound);
  return c;
}

[[noreturn]] void Fail(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", status.ToString()}});
  std::exit(1);
}

// The secret without surrounding whitespace (a trailing newline is usual).
absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret(absl::StripAsciiWhitespace(ss.str()));
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  return secret;
}

int Run(const NotificationConfig& config) {
  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(config.admin_address, [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("not ready");
      });
  if (!telemetry.ok()) Fail("cannot start the admin server", telemetry.status());

  // Channels first: a bad webhook setting fails before anything connects.
  std::vector<std::unique_ptr<NotificationChannel>> channels;
  if (config.log_channel) channels.push_back(std::make_unique<LogChannel>());
  if (!config.webhook_url.empty()) {
    WebhookChannel::Options w;
    w.url = config.webhook_url;
    w.timeout = config.webhook_timeout;
    if (!config.webhook_secret_file.empty()) {
      absl::StatusOr<std::string> secret = ReadSecret(config.webhook_secret_file);
      if (!secret.ok()) Fail("cannot read the webhook secret", secret.status());
      w.secret = *std::move(secret);
    } else {
      LogWarn("the webhook's calls are not signed (no --webhook_secret_file)");
    }
    absl::StatusOr<std::unique_ptr<WebhookChannel>> webhook = WebhookChannel::Create(w);
    if (!webhook.ok()) Fail("bad webhook configuration", webhook.status());
    channels.push_back(*std::move(webhook));
  }

  absl::StatusOr<std::unique_ptr<nats::JetStream>> js = nats::JetStream::Connect(
      config.nats_url, "notification", config.connect_timeout, nats::ConnectOptionsFromFlags());
  if (!js.ok()) Fail("cannot connect to NATS", js.status());
  (*js)->SetObserver(telemetry->get());
  if (absl::Status s =
          (*js)->EnsureStream(JetStreamNotificationHistory::Stream(config.stream_replicas));
      !s.ok()) {
    Fail("cannot ensure the NOTIFICATION stream", s);
  }
  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> state =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!state.ok()) Fail("cannot open the state store", state.status());
  RocksDbDueTimers due_timers(**state, config.due_soon_window);
  RocksDbNotificationStore store(**state, config.reminders ? &due_timers : nullptr);
  absl::StatusOr<uint64_t> applied = store.AppliedPosition();
  if (!applied.ok()) Fail("cannot read the stored position", applied.status());
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower = nats::StreamFollower::Start(
      **js, {JetStreamNotificationHistory::kStream, "notification.>", *applied, 1024},
      [&store](const std::vector<nats::StreamMessage>& batch) { return store.Apply(batch); });
  if (!follower.ok()) Fail("cannot follow the NOTIFICATION stream", follower.status());
  // The history must be complete before anything is delivered (it tells
  // what was sent already) or listed.
  if (absl::Status s = telemetry::CatchUpDurably(**js, **follower, **state, **telemetry,
                                                 JetStreamNotificationHistory::kStream,
                                                 config.rebuild_flush_interval);
      !s.ok()) {
    Fail("cannot flush the state store", s);
  }

  for (const nats::StreamSpec& spec :
       NotificationConsumers::SourceStreams(config.stream_replicas)) {
    if (absl::Status s = (*js)->EnsureStream(spec); !s.ok()) Fail("cannot ensure a stream", s);
  }
  // This replica's folds of RENTAL, the due-date timer's (when on) and the
  // delivery facts' book titles, on one follower from the older of their
  // positions (each skips what it applied); and of DELIVERY, the facts of
  // every delivery (whose, which book) and courier (its name).
  RocksDbDeliveryFacts delivery_facts(**state);
  absl::StatusOr<uint64_t> facts_rental = delivery_facts.AppliedRentalPosition();
  absl::StatusOr<uint64_t> facts_delivery = delivery_facts.AppliedDeliveryPosition();
  if (!facts_rental.ok()) Fail("cannot read the stored position", facts_rental.status());
  if (!facts_delivery.ok()) Fail("cannot read the stored position", facts_delivery.status());
  uint64_t rental_from = *facts_rental;
  if (config.reminders) {
    absl::StatusOr<uint64_t> due_applied = due_timers.AppliedPosition();
    if (!due_applied.ok()) Fail("cannot read the stored position", due_applied.status());
    rental_from = std::min(rental_from, *due_applied);
  }
  nats::StreamFollower::Options rental_options{events::kRentalStream, "rental.>", rental_from,
                                               1024};
  rental_options.all_headers = false;
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> rental_follower =
      nats::StreamFollower::Start(**js, rental_options,
                                  [&due_timers, &delivery_facts, reminders = config.reminders](
                                      const std::vector<nats::StreamMessage>& batch) {
                                    if (reminders) {
                                      if (absl::Status s = due_timers.ApplyRental(batch); !s.ok())
                                        return s;
                                    }
                                    return delivery_facts.ApplyRental(batch);
                                  });
  if (!rental_follower.ok()) Fail("cannot follow the RENTAL stream", rental_follower.status());
  nats::StreamFollower::Options delivery_options{events::kDeliveryStream, "delivery.>",
                                                 *facts_delivery, 1024};
  delivery_options.all_headers = false;
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> delivery_follower =
      nats::StreamFollower::Start(**js, delivery_options,
                                  [&delivery_facts](const std::vector<nats::StreamMessage>& batch) {
                                    return delivery_facts.ApplyDelivery(batch);
                                  });
  if (!delivery_follower.ok()) {
    Fail("cannot follow the DELIVERY stream", delivery_follower.status());
  }

  JetStreamNotificationHistory history(**js, **follower, store, config.max_wait);
  PrometheusDeliveryObserver observer((*telemetry)->registry());
  SystemClock clock;
  NotificationService::Options service_options;
  service_options.max_attempts = config.max_attempts;
  NotificationService service(history, clock, &observer, service_options);

  std::vector<NotificationChannel*> channel_ptrs;
  for (const auto& c : channels) channel_ptrs.push_back(c.get());
  NotificationConsumers::Options consumer_options;
  consumer_options.stream_replicas = config.stream_replicas;
  consumer_options.backoff_initial = config.retry_initial;
  consumer_options.backoff_max = config.retry_max;
  // The service records a delivery as failed at its last attempt; the
  // consumers' own bound lies beyond it.
  consumer_options.max_deliver = config.max_attempts + 1;
  consumer_options.reminders = config.reminders;
  nats::StreamFollower& rf = **rental_follower;
  nats::StreamFollower& df = **delivery_follower;
  const absl::Duration wait = config.max_wait;
  if (config.reminders) {
    consumer_options.rental_open = [&rf, &due_timers,
                                    wait](const std::string& rental_id) -> absl::StatusOr<bool> {
      if (absl::Status s = rf.CatchUp(absl::Now() + wait); !s.ok()) return s;
      return due_timers.IsOpen(rental_id);
    };
  }
  // A step's delivery was requested before it, on DELIVERY, and its rental's
  // BookRented before that request, on RENTAL: caught up with both, the facts
  // are there.
  consumer_options.delivery_facts =
      [&rf, &df, &delivery_facts,
       wait](const Notice& step) -> absl::StatusOr<std::optional<DeliveryFacts>> {
    const absl::Time deadline = absl::Now() + wait;
    if (absl::Status s = df.CatchUp(deadline); !s.ok()) return s;
    if (absl::Status s = rf.CatchUp(deadline); !s.ok()) return s;
    return delivery_facts.Find(step.delivery_id, step.rental_id, step.courier_id);
  };
  absl::StatusOr<std::unique_ptr<NotificationConsumers>> consumers =
      NotificationConsumers::Start(**js, service, channel_ptrs, consumer_options);
  if (!consumers.ok()) Fail("cannot start the event consumers", consumers.status());

  JetStreamReminderLog reminder_log(**js, config.max_wait);
  DueReminderScheduler scheduler(due_timers, reminder_log, clock,
                                 {config.due_soon_window, /*batch=*/500});
  std::unique_ptr<DueReminderTimer> timer;
  if (config.reminders) {
    timer = std::make_unique<DueReminderTimer>(
        scheduler, [&rf, wait] { return rf.CatchUp(absl::Now() + wait); },
        config.due_scan_interval);
  }

  WorkPool pool(config.workers, static_cast<size_t>(config.max_inflight));
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  NotificationGrpcService grpc_service(service, pool, **auth);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config.grpc_address, {&grpc_service}, (*telemetry)->GrpcInterceptors(), *server_options);
  if (!server.ok()) Fail("cannot start the gRPC server", server.status());
  (*server)->SetServing(true);
  ready = true;
  // Liveness goes NOT_SERVING when wedged; readiness stays while NATS is
  // down (deliveries wait on the durables, the history answers from its fold).
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{config.liveness_pool_bound, config.liveness_follower_bound,
                                        absl::Seconds(1)},
      &(*telemetry)->events());
  liveness->WatchWorkPool(pool, "grpc");
  liveness->WatchFollower(**js, **follower, JetStreamNotificationHistory::kStream);
  liveness->WatchFollower(**js, rf, events::kRentalStream);
  liveness->WatchFollower(**js, df, events::kDeliveryStream);
  liveness->WatchReadiness(
      [&ready] { return ready ? absl::OkStatus() : absl::UnavailableError("shutting down"); });
  liveness->Start(server->get());
  (*telemetry)->WatchStateStore(**state);
  (*telemetry)->WatchFollower(**js, **follower, JetStreamNotificationHistory::kStream);
  (*telemetry)->WatchFollower(**js, rf, events::kRentalStream);
  (*telemetry)->WatchFollower(**js, df, events::kDeliveryStream);
  for (const NotificationConsumers::Entry& e : (*consumers)->consumers()) {
    (*telemetry)->WatchConsumer(*e.consumer, e.durable);
  }
  (*telemetry)->WatchWorkPool(pool);
  (*telemetry)->SetRebuildProgress(1.0);
  std::string names;
  for (const auto& c : channels) absl::StrAppend(&names, names.empty() ? "" : ",", c->name());
  const std::string host = config.grpc_address.substr(0, config.grpc_address.rfind(':'));
  LogInfo("listening", {{"addr", absl::StrCat(host, ":", (*server)->port())},
                        {"grpc_service", "rentmesh.notification.v1.NotificationService"},
                        {"channels", names},
                        {"applied", absl::StrCat((*follower)->applied())}});

  const int signal = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", absl::StrCat(signal)}});
  (*telemetry)->StopAdmin();
  ready = false;
  liveness.reset();
  timer.reset();       // No reminder scheduled after this.
  consumers->reset();  // No delivery after this.
  (*server)->SetServing(false);
  (*server)->Shutdown(config.shutdown_grace);
  server->reset();
  return 0;
}

}  // namespace
}  // namespace rentmesh::notification

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  rentmesh::SetLogService("notification");
  absl::ParseCommandLine(argc, argv);
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rentmesh::notification::NotificationConfig config = rentmesh::notification::ConfigFromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) {
    rentmesh::LogError("bad configuration", {{"error", s.ToString()}});
    return 2;
  }
  return rentmesh::notification::Run(config);
}
