// `bench_model`: wall-clock time of whole-model runs, without Google Benchmark.
//
//   bench_model MODEL.json [--size HxW] [--device cpu|reference|cuda|auto]
//               [--warmup N] [--iterations N] [--input IN.npy] [--output OUT.npy]
//               [--profile]
//
// Loads the model (load-time passes on, as `fcnrt run` does), builds one
// Executor, runs --warmup untimed runs, then times each of --iterations
// Executor::run calls with std::chrono::steady_clock. A run includes the input
// copy in and the output copy out, as a user would see it; planning happens in
// the first warm-up. Prints min/median/mean/max in ms and the achieved GFLOP/s
// at the median (FLOPs from each op's registry definition, a multiply-add
// counting 2, as `fcnrt info` reports them), then the same as one JSON line.
//
// The input is --input when given (its shape sets the size), else a seeded
// uniform [-1, 1) tensor of the graph's input shape with open dims from --size.
// --output writes the last timed run's first output. --profile (CPU backends
// only) additionally times every node's kernel on its own, with a plan and
// arena of its own, and prints a table of per-node medians sorted by time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/io/npy.h"
#include "engine/memory_plan.h"
#include "engine/model_loader.h"

namespace {

using fcnrt::Error;
using fcnrt::Model;
using fcnrt::Node;
using fcnrt::Shape;
using fcnrt::Tensor;
using Clock = std::chrono::steady_clock;

const char* const kUsage =
    "usage: bench_model MODEL.json [--size HxW] [--device cpu|reference|cuda|auto]\n"
    "                   [--warmup N] [--iterations N] [--input IN.npy] [--output OUT.npy]\n"
    "                   [--profile]\n";

struct Options {
    std::string model;
    int64_t height = 512, width = 512;
    std::string device = "cpu";
    int warmup = 3;
    int iterations = 10;
    std::string input, output;
    bool profile = false;
};

struct UsageError {
    std::string what;
};

int64_t parse_count(const std::string& text, const std::string& option, int64_t least) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < least || v > (1 << 30))
        throw UsageError{option + ": expected an integer >= " + std::to_string(least) + ", got '" +
                         text + "'"};
    return v;
}

int64_t parse_positive(const std::string& text, const std::string& option) {
    return parse_count(text, option, 1);
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw UsageError{a + " needs a value"};
            return argv[++i];
        };
        if (a == "--size") {
            const std::string s = value();
            const size_t x = s.find_first_of("xX");
            if (x == std::string::npos) {
                o.height = o.width = parse_positive(s, a);
            } else {
                o.height = parse_positive(s.substr(0, x), a);
                o.width = parse_positive(s.substr(x + 1), a);
            }
        } else if (a == "--device") {
            o.device = value();
        } else if (a == "--warmup") {
            o.warmup = int(parse_count(value(), a, 0));
        } else if (a == "--iterations") {
            o.iterations = int(parse_positive(value(), a));
        } else if (a == "--input") {
            o.input = value();
        } else if (a == "--output") {
            o.output = value();
        } else if (a == "--profile") {
            o.profile = true;
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (!a.empty() && a[0] == '-') {
            throw UsageError{"unknown option " + a};
        } else if (o.model.empty()) {
            o.model = a;
        } else {
            throw UsageError{"one MODEL.json only (also got " + a + ")"};
        }
    }
    if (o.model.empty()) throw UsageError{"no MODEL.json given"};
    return o;
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Stats {
    double min, median, mean, max;
};

Stats summarise(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return {v.front(), median, std::accumulate(v.begin(), v.end(), 0.0) / double(n), v.back()};
}

// FLOPs of every node at the planned shapes, by each op's registry definition.
std::vector<double> node_flops(const Model& model, const fcnrt::MemoryPlan& plan) {
    std::vector<double> flops;
    for (const Node& n : model.graph.nodes) {
        std::vector<fcnrt::TensorInfo> ins, outs;
        for (const std::string& t : n.inputs) ins.push_back(plan.tensors.at(t));
        for (const std::string& t : n.outputs) outs.push_back(plan.tensors.at(t));
        const auto weights = fcnrt::node_weights(model, n);
        flops.push_back(n.op->flops ? n.op->flops(fcnrt::InferContext{*n.params, ins, weights}, outs)
                                    : 0.0);
    }
    return flops;
}

