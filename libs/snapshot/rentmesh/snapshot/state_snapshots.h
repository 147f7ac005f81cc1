#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/snapshot/snapshot_format.h"

namespace rentmesh::snapshot {

struct SnapshotOptions {
  // Whose store: "rental" keeps its snapshots in the stream SNAPSHOT_RENTAL
  // on subjects snapshot.rental.> (a stream per service, so that each
  // service's NATS user may purge only its own).
  std::string service;
  // The stream the store is a fold of, and the name of its stored position
  // (the store's "pos/<position_name>").
  std::string stream;
  std::string position_name;
  int replicas = 1;
  // Chunks end at the first entry past this size (NATS takes at most 1 MB).
  size_t chunk_bytes = 256 * 1024;
  // Tests only: called once every chunk is published, before the manifest;
  // an error stops the snapshot there, as a crash would.
  std::function<absl::Status()> before_manifest = nullptr;
};

// The newest manifest as stored: where, when, and what it says (an error
// when it cannot be read: FAILED_PRECONDITION for another format version).
struct StoredManifest {
  uint64_t sequence = 0;
  absl::Time stored_at = absl::UnixEpoch();
  absl::StatusOr<Manifest> manifest = absl::UnknownError("unset");
};

struct TakenSnapshot {
  Manifest manifest;
  absl::Duration took;
};

enum class RestoreSource {
  kLocal,     // the store already held state: the follower resumes from it
  kSnapshot,  // loaded from a snapshot: the follower replays only the tail
  kReplay,    // no usable snapshot: the follower replays the whole stream
};
absl::string_view RestoreSourceName(RestoreSource source);

// Why a snapshot was not used (RestoreOutcome::reason for kReplay).
inline constexpr char kNoSnapshot[] = "none";
inline constexpr char kUnknownFormat[] = "unknown_format";
inline constexpr char kUnreadable[] = "unreadable";
inline constexpr char kOtherStream[] = "other_stream";
inline constexpr char kStale[] = "stale";
inline constexpr char kMissingChunk[] = "missing_chunk";
inline constexpr char kCorrupt[] = "corrupt";
inline constexpr char kUnavailable[] = "unavailable";

struct RestoreOutcome {
  RestoreSource source = RestoreSource::kReplay;
  // kReplay: one of the reasons above; "" otherwise.
  std::string reason;
  std::string detail;
  // The position the store holds now (the follower starts after it).
  uint64_t position = 0;
  // kSnapshot: the snapshot's id, keys and bytes.
  std::string snapshot_id;
  uint64_t keys = 0;
  uint64_t bytes = 0;
  absl::Duration took;
};

// Snapshots of a StateStore that is a pure fold of one stream, kept in
// JetStream so that a replica starting with an empty store loads the newest
// one and replays only the stream's tail after it.
//
// A snapshot is a set of chunk messages on snapshot.<service>.chunk.<id>,
// then one manifest on snapshot.<service>.manifest naming them, published
// last and only if no other manifest landed since the snapshot began
// (Nats-Expected-Last-Subject-Sequence): a crash before it leaves chunks
// nobody reads, and of two replicas snapshotting at once one wins, the other
// drops its chunks. Once a manifest landed, the older manifests and every
// chunk stored before its own are purged.
class StateSnapshots {
 public:
  StateSnapshots(nats::JetStream& js, SnapshotOptions options);

  // SNAPSHOT_<SERVICE>.
  static std::string StreamName(absl::string_view service);
  const std::string& stream_name() const { return stream_name_; }
  std::string ManifestSubject() const;
  std::string ChunkSubject(absl::string_view snapshot_id) const;

  // Creates the snapshot stream (file storage) or brings it to the spec.
  absl::Status EnsureStream();

  // The newest manifest; NOT_FOUND when there is none.
  absl::StatusOr<StoredManifest> Newest();

  // Takes a consistent snapshot of `store` (one RocksDB snapshot: the keys
  // and the stored position agree) and publishes it. ABORTED when another
  // manifest landed meanwhile (this one is dropped); FAILED_PRECONDITION
  // when the store has applied nothing yet.
  absl::StatusOr<TakenSnapshot> Take(const rocksdb_store::StateStore& store);

  // Run before the store's follower starts. A store that holds a position
  // is left as it is (kLocal). An empty one (position 0; keys left by an
  // interrupted restore are cleared first) is loaded from the newest
  // snapshot when it is usable: its format version is this build's, it is
  // of this stream, its position is within the stream and holds the message
  // it was taken at, every chunk is there and the content matches its
  // SHA-256. Otherwise the store is left empty (kReplay, with the reason,
  // logged): the follower replays the whole stream. An error only when the
  // store cannot be written.
  absl::StatusOr<RestoreOutcome> Restore(rocksdb_store::StateStore& store);

 private:
  // Loads `m` into the empty store; when the snapshot turns out unusable,
  // sets `reason` and `detail` and leaves the store empty. An error only
  // when the store cannot be written.
  absl::Status Load(const Manifest& m, rocksdb_store::StateStore& store, std::string& reason,
                    std::string& detail);
  absl::Status PurgeChunks(absl::string_view snapshot_id);

  nats::JetStream& js_;
  const SnapshotOptions options_;
  const std::string stream_name_;
};

}  // namespace rentmesh::snapshot
