// `fcnrt bench MODEL [--size HxW] [--batch N] [--device ...] [--iterations N | --duration S]`:
// whole-model timing reported as trtexec reports it.
//
// One Executor, planned once; warm-up runs, then timed runs, each split by a
// stream timer (cudaEvents on CUDA, the clock on the host backends) into
// host-to-device (input copy), compute (every node) and device-to-host (output
// copies), all enqueued before one synchronize per run. --profile adds as many
// runs again with a mark before every node (still one synchronize per run).
// FLOPs come from each op's registry definition, as `fcnrt info` counts them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/model_loader.h"
#include "tools/fcnrt/cli_args.h"
#include "tools/fcnrt/commands.h"
#include "tools/fcnrt/progress.h"
#include "tools/fcnrt/size_warning.h"
#include "fcnrt_build_info.h"  // FCNRT_GIT_COMMIT, generated at build time


namespace fcnrt::cli {

const char* const kBenchHelp =
    "usage: fcnrt bench MODEL [--size HxW] [--batch N] [--device auto|cpu|cuda|reference]\n"
    "                   [--precision fp32|tf32|bf16|fp16] [--warmup N] [--iterations N | --duration S]\n"
    "                   [--input IN.npy] [--graphs on|off] [--profile] [--json] [--quiet]\n"
    "\n"
    "Times whole-model runs and reports them as trtexec does. Every run is timed on the\n"
    "device's stream (CUDA events; the clock on the CPU) in three phases: host-to-device\n"
    "(the input copy), compute (every node) and device-to-host (the output copies); its\n"
    "latency is their sum. Reported: latency min, median, mean, p90, p95, p99 and max\n"
    "(percentiles by nearest rank; the median averages the middle two of an even count),\n"
    "the same for each phase; throughput = batch x 1000 / mean latency (images/s, as\n"
    "trtexec uses the mean); FLOPs per run (a multiply-add counts 2) and the achieved\n"
    "TFLOP/s at the median compute time, with its share of the device's peak (CUDA:\n"
    "theoretical, from the device's attributes; CPU: a measured SGEMM rate); the bytes\n"
    "of the weights and of the activation arena, and the peak device memory fcnrt\n"
    "allocated.\n"
    "\n"
    "  --size HxW        spatial size for open input dims (default: the graph's own when\n"
    "                    fixed)\n"
    "  --batch N         batch size, dim 0 (default: the graph's own when fixed, else 1)\n"
    "  --device DEVICE   auto (default: the GPU when usable), cpu, cuda or reference\n"
    "  --precision P     convolutions' multiply-adds: fp32 (exact), or on CUDA the\n"
    "                    tensor cores' tf32 (default on CUDA), bf16 or fp16, with fp32\n"
    "                    accumulation; the CPU computes in fp32 only. Run once per\n"
    "                    precision to compare them; the share of peak is of FP32's\n"
    "  --warmup N        untimed runs first (default 3)\n"
    "  --iterations N    timed runs (default 20)\n"
    "  --duration S      instead of --iterations: timed runs until S seconds have passed\n"
    "                    (at least one)\n"
    "  --input IN.npy    the input (float32; one-input graphs; its shape sets the size),\n"
    "                    else seeded uniform values in [-1, 1)\n"
    "  --graphs on|off   CUDA: capture the nodes once into a CUDA graph and replay it\n"
    "                    with one launch per run (default on); off launches every\n"
    "                    kernel itself. No effect on the CPU\n"
    "  --profile         then as many runs again with a timestamp before every node\n"
    "                    (these runs launch node by node, graphs off): a\n"
    "                    table of per-node median time, FLOPs, bytes (each tensor and\n"
    "                    weight the node reads or writes, once), GFLOP/s, GB/s and share\n"
    "  --json            print one JSON object on stdout and nothing else\n"
    "  --quiet           nothing on stderr but errors (no device line or progress;\n"
    "                    otherwise a bar on a terminal, a line every 10 s elsewhere)\n";

namespace {

using Clock = std::chrono::steady_clock;

int parse_count(const std::string& text, const std::string& option) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 0 || v > (1LL << 30))
        throw UsageError{option + ": expected a non-negative integer, got '" + text + "'"};
    return int(v);
}

