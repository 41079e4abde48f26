// The CUDA emulation's executor: a grid runs block after block on the thread that
// waits for it; the threads of a block are fibers (Boost.Context), switched only
// where CUDA lets a thread wait for others: block barriers and warp collectives.
// Between those points a thread runs alone until it blocks or exits, then the next.
// When no thread can run, the waits are resolved: a warp collective completes when
// every lane of its mask waits at the same collective with the same mask; a block
// barrier when every live thread (exited ones count as arrived) waits at it. When
// neither can happen the block is deadlocked, which is reported, never waited on.
//
// The checks (emulation/cuda/README.md) see every load and store of the kernels'
// code: kernel translation units are compiled with -fsanitize=thread, whose
// __tsan_readN / __tsan_writeN calls land here (no ThreadSanitizer runtime is
// linked), and with -fsanitize=alignment,bounds,null, whose handlers are here too.
#include <boost/context/detail/fcontext.hpp>
#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "internal.h"

namespace bctx = boost::context::detail;

namespace cuda_emu::detail {

unsigned g_checks = kAllChecks;

namespace {

constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kSharedGuard = 256;
constexpr size_t kStaticSharedLimit = 48 * 1024;
constexpr size_t kSharedOptinLimit = 232448;
constexpr size_t kArenaSize = 512 * 1024;

enum class State : uint8_t { Ready, Blocked, Exited };
enum class Wait : uint8_t { None, Barrier, Warp };

struct Block;

struct ThreadState {
    bctx::fcontext_t ctx = nullptr;
    uint3 idx{};
    unsigned tid = 0, warp = 0, lane = 0;
    State state = State::Ready;
    Wait wait = Wait::None;
    // Block barrier.
    int bar_kind = 0, pred = 0, bar_result = 0;
    // Warp collective.
    WarpOp op = WarpOp::Sync;
    unsigned mask = 0;
    unsigned char value[16] = {};
    unsigned size = 0;
    int arg = 0, width = 32;
    unsigned char result[16] = {};
    const char* file = "";
    int line = 0;
    char* stack_lo = nullptr;
    Block* block = nullptr;
};

struct SharedVar {
    const void* site;
    size_t offset, size;
    const char* name;
};

struct Block {
    const Launch* launch = nullptr;
    uint3 idx{};
    uint32_t linear = 0;  // block index in the grid
    uint32_t serial = 0;  // unique over the process: the shared racecheck stamp
    uint32_t launch_id = 0;
    unsigned nthreads = 0, nwarps = 0;
    std::vector<ThreadState>* threads = nullptr;
    bctx::fcontext_t sched = nullptr;
    uint32_t epoch = 0;
    std::vector<uint32_t> warp_gen;
    std::vector<std::vector<std::pair<uint32_t, unsigned>>> warp_syncs;  // this epoch: (gen, mask)
    bool failed = false;
    cudaError_t error = cudaSuccess;
    uintptr_t params_lo = 0;
    size_t params_size = 0;
};

// Shared memory: one arena (the emulation runs one block at a time), laid out as
// guard | dynamic | guard | variable | guard | variable ... with the layout kept
// for every block of a launch; poisoned (0xff) at each block's start.
struct SharedArena {
    char* base = nullptr;
    std::vector<SharedVar> vars;
    size_t dyn_offset = kSharedGuard, dyn_size = 0, end = kSharedGuard, static_bytes = 0;
    std::vector<uint8_t> init;     // per byte: written in this block
    std::vector<RaceCell> race;    // per 4-byte word
};

SharedArena g_arena;
std::vector<char*> g_stacks;
std::map<const void*, size_t> g_static_shared;  // kernel -> static shared bytes last seen
uint32_t g_launch_id = 0, g_block_serial = 0;

thread_local ThreadState* t_cur = nullptr;
thread_local Block* t_block = nullptr;

std::vector<std::pair<uintptr_t, uintptr_t>> g_modules;

int collect_module(dl_phdr_info* info, size_t, void*) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
        g_modules.emplace_back(lo, lo + ph.p_memsz);
    }
    return 0;
}

bool in_module(uintptr_t p) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const auto& [lo, hi] : g_modules)
            if (p >= lo && p < hi) return true;
        g_modules.clear();
        dl_iterate_phdr(collect_module, nullptr);
    }
    return false;
}

