// Dense conversion (Li et al. 2014); see densify.h for the idea.
//
// Bookkeeping, per tensor and per spatial axis: a patch-model tensor of
// patch-space size h with accumulated stride d is, in the dense model, a map
// whose row y + i * d holds pixel i of the patch whose top row is image row y,
// for y in [0, H - ph]. That map has
//     (H - ph + 1) + (h - 1) * d + spare
// rows: `spare` trailing rows that no patch position reads. The image has
// spare 0 (h = ph, d = 1). A VALID window of extent e and stride s turns into
// the same window dilated by d with stride 1; it leaves h' = (h - e) / s + 1,
// d' = d * s, and spare' = spare + d * ((h - e) % s): the rows the patch
// model's window grid skipped at the bottom. A dense layer reading the whole
// h x w map becomes a conv with an h x w kernel dilated by d, which leaves
// h' = 1 and the spare unchanged. Branches that meet (add, concat) are cropped
// to the smallest spare; the outputs (h = 1) are cropped to spare 0, which
// leaves exactly H - ph + 1 rows. On an axis of size 1 the step d no longer
// matters and is kept at 1, so 1x1 maps from any branch compare equal.
//
// Where features are "mixed across positions" (a dense layer must read one
// whole map): a rank-2 tensor produced by flattening a map of more than one
// pixel may only reach a dense layer through pointwise ops (activations,
// dropout, identity, or an add/mul with another such tensor of the same map
// geometry). batch_norm, softmax, argmax and concat over such flattened
// features treat each (channel, row, column) as its own feature, which the
// dense model, holding one value per channel at each position, cannot do;
// they are refused at that node.
#include "engine/passes/densify.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "engine/error.h"
#include "engine/ops/conv_ops.h"
#include "engine/ops/pool_ops.h"
#include "engine/ops/shape_ops.h"

namespace fcnrt {

namespace {

// Where a patch-model tensor lives in the dense model (see the file comment).
struct Placement {
    int rank = 4;               // of the patch-model tensor
    int64_t channels = 0;       // C of the map (F for a rank-2 vector)
    int64_t size[2] = {1, 1};   // patch-space height and width
    int64_t step[2] = {1, 1};   // accumulated stride d; 1 on an axis of size 1
    int64_t spare[2] = {0, 0};  // trailing dense rows / columns no patch position reads
    bool flattened = false;     // rank 2 holding a flattened map of more than one pixel
};

std::string pair_text(const int64_t v[2]) {
    return std::to_string(v[0]) + "x" + std::to_string(v[1]);
}

// A Node for the dense graph from its JSON, parsed as the loader parses it.
Node make_node(const Json& j) {
    Node n;
    n.json = j;
    n.name = j.at("name").get<std::string>();
    n.op = find_op(j.at("op").get<std::string>());
    if (!n.op) throw Error("", n.name, "internal error: densify made an unknown op");
    n.inputs = j.at("inputs").get<std::vector<std::string>>();
    n.outputs = j.at("outputs").get<std::vector<std::string>>();
    AttrReader reader(n.json);
    for (const WeightSlot& w : n.op->weights)
        n.weights.push_back(reader.weight_name(w.key, w.optional));
    n.params = n.op->parse(reader);
    return n;
}

class Densifier {
public:
    Densifier(const Model& patch, const DensifyOptions& options)
        : patch_(patch), options_(options) {}

    Model run();

private:
    using Converter = void (Densifier::*)(const Node&);
    static const std::map<std::string, Converter>& converters();
    static const std::map<std::string, std::string>& refusals();

    // One per op kind.
    void convert_conv(const Node& n);
    void convert_pool(const Node& n);
    void convert_dense(const Node& n);
    void convert_flatten(const Node& n);
    void convert_pointwise(const Node& n);
    void convert_batch_norm(const Node& n);
    void convert_channel_reduction(const Node& n);
    void convert_binary(const Node& n);
    void convert_concat(const Node& n);

