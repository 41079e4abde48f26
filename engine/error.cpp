#include "engine/error.h"

namespace fcnrt {

std::string format_error(const std::string& file, const std::string& node,
                         const std::string& reason) {
    std::string out;
    if (!file.empty()) out += file + ": ";
    if (!node.empty()) out += "node " + node + ": ";
    return out + reason;
}

Error::Error(std::string file, std::string node, std::string reason)
    : std::runtime_error(format_error(file, node, reason)),
      file_(std::move(file)),
      node_(std::move(node)),
      reason_(std::move(reason)) {}

Error Error::with_file(const std::string& file) const {
    return Error(file_.empty() ? file : file_, node_, reason_);
}

Error Error::with_node(const std::string& node) const {
    return Error(file_, node_.empty() ? node : node_, reason_);
}

}  // namespace fcnrt