std::string dim_text(uint3 v) {
    return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

std::string where(const ThreadState* t) {
    return t->block->launch->name + ", block " + dim_text(t->block->idx) + ", thread " +
           dim_text(t->idx);
}

// Records a report against the running thread and leaves the block: the thread is
// abandoned (never resumed) and the scheduler stops the grid.
[[noreturn]] void fail(ThreadState* t, const char* check, cudaError_t error,
                       const std::string& what, uintptr_t address) {
    Block* b = t->block;
    Report r;
    r.check = check;
    r.kernel = b->launch->name;
    r.block = dim3(b->idx.x, b->idx.y, b->idx.z);
    r.thread = dim3(t->idx.x, t->idx.y, t->idx.z);
    r.address = address;
    r.error = error;
    r.message = "CUDA emulation " + std::string(check) + ": " + what + "\n    in " + where(t);
    add_report(std::move(r));
    b->failed = true;
    b->error = error;
    t->state = State::Exited;
    bctx::jump_fcontext(b->sched, nullptr);
    __builtin_unreachable();
}

// A report from the scheduler (no single thread at fault).
void fail_block(Block* b, const char* check, const std::string& what,
                cudaError_t error = cudaErrorLaunchFailure) {
    Report r;
    r.check = check;
    r.kernel = b->launch->name;
    r.block = dim3(b->idx.x, b->idx.y, b->idx.z);
    r.error = error;
    r.message = "CUDA emulation " + std::string(check) + ": " + what + "\n    in " +
                b->launch->name + ", block " + dim_text(b->idx);
    add_report(std::move(r));
    b->failed = true;
    b->error = error;
}

ThreadState* current(const char* what) {
    ThreadState* t = t_cur;
    if (!t) {
        std::fprintf(stderr, "CUDA emulation: %s called outside a kernel\n", what);
        std::abort();
    }
    return t;
}

void yield(ThreadState* t) {
    Block* b = t->block;
    t->state = State::Blocked;
    const bctx::transfer_t tr = bctx::jump_fcontext(b->sched, nullptr);
    b->sched = tr.fctx;
}

// ---------------------------------------------------------------- racecheck

struct Accessor {
    uint32_t block, tid, epoch, gen;
};

// Whether an earlier access by `a` is ordered before the current one by `me` in
// the same block: a later barrier epoch, or a __syncwarp of their warp since then
// whose mask holds both lanes.
bool ordered(const Block* b, const Accessor& a, unsigned a_lanes, const Accessor& me) {
    if (a.block != me.block) return false;
    if (a.epoch < me.epoch) return true;
    const unsigned warp = me.tid / 32;
    if (a.tid / 32 != warp) return false;
    const unsigned need = a_lanes | (1u << (me.tid % 32));
    for (const auto& [gen, mask] : b->warp_syncs[warp])
        if (gen > a.gen && (mask & need) == need) return true;
    return false;
}

const char* space_name(bool shared) { return shared ? "__shared__" : "__global__"; }

void race_report(ThreadState* t, bool shared, const char* hazard, uintptr_t address,
                 uint32_t other_block, uint32_t other_tid, bool other_block_known) {
    std::ostringstream s;
    s << hazard << " data race on " << space_name(shared) << " memory at 0x" << std::hex
      << address << std::dec << " between this thread and ";
    if (other_block_known && other_block != t->block->linear) {
        s << "a thread of block #" << other_block;
    } else {
        const Block* b = t->block;
        const unsigned bx = b->launch->block.x, by = b->launch->block.y;
        s << "thread (" << other_tid % bx << "," << (other_tid / bx) % by << ","
          << other_tid / (bx * by) << ")";
    }
    s << ", with no barrier between them";
    fail(t, "racecheck", cudaErrorLaunchFailure, s.str(), address);
}

void race_access(ThreadState* t, RaceCell& c, uint32_t stamp, uintptr_t address, uint8_t mask,
                 bool write, bool atomic, bool shared) {
    Block* b = t->block;
    const Accessor me{shared ? 0u : b->linear, t->tid, b->epoch, b->warp_gen[t->warp]};
    if (c.stamp != stamp) {
        std::memset(&c, 0, sizeof c);
        c.stamp = stamp;
    }
    const bool w_valid = c.flags & kWValid;
    const bool w_atomic = c.flags & kWAtomic;
    if (w_valid && (c.w_mask & mask) && !(atomic && w_atomic) &&
        !(c.w_block == me.block && c.w_tid == me.tid)) {
        const Accessor w{c.w_block, c.w_tid, c.w_epoch, c.w_gen};
        if (!ordered(b, w, 1u << (c.w_tid % 32), me))
            race_report(t, shared, write ? "Write-after-write" : "Read-after-write", address,
                        c.w_block, c.w_tid, !shared);
    }
    const unsigned my_bit = 1u << (t->tid % 32);
    if (write) {
        if ((c.flags & kRValid) && (c.r_mask & mask) && !(atomic && (c.flags & kRAtomic))) {
            bool racy;
            if (c.flags & kRMultiBlock) {
                racy = true;
            } else if (c.r_block != me.block) {
                racy = true;
            } else if (c.r_epoch < me.epoch) {
                racy = false;
            } else if (c.flags & kRMultiWarp) {
                racy = true;
            } else {
                const bool same_warp = c.r_tid / 32 == t->tid / 32;
                const unsigned others = same_warp ? c.r_lanes & ~my_bit : c.r_lanes;
                if (others == 0) {
                    racy = false;
                } else if (!same_warp) {
                    racy = true;
                } else {
                    const Accessor r{c.r_block, c.r_tid, c.r_epoch, c.r_gen};
                    racy = !ordered(b, r, others, me);
                }
            }
            if (racy)
                race_report(t, shared, "Write-after-read", address, c.r_block, c.r_tid, !shared);
        }
        c.flags = static_cast<uint8_t>((c.flags & ~(kWAtomic | kRValid | kRAtomic | kRMultiWarp)) |
                                       kWValid | (atomic ? kWAtomic : 0));
        c.w_block = me.block;
        c.w_tid = me.tid;
        c.w_epoch = me.epoch;
        c.w_gen = me.gen;
        c.w_mask = mask;
        c.r_lanes = 0;
        c.r_mask = 0;
        if (!atomic) return;
    }
    // A read (or an atomic's read half).
    if (!(c.flags & kRValid)) {
        c.flags |= kRValid;
    } else if (c.r_block != me.block) {
        c.flags |= kRMultiBlock;
        c.flags &= ~kRMultiWarp;
        c.r_lanes = 0;
        c.r_mask = 0;
    } else if (c.r_epoch < me.epoch) {
        c.flags &= ~kRMultiWarp;
        c.r_lanes = 0;
        c.r_mask = 0;
    } else if (c.r_tid / 32 != t->tid / 32) {
        c.flags |= kRMultiWarp;
    }
    if (atomic) c.flags |= kRAtomic;
    if (c.r_lanes == 0 || c.r_tid / 32 == t->tid / 32) c.r_lanes |= my_bit;
    c.r_block = me.block;
    c.r_tid = me.tid;
    c.r_epoch = me.epoch;
    c.r_gen = std::max(c.r_gen, me.gen);
    c.r_mask |= mask;
}

// ---------------------------------------------------------------- memory checks

void check_global(ThreadState* t, uintptr_t p, size_t size, bool write, bool atomic, bool ldg) {
    Allocation* a = allocation_at(p);
    const bool inside = a && !a->freed && p >= a->base && p + size <= a->base + a->size;
    if (!inside) {
        if (!(g_checks & kMemcheck)) return;
        std::ostringstream s;
        s << "Invalid " << space_name(false) << " " << (write ? "write" : "read") << " of size "
          << size << " bytes at 0x" << std::hex << p << std::dec;
        if (a && a->freed) {
            s << ": use after free of a " << a->size << "-byte allocation (cudaMalloc #"
              << a->serial << ")";
        } else if (a && p >= a->base + a->size) {
            s << ": " << p - (a->base + a->size) << " bytes after the end of a " << a->size
              << "-byte allocation (cudaMalloc #" << a->serial << ")";
        } else if (a && p < a->base + a->size) {
            s << ": runs " << p + size - (a->base + a->size) << " bytes past the end of a "
              << a->size << "-byte allocation (cudaMalloc #" << a->serial << ")";
        } else {
            s << ": in a guard zone, outside every allocation";
        }
        fail(t, "memcheck", cudaErrorIllegalAddress, s.str(), p);
    }
    if ((g_checks & kMemcheck) && !peer_access_enabled(t->block->launch->device, a->device)) {
        std::ostringstream s;
        s << "Invalid " << space_name(false) << " " << (write ? "write" : "read") << " of size "
          << size << " bytes at 0x" << std::hex << p << std::dec << ": memory of device "
          << a->device << ", and device " << t->block->launch->device
          << " has no peer access to it (cudaDeviceEnablePeerAccess)";
        fail(t, "memcheck", cudaErrorIllegalAddress, s.str(), p);
    }
    const uintptr_t off = p - a->base;
    if (g_checks & kInitcheck) {
        for (uintptr_t q = off; q < off + size;) {
            const size_t word = q / 4;
            const unsigned first = q % 4;
            const unsigned last = static_cast<unsigned>(std::min<uintptr_t>(off + size - word * 4, 4));
            const uint8_t bits = static_cast<uint8_t>(((1u << last) - 1) & ~((1u << first) - 1));
            if (!write && (a->init[word] & bits) != bits) {
                std::ostringstream s;
                s << "Uninitialized " << space_name(false) << " memory read of size " << size
                  << " bytes at 0x" << std::hex << p << std::dec << " (byte " << off
                  << " of a " << a->size << "-byte allocation, cudaMalloc #" << a->serial
                  << ", never written)";
                fail(t, "initcheck", cudaErrorLaunchFailure, s.str(), p);
            }
            if (write) a->init[word] |= bits;
            q = word * 4 + 4;
        }
    } else if (write) {
        mark_initialized(p, size);
    }
    if (g_checks & kRacecheck) {
        if (!a->race) {
            const size_t words = (a->size + 3) / 4;
            a->race.reset(new RaceCell[words]);
            std::memset(a->race.get(), 0, words * sizeof(RaceCell));
        }
        Block* b = t->block;
        for (uintptr_t q = off; q < off + size;) {
            const size_t word = q / 4;
            const unsigned first = q % 4;
            const unsigned last = static_cast<unsigned>(std::min<uintptr_t>(off + size - word * 4, 4));
            const uint8_t bits = static_cast<uint8_t>(((1u << last) - 1) & ~((1u << first) - 1));
            RaceCell& c = a->race[word];
            if (ldg && c.stamp == b->launch_id && (c.flags & kWValid)) {
                std::ostringstream s;
                s << "__ldg (read-only data cache) load at 0x" << std::hex << p << std::dec
                  << " of memory that this kernel writes";
                fail(t, "racecheck", cudaErrorLaunchFailure, s.str(), p);
            }
            if (!ldg) race_access(t, c, b->launch_id, a->base + word * 4, bits, write, atomic, false);
            q = word * 4 + 4;
        }
    }
}

void check_shared(ThreadState* t, uintptr_t p, size_t size, bool write, bool atomic) {
    SharedArena& s = g_arena;
    const size_t off = p - reinterpret_cast<uintptr_t>(s.base);
    bool inside = off >= s.dyn_offset && off + size <= s.dyn_offset + s.dyn_size;
    const SharedVar* var = nullptr;
    for (const SharedVar& v : s.vars) {
        if (off >= v.offset && off + size <= v.offset + v.size) {
            inside = true;
            var = &v;
            break;
        }
    }
    if (!inside) {
        if (!(g_checks & kMemcheck)) return;
        std::ostringstream m;
        m << "Invalid " << space_name(true) << " " << (write ? "write" : "read") << " of size "
          << size << " bytes at 0x" << std::hex << p << std::dec << ": outside every __shared__ "
          << "variable of the block";
        const SharedVar* nearest = nullptr;
        for (const SharedVar& v : s.vars)
            if (v.offset <= off && (!nearest || v.offset > nearest->offset)) nearest = &v;
        if (nearest) m << " (" << off - nearest->offset << " bytes from the start of '" << nearest->name
                       << "', " << nearest->size << " bytes)";
        else if (off < s.dyn_offset + s.dyn_size + kSharedGuard && s.dyn_size + 1 > 0)
            m << " (dynamic shared memory is " << s.dyn_size << " bytes)";
        fail(t, "memcheck", cudaErrorIllegalAddress, m.str(), p);
    }
    if (g_checks & kInitcheck) {
        for (size_t i = off; i < off + size; ++i) {
            if (write) {
                s.init[i] = 1;
            } else if (!s.init[i]) {
                std::ostringstream m;
                m << "Uninitialized " << space_name(true) << " memory read of size " << size
                  << " bytes at 0x" << std::hex << p << std::dec;
                if (var) m << " ('" << var->name << "' byte " << off - var->offset << ")";
                m << ", not written in this block";
                fail(t, "initcheck", cudaErrorLaunchFailure, m.str(), p);
            }
        }
    }
    if (g_checks & kRacecheck) {
        for (size_t q = off; q < off + size;) {
            const size_t word = q / 4;
            const unsigned first = q % 4;
            const unsigned last = static_cast<unsigned>(std::min<size_t>(off + size - word * 4, 4));
            const uint8_t bits = static_cast<uint8_t>(((1u << last) - 1) & ~((1u << first) - 1));
            race_access(t, s.race[word], t->block->serial,
                        reinterpret_cast<uintptr_t>(s.base) + word * 4, bits, write, atomic, true);
            q = word * 4 + 4;
        }
    }
}

constexpr unsigned kAccessChecks = kMemcheck | kInitcheck | kRacecheck;

void access(uintptr_t p, size_t size, bool write, bool atomic = false, bool ldg = false) {
    ThreadState* t = t_cur;
    if (!t || !(g_checks & kAccessChecks)) return;
    if (p - reinterpret_cast<uintptr_t>(t->stack_lo) < kStackSize) return;  // local memory
    if (p - reinterpret_cast<uintptr_t>(g_arena.base) < kArenaSize) {
        check_shared(t, p, size, write, atomic);
        return;
    }
    if (in_device_region(p)) {
        check_global(t, p, size, write, atomic, ldg);
        return;
    }
    const Block* b = t->block;
    if (p - b->params_lo < b->params_size) return;  // the launch's parameter copies
    if (in_pinned_host(p, size)) return;            // mapped pinned host memory
    if (in_module(p)) return;                       // __device__ and __constant__ variables
    if (!(g_checks & kMemcheck)) return;
    std::ostringstream s;
    s << "Invalid " << (write ? "write" : "read") << " of size " << size << " bytes at 0x"
      << std::hex << p << std::dec
      << ": not device memory (pageable host memory or another thread's local memory)";
    fail(t, "memcheck", cudaErrorIllegalAddress, s.str(), p);
}

// ---------------------------------------------------------------- scheduler

char* stack_for(size_t i) {
    while (g_stacks.size() <= i) {
        void* m = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            std::perror("CUDA emulation: mmap of a thread stack");
            std::abort();
        }
        mprotect(m, 4096, PROT_NONE);  // overflow faults instead of corrupting
        g_stacks.push_back(static_cast<char*>(m));
    }
    return g_stacks[i];
}