double parse_seconds(const std::string& text, const std::string& option) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 86400)
        throw UsageError{option + ": expected a positive number of seconds, got '" + text + "'"};
    return v;
}

struct Options {
    std::string model, device = "auto", input;
    std::string precision;  // "" : the backend's default
    std::pair<int64_t, int64_t> size = {0, 0};  // 0: not given
    int64_t batch = 0;                          // 0: not given
    int warmup = 3, iterations = 20;
    double duration_s = 0;  // > 0: run by time instead of by count
    bool profile = false, json = false, quiet = false;
    bool graphs = true;
};

Options parse_options(const std::vector<std::string>& argv) {
    Args args(
        "bench", argv,
        {"--size", "--batch", "--device", "--precision", "--warmup", "--iterations", "--duration",
         "--input", "--graphs"},
        {"--profile", "--json", "--quiet"});
    if (args.positional().size() != 1)
        throw UsageError{"bench takes one MODEL (see fcnrt bench --help)"};
    Options o;
    o.model = args.positional()[0];
    if (!args.value("--size").empty()) o.size = parse_size(args.value("--size"), "--size");
    if (!args.value("--batch").empty()) o.batch = parse_positive(args.value("--batch"), "--batch");
    o.device = device_option(args);
    o.precision = precision_option(args);
    if (!args.value("--warmup").empty()) o.warmup = parse_count(args.value("--warmup"), "--warmup");
    const bool by_count = !args.value("--iterations").empty();
    const bool by_time = !args.value("--duration").empty();
    if (by_count && by_time)
        throw UsageError{"--iterations and --duration exclude each other; give one"};
    if (by_count) o.iterations = int(parse_positive(args.value("--iterations"), "--iterations"));
    if (by_time) o.duration_s = parse_seconds(args.value("--duration"), "--duration");
    o.input = args.value("--input");
    if (!o.input.empty() && (o.size.first || o.batch))
        throw UsageError{"--input sets the input's shape; leave out --size and --batch"};
    const std::string graphs = args.value("--graphs", "on");
    if (graphs != "on" && graphs != "off")
        throw UsageError{"--graphs: expected on or off, got '" + graphs + "'"};
    o.graphs = graphs == "on";
    o.profile = args.flag("--profile");
    o.json = args.flag("--json");
    o.quiet = args.flag("--quiet");
    return o;
}

// "[1, 3, ?, ?]": open dims as "?".
std::string dims(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + (s[i] == kUnknownDim ? std::string("?") : std::to_string(s[i]));
    return out + "]";
}

