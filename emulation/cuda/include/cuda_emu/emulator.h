// The CUDA emulation's own controls, for tests and tools: which checks run, the
// reports they made, and the emulated devices' memory. Plain host C++.
// Environment (read at start-up): FCNRT_CUDA_EMU_CHECKS=all|none|memcheck,initcheck,
// racecheck,synccheck (default all), FCNRT_CUDA_EMU_MEMORY=BYTES[K|M|G] (capacity of
// each device, default 8G), FCNRT_CUDA_EMU_DEVICES=N (default 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../cuda_runtime_api.h"

namespace cuda_emu {

enum Check : unsigned {
    kMemcheck = 1,
    kInitcheck = 2,
    kRacecheck = 4,
    kSynccheck = 8,
    kAllChecks = 15,
};

unsigned checks();
void set_checks(unsigned mask);

struct Report {
    std::string check;   // "memcheck", "initcheck", "racecheck", "synccheck"
    std::string kernel;  // the kernel's name, as launched
    dim3 block, thread;
    uintptr_t address = 0;
    std::string message;  // the whole report, as printed
    cudaError_t error = cudaSuccess;
};

// Every report since the last clear_reports(), oldest first.
std::vector<Report> reports();
void clear_reports();
// Whether reports are also printed to stderr (default: yes).
void set_print_reports(bool print);

// Capacity of every emulated device, as cudaMemGetInfo and cudaMalloc see it.
void set_memory_capacity(size_t bytes);
size_t memory_capacity();

}  // namespace cuda_emu