void fiber_main(bctx::transfer_t tr) {
    Block* b = static_cast<Block*>(tr.data);
    b->sched = tr.fctx;
    ThreadState* t = t_cur;
    b->launch->call.invoke(b->launch->call.fn, b->launch->call.args.get());
    t->state = State::Exited;
    bctx::jump_fcontext(b->sched, nullptr);
    __builtin_unreachable();
}

const char* op_name(WarpOp op) {
    switch (op) {
        case WarpOp::Sync: return "__syncwarp";
        case WarpOp::ShflIdx: return "__shfl_sync";
        case WarpOp::ShflUp: return "__shfl_up_sync";
        case WarpOp::ShflDown: return "__shfl_down_sync";
        case WarpOp::ShflXor: return "__shfl_xor_sync";
        case WarpOp::Ballot: return "__ballot_sync";
        case WarpOp::Any: return "__any_sync";
        case WarpOp::All: return "__all_sync";
        case WarpOp::MatchAny: return "__match_any_sync";
        case WarpOp::MatchAll: return "__match_all_sync";
        case WarpOp::ActiveMask: return "__activemask";
        case WarpOp::Wmma: return "wmma::*_sync";
        default: return "__reduce_*_sync";
    }
}

std::string wait_text(const ThreadState& t) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ":%d", t.line);
    if (t.wait == Wait::Barrier) return std::string("__syncthreads at ") + t.file + buf;
    char mask[32];
    std::snprintf(mask, sizeof mask, "(mask 0x%08x)", t.mask);
    return std::string(op_name(t.op)) + mask + " at " + t.file + buf;
}

