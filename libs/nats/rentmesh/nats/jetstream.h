#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rentmesh::nats {

// The one translation of NATS.c errors: JetStream's "wrong last sequence"
// (10071) is ABORTED (a concurrent writer won: catch up and decide again),
// timeouts, lost connections and a full store (see IsStoreFull) are
// UNAVAILABLE, the rest INTERNAL.
absl::Status FromNatsStatus(natsStatus s, jsErrCode js_error, absl::string_view what);

inline constexpr jsErrCode kWrongLastSequence = static_cast<jsErrCode>(10071);

// A store that cannot take more: the stream's own limit with discard=new
// (10077 "maximum messages/bytes exceeded"; the server reports it as a store
// failure) or the server's resources (10023 insufficient resources, 10047
// storage, 10028 memory). `text` is the server's description.
bool IsStoreFull(jsErrCode js_error, absl::string_view text);

// A raft peer the leader heard from within this is in touch (the heartbeat
// is 1 s; nats-server 2.9.10's leader notices a lost quorum only 10-20 s
// later, docs/cluster.md case 8).
inline constexpr absl::Duration kPeerFresh = absl::Seconds(3);

// OK when `cluster` (a stream's or consumer's, as its leader answered) names
// a leader in touch with a majority of `replicas`: it heard from enough
// peers within `fresh`. UNAVAILABLE naming `what` otherwise. Always OK for a
// single replica or no cluster information (a single server).
absl::Status LeaderQuorum(const jsClusterInfo* cluster, int replicas, absl::string_view what,
                          absl::Duration fresh = kPeerFresh);

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
  // A dead letter could not be stored; the message is kept and tried later.
  virtual void DeadLetterFailed(absl::string_view /*consumer*/) {}
  // An Ack/Nak/Term/InProgress the server did not take (`op`: "ack", ...).
  virtual void AckFailed(absl::string_view /*consumer*/, absl::string_view /*op*/) {}
  // A publish refused because the store is full (`full`), or the first
  // accepted one after that (`!full`). `scope` is the subject's first token.
  virtual void StoreFull(absl::string_view /*scope*/, bool /*full*/) {}
  // A message set aside as not one of ours (garbage, unknown, or a producer
  // that does not own the stream).
  virtual void Untrusted(absl::string_view /*consumer*/) {}
  // An event acknowledged without effect: it did not apply to its
  // aggregate's state (e.g. a second cancel of one rental).
  virtual void Ineffective(absl::string_view /*consumer*/, absl::string_view /*event_type*/) {}
  // Delivered messages that the stream leader holds otherwise: the server
  // that delivered them keeps a diverged copy of the stream (docs/cluster.md
  // case 7); the leader's messages were used instead.
  virtual void Diverged(absl::string_view /*consumer*/, uint64_t /*messages*/) {}
};

struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  // Window in which a repeated Nats-Msg-Id is dropped by the server.
  absl::Duration duplicate_window = absl::Minutes(2);
  // Limits; 0 means "not configured": unlimited when the stream is created,
  // and left as it is (e.g. set by hand by an operator) on an existing one.
  int64_t max_bytes = 0;
  int64_t max_msgs = 0;
  absl::Duration max_age = absl::ZeroDuration();
  // What a full stream does: refuse new messages (system-of-record streams:
  // history is never deleted) or delete the oldest (dead letters may age out).
  bool discard_new = true;
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

// Whether two copies of a stream message at one sequence are the same message
// (a diverged replica holds another one there: docs/cluster.md case 7).
inline bool SameStoredMessage(const StreamMessage& a, const StreamMessage& b) {
  return a.subject == b.subject && a.data == b.data;
}

// A leader stamps a stream's messages in order, so a message stored more than
// this before the one preceding it was proposed by a leader cut off from its
// peers and is kept by a diverged copy (docs/cluster.md case 8).
inline constexpr absl::Duration kStaleStep = absl::Seconds(1);

// Indexes of the messages of `batch` stored more than kStaleStep before the
// message preceding them (the first one's predecessor stored at
// `previous_ts`, 0 for none): to be compared with the stream leader's copy.
std::vector<size_t> OlderThanPredecessor(const std::vector<StreamMessage>& batch,
                                         int64_t previous_ts);

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

  // Creates the stream (file storage) with the spec; on an existing stream
  // changes only what differs from the spec among subjects, replicas,
  // duplicate window, discard policy and the limits the spec sets (non-zero),
  // keeping every other setting (limits set by hand stay). No update call at
  // all when nothing differs.
  absl::Status EnsureStream(const StreamSpec& spec);

  // Publishes and waits for the stream's acknowledgement. ABORTED when
  // expected_last_subject_seq does not hold; UNAVAILABLE "stream full" when
  // the store takes no more (see StoreHealth).
  absl::StatusOr<PubAck> Publish(const PublishRequest& req);

  // UNAVAILABLE while the last publish to some subject scope (first token:
  // "rental", "payment", ...) was refused for a full store; OK otherwise.
  // For readiness.
  absl::Status StoreHealth() const;

  // A stored message by stream sequence (direct get when allowed). NOT_FOUND
  // when the stream has no message at `sequence`.
  absl::StatusOr<StreamMessage> GetMessage(absl::string_view stream, uint64_t sequence);
  // The last message stored on `subject` (no wildcards). NOT_FOUND when the
  // subject has none or the stream does not exist.
  absl::StatusOr<StreamMessage> LastMessage(absl::string_view stream, absl::string_view subject);
  // Purges the messages on `subject` (wildcards allowed) stored before
  // `before_sequence` (0: all of them).
  absl::Status Purge(absl::string_view stream, absl::string_view subject, uint64_t before_sequence);
  // Deletes a stored message; NOT_FOUND when already gone.
  absl::Status DeleteMessage(absl::string_view stream, uint64_t sequence);
  // The stream's first and last sequence.
  absl::StatusOr<std::pair<uint64_t, uint64_t>> SequenceRange(absl::string_view stream);

  // The stream's last sequence (0 when empty), as known to a node that can
  // know it. On a cluster, a node cut off from its peers answers stream info
  // from its own store once its group is leaderless, and a leader that lost
  // its peers answers until it steps down (about 10 s): both can be behind
  // what the majority committed meanwhile (docs/cluster.md, case 6). Such an
  // answer is UNAVAILABLE: it counts only when it names a leader that heard
  // from a majority of the stream's replicas within the last few heartbeats.
  absl::StatusOr<uint64_t> LastSequence(absl::string_view stream);

  bool Connected() const;
  // Set once at start-up, before publishing or consuming; may be null.
  void SetObserver(FlowObserver* observer) { observer_ = observer; }
  FlowObserver* observer() const { return observer_; }
  natsConnection* connection() const { return conn_; }
  jsCtx* context() const { return js_; }

 private:
  JetStream(natsConnection* conn, jsCtx* js) : conn_(conn), js_(js) {}
  void NoteStoreFull(const std::string& subject, bool full, std::string text);

  natsConnection* conn_;
  jsCtx* js_;
  FlowObserver* observer_ = nullptr;
  mutable absl::Mutex full_mu_;
  // Subject scope -> the refusal's text, while full.
  std::map<std::string, std::string> full_ ABSL_GUARDED_BY(full_mu_);
  std::atomic<int> full_count_{0};
};

}  // namespace rentmesh::nats