// Per-node kernel times on a host backend: the executor's per-node loop with a
// clock around each kernel. Weights are host tensors already, so their views
// are used in place.
void profile_nodes(const Model& model, fcnrt::Backend& backend,
                   const std::map<std::string, Tensor>& inputs, const std::vector<double>& flops,
                   int warmup, int iterations) {
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : inputs) shapes[name] = t.shape();
    const fcnrt::MemoryPlan plan = fcnrt::plan_memory(model, shapes);
    std::shared_ptr<void> arena = backend.allocate(plan.arena_bytes, "the profiling arena");
    char* base = static_cast<char*>(arena.get());
    const auto& nodes = model.graph.nodes;
    std::vector<fcnrt::KernelArgs> args;
    for (const Node& n : nodes) {
        fcnrt::KernelArgs a;
        a.params = n.params.get();
        a.stream = backend.stream();
        for (const std::string& t : n.inputs) a.inputs.push_back(fcnrt::placed_view(plan, t, base));
        for (const Tensor* w : fcnrt::node_weights(model, n)) {
            fcnrt::View v;
            if (w) v = w->view();
            else v.data = nullptr;
            a.weights.push_back(v);
        }
        for (const std::string& t : n.outputs) a.outputs.push_back(fcnrt::placed_view(plan, t, base));
        args.push_back(std::move(a));
    }
    std::vector<std::vector<double>> times(nodes.size());
    for (int it = 0; it < warmup + iterations; ++it) {
        for (const auto& [name, t] : inputs)
            backend.copy_to_device(base + plan.placement.at(name).offset, t.data(), t.bytes());
        for (size_t i = 0; i < nodes.size(); ++i) {
            if (nodes[i].op->output_aliases_input) continue;
            const auto t0 = Clock::now();
            backend.kernel(*nodes[i].op)(args[i]);
            backend.synchronize();
            if (it >= warmup) times[i].push_back(ms_since(t0));
        }
    }
    struct Row {
        size_t index;
        double ms;
    };
    std::vector<Row> rows;
    double total = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const double ms = times[i].empty() ? 0.0 : summarise(times[i]).median;
        rows.push_back({i, ms});
        total += ms;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ms > b.ms; });
    std::printf("\nper-node kernel medians (%d runs), sum %.2f ms:\n", iterations, total);
    std::printf("%-20s %-15s %-20s %10s %7s %10s\n", "node", "op", "output", "ms", "share", "GFLOP/s");
    std::map<std::string, std::pair<double, double>> by_op;  // op -> (ms, flops)
    for (const Row& r : rows) {
        const Node& n = nodes[r.index];
        const double gflops = r.ms > 0 ? flops[r.index] / (r.ms * 1e6) : 0.0;
        std::printf("%-20s %-15s %-20s %10.3f %6.1f%% %10.1f\n", n.name.c_str(), n.op->name.c_str(),
                    fcnrt::shape_to_string(plan.tensors.at(n.outputs[0]).shape).c_str(), r.ms,
                    total > 0 ? 100.0 * r.ms / total : 0.0, gflops);
        by_op[n.op->name].first += r.ms;
        by_op[n.op->name].second += flops[r.index];
    }
    std::printf("by op:");
    for (const auto& [op, v] : by_op)
        std::printf("  %s %.2f ms (%.1f%%, %.1f GFLOP/s)", op.c_str(), v.first,
                    total > 0 ? 100.0 * v.first / total : 0.0, v.first > 0 ? v.second / (v.first * 1e6) : 0.0);
    std::printf("\n");
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

