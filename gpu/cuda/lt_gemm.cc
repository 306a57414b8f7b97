// LtGemm (see lt_gemm.h): plan cache and cublasLtMatmul calls.
#include "gpu/cuda/lt_gemm.h"

#include <cstdint>

#include "gpu/cuda/cublas_status.h"

namespace cascade::gpu {
namespace {

// Plans kept at most; mixed-length traffic makes a new token count per
// batch, so the cache is emptied when it fills rather than grown forever.
constexpr size_t kMaxPlans = 1024;

// cuBLASLt's heuristic assumes 256-byte aligned matrices unless told
// otherwise; every buffer and arena tensor of the encoder is.
constexpr uintptr_t kAlignment = 256;

bool Aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % kAlignment == 0;
}

bool HasBias(LtEpilogue e) { return e != LtEpilogue::kNone; }

cublasLtEpilogue_t ToLt(LtEpilogue e) {
  switch (e) {
    case LtEpilogue::kNone:
      return CUBLASLT_EPILOGUE_DEFAULT;
    case LtEpilogue::kBias:
      return CUBLASLT_EPILOGUE_BIAS;
    case LtEpilogue::kGeluBias:
      return CUBLASLT_EPILOGUE_GELU_BIAS;
    case LtEpilogue::kReluBias:
      return CUBLASLT_EPILOGUE_RELU_BIAS;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

}  // namespace

LtGemm::~LtGemm() {
  ClearPlans();
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

void LtGemm::ClearPlans() {
  for (auto& [key, plan] : plans_) {
    if (plan.a != nullptr) cublasLtMatrixLayoutDestroy(plan.a);
    if (plan.b != nullptr) cublasLtMatrixLayoutDestroy(plan.b);
    if (plan.d != nullptr) cublasLtMatrixLayoutDestroy(plan.d);
    if (plan.desc != nullptr) cublasLtMatmulDescDestroy(plan.desc);
  }
  plans_.clear();
}

Status LtGemm::Init(void* workspace, size_t workspace_bytes) {
  workspace_ = workspace;
  workspace_bytes_ = workspace_bytes;
  CASCADE_CUBLAS_TRY(cublasLtCreate(&handle_));
  return Status::OK();
}

// Fills *plan (already in the cache, so that ClearPlans frees whatever was
// made even when a later step fails).
Status LtGemm::MakePlan(const Key& key, const void* bias, Plan* plan) {
  CASCADE_CUBLAS_TRY(
      cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
      plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof(transa)));
  CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
      plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof(transb)));
  const cublasLtEpilogue_t epilogue = ToLt(key.epilogue);
  CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
      plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
  if (HasBias(key.epilogue)) {
    const int32_t bias_type = key.type;
    CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
        plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
        sizeof(bias_type)));
    CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
        plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  // Column-major: A = W as [in][out] (ld in), B = x as [in][rows] (ld in),
  // D = y as [out][rows] (ld out).
  CASCADE_CUBLAS_TRY(
      cublasLtMatrixLayoutCreate(&plan->a, key.type, key.in, key.out, key.in));
  CASCADE_CUBLAS_TRY(
      cublasLtMatrixLayoutCreate(&plan->b, key.type, key.in, key.rows, key.in));
  CASCADE_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&plan->d, key.type, key.out,
                                            key.rows, key.out));

  cublasLtMatmulPreference_t preference = nullptr;
  CASCADE_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&preference));
  const uint64_t workspace = workspace_bytes_;
  cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(
      preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
      sizeof(workspace));
  // Split-K partial sums only in float (no partials rounded to the
  // output type); every scheme cuBLASLt has is deterministic.
  const uint32_t reduction = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &reduction,
        sizeof(reduction));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulAlgoGetHeuristic(handle_, plan->desc, plan->a,
                                            plan->b, plan->d, plan->d,
                                            preference, 1, &result, &found);
  }
  cublasLtMatmulPreferenceDestroy(preference);
  // No algorithm for this shape (NOT_SUPPORTED, or none found) is an
  // answer, not an error: the caller takes its other path.
  if (status == CUBLAS_STATUS_NOT_SUPPORTED ||
      (status == CUBLAS_STATUS_SUCCESS &&
       (found == 0 || result.state != CUBLAS_STATUS_SUCCESS))) {
    plan->usable = false;
    return Status::OK();
  }
  CASCADE_RETURN_IF_ERROR(FromCublas(status, "cublasLtMatmulAlgoGetHeuristic"));
  plan->algo = result.algo;
  plan->usable = true;
  return Status::OK();
}

Status LtGemm::Run(cudaDataType_t type, const void* weight, const void* x,
                   const void* bias, int rows, int in, int out,
                   LtEpilogue epilogue, cudaStream_t stream, void* y,
                   bool* done) {
  *done = false;
  if (handle_ == nullptr || !Aligned(weight) || !Aligned(x) || !Aligned(y) ||
      (HasBias(epilogue) && (bias == nullptr || !Aligned(bias)))) {
    return Status::OK();
  }
  const Key key{type, rows, in, out, epilogue};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (plans_.size() >= kMaxPlans) ClearPlans();
    it = plans_.emplace(key, Plan()).first;
    Status made = MakePlan(key, bias, &it->second);
    if (!made.ok()) {
      it->second.usable = false;
      return made;
    }
  }
  Plan& plan = it->second;
  if (!plan.usable) return Status::OK();
  if (HasBias(epilogue)) {
    CASCADE_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
        plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  const float alpha = 1.0f, beta = 0.0f;
  CASCADE_CUBLAS_TRY(cublasLtMatmul(handle_, plan.desc, &alpha, weight, plan.a, x,
                                plan.b, &beta, y, plan.d, y, plan.d,
                                &plan.algo, workspace_, workspace_bytes_,
                                stream));
  *done = true;
  return Status::OK();
}

}  // namespace cascade::gpu
