// Dead-node removal: work whose result no graph output needs.
#include <set>

#include "engine/passes/passes.h"

namespace fcnrt {

void remove_dead_nodes(Model& model) {
    Graph& g = model.graph;
    std::set<std::string> live(g.outputs.begin(), g.outputs.end());
    std::vector<bool> keep(g.nodes.size(), false);
    for (size_t i = g.nodes.size(); i-- > 0;) {
        for (const std::string& t : g.nodes[i].outputs) keep[i] = keep[i] || live.count(t);
        if (keep[i]) live.insert(g.nodes[i].inputs.begin(), g.nodes[i].inputs.end());
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (keep[i]) kept.push_back(std::move(g.nodes[i]));
        else model.notes.push_back("removed node " + g.nodes[i].name + ": no graph output needs it");
    }
    g.nodes = std::move(kept);
}

}  // namespace fcnrt
