#include "adapters/outbound/channels/webhook_channel.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::notification {

absl::StatusOr<std::unique_ptr<WebhookChannel>> WebhookChannel::Create(Options options) {
  absl::string_view rest = options.url;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError("the webhook URL must start with http://");
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  std::string path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string host(authority);
  int port = 80;
  const size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError("the webhook URL has a bad port");
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("the webhook URL has no host");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the webhook timeout must be positive");
  }
  return std::unique_ptr<WebhookChannel>(
      new WebhookChannel(std::move(options), std::move(host), port, std::move(path)));
}

std::string WebhookChannel::Body(const Notice& notice, const std::string& notification_id,
                                 const std::string& message) {
  nlohmann::json j = {
      {"notificationId", notification_id},
      {"customerId", notice.customer_id},
      {"rentalId", notice.rental_id},
      {"bookId", notice.book_id},
      {"kind", std::string(KindName(notice.kind))},
      {"eventId", notice.event_id},
      {"eventType", notice.event_type},
      {"occurredAt", absl::FormatTime(absl::RFC3339_full, notice.occurred_at, absl::UTCTimeZone())},
      {"message", message},
  };
  return j.dump();
}

std::string WebhookChannel::Signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return absl::StrCat("sha256=",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac),
                                                               static_cast<size_t>(len))));
}

absl::Status WebhookChannel::Send(const Notice& notice, const std::string& notification_id,
                                  const std::string& message) {
  const std::string body = Body(notice, notification_id, message);
  httplib::Client client(host_, port_);
  const int64_t us = absl::ToInt64Microseconds(options_.timeout);
  client.set_connection_timeout(us / 1000000, us % 1000000);
  client.set_read_timeout(us / 1000000, us % 1000000);
  client.set_write_timeout(us / 1000000, us % 1000000);
  httplib::Headers headers = {{kIdempotencyHeader, notification_id},
                              {kEventIdHeader, notice.event_id}};
  if (!options_.secret.empty()) headers.emplace(kSignatureHeader, Signature(options_.secret, body));
  httplib::Result res = client.Post(path_, headers, body, "application/json");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("webhook not reached: ", httplib::to_string(res.error())));
  }
  const int status = res->status;
  if (status >= 200 && status < 300) return absl::OkStatus();
  if (status == 408 || status == 429 || status >= 500) {
    return absl::UnavailableError(absl::StrCat("webhook answered ", status));
  }
  return absl::FailedPreconditionError(absl::StrCat("webhook refused it with ", status));
}

}  // namespace rentmesh::notification