int bench(const Options& o) {
    const Model model = fcnrt::load_model(o.model);
    std::string chosen;
    std::shared_ptr<fcnrt::Backend> backend = fcnrt::select_backend(o.device, &chosen);
    std::fprintf(stderr, "bench_model: %s\n", chosen.c_str());
    for (const std::string& note : model.notes) std::fprintf(stderr, "bench_model: load: %s\n", note.c_str());

    std::map<std::string, Tensor> inputs;
    if (!o.input.empty()) {
        if (model.graph.inputs.size() != 1)
            throw Error(o.model, "", "--input works only for a graph with one input");
        Tensor t = fcnrt::read_npy(o.input);
        if (t.dtype() != fcnrt::DType::F32) throw Error(o.input, "", "graph inputs are float32");
        inputs[model.graph.inputs[0].name] = std::move(t);
    } else {
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (const fcnrt::GraphInput& in : model.graph.inputs) {
            Shape s = in.shape;
            if (!s.empty() && s[0] == fcnrt::kUnknownDim) s[0] = 1;
            if (s.size() == 4) {
                if (s[2] == fcnrt::kUnknownDim) s[2] = o.height;
                if (s[3] == fcnrt::kUnknownDim) s[3] = o.width;
            }
            for (int64_t d : s)
                if (d == fcnrt::kUnknownDim)
                    throw Error(o.model, "", "input '" + in.name + "' has an open dim --size does not fill");
            Tensor t(fcnrt::DType::F32, s);
            for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = uniform(rng);
            inputs[in.name] = std::move(t);
        }
    }
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : inputs) shapes[name] = t.shape();
    const Shape& first_shape = inputs.begin()->second.shape();

    fcnrt::Executor executor(model, backend);
    const fcnrt::MemoryPlan& plan = executor.prepare(shapes);
    const std::vector<double> flops = node_flops(model, plan);
    const double total_flops = std::accumulate(flops.begin(), flops.end(), 0.0);

    for (int i = 0; i < o.warmup; ++i) executor.run(inputs);
    std::vector<double> times;
    std::vector<Tensor> outputs;
    for (int i = 0; i < o.iterations; ++i) {
        const auto t0 = Clock::now();
        outputs = executor.run(inputs);
        times.push_back(ms_since(t0));
    }
    const Stats s = summarise(times);
    const double gflops = total_flops / (s.median * 1e6);

    std::printf("model %s, input %s, %s\n", o.model.c_str(), fcnrt::shape_to_string(first_shape).c_str(),
                backend->description().c_str());
    std::printf("%.3f GFLOP per run, %d warm-up + %d timed runs\n", total_flops / 1e9, o.warmup,
                o.iterations);
    std::printf("ms: min %.3f  median %.3f  mean %.3f  max %.3f   GFLOP/s at median: %.2f\n", s.min,
                s.median, s.mean, s.max, gflops);
    std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"input_shape\": %s, \"warmup\": %d, "
                "\"iterations\": %d, \"gflop\": %.6f, \"min_ms\": %.4f, \"median_ms\": %.4f, "
                "\"mean_ms\": %.4f, \"max_ms\": %.4f, \"gflops_per_s\": %.3f, \"arena_bytes\": %zu}\n",
                json_escape(o.model).c_str(), json_escape(backend->description()).c_str(),
                fcnrt::shape_to_string(first_shape).c_str(), o.warmup, o.iterations,
                total_flops / 1e9, s.min, s.median, s.mean, s.max, gflops, plan.arena_bytes);
    std::fflush(stdout);

    if (!o.output.empty()) fcnrt::write_npy(o.output, outputs.at(0));
    if (o.profile) {
        if (backend->kind() == fcnrt::BackendKind::Cuda)
            throw Error("--profile times host kernels only; use --device cpu or reference");
        profile_nodes(model, *backend, inputs, flops, o.warmup, o.iterations);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return bench(parse_args(argc, argv));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "bench_model: error: %s\n%s", e.what.c_str(), kUsage);
        return 2;
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_model: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_model: error: %s\n", e.what());
        return 1;
    }
}
