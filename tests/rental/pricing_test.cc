#include "rental/core/domain/pricing.h"

#include <gtest/gtest.h>

namespace rentmesh::rental::domain {
namespace {

TEST(TierPolicyTest, ParsesTiersWithTheirPercent) {
  absl::StatusOr<TierPolicy> p = TierPolicy::Parse("vip:20, gold:10");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->DiscountPercent("vip"), 20);
  EXPECT_EQ(p->DiscountPercent("gold"), 10);
  EXPECT_EQ(p->DiscountPercent("standard"), 0);
  EXPECT_EQ(p->DiscountPercent("platinum"), 0);
  EXPECT_TRUE(p->Knows("vip"));
  EXPECT_TRUE(p->Knows("standard"));
  EXPECT_FALSE(p->Knows("platinum"));
  EXPECT_EQ(p->Tiers(), (std::vector<std::string>{"gold", "vip"}));
  EXPECT_EQ(p->ToString(), "gold:10,vip:20");
}

TEST(TierPolicyTest, AnEmptySpecGivesNoDiscount) {
  absl::StatusOr<TierPolicy> p = TierPolicy::Parse("");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Tiers().empty());
  EXPECT_EQ(p->DiscountPercent("vip"), 0);
}

TEST(TierPolicyTest, BadSpecsAreInvalidArgumentNamingTheEntry) {
  for (const char* bad : {"vip", "vip:", "vip:20:1", ":20", "VIP:20", "vip:abc", "vip:-1",
                          "vip:100", "vip:20,vip:10", "vip:20,,gold:10", "v ip:20"}) {
    absl::StatusOr<TierPolicy> p = TierPolicy::Parse(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(TierPolicy::Parse("vip:20,gold:x").status().message().find("gold:x"),
            std::string::npos);
}

TEST(PriceRentalTest, BaseIsDailyFeeTimesDaysAndTheDiscountIsRoundedDown) {
  Price p = PriceRental({"KRW", 1500}, 3, 20);
  EXPECT_EQ(p.base, (Money{"KRW", 4500}));
  EXPECT_EQ(p.discount, (Money{"KRW", 900}));
  EXPECT_EQ(p.charged, (Money{"KRW", 3600}));
  // 333 x 15% = 49.95: 49 off, 284 charged.
  Price odd = PriceRental({"KRW", 333}, 1, 15);
  EXPECT_EQ(odd.discount.amount_minor, 49);
  EXPECT_EQ(odd.charged.amount_minor, 284);
  Price none = PriceRental({"KRW", 1000}, 2, 0);
  EXPECT_EQ(none.discount, (Money{"KRW", 0}));
  EXPECT_EQ(none.charged, none.base);
}

TEST(PriceRentalTest, AtTheLargestDiscountSomethingIsStillCharged) {
  EXPECT_EQ(PriceRental({"KRW", 1}, 1, kMaxDiscountPercent).charged.amount_minor, 1);
  EXPECT_EQ(Discounted(100, 99), 1);
  EXPECT_EQ(Discounted(int64_t{1} << 62, 50), int64_t{1} << 61);
}

TEST(FoldTierTest, AppliesAValidTierAndSetsAsideABadOneButMovesThePositionEitherWay) {
  CustomerTier c;
  EXPECT_EQ(FoldTier(c, {"alice", "vip", "t-1", "lib"}, 7, absl::UnixEpoch()),
            rules::Verdict::kApplies);
  EXPECT_EQ(c.tier, "vip");
  EXPECT_EQ(c.version, 1u);
  EXPECT_EQ(FoldTier(c, {"alice", "Not A Tier", "t-2", "lib"}, 9, absl::UnixEpoch()),
            rules::Verdict::kOutOfRange);
  EXPECT_EQ(c.tier, "vip");
  EXPECT_EQ(c.version, 1u);
  EXPECT_EQ(c.last_position, 9u);
}

}  // namespace
}  // namespace rentmesh::rental::domain
