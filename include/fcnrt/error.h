// The one exception type of the library. It carries the file, the node (when
// the fault belongs to one) and the reason; only tools/ turns it into the
// `fcnrt: error:` line and an exit code (and the Python module into
// fcnrt.Error). what() is the one-line message: "FILE: node NAME: reason".
#pragma once

#include <stdexcept>
#include <string>

namespace fcnrt {

class Error : public std::runtime_error {
public:
    Error(std::string file, std::string node, std::string reason);
    explicit Error(std::string reason) : Error("", "", std::move(reason)) {}

    const std::string& file() const { return file_; }
    const std::string& node() const { return node_; }
    const std::string& reason() const { return reason_; }

    // The same error attributed to a file (kept if one is already set).
    Error with_file(const std::string& file) const;
    // The same error attributed to a node (kept if one is already set).
    Error with_node(const std::string& node) const;

private:
    std::string file_, node_, reason_;
};

// "FILE: node NAME: reason", leaving out the parts that are empty.
std::string format_error(const std::string& file, const std::string& node,
                         const std::string& reason);

}  // namespace fcnrt
