// A captured CUDA graph. Why graphs: the executor's per-node loop launches one
// kernel (or a few) per node; on a small tile the launch overhead of the host is
// a large share of the time, and one cudaGraphLaunch replaces them all. What a
// graph bakes in: every kernel's pointers and parameters, i.e. the memory plan.
// The executor therefore captures once per planned shape and drops the graph
// when it re-plans.
#include "engine/cuda_graph.h"

#include <cuda_runtime_api.h>

#include <string>

#include "engine/error.h"

namespace fcnrt {

namespace {

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
        throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + what + ")");
}

class CudaGraph final : public CapturedWork {
public:
    CudaGraph(cudaStream_t stream, cudaGraph_t graph, cudaGraphExec_t exec)
        : stream_(stream), graph_(graph), exec_(exec) {}
    ~CudaGraph() override {
        // No throwing from a destructor: a replay still queued keeps its own copy
        // of the work (CUDA lets an exec be destroyed while launched).
        cudaGraphExecDestroy(exec_);
        cudaGraphDestroy(graph_);
    }
    CudaGraph(const CudaGraph&) = delete;
    CudaGraph& operator=(const CudaGraph&) = delete;

    void replay() override { check(cudaGraphLaunch(exec_, stream_), "cudaGraphLaunch"); }

private:
    cudaStream_t stream_;
    cudaGraph_t graph_;
    cudaGraphExec_t exec_;
};

}  // namespace

std::unique_ptr<CapturedWork> capture_cuda_graph(void* stream_ptr,
                                                 const std::function<void()>& enqueue) {
    const auto stream = static_cast<cudaStream_t>(stream_ptr);
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    try {
        enqueue();
    } catch (...) {
        cudaStreamEndCapture(stream, &graph);  // ends the capture; the partial graph goes
        if (graph) cudaGraphDestroy(graph);
        cudaGetLastError();  // the enqueue's own error is the one reported
        throw;
    }
    check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    if (err != cudaSuccess) {
        cudaGraphDestroy(graph);
        check(err, "cudaGraphInstantiate");
    }
    return std::make_unique<CudaGraph>(stream, graph, exec);
}

}  // namespace fcnrt
