#include "engine/op_registry.h"

namespace fcnrt {

namespace {

// Built once on first use and never changed afterwards.
const std::map<std::string, OpDef>& registry() {
    static const std::map<std::string, OpDef> ops = [] {
        std::map<std::string, OpDef> m;
        register_conv_ops(m);
        register_pool_ops(m);
        register_elementwise_ops(m);
        register_shape_ops(m);
        register_channel_ops(m);
        register_norm_ops(m);
        return m;
    }();
    return ops;
}

}  // namespace

const OpDef* find_op(const std::string& name) {
    const auto& ops = registry();
    auto it = ops.find(name);
    return it == ops.end() ? nullptr : &it->second;
}

std::vector<const OpDef*> all_ops() {
    std::vector<const OpDef*> out;
    for (const auto& [name, def] : registry()) out.push_back(&def);
    return out;
}

}  // namespace fcnrt
