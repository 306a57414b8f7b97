#include "cascade/status.h"

#include <gtest/gtest.h>

namespace cascade {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd value", std::to_string(v));
  return v / 2;
}

Status Quarter(int v, int* out) {
  CASCADE_ASSIGN_OR_RETURN(int half, Half(v));
  CASCADE_ASSIGN_OR_RETURN(*out, Half(half));
  return Status::OK();
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = Status::Corruption("read postings", "short block");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "read postings: short block");
  EXPECT_EQ(s.ToString(), "Corruption: read postings: short block");
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  Result<int> good = Half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_EQ(bad.status().message(), "odd value: 3");
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);  // 6 -> 3 is odd
  EXPECT_EQ(s.message(), "odd value: 3");
}

}  // namespace
}  // namespace cascade
