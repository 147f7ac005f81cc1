#include "rentmesh/snapshot/snapshot_format.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace rentmesh::snapshot {
namespace {

constexpr absl::string_view kManifestMagic = "rentmesh-snapshot-manifest";
// A chunk: magic, then varints format, id length, id, index, entry count,
// then per entry varint key length, key, varint value length, value.
constexpr absl::string_view kChunkMagic = "RMSC";

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool GetBytes(absl::string_view& in, absl::string_view& out) {
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > in.size()) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::string EncodeRuns(const std::vector<uint64_t>& seqs) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < seqs.size();) {
    size_t j = i;
    while (j + 1 < seqs.size() && seqs[j + 1] == seqs[j] + 1) ++j;
    runs.push_back(j == i ? absl::StrCat(seqs[i]) : absl::StrCat(seqs[i], "-", seqs[j]));
    i = j + 1;
  }
  return absl::StrJoin(runs, ",");
}

bool DecodeRuns(absl::string_view text, std::vector<uint64_t>& out) {
  if (text.empty()) return true;
  for (absl::string_view run : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> ends = absl::StrSplit(run, '-');
    uint64_t from = 0, to = 0;
    if (!absl::SimpleAtoi(ends.first, &from)) return false;
    to = from;
    if (!ends.second.empty() && !absl::SimpleAtoi(ends.second, &to)) return false;
    if (to < from || to - from > (1u << 24)) return false;
    for (uint64_t s = from; s <= to; ++s) out.push_back(s);
  }
  return true;
}

}  // namespace

std::string EncodeManifest(const Manifest& m) {
  return absl::StrCat(
      kManifestMagic, "\n", "format=", m.format, "\n", "snapshot_id=", m.snapshot_id, "\n",
      "service=", m.service, "\n", "stream=", m.stream, "\n", "position=", m.position, "\n",
      "position_digest=", m.position_digest, "\n", "keys=", m.keys, "\n", "bytes=", m.bytes, "\n",
      "chunks=", m.chunk_sequences.size(), "\n", "chunk_sequences=", EncodeRuns(m.chunk_sequences),
      "\n", "sha256=", m.sha256, "\n",
      "created_at=", absl::FormatTime(absl::RFC3339_full, m.created_at, absl::UTCTimeZone()), "\n");
}

absl::StatusOr<Manifest> DecodeManifest(absl::string_view data) {
  std::vector<absl::string_view> lines = absl::StrSplit(data, '\n', absl::SkipEmpty());
  if (lines.size() < 2 || lines[0] != kManifestMagic) {
    return absl::InvalidArgumentError("not a rentmesh snapshot manifest");
  }
  Manifest m;
  if (!absl::ConsumePrefix(&lines[1], "format=") || !absl::SimpleAtoi(lines[1], &m.format)) {
    return absl::InvalidArgumentError("snapshot manifest: no format version on its second line");
  }
  if (m.format != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot manifest of format version ", m.format, "; this build reads ", kFormatVersion));
  }
  size_t chunks = 0;
  bool have_chunks = false, have_sequences = false, have_position = false;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(lines[i], '=');
    absl::string_view v = kv.second;
    bool ok = true;
    if (kv.first == "snapshot_id") {
      m.snapshot_id = std::string(v);
    } else if (kv.first == "service") {
      m.service = std::string(v);
    } else if (kv.first == "stream") {
      m.stream = std::string(v);
    } else if (kv.first == "position") {
      ok = absl::SimpleAtoi(v, &m.position);
      have_position = true;
    } else if (kv.first == "position_digest") {
      m.position_digest = std::string(v);
    } else if (kv.first == "keys") {
      ok = absl::SimpleAtoi(v, &m.keys);
    } else if (kv.first == "bytes") {
      ok = absl::SimpleAtoi(v, &m.bytes);
    } else if (kv.first == "chunks") {
      ok = absl::SimpleAtoi(v, &chunks);
      have_chunks = true;
    } else if (kv.first == "chunk_sequences") {
      ok = DecodeRuns(v, m.chunk_sequences);
      have_sequences = true;
    } else if (kv.first == "sha256") {
      m.sha256 = std::string(v);
    } else if (kv.first == "created_at") {
      std::string err;
      ok = absl::ParseTime(absl::RFC3339_full, v, &m.created_at, &err);
    }  // other names: written by a compatible later build, ignored
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot manifest: bad value of ", kv.first));
    }
  }
  if (m.snapshot_id.empty() || m.stream.empty() || !have_position || m.sha256.size() != 64 ||
      !have_chunks || !have_sequences || chunks != m.chunk_sequences.size()) {
    return absl::InvalidArgumentError("snapshot manifest: incomplete");
  }
  return m;
}

std::string MessageDigest(absl::string_view subject, absl::string_view data) {
  Sha256 h;
  h.Update(subject);
  h.Update(absl::string_view("\0", 1));
  h.Update(data);
  return h.HexDigest();
}

void ChunkWriter::Add(absl::string_view key, absl::string_view value) {
  PutVarint(body_, key.size());
  body_.append(key.data(), key.size());
  PutVarint(body_, value.size());
  body_.append(value.data(), value.size());
  ++body_entries_;
  ++keys_;
  if (body_.size() >= target_bytes_) Close();
}

void ChunkWriter::Close() {
  if (body_entries_ == 0) return;
  std::string chunk(kChunkMagic);
  PutVarint(chunk, kFormatVersion);
  PutVarint(chunk, snapshot_id_.size());
  chunk.append(snapshot_id_);
  PutVarint(chunk, index_++);
  PutVarint(chunk, body_entries_);
  chunk.append(body_);
  ready_.push_back(std::move(chunk));
  body_.clear();
  body_entries_ = 0;
}

std::string ChunkWriter::TakeChunk() {
  std::string out = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return out;
}

void ChunkWriter::Finish() { Close(); }

absl::Status DecodeChunk(
    absl::string_view data, absl::string_view snapshot_id, uint64_t index,
    const std::function<absl::Status(absl::string_view, absl::string_view)>& fn) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot ", snapshot_id, " chunk ", index, ": ", why));
  };
  if (!absl::ConsumePrefix(&data, kChunkMagic)) return bad("not a snapshot chunk");
  uint64_t format = 0, chunk_index = 0, entries = 0;
  absl::string_view id;
  if (!GetVarint(data, format)) return bad("truncated header");
  if (format != kFormatVersion) return bad(absl::StrCat("format version ", format));
  if (!GetBytes(data, id) || !GetVarint(data, chunk_index) || !GetVarint(data, entries)) {
    return bad("truncated header");
  }
  if (id != snapshot_id) return bad(absl::StrCat("belongs to snapshot ", id));
  if (chunk_index != index) return bad(absl::StrCat("is chunk ", chunk_index));
  for (uint64_t i = 0; i < entries; ++i) {
    absl::string_view key, value;
    if (!GetBytes(data, key) || !GetBytes(data, value)) return bad("truncated entry");
    if (absl::Status s = fn(key, value); !s.ok()) return s;
  }
  if (!data.empty()) return bad("bytes after the last entry");
  return absl::OkStatus();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(absl::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(len)));
}

}  // namespace rentmesh::snapshot