// Lane `lane`'s source lane for a shuffle, by PTX's shfl.sync rule: c = ((32 -
// width) << 8) | clamp, the segment mask in c[12:8], bval = b[4:0]. Returns the
// lane itself when the source is out of the lane's segment.
unsigned shuffle_source(WarpOp op, unsigned lane, int arg, int width) {
    const unsigned clamp = op == WarpOp::ShflUp ? 0u : 0x1fu;
    const unsigned c = ((32u - static_cast<unsigned>(width)) << 8) | clamp;
    const unsigned segmask = (c >> 8) & 0x1f;
    const unsigned cval = c & 0x1f;
    const int max_lane = static_cast<int>((lane & segmask) | (cval & ~segmask));
    const int min_lane = static_cast<int>(lane & segmask);
    const int bval = arg & 0x1f;
    int j = 0;
    bool pval = false;
    switch (op) {
        case WarpOp::ShflUp: j = static_cast<int>(lane) - bval; pval = j >= max_lane; break;
        case WarpOp::ShflDown: j = static_cast<int>(lane) + bval; pval = j <= max_lane; break;
        case WarpOp::ShflXor: j = static_cast<int>(lane) ^ bval; pval = j <= max_lane; break;
        default: j = min_lane | (bval & ~static_cast<int>(segmask)); pval = j <= max_lane; break;
    }
    return pval ? static_cast<unsigned>(j) : lane;
}

int64_t as_int(const ThreadState& t) {
    if (t.size == 8) { int64_t v; std::memcpy(&v, t.value, 8); return v; }
    int32_t v; std::memcpy(&v, t.value, 4); return v;
}

