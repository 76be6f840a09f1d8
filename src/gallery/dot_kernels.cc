#include "gallery/dot_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

namespace {
// Rows r0 and r1 against four queries: eight independent accumulators, enough
// to keep both FMA units busy, and six loads per eight multiply-adds. Summed
// in InnerProduct's order (lanes over the body, then the tail, then the lanes
// in order), so scores agree with it up to FMA contraction. Inlined into each
// clone of InnerProductsMulti.
inline __attribute__((always_inline)) void TwoRowsTimesFour(const float* __restrict r0, const float* __restrict r1,
                                                            size_t dim, const float* __restrict q0,
                                                            const float* __restrict q1, const float* __restrict q2,
                                                            const float* __restrict q3, float* out8) {
  const size_t body = dim - dim % kLanes;
  float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
  float b0[kLanes] = {}, b1[kLanes] = {}, b2[kLanes] = {}, b3[kLanes] = {};
  for (size_t j = 0; j < body; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float x = r0[j + l], y = r1[j + l];
      const float v0 = q0[j + l], v1 = q1[j + l], v2 = q2[j + l], v3 = q3[j + l];
      a0[l] += x * v0;
      a1[l] += x * v1;
      a2[l] += x * v2;
      a3[l] += x * v3;
      b0[l] += y * v0;
      b1[l] += y * v1;
      b2[l] += y * v2;
      b3[l] += y * v3;
    }
  }
  float s[8] = {};
  for (size_t j = body; j < dim; ++j) {
    s[0] += r0[j] * q0[j];
    s[1] += r0[j] * q1[j];
    s[2] += r0[j] * q2[j];
    s[3] += r0[j] * q3[j];
    s[4] += r1[j] * q0[j];
    s[5] += r1[j] * q1[j];
    s[6] += r1[j] * q2[j];
    s[7] += r1[j] * q3[j];
  }
  for (size_t l = 0; l < kLanes; ++l) {
    s[0] += a0[l];
    s[1] += a1[l];
    s[2] += a2[l];
    s[3] += a3[l];
    s[4] += b0[l];
    s[5] += b1[l];
    s[6] += b2[l];
    s[7] += b3[l];
  }
  for (size_t k = 0; k < 8; ++k) out8[k] = s[k];
}
}  // namespace

VIGIL_GALLERY_CLONES
void InnerProductsMulti(const float* rows, size_t n, size_t dim, const float* queries, size_t nq, float* out) {
  size_t qi = 0;
  for (; qi + 4 <= nq; qi += 4) {
    const float* q0 = queries + qi * dim;
    float* o0 = out + qi * n;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
      float s[8];
      const float* r0 = rows + i * dim;
      TwoRowsTimesFour(r0, r0 + dim, dim, q0, q0 + dim, q0 + 2 * dim, q0 + 3 * dim, s);
      for (size_t k = 0; k < 4; ++k) {
        o0[k * n + i] = s[k];
        o0[k * n + i + 1] = s[4 + k];
      }
    }
    for (; i < n; ++i) {
      for (size_t k = 0; k < 4; ++k) o0[k * n + i] = InnerProduct(rows + i * dim, q0 + k * dim, dim);
    }
  }
  for (; qi < nq; ++qi) InnerProducts(rows, n, dim, queries + qi * dim, out + qi * n);
}

// Each lane its own sum over j in order, as in the AVX2 version below.
void BlockedInnerProductsPortable(const float* blocks, size_t nblocks, size_t dim, const float* queries, size_t nq,
                                  float* out) {
  const size_t stride = nblocks * kBlockLanes;
  for (size_t qi = 0; qi < nq; ++qi) {
    const float* q = queries + qi * dim;
    for (size_t b = 0; b < nblocks; ++b) {
      const float* x = blocks + b * dim * kBlockLanes;
      float a[kBlockLanes] = {};
      for (size_t j = 0; j < dim; ++j) {
        for (size_t l = 0; l < kBlockLanes; ++l) a[l] += x[j * kBlockLanes + l] * q[j];
      }
      for (size_t l = 0; l < kBlockLanes; ++l) out[qi * stride + b * kBlockLanes + l] = a[l];
    }
  }
}

