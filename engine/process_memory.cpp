#include "engine/process_memory.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace fcnrt {

namespace {

// A "Name:   123 kB" line of /proc/self/status, in bytes.
size_t status_kib_field(const char* name) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const size_t len = std::strlen(name);
    while (std::getline(in, line)) {
        if (line.compare(0, len, name) == 0 && line.size() > len && line[len] == ':')
            return size_t(std::strtoull(line.c_str() + len + 1, nullptr, 10)) * 1024;
    }
    return 0;
}

}  // namespace

size_t resident_bytes() { return status_kib_field("VmRSS"); }
size_t peak_resident_bytes() { return status_kib_field("VmHWM"); }

}  // namespace fcnrt
