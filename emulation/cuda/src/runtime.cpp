// The CUDA emulation's runtime API: emulated sm_90 devices, device memory, pinned
// host memory, streams, events, graphs and errors (emulation/cuda/README.md).
//
// Device work is deferred: every copy, memset, kernel and event record is queued on
// its stream and runs only when the host has to wait for it (a stream, event or
// device synchronisation, a blocking copy, cudaFree), on the waiting thread, in
// stream order and after what it depends on (events, the legacy default stream).
// So the device is as late as CUDA allows: a missing synchronisation shows up
// every time, not by chance. What CUDA makes synchronous is synchronous here too:
// an asynchronous copy from pageable host memory reads its source before the call
// returns, a copy to pageable host memory returns when it is done.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "internal.h"

namespace cuda_emu::detail {

std::recursive_mutex& api_mutex() {
    static std::recursive_mutex m;
    return m;
}

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kGuard = 64 * 1024;
constexpr size_t kRegionSize = size_t(1) << 38;  // 256 GiB of address space

struct Stream;

struct Op {
    std::function<void()> run;
    std::vector<std::pair<Stream*, uint64_t>> deps;
    bool is_kernel = false;
};

struct Graph {
    std::vector<Op> ops;
    bool invalidated = false;
};

struct Stream {
    int device = 0;
    unsigned flags = 0;
    bool is_null = false;
    std::deque<Op> queue;
    uint64_t enqueued = 0, done = 0;
    Graph* capture = nullptr;
};

struct Event {
    unsigned flags = 0;
    bool recorded = false;
    Stream* stream = nullptr;
    uint64_t seq = 0;
    uint64_t generation = 0;
    bool done = false;
    double time_ms = 0;
};

struct Device {
    int id = 0;
    cudaDeviceProp prop{};
    size_t used = 0;
    cudaError_t sticky = cudaSuccess;
    Stream null_stream;
    std::map<const void*, int> max_dynamic_shared;
    std::set<int> peers;  // devices whose memory this one's kernels may access
};

struct State {
    std::vector<std::unique_ptr<Device>> devices;
    std::set<Stream*> streams;
    std::set<Event*> events;
    std::set<Graph*> graphs;
    std::set<std::vector<Op>*> execs;
    size_t capacity = size_t(8) << 30;
    uintptr_t region = 0, bump = 0;
    Allocation** pages = nullptr;
    uint64_t alloc_serial = 0;
    std::map<uintptr_t, size_t> pinned;  // host base -> bytes
    std::vector<Report> reports;
    bool print_reports = true;
};

State* g = nullptr;
thread_local int t_device = 0;
thread_local cudaError_t t_last = cudaSuccess;

double now_ms() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

size_t parse_bytes(const char* s, size_t fallback) {
    if (!s || !*s) return fallback;
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    size_t mult = 1;
    if (end && *end) {
        switch (*end) {
            case 'k': case 'K': mult = size_t(1) << 10; break;
            case 'm': case 'M': mult = size_t(1) << 20; break;
            case 'g': case 'G': mult = size_t(1) << 30; break;
            default: break;
        }
    }
    return v > 0 ? static_cast<size_t>(v * static_cast<double>(mult)) : fallback;
}

unsigned parse_checks(const char* s) {
    if (!s || !*s) return kAllChecks;
    std::string text(s);
    if (text == "all") return kAllChecks;
    if (text == "none") return 0;
    unsigned m = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t comma = text.find(',', pos);
        const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (item == "memcheck") m |= kMemcheck;
        else if (item == "initcheck") m |= kInitcheck;
        else if (item == "racecheck") m |= kRacecheck;
        else if (item == "synccheck") m |= kSynccheck;
        else if (!item.empty()) std::fprintf(stderr, "CUDA emulation: unknown check '%s' in FCNRT_CUDA_EMU_CHECKS\n", item.c_str());
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return m;
}

void fill_properties(cudaDeviceProp& p, int id, size_t capacity) {
    std::memset(&p, 0, sizeof p);
    std::snprintf(p.name, sizeof p.name, "fcnrt CUDA emulation (sm_90 on the CPU)");
    p.totalGlobalMem = capacity;
    p.sharedMemPerBlock = 48 * 1024;
    p.regsPerBlock = 65536;
    p.warpSize = 32;
    p.memPitch = 2147483647;
    p.maxThreadsPerBlock = 1024;
    p.maxThreadsDim[0] = 1024;
    p.maxThreadsDim[1] = 1024;
    p.maxThreadsDim[2] = 64;
    p.maxGridSize[0] = 2147483647;
    p.maxGridSize[1] = 65535;
    p.maxGridSize[2] = 65535;
    p.totalConstMem = 65536;
    p.major = 9;
    p.minor = 0;
    p.textureAlignment = 512;
    p.multiProcessorCount = 132;
    p.canMapHostMemory = 1;
    p.concurrentKernels = 1;
    p.pciBusID = id;
    p.asyncEngineCount = 3;
    p.unifiedAddressing = 1;
    p.memoryBusWidth = 5120;
    p.l2CacheSize = 50 * 1024 * 1024;
    p.maxThreadsPerMultiProcessor = 2048;
    p.sharedMemPerMultiprocessor = 233472;
    p.regsPerMultiprocessor = 65536;
    p.managedMemory = 1;
    p.sharedMemPerBlockOptin = 232448;
    p.maxBlocksPerMultiProcessor = 32;
    p.emulatedClockRateKHz = 1980000;
    p.emulatedMemoryClockRateKHz = 2619000;
}

State& state() {
    if (!g) {
        g = new State;
        g_checks = parse_checks(std::getenv("FCNRT_CUDA_EMU_CHECKS"));
        g->capacity = parse_bytes(std::getenv("FCNRT_CUDA_EMU_MEMORY"), g->capacity);
        const char* nd = std::getenv("FCNRT_CUDA_EMU_DEVICES");
        int n = nd ? std::atoi(nd) : 1;
        if (n < 0) n = 0;
        for (int i = 0; i < n; ++i) {
            auto d = std::make_unique<Device>();
            d->id = i;
            fill_properties(d->prop, i, g->capacity);
            d->null_stream.device = i;
            d->null_stream.is_null = true;
            g->devices.push_back(std::move(d));
        }
        void* r = mmap(nullptr, kRegionSize, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        void* t = mmap(nullptr, kRegionSize / kPage * sizeof(Allocation*), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED || t == MAP_FAILED) {
            std::perror("CUDA emulation: reserving the device address space");
            std::abort();
        }
        g->region = g->bump = reinterpret_cast<uintptr_t>(r);
        g->pages = static_cast<Allocation**>(t);
    }
    return *g;
}

cudaError_t set_last(cudaError_t e) {
    if (e != cudaSuccess) t_last = e;
    return e;
}

Device* current_device() {
    State& s = state();
    if (s.devices.empty()) return nullptr;
    return s.devices[static_cast<size_t>(t_device)].get();
}

// nullptr for an invalid handle.
Stream* resolve_stream(cudaStream_t h) {
    Device* d = current_device();
    if (!d) return nullptr;
    if (h == nullptr || h == cudaStreamLegacy || h == cudaStreamPerThread) return &d->null_stream;
    Stream* s = reinterpret_cast<Stream*>(h);
    return state().streams.count(s) ? s : nullptr;
}

void drain(Stream* s, uint64_t upto);

void run_op(Stream* s) {
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    for (const auto& [dep, seq] : op.deps) drain(dep, seq);
    Device& d = *state().devices[static_cast<size_t>(s->device)];
    if (d.sticky == cudaSuccess || !op.is_kernel) {
        if (d.sticky == cudaSuccess) op.run();
    }
    ++s->done;
}

void drain(Stream* s, uint64_t upto) {
    while (s->done < upto && !s->queue.empty()) run_op(s);
}

void drain_all(Stream* s) { drain(s, s->enqueued); }

void drain_device(int device) {
    State& st = state();
    Device& d = *st.devices[static_cast<size_t>(device)];
    for (bool more = true; more;) {
        more = false;
        drain_all(&d.null_stream);
        for (Stream* s : st.streams) {
            if (s->device == device && s->done < s->enqueued) {
                drain_all(s);
                more = true;
            }
        }
    }
}

// Queues `op` on s with CUDA's implicit dependencies: the legacy default stream
// waits for every blocking stream of its device, and they wait for it. Returns the
// op's sequence number on s (0 when captured into a graph).
uint64_t enqueue(Stream* s, Op op) {
    if (s->capture) {
        s->capture->ops.push_back(std::move(op));
        return 0;
    }
    State& st = state();
    Device& d = *st.devices[static_cast<size_t>(s->device)];
    if (s->is_null) {
        for (Stream* o : st.streams)
            if (o->device == s->device && !(o->flags & cudaStreamNonBlocking) && o->enqueued > o->done)
                op.deps.emplace_back(o, o->enqueued);
    } else if (!(s->flags & cudaStreamNonBlocking) && d.null_stream.enqueued > d.null_stream.done) {
        op.deps.emplace_back(&d.null_stream, d.null_stream.enqueued);
    }
    s->queue.push_back(std::move(op));
    return ++s->enqueued;
}

cudaError_t sticky(int device) {
    return state().devices[static_cast<size_t>(device)]->sticky;
}

enum class Space { Host, Pinned, Device };

Space space_of(const void* p) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (in_device_region(a)) return Space::Device;
    if (in_pinned_host(a, 1)) return Space::Pinned;
    return Space::Host;
}

// A device range must lie in one live allocation.
bool valid_device_range(const void* p, size_t n) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    const Allocation* al = allocation_at(a);
    return al && !al->freed && a >= al->base && a + n <= al->base + al->size;
}

