// This process's resident memory, as the kernel counts it (Linux /proc/self/status).
#pragma once

#include <cstddef>

namespace fcnrt {

// VmRSS: bytes resident now; 0 where the system does not say.
size_t resident_bytes();
// VmHWM: the most bytes resident at once so far; 0 where the system does not say.
size_t peak_resident_bytes();

}  // namespace fcnrt
