#include "rentmesh/snapshot/state_snapshots.h"

#include <rocksdb/write_batch.h>

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/common/log.h"

namespace rentmesh::snapshot {
namespace {

constexpr char kFormatHeader[] = "Rentmesh-Snapshot-Format";
// A restore that finds a chunk gone looks again this many times: a newer
// snapshot landed meanwhile and purged the older one's chunks.
constexpr int kRestoreAttempts = 3;

}  // namespace

absl::string_view RestoreSourceName(RestoreSource source) {
  switch (source) {
    case RestoreSource::kLocal:
      return "local";
    case RestoreSource::kSnapshot:
      return "snapshot";
    case RestoreSource::kReplay:
      return "replay";
  }
  return "replay";
}

StateSnapshots::StateSnapshots(nats::JetStream& js, SnapshotOptions options)
    : js_(js), options_(std::move(options)), stream_name_(StreamName(options_.service)) {}

std::string StateSnapshots::StreamName(absl::string_view service) {
  return absl::StrCat("SNAPSHOT_", absl::AsciiStrToUpper(service));
}

std::string StateSnapshots::ManifestSubject() const {
  return absl::StrCat("snapshot.", options_.service, ".manifest");
}

std::string StateSnapshots::ChunkSubject(absl::string_view snapshot_id) const {
  return absl::StrCat("snapshot.", options_.service, ".chunk.", snapshot_id);
}

absl::Status StateSnapshots::EnsureStream() {
  nats::StreamSpec spec;
  spec.name = stream_name_;
  spec.subjects = {absl::StrCat("snapshot.", options_.service, ".>")};
  spec.replicas = options_.replicas;
  return js_.EnsureStream(spec);
}

absl::StatusOr<StoredManifest> StateSnapshots::Newest() {
  absl::StatusOr<nats::StreamMessage> msg = js_.LastMessage(stream_name_, ManifestSubject());
  if (!msg.ok()) return msg.status();
  StoredManifest out;
  out.sequence = msg->sequence;
  out.stored_at = absl::FromUnixNanos(msg->timestamp_ns);
  out.manifest = DecodeManifest(msg->data);
  return out;
}

absl::Status StateSnapshots::PurgeChunks(absl::string_view snapshot_id) {
  return js_.Purge(stream_name_, ChunkSubject(snapshot_id), 0);
}

absl::StatusOr<TakenSnapshot> StateSnapshots::Take(const rocksdb_store::StateStore& store) {
  const absl::Time started = absl::Now();
  // The manifest lands only if this is still the newest when it does.
  uint64_t expected = 0;
  if (absl::StatusOr<StoredManifest> newest = Newest(); newest.ok()) {
    expected = newest->sequence;
  } else if (!absl::IsNotFound(newest.status())) {
    return newest.status();
  }
  absl::StatusOr<uint64_t> applied = store.GetPosition(options_.position_name);
  if (!applied.ok()) return applied.status();
  if (*applied == 0) return absl::FailedPreconditionError("nothing applied yet: no snapshot");

  Manifest m;
  m.snapshot_id = NewId("s");
  m.service = options_.service;
  m.stream = options_.stream;
  m.created_at = started;
  const std::string position_key = absl::StrCat("pos/", options_.position_name);
  const std::string chunk_subject = ChunkSubject(m.snapshot_id);
  ChunkWriter writer(m.snapshot_id, options_.chunk_bytes);
  Sha256 sha;
  absl::Status failed;
  auto ship = [&]() -> bool {
    while (writer.HasChunk()) {
      nats::PublishRequest req;
      req.subject = chunk_subject;
      req.data = writer.TakeChunk();
      req.headers[kFormatHeader] = absl::StrCat(kFormatVersion);
      req.timeout = absl::Seconds(10);
      absl::StatusOr<nats::PubAck> ack = js_.Publish(req);
      if (!ack.ok()) {
        failed = ack.status();
        return false;
      }
      sha.Update(req.data);
      m.bytes += req.data.size();
      m.chunk_sequences.push_back(ack->sequence);
    }
    return true;
  };
  absl::Status scan = store.ScanConsistent([&](absl::string_view key, absl::string_view value) {
    if (key == position_key) {
      uint64_t pos = 0;
      if (!absl::SimpleAtoi(value, &pos)) {
        failed = absl::DataLossError("stored position is not a number");
        return false;
      }
      m.position = pos;
    }
    writer.Add(key, value);
    return ship();
  });
  if (scan.ok() && failed.ok()) {
    writer.Finish();
    ship();
  }
  if (!scan.ok() || !failed.ok() || m.position == 0) {
    if (!m.chunk_sequences.empty()) PurgeChunks(m.snapshot_id).IgnoreError();
    if (!scan.ok()) return scan;
    if (!failed.ok()) return failed;
    return absl::FailedPreconditionError("nothing applied yet: no snapshot");
  }
  m.keys = writer.keys();
  m.sha256 = sha.HexDigest();

  // What the stream holds at the position: a restore checks it is the same
  // stream.
  absl::StatusOr<nats::StreamMessage> at = js_.GetMessage(options_.stream, m.position);
  if (!at.ok()) {
    PurgeChunks(m.snapshot_id).IgnoreError();
    return at.status();
  }
  m.position_digest = MessageDigest(at->subject, at->data);

  if (options_.before_manifest) {
    if (absl::Status s = options_.before_manifest(); !s.ok()) return s;  // chunks left, as a crash
  }
  nats::PublishRequest req;
  req.subject = ManifestSubject();
  req.data = EncodeManifest(m);
  req.headers[kFormatHeader] = absl::StrCat(kFormatVersion);
  req.expected_last_subject_seq = expected;
  req.timeout = absl::Seconds(10);
  absl::StatusOr<nats::PubAck> ack = js_.Publish(req);
  if (!ack.ok()) {
    PurgeChunks(m.snapshot_id).IgnoreError();
    if (absl::IsAborted(ack.status())) {
      return absl::AbortedError("another snapshot landed meanwhile; this one is dropped");
    }
    return ack.status();
  }
  // Older snapshots, and chunks of snapshots that never got a manifest.
  const uint64_t first_chunk = m.chunk_sequences.front();
  for (auto [subject, before] :
       {std::pair<std::string, uint64_t>{absl::StrCat("snapshot.", options_.service, ".chunk.*"),
                                         first_chunk},
        std::pair<std::string, uint64_t>{ManifestSubject(), ack->sequence}}) {
    if (absl::Status s = js_.Purge(stream_name_, subject, before); !s.ok()) {
      LogWarn("cannot purge older snapshots (the next one tries again)",
              {{"stream", stream_name_}, {"error", s.ToString()}});
    }
  }
  return TakenSnapshot{std::move(m), absl::Now() - started};
}

absl::Status StateSnapshots::Load(const Manifest& m, rocksdb_store::StateStore& store,
                                  std::string& reason, std::string& detail) {
  const std::string position_key = absl::StrCat("pos/", options_.position_name);
  const std::string chunk_subject = ChunkSubject(m.snapshot_id);
  Sha256 sha;
  uint64_t keys = 0, bytes = 0;
  std::optional<uint64_t> stored_position;
  auto unusable = [&](absl::string_view why, std::string what) -> absl::Status {
    reason = std::string(why);
    detail = std::move(what);
    return store.Clear();
  };
  for (size_t i = 0; i < m.chunk_sequences.size(); ++i) {
    absl::StatusOr<nats::StreamMessage> chunk = js_.GetMessage(stream_name_, m.chunk_sequences[i]);
    if (!chunk.ok()) {
      return unusable(absl::IsNotFound(chunk.status()) ? kMissingChunk : kUnavailable,
                      absl::StrCat("chunk ", i, ": ", chunk.status().ToString()));
    }
    if (chunk->subject != chunk_subject) {
      return unusable(kMissingChunk, absl::StrCat("chunk ", i, " at sequence ",
                                                  m.chunk_sequences[i], " is on ", chunk->subject));
    }
    sha.Update(chunk->data);
    bytes += chunk->data.size();
    rocksdb::WriteBatch batch;
    absl::Status decoded =
        DecodeChunk(chunk->data, m.snapshot_id, i, [&](absl::string_view k, absl::string_view v) {
          ++keys;
          if (k == position_key) {
            uint64_t pos = 0;
            if (!absl::SimpleAtoi(v, &pos)) return absl::InvalidArgumentError("bad position");
            stored_position = pos;
            return absl::OkStatus();  // written last, once everything checked out
          }
          batch.Put(rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size()));
          return absl::OkStatus();
        });
    if (!decoded.ok()) return unusable(kCorrupt, decoded.ToString());
    if (absl::Status s = store.Write(batch); !s.ok()) return s;
  }
  const std::string digest = sha.HexDigest();
  if (digest != m.sha256 || keys != m.keys || bytes != m.bytes || stored_position != m.position) {
    return unusable(kCorrupt, absl::StrCat("content sha256 ", digest, ", ", keys, " keys, ", bytes,
                                           " bytes, position ", stored_position.value_or(0),
                                           "; the manifest says ", m.sha256, ", ", m.keys,
                                           " keys, ", m.bytes, " bytes, position ", m.position));
  }
  rocksdb::WriteBatch pos;
  rocksdb_store::StateStore::PutPosition(pos, options_.position_name, m.position);
  if (absl::Status s = store.Write(pos); !s.ok()) return s;
  return store.Flush();
}

