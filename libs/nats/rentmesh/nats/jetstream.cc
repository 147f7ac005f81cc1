#include "rentmesh/nats/jetstream.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace rentmesh::nats {
namespace {

struct OptionsDeleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};

}  // namespace

bool IsStoreFull(jsErrCode js_error, absl::string_view text) {
  switch (static_cast<int>(js_error)) {
    case JSInsufficientResourcesErr:
    case JSStorageResourcesExceededErr:
    case JSMemoryResourcesExceededErr:
      return true;
    case JSStreamStoreFailedErr:
      return absl::StrContains(text, "maximum messages") ||
             absl::StrContains(text, "maximum bytes") || absl::StrContains(text, "exceeded") ||
             absl::StrContains(text, "insufficient");
    default:
      return false;
  }
}

absl::Status FromNatsStatus(natsStatus s, jsErrCode js_error, absl::string_view what) {
  if (s == NATS_OK) return absl::OkStatus();
  std::string text = absl::StrCat(what, ": ", natsStatus_GetText(s));
  // The server's description, kept by NATS.c for this thread.
  const char* last = js_error != 0 ? nats_GetLastError(nullptr) : nullptr;
  const std::string detail = last != nullptr ? last : "";
  if (js_error != 0) {
    absl::StrAppend(&text, " (JetStream error ", static_cast<int>(js_error),
                    detail.empty() ? "" : ": ", detail, ")");
  }
  if (js_error == kWrongLastSequence) return absl::AbortedError(text);
  switch (js_error) {
    // The cluster cannot answer now (no meta or stream leader, an offline
    // asset, a node cut off from its peers): worth retrying, not a bug.
    case JSClusterNotAvailErr:
    case JSClusterNotLeaderErr:
    case JSStreamOfflineErr:
    case JSConsumerOfflineErr:
      return absl::UnavailableError(text);
    default:
      break;
  }
  if (IsStoreFull(js_error, detail)) {
    return absl::UnavailableError(absl::StrCat("stream full, nothing more can be stored: ", text));
  }
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR:
    case NATS_NO_RESPONDERS:
    case NATS_STALE_CONNECTION:
    case NATS_DRAINING:
      return absl::UnavailableError(text);
    case NATS_NOT_FOUND:
      return absl::NotFoundError(text);
    default:
      return absl::InternalError(text);
  }
}

StreamMessage ToStreamMessage(natsMsg* msg, bool all_headers) {
  StreamMessage out;
  out.subject = natsMsg_GetSubject(msg);
  out.data.assign(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  if (all_headers) {
    const char** keys = nullptr;
    int count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
      for (int i = 0; i < count; ++i) {
        const char* value = nullptr;
        if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK && value != nullptr) {
          out.headers[keys[i]] = value;
        }
      }
      free(keys);
    }
  } else {
    const char* type = nullptr;
    if (natsMsgHeader_Get(msg, kEventTypeHeader, &type) == NATS_OK && type != nullptr) {
      out.headers[kEventTypeHeader] = type;
    }
  }
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    out.sequence = meta->Sequence.Stream;
    out.num_delivered = meta->NumDelivered;
    out.timestamp_ns = meta->Timestamp;
    jsMsgMetaData_Destroy(meta);
  } else {
    // A stored message read by sequence (js_GetMsg): no delivery metadata.
    out.sequence = natsMsg_GetSequence(msg);
    out.timestamp_ns = natsMsg_GetTime(msg);
  }
  return out;
}

absl::StatusOr<NatsCredentials> ReadCredentialsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read NATS credentials ", path));
  NatsCredentials out;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l.front() == '#') continue;
    size_t eq = l.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("NATS credentials ", path, ": a line is not key=value"));
    }
    absl::string_view key = absl::StripAsciiWhitespace(l.substr(0, eq));
    absl::string_view value = absl::StripAsciiWhitespace(l.substr(eq + 1));
    if (key == "user") {
      out.user = std::string(value);
    } else if (key == "password") {
      out.password = std::string(value);
    } else if (key == "inbox") {
      out.inbox_prefix = std::string(value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("NATS credentials ", path, ": unknown key \"", key, "\""));
    }
  }
  if (out.user.empty() || out.password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("NATS credentials ", path, " need a user= and a password= line"));
  }
  auto token = [](absl::string_view t) {
    for (char c : t) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    return !t.empty();
  };
  if (!token(out.user)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NATS credentials ", path, ": the user may have only letters, digits, - and _"));
  }
  if (out.inbox_prefix.empty()) out.inbox_prefix = absl::StrCat("_INBOX_", out.user);
  if (!token(out.inbox_prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NATS credentials ", path, ": the inbox may have only letters, digits, - and _"));
  }
  return out;
}