void api_report(const std::string& what) {
    Report r;
    r.check = "memcheck";
    r.kernel = "(host API)";
    r.message = "CUDA emulation memcheck: " + what;
    r.error = cudaErrorInvalidValue;
    add_report(std::move(r));
}

void device_copy(void* dst, const void* src, size_t n, Space ds, Space ss) {
    std::memmove(dst, src, n);
    if (ds == Space::Device) {
        if (ss == Space::Device)
            copy_init_state(reinterpret_cast<uintptr_t>(dst), reinterpret_cast<uintptr_t>(src), n);
        else
            mark_initialized(reinterpret_cast<uintptr_t>(dst), n);
    }
}

// The common part of cudaMemcpy and cudaMemcpyAsync. `sync`: cudaMemcpy's rules.
cudaError_t memcpy_impl(void* dst, const void* src, size_t n, cudaMemcpyKind kind, Stream* s,
                        bool sync) {
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (const cudaError_t e = sticky(s->device)) return set_last(e);
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return set_last(cudaErrorInvalidValue);
    const Space ds = space_of(dst), ss = space_of(src);
    const bool dst_dev = ds == Space::Device, src_dev = ss == Space::Device;
    if (kind != cudaMemcpyDefault) {
        const bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
        const bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
        if (kind > cudaMemcpyDefault) return set_last(cudaErrorInvalidMemcpyDirection);
        if (want_dst_dev != dst_dev || want_src_dev != src_dev) {
            api_report("cudaMemcpy direction does not match its pointers");
            return set_last(cudaErrorInvalidValue);
        }
    }
    if ((dst_dev && !valid_device_range(dst, n)) || (src_dev && !valid_device_range(src, n))) {
        api_report("cudaMemcpy of " + std::to_string(n) + " bytes outside a live device allocation");
        return set_last(cudaErrorInvalidValue);
    }
    if (!dst_dev && !src_dev) {  // host to host: synchronous
        drain_all(s);
        std::memmove(dst, src, n);
        return cudaSuccess;
    }
    Op op;
    if (!src_dev && ss == Space::Host && !s->capture) {
        // Pageable source: staged now, as the driver does before the call returns.
        auto staging = std::make_shared<std::vector<unsigned char>>(
            static_cast<const unsigned char*>(src), static_cast<const unsigned char*>(src) + n);
        op.run = [dst, staging, n, ds] { device_copy(dst, staging->data(), n, ds, Space::Host); };
    } else {
        op.run = [dst, src, n, ds, ss] { device_copy(dst, src, n, ds, ss); };
    }
    const uint64_t seq = enqueue(s, std::move(op));
    // To pageable host memory: returns when done. cudaMemcpy also waits for copies
    // from pinned memory and to any host memory.
    const bool wait = (!dst_dev && (ds == Space::Host || sync)) || (sync && ss == Space::Pinned);
    if (wait && seq) {
        drain(s, seq);
        if (const cudaError_t e = sticky(s->device)) return set_last(e);
    }
    return cudaSuccess;
}

