#pragma once

#include <nats/nats.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::nats {

// The one translation of NATS.c errors: JetStream's "wrong last sequence"
// (10071) is ABORTED (a concurrent writer won: catch up and decide again),
// timeouts and lost connections are UNAVAILABLE, the rest INTERNAL.
absl::Status FromNatsStatus(natsStatus s, jsErrCode js_error, absl::string_view what);

inline constexpr jsErrCode kWrongLastSequence = static_cast<jsErrCode>(10071);

// The header naming an event's type on every rentmesh message.
inline constexpr char kEventTypeHeader[] = "Rentmesh-Event-Type";

// Sees the event flow, for metrics. Called on hot paths from several threads:
// implementations must be cheap and thread-safe.
class FlowObserver {
 public:
  virtual ~FlowObserver() = default;
  virtual void Published(absl::string_view stream, absl::string_view event_type) = 0;
  // `consumer`: a durable's name, or "<stream>-follower" for a projection.
  virtual void Consumed(absl::string_view consumer, absl::string_view event_type) = 0;
  virtual void Redelivered(absl::string_view consumer) = 0;
  virtual void DeadLettered(absl::string_view consumer) = 0;
};

struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  // Window in which a repeated Nats-Msg-Id is dropped by the server.
  absl::Duration duplicate_window = absl::Minutes(2);
};

struct PublishRequest {
  std::string subject;
  std::string data;
  // Nats-Msg-Id: the server drops a second message with the same id within
  // the stream's duplicate window.
  std::string msg_id;
  // Nats-Expected-Last-Subject-Sequence. 0 means "the subject must be empty"
  // (NATS.c's own option treats 0 as unset, so the header is set directly).
  std::optional<uint64_t> expected_last_subject_seq;
  std::map<std::string, std::string> headers;
  absl::Duration timeout = absl::Seconds(2);
};

struct PubAck {
  std::string stream;
  uint64_t sequence = 0;
  // The server had this msg_id already; `sequence` is the first copy's.
  bool duplicate = false;
};

// A message read from a stream.
struct StreamMessage {
  uint64_t sequence = 0;
  std::string subject;
  std::string data;
  std::map<std::string, std::string> headers;
  // How many times this message was delivered to the consumer (1 = first).
  uint64_t num_delivered = 1;
  int64_t timestamp_ns = 0;

  std::string Header(const std::string& key) const {
    auto it = headers.find(key);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Copies a NATS message (data, subject, JetStream metadata, and its headers:
// all of them, or only the event type, which is cheaper on hot paths).
StreamMessage ToStreamMessage(natsMsg* msg, bool all_headers = true);

// Who the client is to NATS, and how it reaches the server. All empty: an
// anonymous plain-text connection (a server with authorization refuses it).
struct ConnectOptions {
  // A file of "user=NAME", "password=SECRET" and optionally "inbox=PREFIX"
  // lines ('#' starts a comment), as tools/nats_auth.sh writes them and the
  // chart mounts them. Replies and push deliveries come to subjects under the
  // inbox prefix (default _INBOX_<user>), the only ones the service's NATS
  // user may subscribe to.
  std::string credentials_file;
  // TLS: the CA that signed the server's certificate (turns TLS on), and
  // optionally a client certificate chain and key for servers that verify
  // clients.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

struct NatsCredentials {
  std::string user;
  std::string password;
  std::string inbox_prefix;  // _INBOX_<user> unless the file names one
};

// Reads a credentials file; INVALID_ARGUMENT naming the file (never the
// secret) when it cannot be read or lacks a user or a password.
absl::StatusOr<NatsCredentials> ReadCredentialsFile(const std::string& path);

// "nats://user:secret@host:4222" -> "nats://host:4222", for logs and errors.
std::string RedactUrl(absl::string_view url);

// A connection to NATS with its JetStream context. Thread-safe: NATS.c
// connections may be shared by threads.
class JetStream {
 public:
  // Connects to `url` (comma-separated for a cluster), retrying for up to
  // `connect_timeout` (the server may still be starting). Once connected, it
  // reconnects forever in the background. A server that refuses the
  // credentials is UNAUTHENTICATED, at once (no retrying).
  static absl::StatusOr<std::unique_ptr<JetStream>> Connect(
      const std::string& url, const std::string& name, absl::Duration connect_timeout,
      const ConnectOptions& options = ConnectOptions());
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  // Creates the stream (file storage) or updates its subjects and replicas.
  absl::Status EnsureStream(const StreamSpec& spec);

  // Publishes and waits for the stream's acknowledgement. ABORTED when
  // expected_last_subject_seq does not hold.
  absl::StatusOr<PubAck> Publish(const PublishRequest& req);

  // The stream's last sequence (0 when empty).
  absl::StatusOr<uint64_t> LastSequence(absl::string_view stream);

  bool Connected() const;
  // Set once at start-up, before publishing or consuming; may be null.
  void SetObserver(FlowObserver* observer) { observer_ = observer; }
  FlowObserver* observer() const { return observer_; }
  natsConnection* connection() const { return conn_; }
  jsCtx* context() const { return js_; }

 private:
  JetStream(natsConnection* conn, jsCtx* js) : conn_(conn), js_(js) {}
  natsConnection* conn_;
  jsCtx* js_;
  FlowObserver* observer_ = nullptr;
};

}  // namespace rentmesh::nats