// Completes the collective of the lanes in `group` (all waiting at it).
void complete_warp(Block* b, unsigned warp, unsigned group, std::vector<ThreadState>& th) {
    ThreadState& first = th[warp * 32 + __builtin_ctz(group)];
    const WarpOp op = first.op;
    auto lanes = [&](auto fn) {
        for (unsigned m = group; m; m &= m - 1) fn(th[warp * 32 + __builtin_ctz(m)]);
    };
    unsigned ballot = 0;
    lanes([&](ThreadState& t) { if (as_int(t) != 0 || t.size == 0) ballot |= 1u << t.lane; });
    switch (op) {
        case WarpOp::Sync:
            b->warp_syncs[warp].emplace_back(++b->warp_gen[warp], group);
            break;
        case WarpOp::ShflIdx: case WarpOp::ShflUp: case WarpOp::ShflDown: case WarpOp::ShflXor:
            lanes([&](ThreadState& t) {
                const unsigned src = shuffle_source(op, t.lane, t.arg, t.width);
                if (!(group >> src & 1u)) {
                    if (g_checks & kSynccheck) {
                        fail_block(b, "synccheck",
                                   std::string(op_name(op)) + " by lane " + std::to_string(t.lane) +
                                       " reads lane " + std::to_string(src) +
                                       ", which is not in the mask (its value is undefined) at " +
                                       t.file + ":" + std::to_string(t.line));
                        return;
                    }
                    std::memcpy(t.result, t.value, 16);
                    return;
                }
                std::memcpy(t.result, th[warp * 32 + src].value, 16);
            });
            break;
        case WarpOp::Ballot:
            lanes([&](ThreadState& t) { std::memcpy(t.result, &ballot, 4); });
            break;
        case WarpOp::Any: case WarpOp::All: {
            const unsigned v = op == WarpOp::Any ? (ballot != 0) : (ballot == group);
            lanes([&](ThreadState& t) { std::memcpy(t.result, &v, 4); });
            break;
        }
        case WarpOp::MatchAny:
            lanes([&](ThreadState& t) {
                unsigned m = 0;
                lanes([&](ThreadState& u) { if (std::memcmp(t.value, u.value, t.size) == 0) m |= 1u << u.lane; });
                std::memcpy(t.result, &m, 4);
            });
            break;
        case WarpOp::MatchAll: {
            bool all = true;
            lanes([&](ThreadState& u) { all = all && std::memcmp(first.value, u.value, first.size) == 0; });
            const unsigned out[2] = {all ? group : 0u, all ? 1u : 0u};
            lanes([&](ThreadState& t) { std::memcpy(t.result, out, 8); });
            break;
        }
        case WarpOp::ActiveMask:
            lanes([&](ThreadState& t) { std::memcpy(t.result, &group, 4); });
            break;
        case WarpOp::Wmma: {
            // Every lane of the warp at the same call site (the operations are .aligned
            // in PTX), then the operation's own checks and work.
            WmmaCall* calls[32] = {};
            bool aligned = true;
            lanes([&](ThreadState& t) {
                std::memcpy(&calls[t.lane], t.value, sizeof(WmmaCall*));
                if (t.line != first.line || std::strcmp(t.file, first.file) != 0) aligned = false;
            });
            if (!aligned || group != 0xffffffffu) {
                std::string where;
                lanes([&](ThreadState& t) {
                    if (where.size() < 400)
                        where += "\n      lane " + std::to_string(t.lane) + " at " + t.file + ":" +
                                 std::to_string(t.line);
                });
                fail_block(b, "synccheck",
                           "divergent WMMA call: all 32 lanes of warp " + std::to_string(warp) +
                               " must execute the same load_matrix_sync/store_matrix_sync/mma_sync:" +
                               where);
                return;
            }
            char what[512] = {};
            if (const char* check = calls[0]->run(calls, what, sizeof what)) {
                const bool mem = std::strcmp(check, "memcheck") == 0;
                if (g_checks & (mem ? kMemcheck : kSynccheck)) {
                    fail_block(b, check,
                               std::string(what) + " at " + first.file + ":" +
                                   std::to_string(first.line),
                               mem ? cudaErrorMisalignedAddress : cudaErrorLaunchFailure);
                    return;
                }
            }
            break;
        }
        default: {
            int64_t acc = as_int(first);
            uint32_t uacc = static_cast<uint32_t>(acc);
            lanes([&](ThreadState& u) {
                const int64_t v = as_int(u);
                const uint32_t uv = static_cast<uint32_t>(v);
                if (&u == &first) return;
                switch (op) {
                    case WarpOp::ReduceAdd: uacc += uv; break;
                    case WarpOp::ReduceMin: acc = std::min<int64_t>(static_cast<int32_t>(acc), static_cast<int32_t>(v)); uacc = static_cast<uint32_t>(acc); break;
                    case WarpOp::ReduceMax: acc = std::max<int64_t>(static_cast<int32_t>(acc), static_cast<int32_t>(v)); uacc = static_cast<uint32_t>(acc); break;
                    case WarpOp::ReduceUMin: uacc = std::min(uacc, uv); break;
                    case WarpOp::ReduceUMax: uacc = std::max(uacc, uv); break;
                    case WarpOp::ReduceAnd: uacc &= uv; break;
                    case WarpOp::ReduceOr: uacc |= uv; break;
                    case WarpOp::ReduceXor: uacc ^= uv; break;
                    default: break;
                }
            });
            lanes([&](ThreadState& t) { std::memcpy(t.result, &uacc, 4); });
            break;
        }
    }
    lanes([&](ThreadState& t) {
        t.state = State::Ready;
        t.wait = Wait::None;
    });
}

// One round of resolving waits. Returns whether any thread was released.
bool resolve(Block* b) {
    std::vector<ThreadState>& th = *b->threads;
    const bool sync = g_checks & kSynccheck;
    bool released = false;
    for (unsigned w = 0; w < b->nwarps && !b->failed; ++w) {
        const unsigned base = w * 32;
        const unsigned count = std::min(32u, b->nthreads - base);
        unsigned done = 0;
        for (unsigned l = 0; l < count && !b->failed; ++l) {
            ThreadState& t = th[base + l];
            if (t.state != State::Blocked || t.wait != Wait::Warp || (done >> l & 1u)) continue;
            if (t.op == WarpOp::ActiveMask) continue;  // after the other collectives
            const unsigned mask = t.mask;
            if (!(mask >> l & 1u)) {
                if (sync) {
                    fail_block(b, "synccheck", wait_text(t) + " by lane " + std::to_string(l) +
                                                   ": the calling lane is not in the mask");
                    return false;
                }
            }
            if (t.op != WarpOp::Sync && t.op != WarpOp::ActiveMask && t.op <= WarpOp::ShflXor &&
                (t.width < 1 || t.width > 32 || (t.width & (t.width - 1)))) {
                if (sync) {
                    fail_block(b, "synccheck", wait_text(t) + ": width " + std::to_string(t.width) +
                                                   " is not a power of two in [1, 32]");
                    return false;
                }
            }
            bool ready = true;
            unsigned group = 0;
            for (unsigned k = 0; k < 32; ++k) {
                if (!(mask >> k & 1u)) continue;
                if (k >= count || th[base + k].state == State::Exited) {
                    if (sync) {
                        fail_block(b, "synccheck",
                                   wait_text(t) + ": lane " + std::to_string(k) + " of the mask " +
                                       (k >= count ? "does not exist (partial warp)" : "has exited") +
                                       ", so it can never arrive");
                        return false;
                    }
                    continue;
                }
                const ThreadState& u = th[base + k];
                if (u.state != State::Blocked || u.wait != Wait::Warp || u.op != t.op ||
                    u.mask != mask) {
                    ready = false;
                    break;
                }
                group |= 1u << k;
            }
            if (!ready) continue;
            group |= 1u << l;
            done |= group;
            complete_warp(b, w, group, th);
            released = true;
        }
        // __activemask: the lanes waiting at the same one, once no other collective of
        // the warp can complete (lanes held back elsewhere get to arrive first, as
        // they would reconverge on the hardware).
        if (done != 0 || b->failed) continue;
        for (unsigned l = 0; l < count; ++l) {
            ThreadState& t = th[base + l];
            if (t.state != State::Blocked || t.wait != Wait::Warp || t.op != WarpOp::ActiveMask ||
                (done >> l & 1u))
                continue;
            unsigned group = 0;
            for (unsigned k = 0; k < count; ++k) {
                const ThreadState& u = th[base + k];
                if (u.state == State::Blocked && u.wait == Wait::Warp &&
                    u.op == WarpOp::ActiveMask && u.line == t.line &&
                    std::strcmp(u.file, t.file) == 0)
                    group |= 1u << k;
            }
            done |= group;
            complete_warp(b, w, group, th);
            released = true;
        }
    }
    if (released || b->failed) return released;
    // Block barrier: every live thread waiting at one.
    const ThreadState* first = nullptr;
    for (unsigned i = 0; i < b->nthreads; ++i) {
        const ThreadState& t = th[i];
        if (t.state == State::Exited) continue;
        if (t.wait != Wait::Barrier) return false;
        if (!first) first = &t;
        if (sync && (t.line != first->line || std::strcmp(t.file, first->file) != 0 ||
                     t.bar_kind != first->bar_kind)) {
            fail_block(b, "synccheck",
                       "divergent barrier: thread " + dim_text(first->idx) + " waits at " +
                           wait_text(*first) + ", thread " + dim_text(t.idx) + " at " +
                           wait_text(t) + " (all live threads of a block must reach the same __syncthreads)");
            return false;
        }
    }
    if (!first) return false;
    int count = 0, all = 1, any = 0;
    for (unsigned i = 0; i < b->nthreads; ++i) {
        const ThreadState& t = th[i];
        if (t.state == State::Exited) continue;
        count += t.pred;
        all &= t.pred;
        any |= t.pred;
    }
    for (unsigned i = 0; i < b->nthreads; ++i) {
        ThreadState& t = th[i];
        if (t.state == State::Exited) continue;
        t.bar_result = t.bar_kind == 1 ? count : t.bar_kind == 2 ? all : t.bar_kind == 3 ? any : 0;
        t.state = State::Ready;
        t.wait = Wait::None;
    }
    ++b->epoch;
    for (auto& v : b->warp_syncs) v.clear();
    return true;
}

