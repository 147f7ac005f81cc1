// The fuzz target's checks as a deterministic test: the seed events in every
// order of a few shuffles, their byte-level mutations, and random noise on
// every subject. Nothing may crash, and the folds' invariants must hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>

#include "event_fold_fuzz.h"

namespace rentmesh::fuzz {
namespace {

TEST(EventFoldFuzzTest, SeedEventsInAnyOrderKeepEveryBookWithinItsCopies) {
  std::vector<std::string> seeds = SeedMessages();
  std::mt19937 rng(11);
  for (int round = 0; round < 50; ++round) {
    EventFoldHarness harness;
    std::shuffle(seeds.begin() + 1, seeds.end(), rng);  // BookAdded first or not
    if (round % 5 == 0) std::shuffle(seeds.begin(), seeds.end(), rng);
    std::string input = EncodeInput(seeds);
    std::string broken =
        harness.Run(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    EXPECT_EQ(broken, "") << "round " << round;
  }
}

TEST(EventFoldFuzzTest, MutatedEventsAndNoiseOnEverySubjectNeverBreakTheFold) {
  std::vector<std::string> seeds = SeedMessages();
  std::mt19937 rng(29);
  EventFoldHarness harness;
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    int messages = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < messages; ++k) {
      std::string body = seeds[rng() % seeds.size()];
      int flips = static_cast<int>(rng() % 4);
      for (int f = 0; f < flips && !body.empty(); ++f) body[rng() % body.size()] ^= (1 << (rng() % 8));
      if (rng() % 5 == 0) body.resize(rng() % (body.size() + 1));
      if (rng() % 7 == 0) {
        body.clear();
        for (int b = static_cast<int>(rng() % 40); b > 0; --b) body.push_back(static_cast<char>(rng()));
      }
      if (body.size() > 255) body.resize(255);
      input.push_back(static_cast<char>(rng() % 7));
      input.push_back(static_cast<char>(body.size()));
      input += body;
    }
    std::string broken = harness.Run(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ASSERT_EQ(broken, "") << "round " << round;
  }
}

// With RENTMESH_WRITE_EVENT_CORPUS=DIR, writes the seed inputs the fuzzer
// starts from (tests/fuzz/corpus_events/ holds the committed copy).
TEST(EventFoldFuzzTest, SeedCorpusCanBeWritten) {
  const char* dir = std::getenv("RENTMESH_WRITE_EVENT_CORPUS");
  std::vector<std::string> seeds = SeedMessages();
  ASSERT_FALSE(seeds.empty());
  if (dir == nullptr) GTEST_SKIP() << "set RENTMESH_WRITE_EVENT_CORPUS to write the corpus";
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream(absl::StrCat(dir, "/seed-", i)) << EncodeInput({seeds[i]});
  }
  std::ofstream(absl::StrCat(dir, "/seed-all")) << EncodeInput(seeds);
}

}  // namespace
}  // namespace rentmesh::fuzz
