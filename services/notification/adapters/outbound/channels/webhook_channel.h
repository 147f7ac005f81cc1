#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/ports/notification_channel.h"

namespace rentmesh::notification {

// POSTs each notification as JSON to one URL (http://host:port/path).
//
// Headers: Content-Type application/json; Idempotency-Key = the notification
// id (the same on every retry: a receiver drops repeats with it, e.g. after a
// crash between the send and its record); Rentmesh-Event-Id = the event's id;
// Rentmesh-Signature = "sha256=" + lowercase hex HMAC-SHA256 of the exact
// body with the shared secret (sent only when a secret is set).
//
// 2xx: taken. 408, 429, 5xx, no connection or no answer within `timeout`:
// UNAVAILABLE (retried by the caller, with backoff). Other statuses:
// FAILED_PRECONDITION (the receiver refuses it; not retried).
class WebhookChannel final : public NotificationChannel {
 public:
  struct Options {
    std::string url;
    std::string secret;
    absl::Duration timeout = absl::Seconds(5);
  };
  // INVALID_ARGUMENT for a URL that is not http://host[:port][/path].
  static absl::StatusOr<std::unique_ptr<WebhookChannel>> Create(Options options);

  // The JSON body sent for a notice (also what the signature covers).
  static std::string Body(const Notice& notice, const std::string& notification_id,
                          const std::string& message);
  // "sha256=<hex HMAC-SHA256(secret, body)>".
  static std::string Signature(const std::string& secret, const std::string& body);

  static constexpr char kSignatureHeader[] = "Rentmesh-Signature";
  static constexpr char kIdempotencyHeader[] = "Idempotency-Key";
  static constexpr char kEventIdHeader[] = "Rentmesh-Event-Id";

  // NotificationChannel
  absl::string_view name() const override { return "webhook"; }
  absl::Status Send(const Notice& notice, const std::string& notification_id,
                    const std::string& message) override;

 private:
  WebhookChannel(Options options, std::string host, int port, std::string path)
      : options_(std::move(options)), host_(std::move(host)), port_(port), path_(std::move(path)) {}

  const Options options_;
  const std::string host_;
  const int port_;
  const std::string path_;
};

}  // namespace rentmesh::notification