std::string deadlock_text(const Block* b) {
    const std::vector<ThreadState>& th = *b->threads;
    std::ostringstream s;
    s << "deadlock: no thread of the block can continue (a barrier or warp collective that "
         "not all of its threads reach):";
    std::map<std::string, std::vector<unsigned>> groups;
    for (unsigned i = 0; i < b->nthreads; ++i) {
        if (th[i].state == State::Exited) continue;
        groups[wait_text(th[i])].push_back(i);
    }
    int shown = 0;
    for (const auto& [text, ids] : groups) {
        if (++shown > 6) { s << "\n      ..."; break; }
        s << "\n      " << ids.size() << " thread(s), first " << dim_text(th[ids[0]].idx)
          << ", wait at " << text;
    }
    unsigned exited = 0;
    for (unsigned i = 0; i < b->nthreads; ++i) exited += th[i].state == State::Exited;
    if (exited) s << "\n      " << exited << " thread(s) have exited";
    return s.str();
}

void poison_arena() {
    SharedArena& s = g_arena;
    std::memset(s.base, 0xff, s.end + kSharedGuard);
    if (g_checks & kInitcheck) std::fill(s.init.begin(), s.init.begin() + s.end + kSharedGuard, 0);
}

}  // namespace

// ---------------------------------------------------------------- device-side entry points

uint3 thread_idx() { return current("threadIdx")->idx; }
uint3 block_idx() { return current("blockIdx")->block->idx; }
dim3 block_dim() { return current("blockDim")->block->launch->block; }
dim3 grid_dim() { return current("gridDim")->block->launch->grid; }

int block_barrier(int kind, int predicate, const char* file, int line) {
    ThreadState* t = current("__syncthreads");
    t->wait = Wait::Barrier;
    t->bar_kind = kind;
    t->pred = predicate;
    t->file = file;
    t->line = line;
    yield(t);
    return t->bar_result;
}

void warp_collective(WarpOp op, unsigned mask, const void* value, unsigned size, int arg,
                     int width, void* out, const char* file, int line) {
    ThreadState* t = current(op_name(op));
    t->wait = Wait::Warp;
    t->op = op;
    t->mask = mask;
    std::memset(t->value, 0, sizeof t->value);
    if (size) std::memcpy(t->value, value, size);
    t->size = size;
    t->arg = arg;
    t->width = width;
    t->file = file;
    t->line = line;
    yield(t);
    if (out) {
        switch (op) {
            case WarpOp::Sync: break;
            case WarpOp::ShflIdx: case WarpOp::ShflUp: case WarpOp::ShflDown: case WarpOp::ShflXor:
                std::memcpy(out, t->result, size);
                break;
            case WarpOp::MatchAll: std::memcpy(out, t->result, 8); break;
            default: std::memcpy(out, t->result, 4); break;
        }
    }
}

void wmma_collective(WmmaCall* call, const char* file, int line) {
    warp_collective(WarpOp::Wmma, 0xffffffffu, &call, sizeof call, call->kind, 32, nullptr, file,
                    line);
}

void* static_shared(const void* site, size_t size, size_t align, const char* name) {
    ThreadState* t = current("a __shared__ declaration");
    SharedArena& s = g_arena;
    for (const SharedVar& v : s.vars)
        if (v.site == site) return s.base + v.offset;
    if (s.static_bytes + size > kStaticSharedLimit) {
        fail(t, "memcheck", cudaErrorLaunchOutOfResources,
             "__shared__ '" + std::string(name) + "' (" + std::to_string(size) +
                 " bytes) takes the kernel's static shared memory over the 48 KiB limit",
             0);
    }
    size_t offset = (s.end + kSharedGuard + align - 1) / align * align;
    if (offset + size + kSharedGuard > kArenaSize ||
        s.static_bytes + size + s.dyn_size > kSharedOptinLimit) {
        fail(t, "memcheck", cudaErrorLaunchOutOfResources,
             "shared memory of the block exceeds the device's 227 KiB", 0);
    }
    s.vars.push_back({site, offset, size, name});
    s.static_bytes += size;
    s.end = offset + size;
    // Poison the new variable (and what lies behind it) for this block.
    std::memset(s.base + offset, 0xff, size);
    if (g_checks & kInitcheck) std::fill(s.init.begin() + offset, s.init.begin() + offset + size, 0);
    return s.base + offset;
}

