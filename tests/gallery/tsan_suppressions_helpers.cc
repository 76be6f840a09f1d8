// ThreadSanitizer settings for the gallery tests.
//
// hnswlib takes its per-node mutexes in an order that varies with the graph,
// which TSan's deadlock detector reports as lock-order inversions even in a
// single thread (hundreds per HNSW test). HnswIndex never lets two writers into
// hnswlib at once (writes need exclusive access, and Gallery holds its write
// lock), and searches take none of those mutexes, so they are never contended
// and cannot deadlock. The suppression below matches only reports whose stacks
// are inside hnswlib, but TSan often loses those stacks, so deadlock detection
// is also switched off for this binary. Data-race detection stays on; Gallery's
// own locks are always taken in one order (turnstile, then the shared mutex).
extern "C" const char* __tsan_default_suppressions() { return "deadlock:hnswlib::HierarchicalNSW\n"; }
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