std::string RedactUrl(absl::string_view url) {
  std::vector<std::string> out;
  for (absl::string_view server : absl::StrSplit(url, ',')) {
    size_t scheme = server.find("://");
    size_t start = scheme == absl::string_view::npos ? 0 : scheme + 3;
    size_t at = server.find('@', start);
    if (at == absl::string_view::npos) {
      out.emplace_back(server);
    } else {
      out.push_back(absl::StrCat(server.substr(0, start), server.substr(at + 1)));
    }
  }
  return absl::StrJoin(out, ",");
}

absl::StatusOr<std::unique_ptr<JetStream>> JetStream::Connect(const std::string& url,
                                                              const std::string& name,
                                                              absl::Duration connect_timeout,
                                                              const ConnectOptions& options) {
  // NATS.c spins on its mutexes by default; on a small, busy machine that
  // burns ~10% of the CPU per rental (measured by tools/bench/rent_bench).
  // The setting takes effect only before the library's first use.
  static const natsStatus opened = nats_Open(0);
  (void)opened;
  natsOptions* raw_opts = nullptr;
  if (natsStatus s = natsOptions_Create(&raw_opts); s != NATS_OK) {
    return FromNatsStatus(s, static_cast<jsErrCode>(0), "nats options");
  }
  std::unique_ptr<natsOptions, OptionsDeleter> opts(raw_opts);
  // A cluster is named as "nats://a:4222,nats://b:4222": NATS.c's URL option
  // takes one server, so the list goes in as the server pool (randomized, so
  // replicas spread over the nodes; on loss the client moves to another).
  std::vector<std::string> servers = absl::StrSplit(url, ',', absl::SkipWhitespace());
  for (std::string& server : servers) server = std::string(absl::StripAsciiWhitespace(server));
  if (servers.empty()) return absl::InvalidArgumentError("no NATS server URL given");
  std::vector<const char*> server_ptrs;
  for (const std::string& server : servers) server_ptrs.push_back(server.c_str());
  if (natsStatus s = natsOptions_SetServers(opts.get(), server_ptrs.data(),
                                            static_cast<int>(server_ptrs.size()));
      s != NATS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("NATS server URLs \"", RedactUrl(url), "\": ", natsStatus_GetText(s)));
  }
  natsOptions_SetName(opts.get(), name.c_str());
  if (!options.credentials_file.empty()) {
    absl::StatusOr<NatsCredentials> creds = ReadCredentialsFile(options.credentials_file);
    if (!creds.ok()) return creds.status();
    natsOptions_SetUserInfo(opts.get(), creds->user.c_str(), creds->password.c_str());
    // Replies and push deliveries come to this user's own inboxes, the only
    // subjects its NATS permissions let it subscribe to.
    natsOptions_SetCustomInboxPrefix(opts.get(), creds->inbox_prefix.c_str());
  }
  if (!options.tls_ca_file.empty()) {
    natsStatus t = natsOptions_SetSecure(opts.get(), true);
    if (t == NATS_OK)
      t = natsOptions_LoadCATrustedCertificates(opts.get(), options.tls_ca_file.c_str());
    if (t != NATS_OK) {
      return absl::InvalidArgumentError(absl::StrCat("NATS TLS CA ", options.tls_ca_file, ": ",
                                                     natsStatus_GetText(t), " ",
                                                     nats_GetLastError(nullptr)));
    }
  } else if (!options.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("a NATS client certificate needs the CA (--nats_tls_ca)");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("a NATS client certificate needs both the cert and the key");
  }
  if (!options.tls_cert_file.empty()) {
    if (natsStatus t = natsOptions_LoadCertificatesChain(opts.get(), options.tls_cert_file.c_str(),
                                                         options.tls_key_file.c_str());
        t != NATS_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("NATS TLS client certificate ", options.tls_cert_file, ": ",
                       natsStatus_GetText(t), " ", nats_GetLastError(nullptr)));
    }
  }
  natsOptions_SetTimeout(opts.get(), 2000);
  natsOptions_SetMaxReconnect(opts.get(), -1);
  natsOptions_SetReconnectWait(opts.get(), 250);
  natsOptions_SetReconnectBufSize(opts.get(), 64 * 1024 * 1024);

  absl::Time deadline = absl::Now() + connect_timeout;
  natsConnection* conn = nullptr;
  natsStatus s;
  for (;;) {
    s = natsConnection_Connect(&conn, opts.get());
    if (s == NATS_OK || absl::Now() >= deadline) break;
    // Refused credentials or a bad certificate do not get better by waiting.
    if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_SSL_ERROR) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (s == NATS_CONNECTION_AUTH_FAILED) {
    return absl::UnauthenticatedError(absl::StrCat(
        "connect to ", RedactUrl(url), ": NATS refused the credentials (",
        options.credentials_file.empty() ? "none given" : options.credentials_file, ")"));
  }
  if (s != NATS_OK) {
    return FromNatsStatus(s, static_cast<jsErrCode>(0),
                          absl::StrCat("connect to ", RedactUrl(url)));
  }
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = 5000;
  jsCtx* js = nullptr;
  if (s = natsConnection_JetStream(&js, conn, &js_opts); s != NATS_OK) {
    natsConnection_Destroy(conn);
    return FromNatsStatus(s, static_cast<jsErrCode>(0), "jetstream context");
  }
  return std::unique_ptr<JetStream>(new JetStream(conn, js));
}