void* dynamic_shared(size_t align) {
    current("extern __shared__");
    if (align > kSharedGuard) {
        std::fprintf(stderr, "CUDA emulation: extern __shared__ alignment %zu over %zu\n", align,
                     kSharedGuard);
        std::abort();
    }
    return g_arena.base + g_arena.dyn_offset;
}

void atomic_rmw(void* address, AtomicOp op, AtomicType type, const void* operand,
                const void* compare, void* old_value) {
    const size_t size = (type == AtomicType::U64 || type == AtomicType::I64 || type == AtomicType::F64) ? 8 : 4;
    const uintptr_t p = reinterpret_cast<uintptr_t>(address);
    if (ThreadState* t = t_cur; t && (g_checks & kMemcheck) && p % size != 0) {
        std::ostringstream s;
        s << "Misaligned atomic of size " << size << " at 0x" << std::hex << p;
        fail(t, "memcheck", cudaErrorMisalignedAddress, s.str(), p);
    }
    access(p, size, true, true);
    std::memcpy(old_value, address, size);
    auto apply = [&](auto old, auto val, auto cmp) {
        using T = decltype(old);
        T r = old;
        switch (op) {
            case AtomicOp::Add: r = old + val; break;
            case AtomicOp::Sub: r = old - val; break;
            case AtomicOp::Exch: r = val; break;
            case AtomicOp::Min: r = val < old ? val : old; break;
            case AtomicOp::Max: r = val > old ? val : old; break;
            case AtomicOp::CAS: r = old == cmp ? val : old; break;
            default:
                if constexpr (std::is_integral_v<T>) {
                    switch (op) {
                        case AtomicOp::Inc: r = old >= val ? 0 : old + 1; break;
                        case AtomicOp::Dec: r = (old == 0 || old > val) ? val : old - 1; break;
                        case AtomicOp::And: r = old & val; break;
                        case AtomicOp::Or: r = old | val; break;
                        case AtomicOp::Xor: r = old ^ val; break;
                        default: break;
                    }
                }
        }
        std::memcpy(address, &r, sizeof r);
    };
    auto run = [&](auto tag) {
        using T = decltype(tag);
        T old, val, cmp;
        std::memcpy(&old, old_value, sizeof(T));
        std::memcpy(&val, operand, sizeof(T));
        std::memcpy(&cmp, compare, sizeof(T));
        apply(old, val, cmp);
    };
    switch (type) {
        case AtomicType::I32: run(int32_t{}); break;
        case AtomicType::U32: run(uint32_t{}); break;
        case AtomicType::I64: run(int64_t{}); break;
        case AtomicType::U64: run(uint64_t{}); break;
        case AtomicType::F32: run(float{}); break;
        case AtomicType::F64: run(double{}); break;
    }
}

void note_ldg(const void* address, size_t size) {
    if (t_cur && (g_checks & kRacecheck)) access(reinterpret_cast<uintptr_t>(address), size, false, false, true);
}

void trap(const char* file, int line) {
    ThreadState* t = current("__trap");
    fail(t, "memcheck", cudaErrorLaunchFailure,
         std::string("__trap() at ") + file + ":" + std::to_string(line), 0);
}

long long clock64() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

size_t static_shared_bytes(const void* fn) {
    const auto it = g_static_shared.find(fn);
    return it == g_static_shared.end() ? 0 : it->second;
}

// ---------------------------------------------------------------- grids

cudaError_t execute(const Launch& launch) {
    if (!g_arena.base) {
        void* m = mmap(nullptr, kArenaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
        g_arena.base = static_cast<char*>(m);
        g_arena.init.assign(kArenaSize, 0);
        g_arena.race.assign(kArenaSize / 4, RaceCell{});
    }
    SharedArena& s = g_arena;
    s.vars.clear();
    s.static_bytes = 0;
    s.dyn_offset = kSharedGuard;
    s.dyn_size = launch.shared_bytes;
    s.end = s.dyn_offset + s.dyn_size;

    const unsigned nthreads = launch.block.x * launch.block.y * launch.block.z;
    std::vector<ThreadState> threads(nthreads);
    Block b;
    b.launch = &launch;
    b.nthreads = nthreads;
    b.nwarps = (nthreads + 31) / 32;
    b.threads = &threads;
    b.launch_id = ++g_launch_id;
    b.params_lo = reinterpret_cast<uintptr_t>(launch.call.args.get());
    b.params_size = launch.call.args_size;
    for (unsigned i = 0; i < nthreads; ++i) stack_for(i);

    cudaError_t result = cudaSuccess;
    uint32_t linear = 0;
    for (unsigned bz = 0; bz < launch.grid.z && result == cudaSuccess; ++bz) {
        for (unsigned by = 0; by < launch.grid.y && result == cudaSuccess; ++by) {
            for (unsigned bx = 0; bx < launch.grid.x; ++bx, ++linear) {
                b.idx = uint3{bx, by, bz};
                b.linear = linear;
                b.serial = ++g_block_serial;
                b.epoch = 0;
                b.warp_gen.assign(b.nwarps, 0);
                b.warp_syncs.assign(b.nwarps, {});
                poison_arena();
                for (unsigned i = 0; i < nthreads; ++i) {
                    ThreadState& t = threads[i];
                    t = ThreadState{};
                    t.idx = uint3{i % launch.block.x, (i / launch.block.x) % launch.block.y,
                                  i / (launch.block.x * launch.block.y)};
                    t.tid = i;
                    t.warp = i / 32;
                    t.lane = i % 32;
                    t.block = &b;
                    t.stack_lo = g_stacks[i];
                    t.ctx = bctx::make_fcontext(g_stacks[i] + kStackSize, kStackSize - 4096, fiber_main);
                }
                t_block = &b;
                for (;;) {
                    bool any_alive = false;
                    for (unsigned i = 0; i < nthreads && !b.failed; ++i) {
                        ThreadState& t = threads[i];
                        if (t.state != State::Ready) {
                            any_alive |= t.state == State::Blocked;
                            continue;
                        }
                        t_cur = &t;
                        const bctx::transfer_t tr = bctx::jump_fcontext(t.ctx, &b);
                        t_cur = nullptr;
                        t.ctx = tr.fctx;
                        any_alive |= t.state != State::Exited;
                    }
                    if (b.failed || !any_alive) break;
                    if (!resolve(&b) && !b.failed) {
                        fail_block(&b, "synccheck", deadlock_text(&b));
                    }
                    if (b.failed) break;
                }
                t_block = nullptr;
                t_cur = nullptr;
                if (b.failed) {
                    result = b.error;
                    break;
                }
            }
        }
    }
    g_static_shared[launch.fn] = s.static_bytes;
    return result;
}

}  // namespace cuda_emu::detail

