// Load-time graph rewrites. Each keeps the graph's outputs bit-for-bit the same
// up to float rounding and records what it did in Model::notes.
#pragma once

#include "engine/graph.h"

namespace fcnrt {

// batch_norm after a conv or conv_transpose (whose output nothing else reads)
// becomes part of that conv's weights and bias.
void fold_batch_norm(Model& model);

// add(conv_out, r), both operands of one shape, where conv_out comes from a conv
// without an activation or residual and nothing else reads it: the conv takes r
// as its residual input (added in its epilogue) and the add's activation.
void fuse_residual(Model& model);

// A relu, leaky_relu, sigmoid, tanh, hard_sigmoid or hard_swish after a conv,
// conv_transpose, dense, batch_norm, add or mul without an activation (whose
// output nothing else reads) becomes that op's `activation`.
void fuse_activation(Model& model);

// Nodes none of whose outputs reach a graph output.
void remove_dead_nodes(Model& model);

}  // namespace fcnrt