JetStream::~JetStream() {
  jsCtx_Destroy(js_);
  natsConnection_Close(conn_);
  natsConnection_Destroy(conn_);
}

absl::Status JetStream::EnsureStream(const StreamSpec& spec) {
  std::vector<const char*> subjects;
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  const jsDiscardPolicy discard = spec.discard_new ? js_DiscardNew : js_DiscardOld;
  const int64_t max_age_ns = absl::ToInt64Nanoseconds(spec.max_age);
  const int64_t duplicates_ns = absl::ToInt64Nanoseconds(spec.duplicate_window);

  jsStreamInfo* current = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&current, context(), spec.name.c_str(), nullptr, &jerr);
  if (s == NATS_OK && current != nullptr && current->Config != nullptr) {
    // Existing: start from its own settings and change only what the spec
    // says and differs.
    jsStreamConfig cfg = *current->Config;
    bool same_subjects = cfg.SubjectsLen == static_cast<int>(subjects.size());
    for (int i = 0; same_subjects && i < cfg.SubjectsLen; ++i) {
      same_subjects = std::string(cfg.Subjects[i]) == spec.subjects[i];
    }
    bool changed = !same_subjects;
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    auto set = [&changed](auto& field, auto value) {
      if (field != value) {
        field = value;
        changed = true;
      }
    };
    set(cfg.Replicas, static_cast<int64_t>(spec.replicas));
    set(cfg.Duplicates, duplicates_ns);
    set(cfg.Discard, discard);
    if (spec.max_bytes > 0) set(cfg.MaxBytes, spec.max_bytes);
    if (spec.max_msgs > 0) set(cfg.MaxMsgs, spec.max_msgs);
    if (max_age_ns > 0) set(cfg.MaxAge, max_age_ns);
    if (!cfg.AllowDirect) set(cfg.AllowDirect, true);
    if (!changed) {
      jsStreamInfo_Destroy(current);
      return absl::OkStatus();
    }
    jsStreamInfo* info = nullptr;
    jerr = static_cast<jsErrCode>(0);
    s = js_UpdateStream(&info, context(), &cfg, nullptr, &jerr);
    if (info != nullptr) jsStreamInfo_Destroy(info);
    jsStreamInfo_Destroy(current);
    return FromNatsStatus(s, jerr, absl::StrCat("update stream ", spec.name));
  }
  if (current != nullptr) jsStreamInfo_Destroy(current);

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = js_FileStorage;
  cfg.Replicas = spec.replicas;
  cfg.Duplicates = duplicates_ns;
  cfg.AllowDirect = true;
  cfg.Discard = discard;
  if (spec.max_bytes > 0) cfg.MaxBytes = spec.max_bytes;
  if (spec.max_msgs > 0) cfg.MaxMsgs = spec.max_msgs;
  if (max_age_ns > 0) cfg.MaxAge = max_age_ns;

  jsStreamInfo* info = nullptr;
  jerr = static_cast<jsErrCode>(0);
  s = js_AddStream(&info, context(), &cfg, nullptr, &jerr);
  if (info != nullptr) jsStreamInfo_Destroy(info);
  if (s != NATS_OK) {
    // Created meanwhile by another process: bring that one to the spec.
    jsStreamInfo* again = nullptr;
    jsErrCode jerr2 = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&again, context(), spec.name.c_str(), nullptr, &jerr2) == NATS_OK) {
      jsStreamInfo_Destroy(again);
      return EnsureStream(spec);
    }
  }
  return FromNatsStatus(s, jerr, absl::StrCat("ensure stream ", spec.name));
}