// ---------------------------------------------------------------- instrumentation hooks

using cuda_emu::detail::access;

extern "C" {
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
#define CUDA_EMU_TSAN(N)                                                                     \
    void __tsan_read##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, false); }       \
    void __tsan_write##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, true); }       \
    void __tsan_unaligned_read##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, false); } \
    void __tsan_unaligned_write##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, true); } \
    void __tsan_volatile_read##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, false); } \
    void __tsan_volatile_write##N(void* p) { access(reinterpret_cast<uintptr_t>(p), N, true); }
CUDA_EMU_TSAN(1)
CUDA_EMU_TSAN(2)
CUDA_EMU_TSAN(4)
CUDA_EMU_TSAN(8)
CUDA_EMU_TSAN(16)
#undef CUDA_EMU_TSAN
void __tsan_read_range(void* p, unsigned long n) { access(reinterpret_cast<uintptr_t>(p), n, false); }
void __tsan_write_range(void* p, unsigned long n) { access(reinterpret_cast<uintptr_t>(p), n, true); }
void __tsan_vptr_read(void**) {}
void __tsan_vptr_update(void**, void*) {}
}

// ---------------------------------------------------------------- UBSan handlers
// Kernel translation units are compiled with -fsanitize=alignment,bounds,null; no
// UBSan runtime is linked. GCC's handler ABI:

namespace {
struct SourceLocation {
    const char* file;
    uint32_t line, column;
};
struct TypeDescriptor {
    uint16_t kind, info;
    char name[1];
};
struct TypeMismatchData {
    SourceLocation loc;
    const TypeDescriptor* type;
    unsigned char log_alignment;
    unsigned char type_check_kind;
};
struct OutOfBoundsData {
    SourceLocation loc;
    const TypeDescriptor* array_type;
    const TypeDescriptor* index_type;
};

std::string at(const SourceLocation& l) {
    return std::string(l.file ? l.file : "?") + ":" + std::to_string(l.line);
}

[[noreturn]] void host_ub(const std::string& what) {
    std::fprintf(stderr, "CUDA emulation: undefined behaviour in host code of a .cu file: %s\n",
                 what.c_str());
    std::abort();
}

void type_mismatch(TypeMismatchData* d, uintptr_t ptr) {
    using namespace cuda_emu;
    using namespace cuda_emu::detail;
    const uintptr_t align = uintptr_t(1) << d->log_alignment;
    std::ostringstream s;
    cudaError_t err;
    if (ptr == 0) {
        s << "null pointer dereference (" << d->type->name << ") at " << at(d->loc);
        err = cudaErrorIllegalAddress;
    } else if (ptr & (align - 1)) {
        s << "Misaligned access at 0x" << std::hex << ptr << std::dec << ": " << d->type->name
          << " needs " << align << "-byte alignment, at " << at(d->loc);
        err = cudaErrorMisalignedAddress;
    } else {
        s << "invalid access to " << d->type->name << " at 0x" << std::hex << ptr << std::dec
          << ", " << at(d->loc);
        err = cudaErrorIllegalAddress;
    }
    if (!t_cur) host_ub(s.str());
    if (!(g_checks & kMemcheck)) return;
    fail(t_cur, "memcheck", err, s.str(), ptr);
}

void out_of_bounds(OutOfBoundsData* d, uintptr_t index) {
    using namespace cuda_emu;
    using namespace cuda_emu::detail;
    std::ostringstream s;
    s << "index " << static_cast<intptr_t>(index) << " out of bounds for " << d->array_type->name
      << " at " << at(d->loc);
    if (!t_cur) host_ub(s.str());
    if (!(g_checks & kMemcheck)) return;
    fail(t_cur, "memcheck", cudaErrorIllegalAddress, s.str(), 0);
}
}  // namespace

extern "C" {
void __ubsan_handle_type_mismatch_v1(TypeMismatchData* d, uintptr_t ptr) { type_mismatch(d, ptr); }
void __ubsan_handle_type_mismatch_v1_abort(TypeMismatchData* d, uintptr_t ptr) { type_mismatch(d, ptr); }
void __ubsan_handle_out_of_bounds(OutOfBoundsData* d, uintptr_t index) { out_of_bounds(d, index); }
void __ubsan_handle_out_of_bounds_abort(OutOfBoundsData* d, uintptr_t index) { out_of_bounds(d, index); }
}

// Atomics in instrumented code (host parts of .cu files: shared_ptr counts): done
// for real, never checked (device atomics go through atomicAdd and friends).
#define CUDA_EMU_TSAN_ATOMIC(N, T)                                                               \
    extern "C" T __tsan_atomic##N##_load(const volatile T* a, int) {                           \
        return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                            \
    }                                                                                           \
    extern "C" void __tsan_atomic##N##_store(volatile T* a, T v, int) {                         \
        __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                               \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_exchange(volatile T* a, T v, int) {                         \
        return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                     \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_add(volatile T* a, T v, int) {                        \
        return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                      \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_sub(volatile T* a, T v, int) {                        \
        return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                      \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_and(volatile T* a, T v, int) {                        \
        return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                      \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_or(volatile T* a, T v, int) {                         \
        return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                       \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_xor(volatile T* a, T v, int) {                        \
        return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                      \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_fetch_nand(volatile T* a, T v, int) {                       \
        return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST);                                     \
    }                                                                                           \
    extern "C" int __tsan_atomic##N##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) { \
        return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);  \
    }                                                                                           \
    extern "C" int __tsan_atomic##N##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) { \
        return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);  \
    }                                                                                           \
    extern "C" T __tsan_atomic##N##_compare_exchange_val(volatile T* a, T c, T v, int, int) {   \
        __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);        \
        return c;                                                                               \
    }
CUDA_EMU_TSAN_ATOMIC(8, char)
CUDA_EMU_TSAN_ATOMIC(16, short)
CUDA_EMU_TSAN_ATOMIC(32, int)
CUDA_EMU_TSAN_ATOMIC(64, long)
#undef CUDA_EMU_TSAN_ATOMIC
extern "C" void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
extern "C" void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