cudaError_t memset_impl(void* p, int value, size_t n, Stream* s) {
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (const cudaError_t e = sticky(s->device)) return set_last(e);
    if (n == 0) return cudaSuccess;
    if (!valid_device_range(p, n)) {
        api_report("cudaMemset of " + std::to_string(n) + " bytes outside a live device allocation");
        return set_last(cudaErrorInvalidValue);
    }
    Op op;
    op.run = [p, value, n] {
        std::memset(p, value, n);
        mark_initialized(reinterpret_cast<uintptr_t>(p), n);
    };
    enqueue(s, std::move(op));
    return cudaSuccess;
}

}  // namespace

// ---------------------------------------------------------------- memory

Allocation* allocation_at(uintptr_t p) {
    State& s = state();
    if (p < s.region || p >= s.region + kRegionSize) return nullptr;
    return s.pages[(p - s.region) / kPage];
}

bool in_device_region(uintptr_t p) {
    State& s = state();
    return p - s.region < kRegionSize;
}

bool in_pinned_host(uintptr_t p, size_t size) {
    State& s = state();
    auto it = s.pinned.upper_bound(p);
    if (it == s.pinned.begin()) return false;
    --it;
    return p + size <= it->first + it->second;
}

void mark_initialized(uintptr_t p, size_t n) {
    Allocation* a = allocation_at(p);
    if (!a || a->freed) return;
    for (size_t off = p - a->base, end = off + n; off < end;) {
        const size_t word = off / 4;
        const unsigned first = off % 4;
        const unsigned last = static_cast<unsigned>(std::min<size_t>(end - word * 4, 4));
        a->init[word] |= static_cast<uint8_t>(((1u << last) - 1) & ~((1u << first) - 1));
        off = word * 4 + 4;
    }
}

void copy_init_state(uintptr_t dst, uintptr_t src, size_t n) {
    Allocation* s = allocation_at(src);
    Allocation* d = allocation_at(dst);
    if (!s || !d) return;
    // Byte by byte: the copy may shift data within words.
    for (size_t i = 0; i < n; ++i) {
        const size_t so = src - s->base + i, dof = dst - d->base + i;
        const bool written = s->init[so / 4] >> (so % 4) & 1u;
        if (written) d->init[dof / 4] |= static_cast<uint8_t>(1u << (dof % 4));
        else d->init[dof / 4] &= static_cast<uint8_t>(~(1u << (dof % 4)));
    }
}

void add_report(Report r) {
    State& s = state();
    if (s.print_reports) std::fprintf(stderr, "========= %s\n", r.message.c_str());
    s.reports.push_back(std::move(r));
}

cudaError_t launch_kernel(const char* name, const void* fn, dim3 grid, dim3 block,
                          size_t shared_bytes, cudaStream_t stream, KernelCall call) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(current_device() ? cudaErrorInvalidResourceHandle : cudaErrorNoDevice);
    Device& d = *state().devices[static_cast<size_t>(s->device)];
    if (d.sticky) return set_last(d.sticky);
    const cudaDeviceProp& p = d.prop;
    const unsigned long long threads =
        static_cast<unsigned long long>(block.x) * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 ||
        block.z == 0 || threads > static_cast<unsigned>(p.maxThreadsPerBlock) ||
        block.x > static_cast<unsigned>(p.maxThreadsDim[0]) ||
        block.y > static_cast<unsigned>(p.maxThreadsDim[1]) ||
        block.z > static_cast<unsigned>(p.maxThreadsDim[2]) ||
        grid.x > static_cast<unsigned>(p.maxGridSize[0]) ||
        grid.y > static_cast<unsigned>(p.maxGridSize[1]) ||
        grid.z > static_cast<unsigned>(p.maxGridSize[2]))
        return set_last(cudaErrorInvalidConfiguration);
    const auto it = d.max_dynamic_shared.find(fn);
    const size_t dyn_limit = it != d.max_dynamic_shared.end() ? static_cast<size_t>(it->second)
                                                                : p.sharedMemPerBlock;
    if (shared_bytes > dyn_limit) return set_last(cudaErrorInvalidValue);
    auto launch = std::make_shared<Launch>();
    launch->name = name;
    launch->fn = fn;
    launch->grid = grid;
    launch->block = block;
    launch->shared_bytes = shared_bytes;
    launch->call = std::move(call);
    launch->device = s->device;
    Op op;
    op.is_kernel = true;
    const int device = s->device;
    op.run = [launch, device] {
        const cudaError_t e = execute(*launch);
        if (e != cudaSuccess) state().devices[static_cast<size_t>(device)]->sticky = e;
    };
    enqueue(s, std::move(op));
    return cudaSuccess;
}