    [[noreturn]] void refuse(const Node& n, const std::string& reason) const {
        throw Error(patch_.path, n.name, "cannot densify: " + reason);
    }
    void read_patch_input();
    std::vector<const Node*> live_nodes() const;
    const Shape& patch_shape(const std::string& tensor) const { return shapes_.at(tensor).shape; }
    // Output placement of a VALID window op; fills the dense model's dilation.
    Placement place_window(const Node& n, const int kernel[2], const int stride[2],
                           const int dilation[2], int dense_dilation[2]) const;
    // The dense names of n's inputs, cropped at the bottom and right to the
    // smallest spare among them (branches must have the same geometry to meet).
    std::vector<std::string> align_inputs(const Node& n, int64_t min_spare[2]);
    std::string crop_bottom_right(const std::string& tensor, int64_t bottom, int64_t right,
                                  const std::string& for_node);
    void crop_outputs();
    void add_halo();
    void rename_tensor_in_nodes(const std::string& from, const std::string& to, size_t skip_from);
    std::string fresh(std::set<std::string>& used, const std::string& base);
    Model assemble();

    const Model& patch_;
    DensifyOptions options_;
    std::string input_;  // the graph input's name
    int64_t channels_ = 0;
    int64_t patch_size_[2] = {0, 0};
    std::map<std::string, TensorInfo> shapes_;  // the patch model at [1, C, ph, pw]
    std::map<std::string, Placement> placement_;
    std::set<std::string> node_names_, tensor_names_, weight_names_;
    std::map<std::tuple<std::string, int64_t, int64_t>, std::string> crops_;
    std::vector<Json> nodes_;  // the dense graph, in execution order
    std::map<std::string, Tensor> new_weights_;
};

const std::map<std::string, Densifier::Converter>& Densifier::converters() {
    static const std::map<std::string, Converter> table = {
        {"conv", &Densifier::convert_conv},
        {"max_pool", &Densifier::convert_pool},
        {"avg_pool", &Densifier::convert_pool},
        {"dense", &Densifier::convert_dense},
        {"flatten", &Densifier::convert_flatten},
        {"relu", &Densifier::convert_pointwise},
        {"leaky_relu", &Densifier::convert_pointwise},
        {"sigmoid", &Densifier::convert_pointwise},
        {"tanh", &Densifier::convert_pointwise},
        {"dropout", &Densifier::convert_pointwise},
        {"identity", &Densifier::convert_pointwise},
        {"batch_norm", &Densifier::convert_batch_norm},
        {"softmax", &Densifier::convert_channel_reduction},
        {"argmax", &Densifier::convert_channel_reduction},
        {"add", &Densifier::convert_binary},
        {"mul", &Densifier::convert_binary},
        {"concat", &Densifier::convert_concat},
    };
    return table;
}

// Ops with no exact dense equivalent, and why.
const std::map<std::string, std::string>& Densifier::refusals() {
    static const std::map<std::string, std::string> table = {
        {"conv_transpose",
         "conv_transpose upsamples on a grid anchored at the patch's corner; a dense model "
         "has no patch corner, so no stride-1 network computes it for every patch at once"},
        {"max_unpool",
         "max_unpool scatters values to positions on the patch's own pooling grid, which "
         "differs from patch to patch in the dense model"},
        {"global_avg_pool",
         "global pooling averages whatever size the input has, so in the dense model it "
         "would average the whole image (write it as avg_pool with the patch-space map's "
         "size as kernel, which densify converts)"},
        {"resize",
         "resize samples positions scaled from the patch's own origin and size; the dense "
         "model has neither"},
        {"crop",
         "crop cuts at offsets from the patch border, which lies inside the image in the "
         "dense model"},
        {"pad",
         "pad adds values at the patch border, which lies inside the image in the dense "
         "model"},
    };
    return table;
}

std::string Densifier::fresh(std::set<std::string>& used, const std::string& base) {
    std::string name = base;
    for (int i = 2; used.count(name); ++i) name = base + "_" + std::to_string(i);
    used.insert(name);
    return name;
}

void Densifier::read_patch_input() {
    const Graph& g = patch_.graph;
    const Json& m = g.metadata;
    if (!m.is_object() || !m.contains("patch"))
        throw Error(patch_.path, "",
                    "cannot densify: the model has no \"patch\" metadata ([ph, pw]), so it is "
                    "not marked as a patchwise classifier");
    patch_size_[0] = m.at("patch").at(0).get<int64_t>();
    patch_size_[1] = m.at("patch").at(1).get<int64_t>();
    if (g.inputs.size() != 1)
        throw Error(patch_.path, "",
                    "cannot densify: a patch model takes one input (the patch), this one takes " +
                        std::to_string(g.inputs.size()));
    const GraphInput& in = g.inputs[0];
    input_ = in.name;
    if (in.shape.size() != 4 || in.shape[1] == kUnknownDim)
        throw Error(patch_.path, "",
                    "cannot densify: input '" + in.name + "' must be [N, C, ph, pw] with C given");
    for (int a = 0; a < 2; ++a)
        if (in.shape[2 + a] != kUnknownDim && in.shape[2 + a] != patch_size_[a])
            throw Error(patch_.path, "",
                        "cannot densify: input '" + in.name + "' is declared " +
                            shape_to_string(in.shape) + " but metadata \"patch\" is " +
                            pair_text(patch_size_));
    channels_ = in.shape[1];
    shapes_ = infer_shapes(patch_, {{in.name, {1, channels_, patch_size_[0], patch_size_[1]}}});

    Placement p;
    p.channels = channels_;
    for (int a = 0; a < 2; ++a) p.size[a] = patch_size_[a];
    placement_[in.name] = p;
}

// Nodes that reach a graph output, in execution order: a dead branch holding an
// op densify refuses must not block the conversion.
std::vector<const Node*> Densifier::live_nodes() const {
    const auto& nodes = patch_.graph.nodes;
    std::set<std::string> needed(patch_.graph.outputs.begin(), patch_.graph.outputs.end());
    std::vector<const Node*> live;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
        bool used = false;
        for (const std::string& t : it->outputs) used |= needed.count(t) > 0;
        if (!used) continue;
        live.push_back(&*it);
        needed.insert(it->inputs.begin(), it->inputs.end());
    }
    std::reverse(live.begin(), live.end());
    return live;
}

Placement Densifier::place_window(const Node& n, const int kernel[2], const int stride[2],
                                  const int dilation[2], int dense_dilation[2]) const {
    const Placement& in = placement_.at(n.inputs[0]);
    const Shape& out_shape = patch_shape(n.outputs[0]);
    Placement out = in;
    out.channels = out_shape[1];
    for (int a = 0; a < 2; ++a) {
        const int64_t extent = int64_t(dilation[a]) * (kernel[a] - 1) + 1;
        const int64_t h = in.size[a], d = in.step[a];
        out.size[a] = out_shape[2 + a];
        out.spare[a] = in.spare[a] + d * ((h - extent) % stride[a]);
        out.step[a] = out.size[a] == 1 ? 1 : d * stride[a];
        dense_dilation[a] = kernel[a] == 1 ? 1 : int(dilation[a] * d);
    }
    return out;
}

void Densifier::convert_conv(const Node& n) {
    const Conv2dParams& p = params_as<ops::ConvOp>(*n.params).k;
    if (n.inputs.size() != 1)
        refuse(n, "conv with a residual input (load the model without optimize to densify it)");
    for (int pad : p.pads)
        if (pad != 0)
            refuse(n, "padded conv (pads [" + std::to_string(p.pads[0]) + ", " +
                          std::to_string(p.pads[1]) + ", " + std::to_string(p.pads[2]) + ", " +
                          std::to_string(p.pads[3]) +
                          "]): the zeros it reads at the patch border are image pixels in the "
                          "dense model; only VALID (unpadded) convs convert exactly");
    const Shape& w = patch_.weights.at(n.weights[0]).shape();
    const int kernel[2] = {int(w[2]), int(w[3])};
    int dense_dilation[2];
    placement_[n.outputs[0]] = place_window(n, kernel, p.stride, p.dilation, dense_dilation);
    Json j = n.json;
    j.erase("pads");
    j["stride"] = {1, 1};
    j["dilation"] = {dense_dilation[0], dense_dilation[1]};
    nodes_.push_back(std::move(j));
}

void Densifier::convert_pool(const Node& n) {
    const Pool2dParams& p = params_as<ops::PoolOp>(*n.params).k;
    for (int pad : p.pads)
        if (pad != 0)
            refuse(n, "padded " + n.op->name +
                          ": its windows at the patch border would cover image pixels in the "
                          "dense model; only VALID (unpadded) pools convert exactly");
    if (p.ceil_mode)
        refuse(n,
               "ceil_mode: a partial window at the patch border has no dense equivalent "
               "(its input rows are image pixels there); use ceil_mode false");
    Json j = n.json;
    if (n.outputs.size() > 1) {
        // Indices are positions in the patch's own plane; unread, they are simply
        // dropped. A max_unpool reading them is refused at its own node.
        const std::string& indices = n.outputs[1];
        bool read =
            std::count(patch_.graph.outputs.begin(), patch_.graph.outputs.end(), indices) > 0;
        for (const Node& other : patch_.graph.nodes)
            read |= other.op->name != "max_unpool" &&
                    std::count(other.inputs.begin(), other.inputs.end(), indices) > 0;
        if (read)
            refuse(n, "its indices output '" + indices +
                          "' is read; indices are positions within the patch, which the dense "
                          "model does not have");
        j["outputs"] = {n.outputs[0]};
    }
    int dense_dilation[2];
    placement_[n.outputs[0]] = place_window(n, p.kernel, p.stride, p.dilation, dense_dilation);
    j.erase("pads");
    j.erase("ceil_mode");
    // The stride must be written: a pool's stride defaults to its kernel.
    j["stride"] = {1, 1};
    j["dilation"] = {dense_dilation[0], dense_dilation[1]};
    nodes_.push_back(std::move(j));
}

// The first dense layer reads the whole map (C, h, w): its weight [out, C*h*w]
// is already laid out as a conv kernel [out, C, h, w] (flatten is C-major), to
// be dilated by the map's step. Later ones read 1x1 maps: 1x1 convs.
void Densifier::convert_dense(const Node& n) {
    const Placement& in = placement_.at(n.inputs[0]);
    const Tensor& weight = patch_.weights.at(n.weights[0]);
    const int64_t out_features = weight.shape()[0];
    Tensor kernel = weight;
    kernel.reshape({out_features, in.channels, in.size[0], in.size[1]});
    const std::string kernel_name = fresh(weight_names_, n.weights[0] + "/as_conv");
    new_weights_[kernel_name] = std::move(kernel);

    Json j = {{"op", "conv"},
              {"name", n.name},
              {"inputs", n.inputs},
              {"outputs", n.outputs},
              {"weight", kernel_name},
              {"dilation", {in.size[0] > 1 ? in.step[0] : 1, in.size[1] > 1 ? in.step[1] : 1}}};
    for (const char* key : {"bias", "activation", "activation_alpha", "activation_beta"})
        if (n.json.contains(key)) j[key] = n.json.at(key);
    nodes_.push_back(std::move(j));

    Placement out;
    out.rank = 2;
    out.channels = out_features;
    for (int a = 0; a < 2; ++a) out.spare[a] = in.spare[a];
    placement_[n.outputs[0]] = out;
}

// Flattening is the dense layer's business (its kernel is the map); in the
// dense model the map stays a map.
void Densifier::convert_flatten(const Node& n) {
    Placement p = placement_.at(n.inputs[0]);
    if (p.rank == 4) {
        p.rank = 2;
        p.flattened = p.size[0] * p.size[1] > 1;
    }
    placement_[n.outputs[0]] = p;
    nodes_.push_back(
        {{"op", "identity"}, {"name", n.name}, {"inputs", n.inputs}, {"outputs", n.outputs}});
}

// Activations, dropout and identity act on each value alone.
void Densifier::convert_pointwise(const Node& n) {
    placement_[n.outputs[0]] = placement_.at(n.inputs[0]);
    nodes_.push_back(n.json);
}

void Densifier::convert_batch_norm(const Node& n) {
    const Placement& in = placement_.at(n.inputs[0]);
    if (in.flattened)
        refuse(n,
               "batch_norm over flattened features normalises each (channel, row, column) "
               "of the map on its own; the dense model holds one value per channel at each "
               "position (apply batch_norm before flatten)");
    placement_[n.outputs[0]] = in;
    nodes_.push_back(n.json);
}

// softmax and argmax: exact along the channel axis only, which stays the
// channel axis in the dense model.
void Densifier::convert_channel_reduction(const Node& n) {
    const Placement& in = placement_.at(n.inputs[0]);
    const int axis = ops::normalize_axis(int(n.json.value("axis", 1)), size_t(in.rank));
    if (axis != 1)
        refuse(n, n.op->name + " over axis " + std::to_string(axis) +
                      (axis == 0 ? " mixes patches of the batch"
                                 : " runs across positions of the patch") +
                      "; only the channel axis 1 converts exactly");
    if (in.flattened)
        refuse(n, n.op->name +
                      " over flattened features mixes positions of the map; the "
                      "dense model can only reduce over the channels at each position");
    Placement out = in;
    if (n.op->name == "argmax") out.channels = 1;
    placement_[n.outputs[0]] = out;
    nodes_.push_back(n.json);
}

void Densifier::convert_binary(const Node& n) {
    if (n.inputs.size() < 2)
        refuse(n, "its operand b is a constant weight, fixed in size; in the dense model b "
                  "would have to vary with the output size");
    const Placement& a = placement_.at(n.inputs[0]);
    const Placement& b = placement_.at(n.inputs[1]);
    for (const auto& [big, small, which] : {std::tuple{&a, &b, "b"}, std::tuple{&b, &a, "a"}})
        if (big->size[0] * big->size[1] > 1 && small->size[0] == 1 && small->size[1] == 1)
            refuse(n, std::string("input ") + which +
                          " broadcasts one value per channel over the whole " +
                          pair_text(big->size) +
                          " map; in the dense model it varies with the position, so the broadcast "
                          "has no dense equivalent");
    // Flattened maps add feature by feature, i.e. position by position only
    // when both maps have the same channels and size.
    if (a.flattened != b.flattened ||
        (a.flattened &&
         (a.channels != b.channels || a.size[0] != b.size[0] || a.size[1] != b.size[1])))
        refuse(n,
               "its inputs are flattened maps of different geometry (or one is flattened "
               "and the other not); their features do not line up position by position in "
               "the dense model");
    if (a.size[0] != b.size[0] || a.size[1] != b.size[1])
        refuse(n, "its inputs broadcast over rows or columns (" + pair_text(a.size) + " and " +
                      pair_text(b.size) + "); in the dense model that has no equivalent");
    if (a.channels != b.channels)
        refuse(n, "its inputs have " + std::to_string(a.channels) + " and " +
                      std::to_string(b.channels) +
                      " channels (a broadcast over channels); densify needs equal channels");
    int64_t spare[2];
    std::vector<std::string> inputs = align_inputs(n, spare);
    Placement out = a;
    for (int k = 0; k < 2; ++k) out.spare[k] = spare[k];
    placement_[n.outputs[0]] = out;
    Json j = n.json;
    j["inputs"] = inputs;
    nodes_.push_back(std::move(j));
}

void Densifier::convert_concat(const Node& n) {
    const Placement& first = placement_.at(n.inputs[0]);
    const int axis =
        ops::normalize_axis(params_as<ops::ConcatOp>(*n.params).axis, size_t(first.rank));
    if (axis != 1)
        refuse(n, "concat along axis " + std::to_string(axis) +
                      "; only concat of channels (axis 1) keeps positions in place");
    Placement out = first;
    out.channels = 0;
    for (const std::string& t : n.inputs) {
        const Placement& p = placement_.at(t);
        if (p.flattened)
            refuse(n, "input '" + t + "' is a flattened " + pair_text(p.size) +
                          " map: a dense layer after this concat would not read one whole "
                          "map (concat the maps' channels before flatten instead)");
        out.channels += p.channels;
    }
    int64_t spare[2];
    std::vector<std::string> inputs = align_inputs(n, spare);
    for (int k = 0; k < 2; ++k) out.spare[k] = spare[k];
    placement_[n.outputs[0]] = out;
    Json j = n.json;
    j["inputs"] = inputs;
    nodes_.push_back(std::move(j));
}

std::vector<std::string> Densifier::align_inputs(const Node& n, int64_t min_spare[2]) {
    const Placement& first = placement_.at(n.inputs[0]);
    for (int a = 0; a < 2; ++a) min_spare[a] = first.spare[a];
    for (const std::string& t : n.inputs) {
        const Placement& p = placement_.at(t);
        for (int a = 0; a < 2; ++a) {
            // Same patch-space size (the op's own shape check) but another step:
            // the branches sample the image on different grids.
            if (p.size[a] == first.size[a] && p.step[a] != first.step[a])
                refuse(n, "input '" + t + "' has accumulated stride " + pair_text(p.step) +
                              " but input '" + n.inputs[0] + "' has " + pair_text(first.step) +
                              "; branches strided differently cannot meet in the dense model");
            min_spare[a] = std::min(min_spare[a], p.spare[a]);
        }
    }
    std::vector<std::string> out;
    for (const std::string& t : n.inputs) {
        const Placement& p = placement_.at(t);
        out.push_back(
            crop_bottom_right(t, p.spare[0] - min_spare[0], p.spare[1] - min_spare[1], n.name));
    }
    return out;
}

std::string Densifier::crop_bottom_right(const std::string& tensor, int64_t bottom, int64_t right,
                                         const std::string& for_node) {
    if (bottom == 0 && right == 0) return tensor;
    auto key = std::make_tuple(tensor, bottom, right);
    auto it = crops_.find(key);
    if (it != crops_.end()) return it->second;
    const std::string out = fresh(tensor_names_, tensor + "/aligned");
    nodes_.push_back({{"op", "crop"},
                      {"name", fresh(node_names_, for_node + "/align_" + tensor)},
                      {"inputs", {tensor}},
                      {"outputs", {out}},
                      {"margins", {0, 0, bottom, right}}});
    crops_[key] = out;
    return out;
}

void Densifier::rename_tensor_in_nodes(const std::string& from, const std::string& to,
                                       size_t skip_from) {
    for (size_t i = 0; i < nodes_.size() && i < skip_from; ++i)
        for (const char* key : {"inputs", "outputs"})
            for (Json& t : nodes_[i][key])
                if (t == from) t = to;
}

// Each output is one value per class and patch (h = w = 1); what is left of
// its map beyond H - ph + 1 rows and W - pw + 1 columns is cut off.
void Densifier::crop_outputs() {
    std::set<std::string> done;
    for (const std::string& t : patch_.graph.outputs) {
        if (!done.insert(t).second) continue;
        if (t == input_)
            throw Error(
                patch_.path, "",
                "cannot densify: graph output '" + t + "' is the input patch itself, not a score");
        const Placement& p = placement_.at(t);
        if (p.size[0] != 1 || p.size[1] != 1 || p.flattened) {
            std::string producer;
            for (const Node& n : patch_.graph.nodes)
                if (std::count(n.outputs.begin(), n.outputs.end(), t)) producer = n.name;
            throw Error(patch_.path, producer,
                        "cannot densify: graph output '" + t + "' has shape " +
                            shape_to_string(patch_shape(t)) +
                            " for one patch; a patch model's outputs must be [N, classes] or "
                            "[N, classes, 1, 1]");
        }
        if (p.spare[0] == 0 && p.spare[1] == 0) continue;
        const std::string full = fresh(tensor_names_, t + "/uncropped");
        rename_tensor_in_nodes(t, full, nodes_.size());
        nodes_.push_back({{"op", "crop"},
                          {"name", fresh(node_names_, t + "/crop")},
                          {"inputs", {full}},
                          {"outputs", {t}},
                          {"margins", {0, 0, p.spare[0], p.spare[1]}}});
    }
}

// --same-size: the image padded by half a patch on each side, read by
// everything that read the image.
void Densifier::add_halo() {
    const int64_t ph = patch_size_[0], pw = patch_size_[1];
    const std::string padded = fresh(tensor_names_, input_ + "/halo");
    rename_tensor_in_nodes(input_, padded, nodes_.size());
    const bool reflect = options_.halo == DensifyOptions::Halo::Reflect;
    nodes_.insert(nodes_.begin(), Json{{"op", "pad"},
                                       {"name", fresh(node_names_, "halo")},
                                       {"inputs", {input_}},
                                       {"outputs", {padded}},
                                       {"pads", {ph / 2, pw / 2, ph - 1 - ph / 2, pw - 1 - pw / 2}},
                                       {"mode", reflect ? "reflect" : "constant"}});
}

Model Densifier::assemble() {
    Model dense;
    dense.path = patch_.path;
    Graph& g = dense.graph;
    g.name = patch_.graph.name.empty() ? "" : patch_.graph.name + "_dense";
    g.inputs = {{input_, {kUnknownDim, channels_, kUnknownDim, kUnknownDim}}};
    g.outputs = patch_.graph.outputs;
    g.metadata = patch_.graph.metadata;
    g.metadata.erase("patch");
    g.metadata["dense_from_patch"] = {patch_size_[0], patch_size_[1]};
    if (options_.same_size)
        g.metadata["dense_halo"] =
            options_.halo == DensifyOptions::Halo::Reflect ? "reflect" : "zero";
    for (const Json& j : nodes_) {
        Node n = make_node(j);
        for (const std::string& w : n.weights) {
            if (w.empty() || dense.weights.count(w)) continue;
            auto it = new_weights_.find(w);
            dense.weights[w] = it != new_weights_.end() ? it->second : patch_.weights.at(w);
        }
        g.nodes.push_back(std::move(n));
    }
    dense.notes.push_back("densified from patch " + pair_text(patch_size_));

    // A check of the bookkeeping, not of the user's model: at the patch size
    // the dense model must give one score per class (ph x pw with --same-size).
    try {
        sort_topologically(g);
        infer_shapes(dense, declared_input_shapes(g));
        const auto at_patch =
            infer_shapes(dense, {{input_, {1, channels_, patch_size_[0], patch_size_[1]}}});
        for (const std::string& t : g.outputs) {
            const Shape& s = at_patch.at(t).shape;
            const int64_t want_h = options_.same_size ? patch_size_[0] : 1;
            const int64_t want_w = options_.same_size ? patch_size_[1] : 1;
            if (s.size() != 4 || s[2] != want_h || s[3] != want_w)
                throw Error(
                    "", "",
                    "output '" + t + "' has shape " + shape_to_string(s) + " at the patch size");
        }
    } catch (const Error& e) {
        throw Error(patch_.path, e.node(), "internal error in densify: " + e.reason());
    }
    return dense;
}

Model Densifier::run() {
    read_patch_input();
    for (const GraphInput& in : patch_.graph.inputs) tensor_names_.insert(in.name);
    for (const Node& n : patch_.graph.nodes) {
        node_names_.insert(n.name);
        tensor_names_.insert(n.outputs.begin(), n.outputs.end());
    }
    for (const auto& [name, t] : patch_.weights) weight_names_.insert(name);

    for (const Node* n : live_nodes()) {
        auto refusal = refusals().find(n->op->name);
        if (refusal != refusals().end()) refuse(*n, refusal->second);
        auto converter = converters().find(n->op->name);
        if (converter == converters().end())
            refuse(*n, "densify does not know how op " + n->op->name + " maps to a dense model");
        (this->*converter->second)(*n);
    }
    crop_outputs();
    if (options_.same_size) add_halo();
    return assemble();
}

}  // namespace

Model densify(const Model& patch_model, const DensifyOptions& options) {
    return Densifier(patch_model, options).run();
}

}  // namespace fcnrt
