// Inner-product kernels behind every gallery search.
//
// They are plain loops shaped so that GCC vectorises them at -O2 (8 independent
// partial sums per row, 4 rows per pass sharing each load of the query). On
// x86-64 with GCC they are compiled twice, for baseline SSE2 and for x86-64-v3
// (AVX2 + FMA), and the loader picks the best at start-up (target_clones), so
// no -march flag is needed for the wide version.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>

namespace vigil::gallery {

// a · b over `dim` floats.
float InnerProduct(const float* a, const float* b, size_t dim);

// out[i] = rows[i] · q for the `n` rows of the row-major n × dim matrix `rows`.
// `out` must not alias `rows` or `q`.
void InnerProducts(const float* rows, size_t n, size_t dim, const float* q, float* out);

// out[qi * n + i] = rows[i] · queries[qi] for `nq` queries (row-major nq × dim)
// against the `n` rows: one pass over `rows` serves four queries at a time, so
// a gallery too big for the cache is read from memory a quarter as often as by
// `nq` calls of InnerProducts. Scores equal InnerProducts' up to rounding
// (the compiler may contract the loops into FMAs differently).
// `out` (nq × n) must not alias the inputs.
void InnerProductsMulti(const float* rows, size_t n, size_t dim, const float* queries, size_t nq, float* out);

// Rows stored in blocks of kBlockLanes, each block transposed: element j of
// row r is at blocks[((r / kBlockLanes) * dim + j) * kBlockLanes + r % kBlockLanes].
// One vector load then holds element j of eight rows, so a query's element is
// broadcast and multiplied into eight row sums at once, with no horizontal
// reduction per row (that reduction costs InnerProductsMulti about a third of
// its time at dim 128). Each row's sum runs over j in order.
inline constexpr size_t kBlockLanes = 8;

// out[qi * (nblocks * kBlockLanes) + r] = row r · queries[qi] for the
// `nblocks` blocks above and `nq` queries (row-major nq × dim). Rows of a
// block's unused lanes score whatever those lanes hold (zeros in ExactIndex).
// `out` must not alias the inputs.
void BlockedInnerProducts(const float* blocks, size_t nblocks, size_t dim, const float* queries, size_t nq, float* out);
// The same without vector instructions (used where AVX2 and FMA are missing);
// exposed so tests cover it on machines that have them.
void BlockedInnerProductsPortable(const float* blocks, size_t nblocks, size_t dim, const float* queries, size_t nq,
                                  float* out);

// "x86-64-v3" or "baseline": which kernel the loader chose (for benchmarks and logs).
const char* KernelIsa();

}  // namespace vigil::gallery
