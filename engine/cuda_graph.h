// CUDA graphs for the CUDA backend's Backend::capture: the work a function
// enqueues on a stream, captured once (cudaStreamBeginCapture ..
// cudaStreamEndCapture), instantiated, and replayed with cudaGraphLaunch.
// Declared only when fcnrt is built with FCNRT_WITH_CUDA.
#pragma once

#include <functional>
#include <memory>

#include "engine/backend.h"

namespace fcnrt {

// Captures what `enqueue` puts on `stream` (a cudaStream_t, not the legacy default
// stream) into an instantiated graph whose replay() launches it on the same
// stream. Capture is thread-local: another host thread driving another device
// (fcnrt segment --device cuda:0,cuda:1) does not invalidate it. When `enqueue`
// throws, the capture is ended and discarded and the exception passes on.
// Throws fcnrt::Error when CUDA refuses the capture or the instantiation.
std::unique_ptr<CapturedWork> capture_cuda_graph(void* stream,
                                                 const std::function<void()>& enqueue);

}  // namespace fcnrt
