#include "gallery/dot_kernels.h"

namespace vigil::gallery {

// GCC only: clang's target_clones support and ifunc on other platforms vary.
// Not under ThreadSanitizer: the ifunc resolver runs during relocation, before
// the TSan runtime is up, and its instrumentation crashes the process at load.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__)
#define VIGIL_GALLERY_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define VIGIL_GALLERY_HAS_CLONES 1
#else
#define VIGIL_GALLERY_CLONES
#define VIGIL_GALLERY_HAS_CLONES 0
#endif

namespace {
// Lanes of partial sums. Independent accumulators let the compiler vectorise
// without reassociating a single sum (which it may not do without -ffast-math).
constexpr size_t kLanes = 8;
}  // namespace

VIGIL_GALLERY_CLONES
float InnerProduct(const float* __restrict a, const float* __restrict b, size_t dim) {
  float acc[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= dim; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] += a[j + l] * b[j + l];
  }
  float s = 0;
  for (; j < dim; ++j) s += a[j] * b[j];
  for (size_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

VIGIL_GALLERY_CLONES
void InnerProducts(const float* __restrict rows, size_t n, size_t dim, const float* __restrict q,
                   float* __restrict out) {
  const size_t body = dim - dim % kLanes;
  size_t i = 0;
  // Four rows per pass: each query load feeds four multiply-adds.
  for (; i + 4 <= n; i += 4) {
    const float* r0 = rows + i * dim;
    const float* r1 = r0 + dim;
    const float* r2 = r1 + dim;
    const float* r3 = r2 + dim;
    float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
    for (size_t j = 0; j < body; j += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) {
        const float qv = q[j + l];
        a0[l] += r0[j + l] * qv;
        a1[l] += r1[j + l] * qv;
        a2[l] += r2[j + l] * qv;
        a3[l] += r3[j + l] * qv;
      }
    }
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t j = body; j < dim; ++j) {
      s0 += r0[j] * q[j];
      s1 += r1[j] * q[j];
      s2 += r2[j] * q[j];
      s3 += r3[j] * q[j];
    }
    for (size_t l = 0; l < kLanes; ++l) {
      s0 += a0[l];
      s1 += a1[l];
      s2 += a2[l];
      s3 += a3[l];
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < n; ++i) out[i] = InnerProduct(rows + i * dim, q, dim);
}

const char* KernelIsa() {
#if VIGIL_GALLERY_HAS_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "x86-64-v3";
#endif
  return "baseline";
}

}  // namespace vigil::gallery
