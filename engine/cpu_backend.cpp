// The host backends: plain host memory, copies are memcpy, kernels run
// synchronously (the fast ones on OpenMP threads).
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/backend.h"
#include "engine/error.h"

namespace fcnrt {

namespace {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(BackendKind kind) : kind_(kind) {}

    BackendKind kind() const override { return kind_; }
    std::string description() const override {
        if (kind_ == BackendKind::Reference) return "cpu reference (naive float64 kernels)";
        return "cpu (" + std::to_string(omp_get_max_threads()) + " threads)";
    }

    std::shared_ptr<void> allocate(size_t bytes, const std::string& what) override {
        const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
        void* p = std::aligned_alloc(64, rounded);
        if (!p)
            throw Error("out of host memory: " + what + " needs " + std::to_string(bytes) + " bytes");
        return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    }
    void copy_to_device(void* dst, const void* src, size_t bytes) override {
        if (bytes) std::memcpy(dst, src, bytes);
    }
    void copy_to_host(void* dst, const void* src, size_t bytes) override {
        if (bytes) std::memcpy(dst, src, bytes);
    }
    void synchronize() override {}
    void* stream() override { return nullptr; }

private:
    BackendKind kind_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(BackendKind kind) {
    return std::make_unique<CpuBackend>(kind);
}

}  // namespace fcnrt
