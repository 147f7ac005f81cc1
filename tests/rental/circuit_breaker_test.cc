#include "rentmesh/common/circuit_breaker.h"

#include <gtest/gtest.h>

namespace rentmesh {
namespace {

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndHalfOpensAfterTheCoolDown) {
  ManualClock clock(absl::FromUnixSeconds(0));
  CircuitBreaker breaker({3, absl::Seconds(5)}, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  breaker.RecordSuccess();  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker.Allow());
  EXPECT_FALSE(breaker.WouldAllow());
  clock.Advance(absl::Seconds(5));
  EXPECT_TRUE(breaker.WouldAllow());
  EXPECT_TRUE(breaker.Allow());   // the probe
  EXPECT_FALSE(breaker.Allow());  // only one at a time
  breaker.RecordFailure();        // probe failed: open again
  EXPECT_FALSE(breaker.Allow());
  clock.Advance(absl::Seconds(5));
  EXPECT_TRUE(breaker.Allow());
  breaker.RecordSuccess();
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
}

}  // namespace
}  // namespace rentmesh
