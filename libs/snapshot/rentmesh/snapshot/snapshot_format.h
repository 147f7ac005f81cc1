#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// The wire form of a state snapshot: chunks of key/value entries and the
// manifest that names them. No I/O here (state_snapshots.h ships them).
namespace rentmesh::snapshot {

// The format this build writes and reads. A manifest of any other version is
// not used (the replica replays the stream instead): bump it whenever the
// chunk or manifest layout changes, or the meaning of the stored keys does.
inline constexpr int kFormatVersion = 1;

// What a snapshot is, published last (after every chunk it names): a
// manifest that never landed leaves chunks nobody reads.
struct Manifest {
  int format = kFormatVersion;
  std::string snapshot_id;
  // The service whose store this is ("rental") and the stream it folds.
  std::string service;
  std::string stream;
  // The stream's last sequence folded into the snapshot (the store's
  // pos/<stream>), and a digest of the message stored there (Digest): a
  // stream recreated since holds another message at that sequence.
  uint64_t position = 0;
  std::string position_digest;
  uint64_t keys = 0;
  // Bytes of all chunks together.
  uint64_t bytes = 0;
  // The chunk messages' stream sequences, in order.
  std::vector<uint64_t> chunk_sequences;
  // SHA-256 (hex) of the chunks' data, concatenated in order.
  std::string sha256;
  absl::Time created_at = absl::UnixEpoch();
};

// Text, one "name=value" a line after a first line naming the format, so
// that an operator can read it with `nats stream get`. Chunk sequences are
// written as runs ("4-9,12-15").
std::string EncodeManifest(const Manifest& m);
// FAILED_PRECONDITION for a manifest of another format version (the rest is
// not read: another version may lay it out otherwise); INVALID_ARGUMENT when
// it cannot be read.
absl::StatusOr<Manifest> DecodeManifest(absl::string_view data);

// Hex SHA-256 of a stream message, for Manifest::position_digest.
std::string MessageDigest(absl::string_view subject, absl::string_view data);

// Builds chunks of about `target_bytes` each from entries given in key order.
// A chunk ends at an entry boundary; one entry larger than the target makes
// one chunk of its own.
class ChunkWriter {
 public:
  ChunkWriter(std::string snapshot_id, size_t target_bytes)
      : snapshot_id_(std::move(snapshot_id)), target_bytes_(target_bytes) {}
  void Add(absl::string_view key, absl::string_view value);
  // A chunk ready to ship (Add made it full), or the last one on Finish.
  bool HasChunk() const { return !ready_.empty(); }
  std::string TakeChunk();
  // Ends the last chunk (if any entries are left).
  void Finish();
  uint64_t keys() const { return keys_; }

 private:
  void Close();
  const std::string snapshot_id_;
  const size_t target_bytes_;
  std::string body_;
  uint64_t body_entries_ = 0;
  uint64_t index_ = 0;
  uint64_t keys_ = 0;
  std::vector<std::string> ready_;
};

// Reads one chunk: checks its header (format, snapshot id, index) and calls
// `fn` for each entry. INVALID_ARGUMENT when it is not that chunk or cannot
// be read; `fn`'s error as it is.
absl::Status DecodeChunk(
    absl::string_view data, absl::string_view snapshot_id, uint64_t index,
    const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn);

// Incremental SHA-256, hex.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  std::string HexDigest();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace rentmesh::snapshot
