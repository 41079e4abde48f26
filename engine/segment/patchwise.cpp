#include "engine/attributes.h"
#include "engine/segment/patchwise.h"

#include "engine/segment/classify_pixel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "engine/error.h"
#include "engine/memory_plan.h"

namespace fcnrt {

namespace {

size_t weight_bytes(const Model& model) {
    size_t total = 0;
    for (const auto& [name, t] : model.weights) total += (t.bytes() + 255) / 256 * 256;
    return total;
}

Shape batch_shape(const PatchwiseModel& pm, int64_t batch) {
    return {batch, pm.channels, pm.patch[0], pm.patch[1]};
}

std::string bytes_text(size_t b) {
    char buf[64];
    if (b >= (size_t(1) << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1 << 30));
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1 << 20));
    return buf;
}

}  // namespace

void open_batch_dimension(Model& model, const PatchwiseModel& pm) {
    for (GraphInput& in : model.graph.inputs)
        if (in.name == pm.input) in.shape[0] = kUnknownDim;
    std::map<std::string, TensorInfo> shapes;
    try {
        shapes = infer_shapes(model, {{pm.input, batch_shape(pm, 2)}});
    } catch (const Error& e) {
        throw Error(model.path, e.node(),
                    "the model does not run on a batch of 2 patches: " + e.reason());
    }
    for (const std::string& o : model.graph.outputs) {
        const Shape& s = shapes.at(o).shape;
        if (s.empty() || s[0] != 2)
            throw Error(model.path, "",
                        "output '" + o + "' is " + shape_to_string(s) +
                            " for a batch of 2 patches: the model mixes patches "
                            "across the batch, so it cannot be run patchwise");
    }
}

PatchwiseModel analyse_patchwise_model(const Model& model) {
    const Graph& g = model.graph;
    PatchwiseModel pm;
    const Json& m = g.metadata;
    if (!m.is_object() || !m.contains("patch"))
        throw Error(model.path, "",
                    "--patchwise needs a patch classifier (metadata \"patch\": [ph, pw])");
    const Json& p = m["patch"];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
        p[0].get<int64_t>() < 1 || p[1].get<int64_t>() < 1)
        throw Error(model.path, "", "metadata \"patch\" must be [ph, pw], got " + json_text(p));
    pm.patch[0] = p[0].get<int64_t>();
    pm.patch[1] = p[1].get<int64_t>();
    if (g.inputs.size() != 1)
        throw Error(
            model.path, "",
            "a patch classifier has one input; this one has " + std::to_string(g.inputs.size()));
    const GraphInput& in = g.inputs[0];
    const Shape& s = in.shape;
    if (s.size() != 4 || s[1] == kUnknownDim || (s[2] != kUnknownDim && s[2] != pm.patch[0]) ||
        (s[3] != kUnknownDim && s[3] != pm.patch[1]))
        throw Error(model.path, "",
                    "input '" + in.name + "' is " + shape_to_string(s) +
                        "; a patch classifier of patch " + json_text(p) + " takes [N, C, " +
                        std::to_string(pm.patch[0]) + ", " + std::to_string(pm.patch[1]) + "]");
    pm.input = in.name;
    pm.channels = s[1];

    const auto shapes = infer_shapes(model, {{pm.input, batch_shape(pm, 1)}});
    bool found = false;
    for (size_t i = 0; i < g.outputs.size() && !found; ++i) {
        const TensorInfo& t = shapes.at(g.outputs[i]);
        const bool flat =
            t.shape.size() == 2 || (t.shape.size() == 4 && t.shape[2] == 1 && t.shape[3] == 1);
        if (t.dtype == DType::F32 && flat && t.shape[1] >= 1) {
            found = true;
            pm.output = g.outputs[i];
            pm.output_index = i;
            pm.output_channels = t.shape[1];
        }
    }
    if (!found)
        throw Error(model.path, "",
                    "--patchwise needs a float32 output [N, classes] or "
                    "[N, classes, 1, 1] (the scores of the centre pixel); the model has none");
    for (const Node& n : g.nodes) {
        if (std::find(n.outputs.begin(), n.outputs.end(), pm.output) == n.outputs.end()) continue;
        if (n.op->name == "softmax")
            pm.output_is_probs = !n.json.contains("axis") || n.json["axis"] == 1;
        const bool sigmoid = n.op->name == "sigmoid" ||
                             (n.json.contains("activation") && n.json["activation"] == "sigmoid");
        if (pm.output_channels == 1 && sigmoid) pm.output_is_probs = true;
    }
    pm.classes = pm.output_channels == 1 ? 2 : pm.output_channels;
    if (pm.classes > 256)
        throw Error(model.path, "",
                    "the model has " + std::to_string(pm.classes) +
                        " classes; segment's 8-bit label PNGs hold at most 256");
    return pm;
}

HaloPlan patchwise_halo(const PatchwiseModel& pm, int64_t height, int64_t width) {
    HaloPlan hp;
    hp.image[0] = height;
    hp.image[1] = width;
    for (int a = 0; a < 2; ++a) {
        hp.pad[a] = pm.patch[a] / 2;
        hp.pad[a + 2] = pm.patch[a] - 1 - pm.patch[a] / 2;
        hp.input[a] = hp.image[a] + pm.patch[a] - 1;
        hp.output[a] = hp.image[a];
    }
    return hp;
}

size_t patchwise_run_bytes(const Model& model, const PatchwiseModel& pm, int64_t batch) {
    const MemoryPlan plan = plan_memory(model, {{pm.input, batch_shape(pm, batch)}});
    size_t bytes =
        plan.arena_bytes + plan.host_scratch_bytes + weight_bytes(model) +
        size_t(checked_numel(batch_shape(pm, batch))) * 4;
    for (const std::string& o : model.graph.outputs) {
        const TensorInfo& t = plan.tensors.at(o);
        bytes += size_t(checked_numel(t.shape, dtype_size(t.dtype))) * dtype_size(t.dtype);
    }
    return bytes;
}