bool peer_access_enabled(int device, int peer_device) {
    State& s = state();
    return device == peer_device ||
           (device >= 0 && device < static_cast<int>(s.devices.size()) &&
            s.devices[static_cast<size_t>(device)]->peers.count(peer_device) != 0);
}

}  // namespace cuda_emu::detail

// ---------------------------------------------------------------- emulator controls

namespace cuda_emu {
using namespace detail;

unsigned checks() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    state();
    return g_checks;
}
void set_checks(unsigned mask) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    state();
    g_checks = mask & kAllChecks;
}
std::vector<Report> reports() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    return state().reports;
}
void clear_reports() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    state().reports.clear();
}
void set_print_reports(bool print) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    state().print_reports = print;
}
void set_memory_capacity(size_t bytes) {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    State& s = state();
    s.capacity = bytes;
    for (auto& d : s.devices) d->prop.totalGlobalMem = bytes;
}
size_t memory_capacity() {
    std::lock_guard<std::recursive_mutex> lock(api_mutex());
    return state().capacity;
}

}  // namespace cuda_emu

// ---------------------------------------------------------------- the runtime API

using namespace cuda_emu;
using namespace cuda_emu::detail;

#define CUDA_EMU_LOCK std::lock_guard<std::recursive_mutex> cuda_emu_lock(api_mutex())
#define CUDA_EMU_DEVICE                                          \
    CUDA_EMU_LOCK;                                               \
    Device* dev = current_device();                              \
    if (!dev) return set_last(cudaErrorNoDevice);                \
    (void)dev

extern "C" {

const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
#define N(x) case x: return #x;
        N(cudaSuccess) N(cudaErrorInvalidValue) N(cudaErrorMemoryAllocation)
        N(cudaErrorInitializationError) N(cudaErrorCudartUnloading) N(cudaErrorInvalidConfiguration)
        N(cudaErrorInvalidPitchValue) N(cudaErrorInvalidSymbol) N(cudaErrorInvalidHostPointer)
        N(cudaErrorInvalidDevicePointer) N(cudaErrorInvalidMemcpyDirection) N(cudaErrorInsufficientDriver)
        N(cudaErrorInvalidDeviceFunction) N(cudaErrorNoDevice) N(cudaErrorInvalidDevice)
        N(cudaErrorNoKernelImageForDevice) N(cudaErrorInvalidResourceHandle) N(cudaErrorIllegalState)
        N(cudaErrorNotReady) N(cudaErrorIllegalAddress) N(cudaErrorLaunchOutOfResources)
        N(cudaErrorPeerAccessAlreadyEnabled) N(cudaErrorPeerAccessNotEnabled)
        N(cudaErrorAssert) N(cudaErrorMisalignedAddress) N(cudaErrorLaunchFailure)
        N(cudaErrorNotPermitted) N(cudaErrorNotSupported) N(cudaErrorStreamCaptureUnsupported)
        N(cudaErrorStreamCaptureInvalidated) N(cudaErrorStreamCaptureUnmatched)
        N(cudaErrorStreamCaptureImplicit) N(cudaErrorCapturedEvent) N(cudaErrorUnknown)
#undef N
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInitializationError: return "initialization error";
        case cudaErrorCudartUnloading: return "driver shutting down";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorInvalidPitchValue: return "invalid pitch argument";
        case cudaErrorInvalidSymbol: return "invalid device symbol";
        case cudaErrorInvalidHostPointer: return "invalid host pointer";
        case cudaErrorInvalidDevicePointer: return "invalid device pointer";
        case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
        case cudaErrorInsufficientDriver:
            return "CUDA driver version is insufficient for CUDA runtime version";
        case cudaErrorInvalidDeviceFunction: return "invalid device function";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorNoKernelImageForDevice:
            return "no kernel image is available for execution on the device";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
        case cudaErrorNotReady: return "device not ready";
        case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
        case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
        case cudaErrorPeerAccessAlreadyEnabled:
            return "peer access is already enabled";
        case cudaErrorPeerAccessNotEnabled: return "peer access has not been enabled";
        case cudaErrorAssert: return "device-side assert triggered";
        case cudaErrorMisalignedAddress: return "misaligned address";
        case cudaErrorLaunchFailure: return "unspecified launch failure";
        case cudaErrorNotPermitted: return "operation not permitted";
        case cudaErrorNotSupported: return "operation not supported";
        case cudaErrorStreamCaptureUnsupported:
            return "operation not permitted when stream is capturing";
        case cudaErrorStreamCaptureInvalidated:
            return "operation failed due to a previous error during capture";
        case cudaErrorStreamCaptureUnmatched:
            return "capture was not initiated in this stream";
        case cudaErrorStreamCaptureImplicit:
            return "operation would make the legacy stream depend on a capturing blocking stream";
        case cudaErrorCapturedEvent:
            return "operation not permitted on an event last recorded in a capturing stream";
        case cudaErrorUnknown: return "unknown error";
    }
    return "unrecognized error code";
}