// The inputs: --input, or seeded uniform [-1, 1) at the graph's shapes with the
// open dims filled from --size and --batch.
std::map<std::string, Tensor> make_inputs(const Model& model, const Options& o) {
    const Graph& g = model.graph;
    std::map<std::string, Tensor> inputs;
    if (!o.input.empty()) {
        if (g.inputs.size() != 1)
            throw Error(model.path, "",
                        "--input works only for a graph with one input (it has " +
                            std::to_string(g.inputs.size()) + ")");
        std::string note;
        Tensor t = read_npy(o.input, &note);
        if (!note.empty() && !o.quiet) std::cerr << "fcnrt: note: " << o.input << ": " << note << "\n";
        if (t.dtype() != DType::F32)
            throw Error(
                o.input, "",
                "graph inputs are float32; this file holds " + std::string(dtype_name(t.dtype())));
        inputs[g.inputs[0].name] = std::move(t);
        return inputs;  // the executor checks its shape against the graph's
    }
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (const GraphInput& in : g.inputs) {
        Shape s = in.shape;
        if (s.empty()) throw Error(model.path, "", "input '" + in.name + "' has no dims");
        if (o.batch) {
            if (s[0] != kUnknownDim && s[0] != o.batch)
                throw Error(model.path, "",
                            "--batch " + std::to_string(o.batch) + ": input '" + in.name +
                                "' fixes the batch to " + std::to_string(s[0]));
            s[0] = o.batch;
        } else if (s[0] == kUnknownDim) {
            s[0] = 1;
        }
        if (s.size() == 4 && o.size.first) {
            const int64_t want[2] = {o.size.first, o.size.second};
            for (int axis = 0; axis < 2; ++axis) {
                if (s[2 + axis] != kUnknownDim && s[2 + axis] != want[axis])
                    throw Error(model.path, "",
                                "--size " + std::to_string(want[0]) + "x" +
                                    std::to_string(want[1]) + ": input '" + in.name +
                                    "' fixes its size: " + dims(in.shape));
                s[2 + axis] = want[axis];
            }
        }
        for (int64_t d : s)
            if (d == kUnknownDim)
                throw Error(model.path, "",
                            "input '" + in.name + "' has open dims " + dims(in.shape) +
                                ": give --size HxW");
        Tensor t(DType::F32, s);
        for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = uniform(rng);
        inputs[in.name] = std::move(t);
    }
    return inputs;
}

// What each node does at the planned shapes.
struct NodeCost {
    double flops = 0;
    double bytes = 0;  // each tensor and weight read or written, once; 0 for an alias
};

std::vector<NodeCost> node_costs(const Model& model, const MemoryPlan& plan) {
    std::vector<NodeCost> costs;
    for (const Node& n : model.graph.nodes) {
        std::vector<TensorInfo> ins, outs;
        for (const std::string& t : n.inputs) ins.push_back(plan.tensors.at(t));
        for (const std::string& t : n.outputs) outs.push_back(plan.tensors.at(t));
        const auto weights = node_weights(model, n);
        NodeCost c;
        c.flops = n.op->flops ? n.op->flops(InferContext{*n.params, ins, weights}, outs) : 0.0;
        if (!n.op->output_aliases_input) {
            std::set<std::string> tensors(n.inputs.begin(), n.inputs.end());
            tensors.insert(n.outputs.begin(), n.outputs.end());
            for (const std::string& t : tensors) {
                const TensorInfo& info = plan.tensors.at(t);
                c.bytes += double(checked_numel(info.shape, dtype_size(info.dtype))) *
                           double(dtype_size(info.dtype));
            }
            std::set<const Tensor*> distinct(weights.begin(), weights.end());
            for (const Tensor* w : distinct) c.bytes += w ? double(w->bytes()) : 0.0;
        }
        costs.push_back(c);
    }
    return costs;
}