absl::StatusOr<RestoreOutcome> StateSnapshots::Restore(rocksdb_store::StateStore& store) {
  const absl::Time started = absl::Now();
  RestoreOutcome out;
  absl::StatusOr<uint64_t> position = store.GetPosition(options_.position_name);
  if (!position.ok()) return position.status();
  if (*position > 0) {
    out.source = RestoreSource::kLocal;
    out.position = *position;
    out.took = absl::Now() - started;
    return out;
  }
  absl::StatusOr<bool> empty = store.Empty();
  if (!empty.ok()) return empty.status();
  if (!*empty) {
    LogWarn("the state store holds keys but no position (an interrupted restore): clearing it",
            {{"stream", options_.stream}});
    if (absl::Status s = store.Clear(); !s.ok()) return s;
  }
  auto replay = [&](absl::string_view reason, std::string detail) {
    out.source = RestoreSource::kReplay;
    out.reason = std::string(reason);
    out.detail = std::move(detail);
    out.position = 0;
    out.took = absl::Now() - started;
    if (reason == kNoSnapshot) {
      LogInfo("no snapshot: replaying the whole stream", {{"stream", options_.stream}});
    } else {
      LogWarn("snapshot not used: replaying the whole stream",
              {{"stream", options_.stream}, {"reason", out.reason}, {"detail", out.detail}});
    }
    return out;
  };
  uint64_t tried = 0;
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<StoredManifest> newest = Newest();
    if (!newest.ok()) {
      if (absl::IsNotFound(newest.status())) return replay(kNoSnapshot, "");
      return replay(kUnavailable, newest.status().ToString());
    }
    if (newest->sequence == tried) {
      return replay(kMissingChunk, "a chunk of the newest snapshot is gone");
    }
    tried = newest->sequence;
    if (!newest->manifest.ok()) {
      return replay(
          absl::IsFailedPrecondition(newest->manifest.status()) ? kUnknownFormat : kUnreadable,
          newest->manifest.status().ToString());
    }
    const Manifest& m = *newest->manifest;
    if (m.stream != options_.stream || m.service != options_.service) {
      return replay(kOtherStream, absl::StrCat("snapshot of ", m.service, "/", m.stream));
    }
    absl::StatusOr<uint64_t> last = js_.LastSequence(options_.stream);
    if (!last.ok()) return replay(kUnavailable, last.status().ToString());
    if (m.position > *last) {
      return replay(kStale, absl::StrCat("snapshot at position ", m.position, " beyond the end ",
                                         *last, " of ", options_.stream, " (recreated since?)"));
    }
    absl::StatusOr<nats::StreamMessage> at = js_.GetMessage(options_.stream, m.position);
    if (!at.ok()) {
      return replay(absl::IsNotFound(at.status()) ? kStale : kUnavailable,
                    absl::StrCat("message ", m.position, ": ", at.status().ToString()));
    }
    if (MessageDigest(at->subject, at->data) != m.position_digest) {
      return replay(kStale, absl::StrCat("message ", m.position, " of ", options_.stream,
                                         " is not the one the snapshot was taken at (stream "
                                         "recreated since?)"));
    }
    std::string reason, detail;
    if (absl::Status s = Load(m, store, reason, detail); !s.ok()) return s;
    if (reason.empty()) {
      out.source = RestoreSource::kSnapshot;
      out.position = m.position;
      out.snapshot_id = m.snapshot_id;
      out.keys = m.keys;
      out.bytes = m.bytes;
      out.took = absl::Now() - started;
      LogInfo("state loaded from a snapshot; replaying the tail",
              {{"stream", options_.stream},
               {"snapshot_id", m.snapshot_id},
               {"position", absl::StrCat(m.position)},
               {"keys", absl::StrCat(m.keys)},
               {"bytes", absl::StrCat(m.bytes)},
               {"seconds", absl::StrCat(absl::ToDoubleSeconds(out.took))}});
      return out;
    }
    // A chunk gone: a newer snapshot may have landed and purged this one.
    if (reason != kMissingChunk || attempt + 1 >= kRestoreAttempts) return replay(reason, detail);
  }
}

}  // namespace rentmesh::snapshot