cudaError_t cudaGetLastError(void) {
    CUDA_EMU_LOCK;
    cudaError_t e = t_last;
    t_last = cudaSuccess;
    if (e == cudaSuccess) {
        if (Device* d = current_device()) e = d->sticky;
    }
    return e;
}

cudaError_t cudaPeekAtLastError(void) {
    CUDA_EMU_LOCK;
    cudaError_t e = t_last;
    if (e == cudaSuccess) {
        if (Device* d = current_device()) e = d->sticky;
    }
    return e;
}

cudaError_t cudaGetDeviceCount(int* count) {
    CUDA_EMU_LOCK;
    if (!count) return set_last(cudaErrorInvalidValue);
    *count = static_cast<int>(state().devices.size());
    return *count ? cudaSuccess : set_last(cudaErrorNoDevice);
}

cudaError_t cudaGetDevice(int* device) {
    CUDA_EMU_DEVICE;
    if (!device) return set_last(cudaErrorInvalidValue);
    *device = t_device;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    CUDA_EMU_LOCK;
    if (device < 0 || device >= static_cast<int>(state().devices.size()))
        return set_last(cudaErrorInvalidDevice);
    t_device = device;
    return cudaSuccess;
}

cudaError_t cudaDeviceCanAccessPeer(int* can_access, int device, int peer_device) {
    CUDA_EMU_LOCK;
    const int n = static_cast<int>(state().devices.size());
    if (device < 0 || device >= n || peer_device < 0 || peer_device >= n)
        return set_last(cudaErrorInvalidDevice);
    if (!can_access) return set_last(cudaErrorInvalidValue);
    *can_access = device != peer_device;  // as on an NVLink/NVSwitch machine
    return cudaSuccess;
}

cudaError_t cudaDeviceEnablePeerAccess(int peer_device, unsigned int flags) {
    CUDA_EMU_DEVICE;
    if (peer_device < 0 || peer_device >= static_cast<int>(state().devices.size()) ||
        peer_device == t_device)
        return set_last(cudaErrorInvalidDevice);
    if (flags != 0) return set_last(cudaErrorInvalidValue);
    if (!dev->peers.insert(peer_device).second) return set_last(cudaErrorPeerAccessAlreadyEnabled);
    return cudaSuccess;
}

