// batch_norm folded into the conv before it:
//   y = (conv(x) + b - mean) * s + beta,  s = scale / sqrt(var + eps)
//     = conv_with(w * s)(x) + (b - mean) * s + beta
// computed in double, so the folded model matches the unfolded one to float rounding.
#include <cmath>

#include "engine/error.h"
#include "engine/ops/conv_ops.h"
#include "engine/ops/elementwise_ops.h"
#include "engine/passes/passes.h"

namespace fcnrt {

namespace {

// Index of the node producing `tensor`, or -1.
int producer_of(const Graph& g, const std::string& tensor) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const std::string& t : g.nodes[i].outputs)
            if (t == tensor) return int(i);
    return -1;
}

bool has_activation(const Node& n) {
    if (n.op->name == "conv") return params_as<ops::ConvOp>(*n.params).k.act.kind != Activation::None;
    return params_as<ops::ConvTransposeOp>(*n.params).k.act.kind != Activation::None;
}

// Folds `bn` into `conv`; output channel k of the conv scales by s[k].
void fold(Model& model, Node& conv, const Node& bn) {
    const Tensor& w = model.weights.at(conv.weights[0]);
    const Tensor* b = conv.weights[1].empty() ? nullptr : &model.weights.at(conv.weights[1]);
    const float* scale = model.weights.at(bn.weights[0]).f32();
    const float* beta = model.weights.at(bn.weights[1]).f32();
    const float* mean = model.weights.at(bn.weights[2]).f32();
    const float* var = model.weights.at(bn.weights[3]).f32();
    const double eps = params_as<ops::BatchNormOp>(*bn.params).epsilon;

    const Shape& ws = w.shape();
    const bool transpose = conv.op->name == "conv_transpose";
    const int64_t groups = transpose ? params_as<ops::ConvTransposeOp>(*conv.params).k.groups
                                     : params_as<ops::ConvOp>(*conv.params).k.groups;
    const int64_t out_channels = transpose ? ws[1] * groups : ws[0];
    std::vector<double> s(out_channels);
    for (int64_t k = 0; k < out_channels; ++k)
        s[k] = double(scale[k]) / std::sqrt(double(var[k]) + eps);

    Tensor folded_w(DType::F32, ws);
    const int64_t kernel = ws[2] * ws[3];
    for (int64_t i = 0; i < ws[0]; ++i)
        for (int64_t j = 0; j < ws[1]; ++j) {
            // conv: weight [K, C/g, ..]: channel i. conv_transpose: weight [C, K/g, ..]:
            // input channel i is in group i / (C/g), output channel group * K/g + j.
            const int64_t k = transpose ? (i / (ws[0] / groups)) * ws[1] + j : i;
            const float* src = w.f32() + (i * ws[1] + j) * kernel;
            float* dst = folded_w.f32() + (i * ws[1] + j) * kernel;
            for (int64_t e = 0; e < kernel; ++e) dst[e] = float(double(src[e]) * s[k]);
        }
    Tensor folded_b(DType::F32, {out_channels});
    for (int64_t k = 0; k < out_channels; ++k) {
        const double bias = b ? double(b->f32()[k]) : 0.0;
        folded_b.f32()[k] = float((bias - double(mean[k])) * s[k] + double(beta[k]));
    }
    // New names: the original tensors may be shared with other nodes.
    const std::string wname = conv.name + "/folded_" + bn.name + ".weight";
    const std::string bname = conv.name + "/folded_" + bn.name + ".bias";
    model.weights[wname] = std::move(folded_w);
    model.weights[bname] = std::move(folded_b);
    conv.weights = {wname, bname};
    conv.json["weight"] = wname;
    conv.json["bias"] = bname;
    conv.outputs[0] = bn.outputs[0];
    conv.json["outputs"] = conv.outputs;
}

}  // namespace

void fold_batch_norm(Model& model) {
    Graph& g = model.graph;
    for (size_t i = 0; i < g.nodes.size();) {
        const Node& bn = g.nodes[i];
        if (bn.op->name != "batch_norm") {
            ++i;
            continue;
        }
        const int p = producer_of(g, bn.inputs[0]);
        const auto consumers = consumer_counts(g);
        const bool foldable = p >= 0 &&
                              (g.nodes[p].op->name == "conv" || g.nodes[p].op->name == "conv_transpose") &&
                              g.nodes[p].outputs.size() == 1 && !has_activation(g.nodes[p]) &&
                              consumers.at(bn.inputs[0]) == 1 &&
                              // a batch_norm written with an activation (an fcnrt
                              // extension) stays: the activation must follow it
                              params_as<ops::BatchNormOp>(*bn.params).act.kind == Activation::None;
        if (!foldable) {
            ++i;
            continue;
        }
        model.notes.push_back("folded batch_norm " + bn.name + " into " + g.nodes[p].name);
        fold(model, g.nodes[p], bn);
        g.nodes.erase(g.nodes.begin() + i);
    }
}

}  // namespace fcnrt
