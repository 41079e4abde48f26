// The ONNX backend node test cases (collected by tests/onnx/setup_onnx_cases.sh
// into FCNRT_ONNX_CASES_DIR) through the importer and both CPU backends,
// compared as ONNX's own runner does: |got - want| <= atol + rtol * |want| with
// rtol 1e-3, atol 1e-5; integer outputs (ArgMax and MaxPool indices) exactly, by
// value: fcnrt presents them as int32, ONNX's expected outputs are int64. A case the
// importer refuses is skipped with its reason; a case that imports must run and
// match. The summary lists which cases ran and which were skipped, and why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/model_loader.h"
#include "engine/onnx/onnx_loader.h"
#include "fcnrt_onnx/onnx.pb.h"

namespace fcnrt {
namespace {

namespace fs = std::filesystem;

std::vector<Tensor> read_pb_set(const fs::path& dir, const char* kind, std::vector<std::string>* names) {
    std::vector<Tensor> out;
    for (int k = 0;; ++k) {
        const fs::path p = dir / (std::string(kind) + "_" + std::to_string(k) + ".pb");
        if (!fs::exists(p)) break;
        std::string name;
        out.push_back(read_onnx_tensor_file(p.string(), &name));
        if (names) names->push_back(name);
    }
    return out;
}

// "" when they match, else what differs. Integers compare exactly, by value: fcnrt's
// are int32, and read_onnx_tensor_file gives ONNX's int64 expected values as int32
// (refusing, so skipping the case, where one lies outside int32).
std::string compare(const Tensor& got, const Tensor& want) {
    if (got.numel() != want.numel())
        return "shape " + shape_to_string(got.shape()) + " vs expected " + shape_to_string(want.shape());
    if (got.dtype() != want.dtype())
        return std::string("dtype ") + dtype_name(got.dtype()) + " vs expected " + dtype_name(want.dtype());
    for (int64_t i = 0; i < got.numel(); ++i) {
        if (got.dtype() == DType::I32) {
            if (got.i32()[i] != want.i32()[i])
                return "element " + std::to_string(i) + ": " + std::to_string(got.i32()[i]) + " vs " +
                       std::to_string(want.i32()[i]);
            continue;
        }
        const double g = got.f32()[i], w = want.f32()[i];
        if (std::isnan(w) && std::isnan(g)) continue;
        if (!(std::fabs(g - w) <= 1e-5 + 1e-3 * std::fabs(w)))
            return "element " + std::to_string(i) + ": " + std::to_string(g) + " vs " + std::to_string(w);
    }
    return "";
}

// The node cases feed every operand at run time, weights and Resize scales
// included, where fcnrt takes them at import. This writes a copy of the model
// with graph inputs 1.. turned into initializers holding the case's data, and
// returns its path ("" when that is impossible).
std::string with_inputs_as_initializers(const fs::path& dir) {
    onnx::ModelProto m;
    std::ifstream in(dir / "model.onnx", std::ios::binary);
    if (!m.ParseFromIstream(&in)) return "";
    onnx::GraphProto& g = *m.mutable_graph();
    if (g.input_size() < 2) return "";
    for (int k = 1; k < g.input_size(); ++k) {
        const fs::path pb = dir / "test_data_set_0" / ("input_" + std::to_string(k) + ".pb");
        onnx::TensorProto t;
        std::ifstream f(pb, std::ios::binary);
        if (!t.ParseFromIstream(&f)) return "";
        t.set_name(g.input(k).name());
        *g.add_initializer() = t;
    }
    while (g.input_size() > 1) g.mutable_input()->RemoveLast();
    const fs::path out = fs::temp_directory_path() / ("fcnrt_node_case_" + dir.filename().string() + ".onnx");
    std::ofstream(out, std::ios::binary) << m.SerializeAsString();
    return out.string();
}

TEST(OnnxNodeCases, MatchOnnxReferenceOutputs) {
    const fs::path root = FCNRT_ONNX_CASES_DIR;
    if (!fs::is_directory(root))
        GTEST_SKIP() << "no ONNX node cases in " << root
                     << " (tests/onnx/setup_onnx_cases.sh collects them from the onnx package it "
                        "pip-installs into a venv in the build folder: it needs python3-venv and "
                        "the network; its reason is in the onnx_setup_node_cases output)";
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(root))
        if (e.is_directory()) cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    if (cases.empty()) GTEST_SKIP() << "the ONNX node case folder " << root << " is empty";

    std::vector<std::string> passed;
    std::map<std::string, std::string> skipped;
    for (const fs::path& dir : cases) {
        const std::string name = dir.filename().string();
        Model model;
        bool frozen = false;  // inputs 1.. made initializers
        try {
            model = load_model((dir / "model.onnx").string());
        } catch (const Error& e) {
            const std::string why = (e.node().empty() ? "" : e.node() + ": ") + e.reason();
            const std::string copy = why.find("known at import time") != std::string::npos
                                         ? with_inputs_as_initializers(dir)
                                         : "";
            try {
                if (copy.empty()) throw e;
                model = load_model(copy);
                frozen = true;
            } catch (const Error& e2) {
                skipped[name] = (e2.node().empty() ? "" : e2.node() + ": ") + e2.reason();
                continue;
            }
        }
        std::vector<std::string> names;
        std::vector<Tensor> inputs, outputs;
        try {
            inputs = read_pb_set(dir / "test_data_set_0", "input", &names);
            outputs = read_pb_set(dir / "test_data_set_0", "output", nullptr);
        } catch (const Error& e) {
            skipped[name] = std::string("test data: ") + e.what();
            continue;
        }
        // Inputs by name where the TensorProto has one, else in the graph's order.
        std::map<std::string, Tensor> feed;
        if (frozen) inputs.resize(1);
        for (size_t k = 0; k < inputs.size() && k < model.graph.inputs.size(); ++k) {
            const std::string& key = std::any_of(model.graph.inputs.begin(), model.graph.inputs.end(),
                                                 [&](const GraphInput& g) { return g.name == names[k]; })
                                         ? names[k]
                                         : model.graph.inputs[k].name;
            Tensor t = std::move(inputs[k]);
            for (const GraphInput& g : model.graph.inputs)
                if (g.name == key && g.shape.size() != t.shape().size()) t.reshape(g.shape);
            feed[key] = std::move(t);
        }
        bool ok = true;
        for (const char* device : {"reference", "cpu"}) {
            std::vector<Tensor> got;
            try {
                Executor ex(model, select_backend(device, nullptr));
                got = ex.run(feed);
            } catch (const Error& e) {
                ADD_FAILURE() << name << " [" << device << "] imported but failed to run: " << e.what();
                ok = false;
                break;
            }
            for (size_t k = 0; k < got.size() && k < outputs.size(); ++k) {
                const std::string diff = compare(got[k], outputs[k]);
                if (!diff.empty()) {
                    ADD_FAILURE() << name << " [" << device << "] output " << k << ": " << diff;
                    ok = false;
                }
            }
        }
        if (ok) passed.push_back(frozen ? name + "(operands as initializers)" : name);
    }
    std::cout << "ONNX node cases: " << passed.size() << " ran and matched, " << skipped.size()
              << " skipped, of " << cases.size() << "\n  ran:";
    for (const std::string& p : passed) std::cout << " " << p;
    std::cout << "\n";
    for (const auto& [c, why] : skipped) std::cout << "  skipped " << c << ": " << why << "\n";
    EXPECT_FALSE(passed.empty());
}

}  // namespace
}  // namespace fcnrt