cudaError_t cudaDeviceDisablePeerAccess(int peer_device) {
    CUDA_EMU_DEVICE;
    if (peer_device < 0 || peer_device >= static_cast<int>(state().devices.size()) ||
        peer_device == t_device)
        return set_last(cudaErrorInvalidDevice);
    if (dev->peers.erase(peer_device) == 0) return set_last(cudaErrorPeerAccessNotEnabled);
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    CUDA_EMU_LOCK;
    if (!prop) return set_last(cudaErrorInvalidValue);
    if (device < 0 || device >= static_cast<int>(state().devices.size()))
        return set_last(cudaErrorInvalidDevice);
    *prop = state().devices[static_cast<size_t>(device)]->prop;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
    CUDA_EMU_LOCK;
    if (!value) return set_last(cudaErrorInvalidValue);
    if (device < 0 || device >= static_cast<int>(state().devices.size()))
        return set_last(cudaErrorInvalidDevice);
    const cudaDeviceProp& p = state().devices[static_cast<size_t>(device)]->prop;
    switch (attr) {
        case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
        case cudaDevAttrMaxBlockDimX: *value = p.maxThreadsDim[0]; break;
        case cudaDevAttrMaxBlockDimY: *value = p.maxThreadsDim[1]; break;
        case cudaDevAttrMaxBlockDimZ: *value = p.maxThreadsDim[2]; break;
        case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
        case cudaDevAttrMaxGridDimY: *value = p.maxGridSize[1]; break;
        case cudaDevAttrMaxGridDimZ: *value = p.maxGridSize[2]; break;
        case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); break;
        case cudaDevAttrTotalConstantMemory: *value = static_cast<int>(p.totalConstMem); break;
        case cudaDevAttrWarpSize: *value = p.warpSize; break;
        case cudaDevAttrMaxRegistersPerBlock: *value = p.regsPerBlock; break;
        case cudaDevAttrClockRate: *value = p.emulatedClockRateKHz; break;
        case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
        case cudaDevAttrIntegrated: *value = p.integrated; break;
        case cudaDevAttrCanMapHostMemory: *value = p.canMapHostMemory; break;
        case cudaDevAttrConcurrentKernels: *value = p.concurrentKernels; break;
        case cudaDevAttrMemoryClockRate: *value = p.emulatedMemoryClockRateKHz; break;
        case cudaDevAttrGlobalMemoryBusWidth: *value = p.memoryBusWidth; break;
        case cudaDevAttrL2CacheSize: *value = p.l2CacheSize; break;
        case cudaDevAttrMaxThreadsPerMultiProcessor: *value = p.maxThreadsPerMultiProcessor; break;
        case cudaDevAttrAsyncEngineCount: *value = p.asyncEngineCount; break;
        case cudaDevAttrUnifiedAddressing: *value = p.unifiedAddressing; break;
        case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
        case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
        case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = static_cast<int>(p.sharedMemPerMultiprocessor); break;
        case cudaDevAttrMaxRegistersPerMultiprocessor: *value = p.regsPerMultiprocessor; break;
        case cudaDevAttrManagedMemory: *value = p.managedMemory; break;
        case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(p.sharedMemPerBlockOptin); break;
        case cudaDevAttrMaxBlocksPerMultiprocessor: *value = p.maxBlocksPerMultiProcessor; break;
        default: return set_last(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    CUDA_EMU_DEVICE;
    drain_device(t_device);
    return set_last(dev->sticky);
}

cudaError_t cudaDeviceReset(void) {
    CUDA_EMU_DEVICE;
    drain_device(t_device);
    State& s = state();
    for (uintptr_t p = s.region; p < s.bump; p += kPage) {
        Allocation* a = s.pages[(p - s.region) / kPage];
        if (a && !a->freed && a->device == t_device && a->base == p) {
            a->freed = true;
            dev->used -= a->size;
            mprotect(reinterpret_cast<void*>(a->base), a->mapped, PROT_NONE);
            madvise(reinterpret_cast<void*>(a->base), a->mapped, MADV_DONTNEED);
            a->init.reset();
            a->race.reset();
        }
    }
    dev->sticky = cudaSuccess;
    dev->max_dynamic_shared.clear();
    dev->peers.clear();
    t_last = cudaSuccess;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
    CUDA_EMU_DEVICE;
    if (dev->sticky) return set_last(dev->sticky);
    const size_t cap = state().capacity;
    if (free_bytes) *free_bytes = dev->used < cap ? cap - dev->used : 0;
    if (total_bytes) *total_bytes = cap;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
    if (!version) return cudaErrorInvalidValue;
    *version = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
    if (!version) return cudaErrorInvalidValue;
    *version = CUDART_VERSION;
    return cudaSuccess;
}

namespace {
cudaError_t device_alloc(void** ptr, size_t size, bool managed) {
    CUDA_EMU_DEVICE;
    if (!ptr) return set_last(cudaErrorInvalidValue);
    if (dev->sticky) return set_last(dev->sticky);
    *ptr = nullptr;
    if (size == 0) return cudaSuccess;
    State& s = state();
    const size_t mapped = (size + kPage - 1) / kPage * kPage;
    const uintptr_t start = s.bump + kGuard;
    if (dev->used + size > s.capacity || size > kRegionSize ||
        start + mapped + kGuard > s.region + kRegionSize)
        return set_last(cudaErrorMemoryAllocation);
    if (mprotect(reinterpret_cast<void*>(start), mapped, PROT_READ | PROT_WRITE) != 0)
        return set_last(cudaErrorMemoryAllocation);
    auto* a = new Allocation;
    a->base = start;
    a->size = size;
    a->mapped = mapped;
    a->device = t_device;
    a->serial = ++s.alloc_serial;
    a->managed = managed;
    a->init.reset(new uint8_t[(size + 3) / 4]());
    for (size_t p = 0; p < mapped; p += kPage) s.pages[(start - s.region + p) / kPage] = a;
    std::memset(reinterpret_cast<void*>(start), 0xff, size);  // poison: NaN, -1
    if (managed) mark_initialized(start, 0);
    s.bump = start + mapped;
    dev->used += size;
    *ptr = reinterpret_cast<void*>(start);
    return cudaSuccess;
}
}  // namespace

cudaError_t cudaMalloc(void** ptr, size_t size) { return device_alloc(ptr, size, false); }

cudaError_t cudaMallocManaged(void** ptr, size_t size, unsigned int) {
    const cudaError_t e = device_alloc(ptr, size, true);
    if (e == cudaSuccess && *ptr) {
        // Managed memory is written by the host directly: count it as initialised.
        CUDA_EMU_LOCK;
        mark_initialized(reinterpret_cast<uintptr_t>(*ptr), size);
    }
    return e;
}

cudaError_t cudaFree(void* ptr) {
    CUDA_EMU_DEVICE;
    if (!ptr) return cudaSuccess;
    // cudaFree waits for the device.
    for (size_t i = 0; i < state().devices.size(); ++i) drain_device(static_cast<int>(i));
    const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
    Allocation* a = allocation_at(p);
    if (!a || a->freed || a->base != p) {
        api_report(a && a->freed ? "cudaFree of memory already freed" : "cudaFree of a pointer that cudaMalloc did not return");
        return set_last(cudaErrorInvalidValue);
    }
    Device& owner = *state().devices[static_cast<size_t>(a->device)];
    a->freed = true;
    owner.used -= a->size;
    mprotect(ptr, a->mapped, PROT_NONE);
    madvise(ptr, a->mapped, MADV_DONTNEED);
    a->init.reset();
    a->race.reset();
    return dev->sticky ? set_last(dev->sticky) : cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t size) { return cudaHostAlloc(ptr, size, 0); }

cudaError_t cudaHostAlloc(void** ptr, size_t size, unsigned int) {
    CUDA_EMU_LOCK;
    if (!ptr) return set_last(cudaErrorInvalidValue);
    const size_t bytes = (std::max<size_t>(size, 1) + kPage - 1) / kPage * kPage;
    void* p = std::aligned_alloc(kPage, bytes);
    if (!p) return set_last(cudaErrorMemoryAllocation);
    state().pinned[reinterpret_cast<uintptr_t>(p)] = size;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
    CUDA_EMU_LOCK;
    if (!ptr) return cudaSuccess;
    for (size_t i = 0; i < state().devices.size(); ++i) drain_device(static_cast<int>(i));
    auto& pinned = state().pinned;
    const auto it = pinned.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == pinned.end()) return set_last(cudaErrorInvalidValue);
    pinned.erase(it);
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaHostRegister(void* ptr, size_t size, unsigned int) {
    CUDA_EMU_LOCK;
    if (!ptr || size == 0) return set_last(cudaErrorInvalidValue);
    state().pinned[reinterpret_cast<uintptr_t>(ptr)] = size;
    return cudaSuccess;
}

cudaError_t cudaHostUnregister(void* ptr) {
    CUDA_EMU_LOCK;
    auto& pinned = state().pinned;
    const auto it = pinned.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == pinned.end()) return set_last(cudaErrorInvalidValue);
    for (size_t i = 0; i < state().devices.size(); ++i) drain_device(static_cast<int>(i));
    pinned.erase(it);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
    CUDA_EMU_DEVICE;
    return memcpy_impl(dst, src, count, kind, &dev->null_stream, true);
}