absl::StatusOr<PubAck> JetStream::Publish(const PublishRequest& req) {
  natsMsg* raw = nullptr;
  natsStatus s = natsMsg_Create(&raw, req.subject.c_str(), nullptr, req.data.data(),
                                static_cast<int>(req.data.size()));
  if (s != NATS_OK) return FromNatsStatus(s, static_cast<jsErrCode>(0), "create message");
  std::unique_ptr<natsMsg, MsgDeleter> msg(raw);
  for (const auto& [k, v] : req.headers) natsMsgHeader_Set(msg.get(), k.c_str(), v.c_str());
  if (req.expected_last_subject_seq.has_value()) {
    std::string seq = absl::StrCat(*req.expected_last_subject_seq);
    natsMsgHeader_Set(msg.get(), "Nats-Expected-Last-Subject-Sequence", seq.c_str());
  }
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = absl::ToInt64Milliseconds(req.timeout);
  if (!req.msg_id.empty()) opts.MsgId = req.msg_id.c_str();

  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&ack, context(), msg.get(), &opts, &jerr);
  if (s != NATS_OK) {
    absl::Status st = FromNatsStatus(s, jerr, absl::StrCat("publish to ", req.subject));
    if (absl::IsUnavailable(st) && absl::StrContains(st.message(), "stream full")) {
      NoteStoreFull(req.subject, true, std::string(st.message()));
    }
    return st;
  }
  PubAck out{ack->Stream, ack->Sequence, ack->Duplicate};
  jsPubAck_Destroy(ack);
  if (full_count_.load(std::memory_order_relaxed) > 0) NoteStoreFull(req.subject, false, "");
  // Events only: a message without an event type (a state snapshot's chunk
  // or manifest, a non-event set aside) is no event published.
  if (observer_ != nullptr && !out.duplicate) {
    auto type = req.headers.find(kEventTypeHeader);
    if (type != req.headers.end() && !type->second.empty()) {
      observer_->Published(out.stream, type->second);
    }
  }
  return out;
}

absl::Status LeaderQuorum(const jsClusterInfo* cluster, int replicas, absl::string_view what,
                          absl::Duration fresh) {
  if (replicas <= 1 || cluster == nullptr) return absl::OkStatus();
  const jsClusterInfo& c = *cluster;
  if (c.Leader == nullptr || c.Leader[0] == '\0') {
    return absl::UnavailableError(
        absl::StrCat(what, " has no leader this node can reach; its state here may be behind"));
  }
  int in_touch = 1;  // the leader
  for (int i = 0; i < c.ReplicasLen; ++i) {
    const jsPeerInfo* p = c.Replicas[i];
    if (p != nullptr && !p->Offline && p->Active > 0 &&
        p->Active < absl::ToInt64Nanoseconds(fresh)) {
      ++in_touch;
    }
  }
  if (in_touch * 2 <= replicas) {
    return absl::UnavailableError(absl::StrCat(what, " leader ", c.Leader, " is in touch with ",
                                               in_touch, " of ", replicas,
                                               " replicas; its state may be behind"));
  }
  return absl::OkStatus();
}

namespace {

// OK when the stream info came from a leader in touch with a majority of the
// stream's replicas (always for a single replica).
absl::Status QuorumOf(const jsStreamInfo& info) {
  const int replicas =
      info.Config == nullptr ? 1 : static_cast<int>(std::max<int64_t>(1, info.Config->Replicas));
  const std::string name =
      info.Config == nullptr || info.Config->Name == nullptr ? "" : info.Config->Name;
  return LeaderQuorum(info.Cluster, replicas, absl::StrCat("stream ", name));
}

}  // namespace

absl::StatusOr<uint64_t> JetStream::LastSequence(absl::string_view stream) {
  std::string name(stream);
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, context(), name.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return FromNatsStatus(s, jerr, absl::StrCat("stream info ", name));
  const uint64_t last = info->State.LastSeq;
  absl::Status quorum = QuorumOf(*info);
  jsStreamInfo_Destroy(info);
  if (!quorum.ok()) return quorum;
  return last;
}

