// WithFallback (gpu/backend.h): a backend that fails as a device fails is
// replaced by its fallback for good; errors of the batch itself are not
// device failures. Runs everywhere: the failing "device" is a test double,
// the fallback the real CPU encoder on the transformers fixture.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cpu/cpu_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "tests/gpu/hf_fixtures.h"

namespace cascade::gpu {
namespace {

using namespace ::cascade::gpu::fixtures;  // NOLINT(build/namespaces)

// Scores every pair 7 for `good_calls` calls, then fails as a lost device
// does: the call errs and Healthy() reports the error from then on. A
// batch with no sequences is refused as a bad batch, health unchanged.
class FlakyDevice final : public Backend {
 public:
  explicit FlakyDevice(int good_calls) : good_calls_(good_calls) {}
  std::string_view Name() const override { return "flaky"; }
  Status Healthy() const override { return health_; }
  Result<std::vector<float>> Score(const PairBatch& batch) override {
    if (batch.size() == 0) return Status::InvalidArgument("invalid batch");
    CASCADE_RETURN_IF_ERROR(health_);
    if (calls_++ >= good_calls_) {
      health_ = Status::Internal("cuda: cudaStreamSynchronize",
                                 "an illegal memory access was encountered");
      return health_;
    }
    return std::vector<float>(batch.size(), 7.0f);
  }
  Result<std::vector<float>> Embed(const PairBatch& batch) override {
    return Score(batch);
  }
  Result<std::vector<float>> WeighTokens(const PairBatch& batch) override {
    return Score(batch);
  }

 private:
  int good_calls_;
  int calls_ = 0;
  Status health_;
};

Result<std::unique_ptr<Backend>> OpenCpuFixture() {
  CASCADE_ASSIGN_OR_RETURN(ModelConfig config,
                           LoadModelConfig(kFixtures + "/cross-encoder"));
  CASCADE_ASSIGN_OR_RETURN(BertWeights weights, LoadBertWeights(config));
  CASCADE_ASSIGN_OR_RETURN(
      std::unique_ptr<CpuEncoder> encoder,
      CpuEncoder::Create(std::move(config), std::move(weights), {}));
  return std::unique_ptr<Backend>(std::move(encoder));
}

PairBatch Fixture() { return Pack(ReadExpected("cross-encoder", {"logit"})); }

TEST(FallbackTest, DeviceFailureMovesToTheFallbackForGood) {
  int built = 0;
  auto backend = WithFallback(std::make_unique<FlakyDevice>(2), [&] {
    ++built;
    return OpenCpuFixture();
  });
  const PairBatch batch = Fixture();
  ASSERT_OK_AND_ASSIGN(auto direct, OpenCpuFixture());
  ASSERT_OK_AND_ASSIGN(std::vector<float> want, direct->Score(batch));

  for (int call = 0; call < 2; ++call) {
    ASSERT_OK_AND_ASSIGN(std::vector<float> scores, backend->Score(batch));
    EXPECT_EQ(scores, std::vector<float>(batch.size(), 7.0f));
    EXPECT_EQ(backend->Name(), "flaky");
  }
  EXPECT_EQ(built, 0) << "the fallback is built only when needed";
  // The third call fails on the device and is answered by the CPU.
  ASSERT_OK_AND_ASSIGN(std::vector<float> scores, backend->Score(batch));
  EXPECT_EQ(scores, want);
  EXPECT_EQ(backend->Name(), "cpu");
  EXPECT_TRUE(backend->Healthy().ok());
  ASSERT_OK_AND_ASSIGN(scores, backend->Score(batch));
  EXPECT_EQ(scores, want);
  EXPECT_EQ(built, 1);
}

TEST(FallbackTest, BadBatchesAreNotDeviceFailures) {
  int built = 0;
  auto backend = WithFallback(std::make_unique<FlakyDevice>(5), [&] {
    ++built;
    return OpenCpuFixture();
  });
  Status s = backend->Score(PairBatch()).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(backend->Name(), "flaky");
  EXPECT_EQ(built, 0);
}

TEST(FallbackTest, AFallbackThatCannotBeBuiltIsReportedAndRetried) {
  int tries = 0;
  auto backend = WithFallback(
      std::make_unique<FlakyDevice>(0),
      [&]() -> Result<std::unique_ptr<Backend>> {
        if (++tries == 1) return Status::ResourceExhausted("cpu encoder", "out of memory");
        return OpenCpuFixture();
      });
  const PairBatch batch = Fixture();
  Status s = backend->Score(batch).status();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("illegal memory access"), std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("out of memory"), std::string::npos) << s.ToString();
  EXPECT_FALSE(backend->Healthy().ok());
  ASSERT_OK_AND_ASSIGN(std::vector<float> scores, backend->Score(batch));
  EXPECT_EQ(scores.size(), batch.size());
  EXPECT_EQ(backend->Name(), "cpu");
  EXPECT_EQ(tries, 2);
}

TEST(PrecisionTest, ParsesAndNames) {
  for (Precision p : {Precision::kFp16, Precision::kBf16, Precision::kFp32}) {
    ASSERT_OK_AND_ASSIGN(Precision parsed, ParsePrecision(PrecisionName(p)));
    EXPECT_EQ(parsed, p);
  }
  EXPECT_TRUE(ParsePrecision("fp8").status().IsInvalidArgument());
}

}  // namespace
}  // namespace cascade::gpu