// Peer copies need no peer access (the driver stages them). Each side must lie in a
// live allocation of the device named for it.
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device,
                                size_t count, cudaStream_t stream) {
    CUDA_EMU_DEVICE;
    const int n = static_cast<int>(state().devices.size());
    if (dst_device < 0 || dst_device >= n || src_device < 0 || src_device >= n)
        return set_last(cudaErrorInvalidDevice);
    if (count == 0) return cudaSuccess;
    const Allocation* da = allocation_at(reinterpret_cast<uintptr_t>(dst));
    const Allocation* sa = allocation_at(reinterpret_cast<uintptr_t>(src));
    if (!valid_device_range(dst, count) || !valid_device_range(src, count) ||
        da->device != dst_device || sa->device != src_device) {
        api_report("cudaMemcpyPeer of " + std::to_string(count) +
                   " bytes: each side must lie in a live allocation of the device named for it");
        return set_last(cudaErrorInvalidValue);
    }
    return memcpy_impl(dst, src, count, cudaMemcpyDeviceToDevice, resolve_stream(stream), false);
}

// Serialised with all work of the current, source and destination devices: here
// they are drained first and the copy is done when the call returns (earlier than
// CUDA requires, never later).
cudaError_t cudaMemcpyPeer(void* dst, int dst_device, const void* src, int src_device,
                           size_t count) {
    CUDA_EMU_DEVICE;
    const int n = static_cast<int>(state().devices.size());
    if (dst_device < 0 || dst_device >= n || src_device < 0 || src_device >= n)
        return set_last(cudaErrorInvalidDevice);
    for (const int d : {t_device, src_device, dst_device}) drain_device(d);
    const cudaError_t e = cudaMemcpyPeerAsync(dst, dst_device, src, src_device, count, nullptr);
    if (e != cudaSuccess) return e;
    drain_device(t_device);
    return set_last(sticky(t_device));
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
    CUDA_EMU_DEVICE;
    return memcpy_impl(dst, src, count, kind, resolve_stream(stream), false);
}

cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                         size_t height, cudaMemcpyKind kind) {
    CUDA_EMU_DEVICE;
    if (width > dpitch || width > spitch) return set_last(cudaErrorInvalidPitchValue);
    for (size_t r = 0; r < height; ++r) {
        const cudaError_t e = memcpy_impl(static_cast<char*>(dst) + r * dpitch,
                                          static_cast<const char*>(src) + r * spitch, width, kind,
                                          &dev->null_stream, true);
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t count) {
    CUDA_EMU_DEVICE;
    return memset_impl(ptr, value, count, &dev->null_stream);
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
    CUDA_EMU_DEVICE;
    return memset_impl(ptr, value, count, resolve_stream(stream));
}

// ---- streams

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
    CUDA_EMU_DEVICE;
    if (!stream || flags > cudaStreamNonBlocking) return set_last(cudaErrorInvalidValue);
    auto* s = new Stream;
    s->device = t_device;
    s->flags = flags;
    state().streams.insert(s);
    *stream = reinterpret_cast<cudaStream_t>(s);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s || s->is_null) return set_last(cudaErrorInvalidResourceHandle);
    // Pending work still completes (CUDA: destroy returns at once, work finishes).
    drain_all(s);
    state().streams.erase(s);
    delete s->capture;
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (s->capture) {
        s->capture->invalidated = true;
        return set_last(cudaErrorStreamCaptureUnsupported);
    }
    drain_all(s);
    return set_last(sticky(s->device));
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    drain_all(s);  // the device makes progress while the host asks
    return set_last(sticky(s->device));
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    Event* e = reinterpret_cast<Event*>(event);
    if (!s || !state().events.count(e)) return set_last(cudaErrorInvalidResourceHandle);
    if (!e->recorded || e->seq == 0) return cudaSuccess;
    Op op;
    op.run = [] {};
    op.deps.emplace_back(e->stream, e->seq);
    enqueue(s, std::move(op));
    return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* user_data) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (!fn) return set_last(cudaErrorInvalidValue);
    Op op;
    op.run = [fn, user_data] { fn(user_data); };
    enqueue(s, std::move(op));
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (s->is_null) return set_last(cudaErrorStreamCaptureUnsupported);
    if (s->capture) return set_last(cudaErrorIllegalState);
    s->capture = new Graph;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s) return set_last(cudaErrorInvalidResourceHandle);
    if (!s->capture) return set_last(cudaErrorStreamCaptureUnmatched);
    Graph* gr = s->capture;
    s->capture = nullptr;
    if (gr->invalidated) {
        delete gr;
        if (graph) *graph = nullptr;
        return set_last(cudaErrorStreamCaptureInvalidated);
    }
    state().graphs.insert(gr);
    if (graph) *graph = reinterpret_cast<cudaGraph_t>(gr);
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
    CUDA_EMU_LOCK;
    Stream* s = resolve_stream(stream);
    if (!s || !status) return set_last(cudaErrorInvalidValue);
    *status = s->capture ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
    return cudaSuccess;
}

