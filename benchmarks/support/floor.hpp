#pragma once
// The bandwidth floor: what a hand-written one-pass loop moves through memory on this machine,
// measured at the start of every benchmark run so kernels can be reported as a fraction of it.
//
// Two figures per thread count (see ../shared/PERF.md):
//  - triad "counted" bytes: a[i] = b[i] + s·c[i] reads 8 B and writes 4 B per float (12 B);
//  - triad "real" bytes: the write also reads its cache line first (write-allocate), 16 B.
// A kernel that reads every buffer it writes (an optimizer) moves its counted bytes for real,
// so pare compares real traffic with the real triad figure.

#include <cstdint>

#include <benchmark/benchmark.h>

namespace pare::bench {

struct floor_result {
  int threads = 1;
  double copy_bytes_per_s = 0;        // counted: 8 B per float (read 4, write 4)
  double triad_bytes_per_s = 0;       // counted: 12 B per float
  double triad_real_bytes_per_s = 0;  // with write-allocate: 16 B per float
};

/// The floor for 1 or 2 threads, measured on first use (best of several passes over 16M floats
/// per array; PARE_BENCH_FLOOR_FLOATS overrides the size).
const floor_result& floor(int threads = 1);

/// Reports a kernel's traffic per iteration: `read` bytes read, `written` bytes written, of
/// which `write_only` go to buffers the kernel does not read (they cost a write-allocate read).
/// Sets bytes_per_second (counted bytes) and the counter `of_floor` = real bytes/s divided by
/// the real triad floor for `threads` threads (1.0 = as fast as the hand-fused loop).
void report_traffic(benchmark::State& state, double read, double written, double write_only = 0,
                    int threads = 1);

/// True when PARE_BENCH_SMOKE is set (CI's smoke run): suites then skip their largest sizes.
bool smoke();

/// Touches every page of a buffer so that first-touch faults (~12 µs per 4 KiB page here) are
/// paid before timing starts.
void prefault(void* data, std::int64_t bytes);

}  // namespace pare::bench