struct Stats {
    double min = 0, median = 0, mean = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentile of sorted values: the smallest value with at least p%
// of the values at or below it.
double nearest_rank(const std::vector<double>& sorted, double p) {
    const size_t rank = size_t(std::ceil(p / 100.0 * double(sorted.size())));
    return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

Stats summarise(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    Stats s;
    s.min = v.front();
    s.max = v.back();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(n);
    s.p90 = nearest_rank(v, 90);
    s.p95 = nearest_rank(v, 95);
    s.p99 = nearest_rank(v, 99);
    return s;
}

nlohmann::ordered_json stats_json(const Stats& s) {
    return {{"min", s.min}, {"median", s.median}, {"mean", s.mean}, {"p90", s.p90},
            {"p95", s.p95}, {"p99", s.p99},       {"max", s.max}};
}

const char* backend_name(BackendKind k) {
    switch (k) {
        case BackendKind::Reference: return "reference";
        case BackendKind::Cpu: return "cpu";
        case BackendKind::Cuda: return "cuda";
    }
    return "?";
}

std::string human_bytes(double b) {
    char buf[64];
    if (b >= double(1 << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1 << 30));
    else if (b >= double(1 << 20))
        std::snprintf(buf, sizeof buf, "%.2f MiB", b / double(1 << 20));
    else
        std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
    return buf;
}

struct NodeRow {
    size_t index;
    double ms;
};

}  // namespace

int bench_command(const std::vector<std::string>& argv) {
    const Options o = parse_options(argv);
    const Model model = load_model(o.model);
    std::map<std::string, Tensor> inputs = make_inputs(model, o);

    std::string chosen;
    std::shared_ptr<Backend> backend = select_backend(o.device, &chosen);
    if (!o.quiet) {
        std::cerr << "fcnrt: " << chosen << "\n";
        std::map<std::string, Shape> shapes;
        for (const auto& [name, t] : inputs) shapes[name] = t.shape();
        warn_unfitting_size(model, shapes, std::cerr);
    }

    Progress progress("bench", !o.quiet);
    progress.update("planning and the first upload");
    const Precision precision = resolve_precision(o.precision, backend->kind());
    Executor executor(model, backend, precision);
    executor.set_graphs(o.graphs);
    executor.upload_inputs(inputs);  // checks the inputs against the graph and plans
    backend->synchronize();
    const MemoryPlan& plan = *executor.plan();
    const std::vector<NodeCost> costs = node_costs(model, plan);
    double flops = 0;
    for (const NodeCost& c : costs) flops += c.flops;
    const int64_t batch = inputs.begin()->second.shape()[0];
    const auto& nodes = model.graph.nodes;

    // Made once: the phase marks of every run, and (for --profile) a mark per node.
    std::unique_ptr<StreamTimer> phases = backend->make_timer(4);
    std::unique_ptr<StreamTimer> per_node =
        o.profile ? backend->make_timer(nodes.size() + 1) : nullptr;
    std::vector<Tensor> outputs;
    std::vector<double> h2d, compute, d2h, latency;
    std::vector<std::vector<double>> node_ms(nodes.size());
    auto one_run = [&](bool record, StreamTimer* node_timer) {
        phases->mark(0);
        executor.upload_inputs(inputs);
        phases->mark(1);
        executor.execute(node_timer);
        phases->mark(2);
        executor.download_outputs(outputs);
        phases->mark(3);
        backend->synchronize();
        if (node_timer)
            for (size_t i = 0; i < nodes.size(); ++i)
                node_ms[i].push_back(node_timer->elapsed_ms(i, i + 1));
        if (!record) return;
        h2d.push_back(phases->elapsed_ms(0, 1));
        compute.push_back(phases->elapsed_ms(1, 2));
        d2h.push_back(phases->elapsed_ms(2, 3));
        latency.push_back(h2d.back() + compute.back() + d2h.back());
    };

    // Runs in all, for the fraction done (by time: the timed phase counts as its share).
    const int total_runs = o.warmup + (o.duration_s > 0 ? 0 : o.iterations) * (per_node ? 2 : 1);
    for (int i = 0; i < o.warmup; ++i) {
        progress.update("warm-up run " + std::to_string(i + 1) + "/" + std::to_string(o.warmup),
                        total_runs ? double(i) / total_runs : -1);
        one_run(false, nullptr);
    }
    const auto start = Clock::now();
    for (int i = 0;; ++i) {
        if (o.duration_s > 0) {
            const double t = std::chrono::duration<double>(Clock::now() - start).count();
            if (i > 0 && t >= o.duration_s) break;
            progress.update("timed run " + std::to_string(i + 1) + " (" + std::to_string(int(t)) +
                            " of " + std::to_string(int(o.duration_s)) + " s)");
        } else if (i == o.iterations) {
            break;
        } else {
            progress.update("timed run " + std::to_string(i + 1) + "/" + std::to_string(o.iterations),
                            double(o.warmup + i) / total_runs);
        }
        one_run(true, nullptr);
    }
    const int iterations = int(latency.size());
    if (per_node)
        for (int i = 0; i < iterations; ++i) {
            progress.update("--profile run " + std::to_string(i + 1) + "/" + std::to_string(iterations),
                            o.duration_s > 0 ? -1 : double(o.warmup + iterations + i) / total_runs);
            one_run(false, per_node.get());
        }
    progress.update("measuring the device's peak rate");

    const Stats lat = summarise(latency), s_h2d = summarise(h2d), s_compute = summarise(compute),
                s_d2h = summarise(d2h);
    const DevicePeak peak = backend->peak();  // after the runs: the CPU measures it now
    progress.stop();
    const double throughput = double(batch) * 1000.0 / lat.mean;
    const double achieved_tflops =
        s_compute.median > 0 ? flops / (s_compute.median * 1e-3) / 1e12 : 0.0;
    const double share = peak.fp32_tflops > 0 ? achieved_tflops / peak.fp32_tflops : 0.0;
    const size_t weights_bytes = executor.weight_bytes();
    const size_t arena_bytes = plan.arena_bytes;
    const size_t peak_bytes = backend->peak_allocated_bytes();
    // Whether the timed runs replayed a graph: only where the backend records one.
    const bool graphs_used = executor.graph_replays() > 0;

    std::vector<NodeRow> rows;
    double node_total = 0;
    if (per_node) {
        for (size_t i = 0; i < nodes.size(); ++i) {
            rows.push_back({i, summarise(node_ms[i]).median});
            node_total += rows.back().ms;
        }
        std::stable_sort(rows.begin(), rows.end(),
                         [](const NodeRow& a, const NodeRow& b) { return a.ms > b.ms; });
    }
    auto rate = [](double amount, double ms) {
        return ms > 0 ? amount / (ms * 1e6) : 0.0;
    };  // per ns = G/s

    if (o.json) {
        using OJson = nlohmann::ordered_json;
        OJson j;
        j["fcnrt_bench"] = 1;
        j["model"] = o.model;
        j["commit"] = FCNRT_GIT_COMMIT;
        j["device"] = {
            {"backend", backend_name(backend->kind())},
            {"name", backend->description()},
            {"threads", backend->threads()},
            {"peak_tflops", peak.fp32_tflops},
            {"peak_source", peak.fp32_source},
            {"memory_gbs", peak.memory_gbs > 0 ? OJson(peak.memory_gbs) : OJson(nullptr)},
            {"memory_source", peak.memory_source}};
        j["precision"] = precision_name(precision);
        OJson shapes_json = OJson::object();
        for (const GraphInput& in : model.graph.inputs)
            shapes_json[in.name] = inputs.at(in.name).shape();
        j["input_shapes"] = shapes_json;
        j["batch"] = batch;
        j["graphs"] = graphs_used;
        j["warmup"] = o.warmup;
        j["iterations"] = iterations;
        j["flops"] = flops;
        j["latency_ms"] = stats_json(lat);
        j["h2d_ms"] = stats_json(s_h2d);
        j["compute_ms"] = stats_json(s_compute);
        j["d2h_ms"] = stats_json(s_d2h);
        j["throughput_per_s"] = throughput;
        j["achieved_tflops"] = achieved_tflops;
        j["share_of_peak"] = share;
        j["memory"] = {{"weights_bytes", weights_bytes},
                       {"activation_arena_bytes", arena_bytes},
                       {"host_scratch_bytes", plan.host_scratch_bytes},
                       {"peak_device_bytes", peak_bytes}};
        if (per_node) {
            OJson list = OJson::array();
            for (const NodeRow& r : rows) {
                const Node& n = nodes[r.index];
                const NodeCost& c = costs[r.index];
                list.push_back({{"name", n.name},
                                {"op", n.op->name},
                                {"ms", r.ms},
                                {"flops", c.flops},
                                {"bytes", int64_t(c.bytes)},
                                {"gflops", rate(c.flops, r.ms)},
                                {"gbs", rate(c.bytes, r.ms)},
                                {"share", node_total > 0 ? r.ms / node_total : 0.0}});
            }
            j["nodes"] = list;
        }
        std::cout << j.dump() << "\n";
        return 0;
    }

    std::printf("model:       %s\n", o.model.c_str());
    std::printf("device:      %s\n", backend->description().c_str());
    std::printf("precision:   %s\n", precision_name(precision));
    for (const GraphInput& in : model.graph.inputs)
        std::printf("input:       %s %s\n", in.name.c_str(),
                    shape_to_string(inputs.at(in.name).shape()).c_str());
    std::printf("runs:        %d warm-up, %d timed", o.warmup, iterations);
    if (o.duration_s > 0) std::printf(" (--duration %g s)", o.duration_s);
    std::printf("\n");
    std::printf("graphs:      %s\n",
                graphs_used ? "on (the nodes captured once into a CUDA graph, one launch per run)"
                : backend->kind() == BackendKind::Cuda ? "off (every kernel launched by the host)"
                                                       : "off (not used on the CPU)");
    std::printf("work:        %.3f GFLOP per run (a multiply-add counts 2)\n", flops / 1e9);
    std::printf("throughput:  %.2f images/s (batch %lld x 1000 / mean latency)\n", throughput,
                static_cast<long long>(batch));
    std::printf("\n%-16s %10s %10s %10s %10s %10s %10s %10s\n", "ms", "min", "median", "mean",
                "p90", "p95", "p99", "max");
    auto row = [](const char* name, const Stats& s) {
        std::printf("%-16s %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", name, s.min,
                    s.median, s.mean, s.p90, s.p95, s.p99, s.max);
    };
    row("latency", lat);
    row("  host-to-device", s_h2d);
    row("  compute", s_compute);
    row("  device-to-host", s_d2h);
    std::printf("(percentiles by nearest rank; latency = the sum of the three phases)\n\n");
    std::printf("compute rate: %.4f TFLOP/s at the median compute time", achieved_tflops);
    if (peak.fp32_tflops > 0)
        std::printf(", %.1f%% of %.3f TFLOP/s\n             (%s)\n", 100.0 * share,
                    peak.fp32_tflops, peak.fp32_source.c_str());
    else
        std::printf("; the device's peak is unknown\n");
    if (peak.memory_gbs > 0)
        std::printf("memory rate: %.1f GB/s (%s)\n", peak.memory_gbs, peak.memory_source.c_str());
    std::printf(
        "memory:      weights %s, activation arena %s, peak device memory %s (allocated by "
        "fcnrt)\n",
        human_bytes(double(weights_bytes)).c_str(), human_bytes(double(arena_bytes)).c_str(),
        human_bytes(double(peak_bytes)).c_str());

    if (per_node) {
        std::printf(
            "\nper-node medians over %d runs, sum %.3f ms (bytes: each tensor and weight the node "
            "reads or writes, once):\n",
            iterations, node_total);
        std::printf("%-28s %-15s %10s %7s %10s %10s %10s %9s\n", "node", "op", "ms", "share",
                    "GFLOP", "MB", "GFLOP/s", "GB/s");
        for (const NodeRow& r : rows) {
            const Node& n = nodes[r.index];
            const NodeCost& c = costs[r.index];
            std::printf("%-28s %-15s %10.4f %6.1f%% %10.4f %10.3f %10.2f %9.2f\n", n.name.c_str(),
                        n.op->name.c_str(), r.ms, node_total > 0 ? 100.0 * r.ms / node_total : 0.0,
                        c.flops / 1e9, c.bytes / 1e6, rate(c.flops, r.ms), rate(c.bytes, r.ms));
        }
    }
    return 0;
}

}  // namespace fcnrt::cli