// ---- events

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
    CUDA_EMU_DEVICE;
    if (!event) return set_last(cudaErrorInvalidValue);
    auto* e = new Event;
    e->flags = flags;
    state().events.insert(e);
    *event = reinterpret_cast<cudaEvent_t>(e);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    CUDA_EMU_LOCK;
    Event* e = reinterpret_cast<Event*>(event);
    if (!state().events.count(e)) return set_last(cudaErrorInvalidResourceHandle);
    // Work that records it may still be queued: let it run first.
    if (e->recorded && e->stream && e->seq) drain(e->stream, e->seq);
    state().events.erase(e);
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    CUDA_EMU_LOCK;
    Event* e = reinterpret_cast<Event*>(event);
    Stream* s = resolve_stream(stream);
    if (!s || !state().events.count(e)) return set_last(cudaErrorInvalidResourceHandle);
    const uint64_t gen = ++e->generation;
    Op op;
    op.run = [e, gen] {
        if (state().events.count(e) && e->generation == gen) {
            e->done = true;
            e->time_ms = now_ms();
        }
    };
    e->recorded = true;
    e->done = false;
    e->stream = s;
    e->seq = enqueue(s, std::move(op));
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    CUDA_EMU_LOCK;
    Event* e = reinterpret_cast<Event*>(event);
    if (!state().events.count(e)) return set_last(cudaErrorInvalidResourceHandle);
    if (!e->recorded || !e->seq) return cudaSuccess;
    drain(e->stream, e->seq);
    return set_last(sticky(e->stream->device));
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    CUDA_EMU_LOCK;
    Event* a = reinterpret_cast<Event*>(start);
    Event* b = reinterpret_cast<Event*>(end);
    if (!ms) return set_last(cudaErrorInvalidValue);
    if (!state().events.count(a) || !state().events.count(b))
        return set_last(cudaErrorInvalidResourceHandle);
    if ((a->flags | b->flags) & cudaEventDisableTiming) return set_last(cudaErrorInvalidResourceHandle);
    if (!a->recorded || !b->recorded) return set_last(cudaErrorInvalidResourceHandle);
    if (!a->done || !b->done) return set_last(cudaErrorNotReady);
    *ms = static_cast<float>(b->time_ms - a->time_ms);
    return cudaSuccess;
}

// ---- graphs: captured ops, replayed in capture order on the launching stream

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
    CUDA_EMU_LOCK;
    Graph* gr = reinterpret_cast<Graph*>(graph);
    if (!exec || !state().graphs.count(gr)) return set_last(cudaErrorInvalidValue);
    auto* ops = new std::vector<Op>(gr->ops);
    state().execs.insert(ops);
    *exec = reinterpret_cast<cudaGraphExec_t>(ops);
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    CUDA_EMU_LOCK;
    auto* ops = reinterpret_cast<std::vector<Op>*>(exec);
    Stream* s = resolve_stream(stream);
    if (!s || !state().execs.count(ops)) return set_last(cudaErrorInvalidResourceHandle);
    if (const cudaError_t e = sticky(s->device)) return set_last(e);
    for (const Op& op : *ops) {
        Op copy;
        copy.run = op.run;
        copy.is_kernel = op.is_kernel;
        enqueue(s, std::move(copy));
    }
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    CUDA_EMU_LOCK;
    auto* ops = reinterpret_cast<std::vector<Op>*>(exec);
    if (!state().execs.erase(ops)) return set_last(cudaErrorInvalidResourceHandle);
    delete ops;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    CUDA_EMU_LOCK;
    Graph* gr = reinterpret_cast<Graph*>(graph);
    if (!state().graphs.erase(gr)) return set_last(cudaErrorInvalidResourceHandle);
    delete gr;
    return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* count) {
    CUDA_EMU_LOCK;
    Graph* gr = reinterpret_cast<Graph*>(graph);
    if (!count || !state().graphs.count(gr)) return set_last(cudaErrorInvalidValue);
    if (nodes) {
        for (size_t i = 0; i < std::min(*count, gr->ops.size()); ++i)
            nodes[i] = reinterpret_cast<cudaGraphNode_t>(&gr->ops[i]);
    }
    *count = gr->ops.size();
    return cudaSuccess;
}

// ---- kernels

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
    CUDA_EMU_DEVICE;
    if (!attr) return set_last(cudaErrorInvalidValue);
    if (!func) return set_last(cudaErrorInvalidDeviceFunction);
    std::memset(attr, 0, sizeof *attr);
    attr->sharedSizeBytes = static_shared_bytes(func);
    attr->maxThreadsPerBlock = dev->prop.maxThreadsPerBlock;
    attr->numRegs = 32;
    attr->ptxVersion = 90;
    attr->binaryVersion = 90;
    const auto it = dev->max_dynamic_shared.find(func);
    attr->maxDynamicSharedSizeBytes =
        it != dev->max_dynamic_shared.end() ? it->second
                                            : static_cast<int>(dev->prop.sharedMemPerBlock - attr->sharedSizeBytes);
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
    CUDA_EMU_DEVICE;
    if (!func) return set_last(cudaErrorInvalidDeviceFunction);
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || static_cast<size_t>(value) > dev->prop.sharedMemPerBlockOptin)
            return set_last(cudaErrorInvalidValue);
        dev->max_dynamic_shared[func] = value;
    }
    return cudaSuccess;
}

}  // extern "C"
