// Internals shared by the CUDA emulation's runtime (runtime.cpp: devices, memory,
// streams, events, graphs) and executor (execute.cpp: blocks, fibers, collectives,
// checks). Everything here runs under api_mutex(): one host thread at a time drives
// the emulated devices, and kernels run on the thread that waits for them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_emu/emulator.h"
#include "cuda_emu/launch.h"
#include "cuda_runtime_api.h"

namespace cuda_emu::detail {

std::recursive_mutex& api_mutex();

// One racecheck record per 4-byte word: the last write and the reads since.
struct RaceCell {
    uint32_t stamp;  // launch id (global) or block serial (shared); other values: empty
    uint32_t w_block, w_tid, w_epoch, w_gen;
    uint32_t r_block, r_tid, r_epoch, r_gen, r_lanes;
    uint8_t w_mask, r_mask, flags;
};
enum RaceFlags : uint8_t {
    kWValid = 1, kRValid = 2, kWAtomic = 4, kRAtomic = 8, kRMultiWarp = 16, kRMultiBlock = 32,
};

struct Allocation {
    uintptr_t base = 0;
    size_t size = 0, mapped = 0;
    int device = 0;
    uint64_t serial = 0;
    bool freed = false;
    bool managed = false;
    std::unique_ptr<uint8_t[]> init;   // per 4-byte word: which of its bytes were written
    std::unique_ptr<RaceCell[]> race;  // per 4-byte word, made on first racecheck access
};

// The allocation whose pages hold p (live or freed), or nullptr.
Allocation* allocation_at(uintptr_t p);
bool in_device_region(uintptr_t p);
bool in_pinned_host(uintptr_t p, size_t size);
// Whether kernels of `device` may access memory of `peer_device` (the same device, or
// cudaDeviceEnablePeerAccess).
bool peer_access_enabled(int device, int peer_device);
// Marks [p, p+n) of a device allocation as written (copies, memsets).
void mark_initialized(uintptr_t p, size_t n);
void copy_init_state(uintptr_t dst, uintptr_t src, size_t n);

struct Launch {
    std::string name;
    const void* fn = nullptr;
    dim3 grid, block;
    size_t shared_bytes = 0;
    KernelCall call;
    int device = 0;
};

// Runs a whole grid on this thread. Returns cudaSuccess or the error that the
// device keeps from now on (memcheck: illegal/misaligned address; the other checks
// and deadlocks: launch failure).
cudaError_t execute(const Launch& launch);

// Static shared memory of a kernel, learnt when it last ran (cudaFuncGetAttributes).
size_t static_shared_bytes(const void* fn);

// A report from the checks (printed unless disabled, kept for reports()).
void add_report(Report r);

extern unsigned g_checks;

}  // namespace cuda_emu::detail
