// Kernel launches in the CUDA emulation. The translator (emulation/cuda/translate/)
// turns `kernel<<<grid, block, shmem, stream>>>(args...)` into
// `::cuda_emu::launch("kernel", kernel, grid, block, shmem, stream)(args...)`: the
// arguments are converted to the kernel's parameter types and copied once (the
// parameter space); every emulated thread calls the kernel with its own copies.
#pragma once

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../cuda_runtime_api.h"
#include "device.h"

namespace cuda_emu {
namespace detail {

struct KernelCall {
    void (*invoke)(const void* fn, void* args);
    const void* fn;
    std::shared_ptr<void> args;
    size_t args_size;
};

cudaError_t launch_kernel(const char* name, const void* fn, dim3 grid, dim3 block,
                          size_t shared_bytes, cudaStream_t stream, KernelCall call);

// Not instrumented: the parameter copies are made here (they live in the launch's
// parameter space, which the checker knows), the kernel's own code is.
template <class Fn, class Tuple>
__attribute__((no_sanitize_thread)) void invoke(const void* fn, void* args) {
    std::apply(reinterpret_cast<Fn>(const_cast<void*>(fn)), *static_cast<Tuple*>(args));
}

}  // namespace detail

template <class... P>
struct Launcher {
    const char* name;
    void (*fn)(P...);
    dim3 grid, block;
    size_t shared_bytes;
    cudaStream_t stream;

    template <class... A>
    void operator()(A&&... a) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong argument count");
        using Tuple = std::tuple<std::decay_t<P>...>;
        std::shared_ptr<Tuple> args = std::make_shared<Tuple>(std::forward<A>(a)...);
        detail::launch_kernel(name, reinterpret_cast<const void*>(fn), grid, block, shared_bytes,
                              stream,
                              detail::KernelCall{&detail::invoke<void (*)(P...), Tuple>,
                                                 reinterpret_cast<const void*>(fn), args,
                                                 sizeof(Tuple)});
    }
};

template <class... P>
Launcher<P...> launch(const char* name, void (*fn)(P...), dim3 grid, dim3 block,
                      size_t shared_bytes = 0, cudaStream_t stream = nullptr) {
    return Launcher<P...>{name, fn, grid, block, shared_bytes, stream};
}

// What the translator makes of `__shared__ T name[...];` and `extern __shared__ T name[];`.
template <class T>
T& static_shared(const void* site, size_t align, const char* name) {
    return *static_cast<T*>(detail::static_shared(site, sizeof(T), align > alignof(T) ? align : alignof(T), name));
}
template <class T>
T& dynamic_shared(size_t align) {
    using E = std::remove_extent_t<T>;
    return *static_cast<T*>(detail::dynamic_shared(align > alignof(E) ? align : alignof(E)));
}

}  // namespace cuda_emu