namespace {
std::string ScopeOf(absl::string_view subject) {
  return std::string(subject.substr(0, subject.find('.')));
}
}  // namespace

void JetStream::NoteStoreFull(const std::string& subject, bool full, std::string text) {
  const std::string scope = ScopeOf(subject);
  bool changed = false;
  {
    absl::MutexLock lock(&full_mu_);
    if (full) {
      changed = full_.find(scope) == full_.end();
      full_[scope] = std::move(text);
    } else {
      changed = full_.erase(scope) > 0;
    }
    full_count_.store(static_cast<int>(full_.size()), std::memory_order_relaxed);
  }
  if (changed && observer_ != nullptr) observer_->StoreFull(scope, full);
}

absl::Status JetStream::StoreHealth() const {
  absl::MutexLock lock(&full_mu_);
  if (full_.empty()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("store full for \"", full_.begin()->first, ".>\": ", full_.begin()->second));
}

std::vector<size_t> OlderThanPredecessor(const std::vector<StreamMessage>& batch,
                                         int64_t previous_ts) {
  std::vector<size_t> out;
  const int64_t step = absl::ToInt64Nanoseconds(kStaleStep);
  for (size_t i = 0; i < batch.size(); ++i) {
    const int64_t ts = batch[i].timestamp_ns;
    if (previous_ts > 0 && ts > 0 && ts < previous_ts - step) out.push_back(i);
    if (ts > previous_ts) previous_ts = ts;
  }
  return out;
}

absl::StatusOr<StreamMessage> JetStream::GetMessage(absl::string_view stream, uint64_t sequence) {
  std::string name(stream);
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&raw, context(), name.c_str(), sequence, nullptr, &jerr);
  if (s != NATS_OK) {
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
      return absl::NotFoundError(absl::StrCat("stream ", name, " has no message ", sequence));
    }
    return FromNatsStatus(s, jerr, absl::StrCat("get message ", sequence, " of ", name));
  }
  std::unique_ptr<natsMsg, MsgDeleter> msg(raw);
  StreamMessage out = ToStreamMessage(msg.get());
  if (out.sequence == 0) out.sequence = sequence;
  return out;
}

absl::StatusOr<StreamMessage> JetStream::LastMessage(absl::string_view stream,
                                                     absl::string_view subject) {
  std::string name(stream);
  std::string subj(subject);
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&raw, context(), name.c_str(), subj.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr || jerr == JSStreamNotFoundErr) {
      return absl::NotFoundError(absl::StrCat("stream ", name, " has no message on ", subj));
    }
    return FromNatsStatus(s, jerr, absl::StrCat("get last message on ", subj, " of ", name));
  }
  std::unique_ptr<natsMsg, MsgDeleter> msg(raw);
  return ToStreamMessage(msg.get());
}

absl::Status JetStream::Purge(absl::string_view stream, absl::string_view subject,
                              uint64_t before_sequence) {
  // Nothing is stored before sequence 1; and nats-server 2.9.10 takes a
  // filtered purge "before 1" as "all of them".
  if (before_sequence == 1) return absl::OkStatus();
  std::string name(stream);
  std::string subj(subject);
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = subj.c_str();
  o.Stream.Purge.Sequence = before_sequence;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(context(), name.c_str(), &o, &jerr);
  return FromNatsStatus(s, jerr, absl::StrCat("purge ", subj, " of ", name));
}

absl::Status JetStream::DeleteMessage(absl::string_view stream, uint64_t sequence) {
  std::string name(stream);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteMsg(context(), name.c_str(), sequence, nullptr, &jerr);
  if (s != NATS_OK &&
      (s == NATS_NOT_FOUND || jerr == JSSequenceNotFoundErr || jerr == JSNoMessageFoundErr)) {
    return absl::NotFoundError(absl::StrCat("stream ", name, " has no message ", sequence));
  }
  return FromNatsStatus(s, jerr, absl::StrCat("delete message ", sequence, " of ", name));
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> JetStream::SequenceRange(absl::string_view stream) {
  std::string name(stream);
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, context(), name.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return FromNatsStatus(s, jerr, absl::StrCat("stream info ", name));
  std::pair<uint64_t, uint64_t> range{info->State.FirstSeq, info->State.LastSeq};
  jsStreamInfo_Destroy(info);
  return range;
}

bool JetStream::Connected() const {
  return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace rentmesh::nats