PatchwisePlan plan_patchwise(const Model& model, const PatchwiseModel& pm, const HaloPlan& halo,
                             size_t budget_bytes, int64_t max_batch) {
    PatchwisePlan plan;
    plan.budget_bytes = budget_bytes;
    const int64_t pixels = halo.image[0] * halo.image[1];
    plan.image_bytes = size_t(pm.channels * halo.input[0] * halo.input[1]) * 4 +
                       size_t(pm.output_channels * pixels) * 4;
    for (int64_t b = std::max<int64_t>(1, std::min(max_batch, pixels));; b /= 2) {
        plan.batch = b;
        plan.run_bytes = patchwise_run_bytes(model, pm, b);
        plan.peak_bytes = plan.run_bytes + plan.image_bytes;
        if (plan.peak_bytes <= budget_bytes) break;
        if (b == 1)
            throw Error(model.path, "",
                        "--max-memory " + bytes_text(budget_bytes) +
                            " is too small for the patchwise run: one patch at a time needs " +
                            bytes_text(plan.peak_bytes) + "; raise --max-memory");
    }
    plan.runs = (pixels + plan.batch - 1) / plan.batch;
    return plan;
}

Tensor patchwise_scores(Executor& executor, const PatchwiseModel& pm, const Tensor& input,
                        int64_t batch, const RunProgress& progress) {
    const Shape& s = input.shape();  // (1, C, H, W)
    if (s.size() != 4 || s[0] != 1 || s[1] != pm.channels || s[2] < pm.patch[0] ||
        s[3] < pm.patch[1])
        throw Error("patchwise: the input is " + shape_to_string(s) + "; expected [1, " +
                    std::to_string(pm.channels) + ", H >= " + std::to_string(pm.patch[0]) +
                    ", W >= " + std::to_string(pm.patch[1]) + "]");
    if (batch < 1) throw Error("patchwise: the batch must be at least 1");
    const int64_t C = s[1], H = s[2], W = s[3], ph = pm.patch[0], pw = pm.patch[1];
    const int64_t oh = H - ph + 1, ow = W - pw + 1, total = oh * ow, K = pm.output_channels;
    Tensor scores(DType::F32, {1, K, oh, ow});
    float* out = scores.f32();
    const float* src = input.f32();
    const size_t runs = size_t((total + batch - 1) / batch);

    Tensor patches;  // (n, C, ph, pw), reallocated only for a short last run
    for (size_t r = 0; r < runs; ++r) {
        const int64_t p0 = int64_t(r) * batch, n = std::min(batch, total - p0);
        if (patches.shape().empty() || patches.shape()[0] != n)
            patches = Tensor(DType::F32, batch_shape(pm, n));
        float* dst = patches.f32();
        for (int64_t b = 0; b < n; ++b) {
            const int64_t y = (p0 + b) / ow, x = (p0 + b) % ow;
            for (int64_t c = 0; c < C; ++c)
                for (int64_t i = 0; i < ph; ++i, dst += pw)
                    std::memcpy(dst, src + (c * H + y + i) * W + x, size_t(pw) * sizeof(float));
        }
        const std::vector<Tensor> outs = executor.run({{pm.input, patches}});
        const Tensor& o = outs.at(pm.output_index);  // (n, K) or (n, K, 1, 1)
        if (o.shape()[0] != n || o.numel() != n * K)
            throw Error("internal error: patchwise output " + shape_to_string(o.shape()) +
                        " for a batch of " + std::to_string(n));
        for (int64_t b = 0; b < n; ++b)
            for (int64_t k = 0; k < K; ++k) out[k * total + p0 + b] = o.f32()[b * K + k];
        if (progress) progress(r + 1, runs);
    }
    return scores;
}

SegmentResult segment_image_patchwise(Executor& executor, const PatchwiseModel& pm,
                                      const HaloPlan& halo, const PatchwisePlan& plan,
                                      const Image& image, const InputTransform& transform,
                                      HaloMode halo_mode, bool want_probs,
                                      const RunProgress& progress) {
    SegmentResult r;
    r.height = halo.image[0];
    r.width = halo.image[1];
    r.classes = pm.classes;
    const size_t plane = size_t(r.height) * size_t(r.width);

    Tensor input(DType::F32,
                 {1, pm.channels, halo.input[0], halo.input[1]});  // (1, C, H+ph-1, W+pw-1)
    transform.fill(image, -halo.pad[0], -halo.pad[1], halo.input[0], halo.input[1], halo_mode,
                   input.f32());
    const Tensor scores =
        patchwise_scores(executor, pm, input, plan.batch, progress);  // (1, K, H, W)
    if (scores.shape()[2] != r.height || scores.shape()[3] != r.width)
        throw Error("internal error: patchwise scores " + shape_to_string(scores.shape()) +
                    " for a " + std::to_string(r.height) + "x" + std::to_string(r.width) +
                    " image");

    r.labels.assign(plane, 0);
    if (want_probs) r.probs = Tensor(DType::F32, {pm.classes, r.height, r.width});
    float* probs = want_probs ? r.probs.f32() : nullptr;
    const int64_t K = pm.output_channels;
    std::vector<float> e(static_cast<size_t>(K));
    for (size_t i = 0; i < plane; ++i) {
        r.labels[i] = classify_pixel(scores.f32() + i, int64_t(plane), K, pm.output_is_probs,
                                     probs ? probs + i : nullptr, int64_t(plane), e.data());
    }
    return r;
}

}  // namespace fcnrt
