#include "rentmesh/snapshot/snapshot_format.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace rentmesh::snapshot {
namespace {

Manifest Sample() {
  Manifest m;
  m.snapshot_id = "s0123abcd";
  m.service = "rental";
  m.stream = "RENTAL";
  m.position = 1234567;
  m.position_digest = std::string(64, 'a');
  m.keys = 42;
  m.bytes = 9000;
  m.chunk_sequences = {4, 5, 6, 9, 12, 13};
  m.sha256 = std::string(64, 'f');
  m.created_at = absl::FromUnixMillis(1767225600123);
  return m;
}

TEST(SnapshotManifestTest, RoundTrips) {
  const Manifest m = Sample();
  const std::string text = EncodeManifest(m);
  EXPECT_NE(text.find("chunk_sequences=4-6,9,12-13\n"), std::string::npos) << text;
  absl::StatusOr<Manifest> back = DecodeManifest(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->format, kFormatVersion);
  EXPECT_EQ(back->snapshot_id, m.snapshot_id);
  EXPECT_EQ(back->service, m.service);
  EXPECT_EQ(back->stream, m.stream);
  EXPECT_EQ(back->position, m.position);
  EXPECT_EQ(back->position_digest, m.position_digest);
  EXPECT_EQ(back->keys, m.keys);
  EXPECT_EQ(back->bytes, m.bytes);
  EXPECT_EQ(back->chunk_sequences, m.chunk_sequences);
  EXPECT_EQ(back->sha256, m.sha256);
  EXPECT_EQ(back->created_at, m.created_at);
}

TEST(SnapshotManifestTest, AnotherFormatVersionIsRefusedAsSuch) {
  for (const char* version : {"0", "2", "99"}) {
    std::string text = absl::StrReplaceAll(
        EncodeManifest(Sample()),
        {{absl::StrCat("format=", kFormatVersion, "\n"), absl::StrCat("format=", version, "\n")}});
    absl::StatusOr<Manifest> m = DecodeManifest(text);
    ASSERT_FALSE(m.ok()) << version;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition) << m.status();
  }
  // A later version may lay out the rest otherwise: only its version is read.
  absl::StatusOr<Manifest> future = DecodeManifest("rentmesh-snapshot-manifest\nformat=7\n{}\n");
  EXPECT_EQ(future.status().code(), absl::StatusCode::kFailedPrecondition) << future.status();
}

TEST(SnapshotManifestTest, IncompleteOrGarbageIsInvalid) {
  const std::string text = EncodeManifest(Sample());
  for (const std::string& bad : {
           std::string("garbage"),
           std::string(""),
           absl::StrReplaceAll(text, {{"chunks=6\n", "chunks=7\n"}}),
           absl::StrReplaceAll(text, {{"position=1234567\n", "position=12x\n"}}),
           absl::StrReplaceAll(text, {{"position=1234567\n", ""}}),
           absl::StrReplaceAll(text, {{std::string(64, 'f'), "ff"}}),
           absl::StrReplaceAll(text, {{"4-6,9", "6-4,9"}}),
       }) {
    absl::StatusOr<Manifest> m = DecodeManifest(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Names a later compatible build adds are ignored.
  EXPECT_TRUE(DecodeManifest(absl::StrCat(text, "compression=none\n")).ok());
}

std::vector<std::pair<std::string, std::string>> Decode(const std::vector<std::string>& chunks,
                                                        const std::string& id) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    absl::Status s = DecodeChunk(chunks[i], id, i, [&](absl::string_view k, absl::string_view v) {
      out.emplace_back(k, v);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return out;
}

TEST(SnapshotChunkTest, EntriesRoundTripAcrossChunksOfAboutTheTargetSize) {
  ChunkWriter writer("s1", 1000);
  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<std::string> chunks;
  for (int i = 0; i < 500; ++i) {
    entries.emplace_back(absl::StrCat("book/", i), std::string(i % 37, static_cast<char>(i)));
  }
  entries.emplace_back(std::string("\0binary\xff", 8), std::string(3000, 'x'));  // > target
  entries.emplace_back("pos/RENTAL", "501");
  for (const auto& [k, v] : entries) {
    writer.Add(k, v);
    while (writer.HasChunk()) chunks.push_back(writer.TakeChunk());
  }
  writer.Finish();
  while (writer.HasChunk()) chunks.push_back(writer.TakeChunk());
  EXPECT_EQ(writer.keys(), entries.size());
  ASSERT_GT(chunks.size(), 5u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_LT(chunks[i].size(), 1000u + 3100u) << i;
  }
  EXPECT_EQ(Decode(chunks, "s1"), entries);
}

TEST(SnapshotChunkTest, AChunkOfAnotherSnapshotOrPlaceOrTruncatedIsRefused) {
  ChunkWriter writer("s1", 1 << 20);
  writer.Add("a", "1");
  writer.Add("b", "2");
  writer.Finish();
  ASSERT_TRUE(writer.HasChunk());
  const std::string chunk = writer.TakeChunk();
  EXPECT_FALSE(writer.HasChunk());
  auto ok = [](absl::string_view, absl::string_view) { return absl::OkStatus(); };
  EXPECT_TRUE(DecodeChunk(chunk, "s1", 0, ok).ok());
  EXPECT_EQ(DecodeChunk(chunk, "s2", 0, ok).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeChunk(chunk, "s1", 1, ok).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeChunk(chunk.substr(0, chunk.size() - 1), "s1", 0, ok).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeChunk(chunk + "x", "s1", 0, ok).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeChunk("XXXX", "s1", 0, ok).code(), absl::StatusCode::kInvalidArgument);
  // The handler's error comes back as it is.
  EXPECT_EQ(
      DecodeChunk(chunk, "s1", 0,
                  [](absl::string_view, absl::string_view) { return absl::InternalError("store"); })
          .code(),
      absl::StatusCode::kInternal);
}

TEST(SnapshotDigestTest, Sha256IsTheStandardOne) {
  Sha256 empty;
  EXPECT_EQ(empty.HexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update("a");
  abc.Update("bc");
  EXPECT_EQ(abc.HexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(MessageDigest("rental.book.a", "x"), MessageDigest("rental.book.ax", ""));
}

}  // namespace
}  // namespace rentmesh::snapshot