namespace {
#if VIGIL_GALLERY_HAS_CLONES
// AVX2 + FMA: NB blocks against Q queries keep NB·Q = 8 independent vector
// sums in registers, so consecutive multiply-adds do not wait for each other;
// each query element is broadcast once per block group. (Written with
// intrinsics: GCC's vectorisation of the portable loops kept the sums in
// memory and ran 3x slower.)
template <size_t Q, size_t NB>
__attribute__((target("avx2,fma"), always_inline)) inline void BlocksAvx2(const float* x, size_t dim,
                                                                          const float* const* q, float* const* out) {
  const size_t block_floats = dim * kBlockLanes;
  __m256 a[NB][Q];
#pragma GCC unroll 8
  for (size_t nb = 0; nb < NB; ++nb) {
#pragma GCC unroll 8
    for (size_t k = 0; k < Q; ++k) a[nb][k] = _mm256_setzero_ps();
  }
  for (size_t j = 0; j < dim; ++j) {
    __m256 xj[NB];
#pragma GCC unroll 8
    for (size_t nb = 0; nb < NB; ++nb) xj[nb] = _mm256_loadu_ps(x + nb * block_floats + j * kBlockLanes);
#pragma GCC unroll 8
    for (size_t k = 0; k < Q; ++k) {
      const __m256 v = _mm256_broadcast_ss(q[k] + j);
#pragma GCC unroll 8
      for (size_t nb = 0; nb < NB; ++nb) a[nb][k] = _mm256_fmadd_ps(xj[nb], v, a[nb][k]);
    }
  }
#pragma GCC unroll 8
  for (size_t nb = 0; nb < NB; ++nb) {
#pragma GCC unroll 8
    for (size_t k = 0; k < Q; ++k) _mm256_storeu_ps(out[k] + nb * kBlockLanes, a[nb][k]);
  }
}

template <size_t Q, size_t NB>
__attribute__((target("avx2,fma"))) void BlockedAvx2(const float* blocks, size_t nblocks, size_t dim,
                                                     const float* queries, float* out, size_t stride) {
  const float* q[Q];
  for (size_t k = 0; k < Q; ++k) q[k] = queries + k * dim;
  const size_t block_floats = dim * kBlockLanes;
  float* o[Q];
  size_t b = 0;
  for (; b + NB <= nblocks; b += NB) {
    for (size_t k = 0; k < Q; ++k) o[k] = out + k * stride + b * kBlockLanes;
    BlocksAvx2<Q, NB>(blocks + b * block_floats, dim, q, o);
  }
  for (; b < nblocks; ++b) {
    for (size_t k = 0; k < Q; ++k) o[k] = out + k * stride + b * kBlockLanes;
    BlocksAvx2<Q, 1>(blocks + b * block_floats, dim, q, o);
  }
}

bool HasAvx2Fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
#endif
}  // namespace

void BlockedInnerProducts(const float* blocks, size_t nblocks, size_t dim, const float* queries, size_t nq,
                          float* out) {
#if VIGIL_GALLERY_HAS_CLONES
  if (HasAvx2Fma()) {
    const size_t stride = nblocks * kBlockLanes;
    size_t qi = 0;
    for (; qi + 4 <= nq; qi += 4)
      BlockedAvx2<4, 2>(blocks, nblocks, dim, queries + qi * dim, out + qi * stride, stride);
    for (; qi < nq; ++qi) BlockedAvx2<1, 8>(blocks, nblocks, dim, queries + qi * dim, out + qi * stride, stride);
    return;
  }
#endif
  BlockedInnerProductsPortable(blocks, nblocks, dim, queries, nq, out);
}

const char* KernelIsa() {
#if VIGIL_GALLERY_HAS_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "x86-64-v3";
#endif
  return "baseline";
}

}  // namespace vigil::gallery
