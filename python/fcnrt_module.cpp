// The Python module fcnrt._fcnrt (re-exported by python/fcnrt/__init__.py):
// the C++ API (include/fcnrt/fcnrt.h) for NumPy arrays. Inputs are read in
// place where their layout allows (float32 C-contiguous for run, uint8/uint16
// C-contiguous for images), outputs handed over without a copy (the array
// keeps the library's buffer alive), the GIL released while fcnrt works, and
// fcnrt::Error raised as fcnrt.Error (a RuntimeError) with the same one-line
// message the command line prints.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "engine/segment/image_list.h"
#include "fcnrt/fcnrt.h"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

fcnrt::Halo halo_of(const std::string& h) {
    if (h == "reflect") return fcnrt::Halo::Reflect;
    if (h == "zero") return fcnrt::Halo::Zero;
    throw fcnrt::Error("halo: expected 'reflect' or 'zero', got '" + h + "'");
}

// A NumPy array over `a`'s elements; the array keeps them alive.
py::array numpy_of(const fcnrt::Array& a) {
    auto* keep = new fcnrt::Array(a);
    py::capsule owner(keep, [](void* p) { delete static_cast<fcnrt::Array*>(p); });
    std::vector<py::ssize_t> shape(a.shape().begin(), a.shape().end());
    if (a.type() == fcnrt::ElementType::Int32)
        return py::array_t<int32_t>(shape, static_cast<const int32_t*>(keep->data()), owner);
    return py::array_t<float>(shape, static_cast<const float*>(keep->data()), owner);
}

py::array labels_of(fcnrt::Segmentation& s) {
    auto* keep = new std::vector<uint8_t>(std::move(s.labels));
    py::capsule owner(keep, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
    return py::array_t<uint8_t>({py::ssize_t(s.height), py::ssize_t(s.width)}, keep->data(), owner);
}

// An image array, [H, W] or [H, W, C] of uint8 or uint16, C-contiguous (copied
// into that layout only when it is not). `keep` holds what the view points into.
fcnrt::ImageView image_view_of(const py::array& in, py::array& keep) {
    const bool u16 = in.dtype().equal(py::dtype::of<uint16_t>());
    const bool u8 = in.dtype().equal(py::dtype::of<uint8_t>());
    if (!u8 && !u16)
        throw fcnrt::Error("the image must be uint8 or uint16, got " +
                           std::string(py::str(in.dtype())));
    if (in.ndim() != 2 && in.ndim() != 3)
        throw fcnrt::Error("the image must be [H, W] or [H, W, C], got " +
                           std::to_string(in.ndim()) + " dimensions");
    keep =
        u8 ? py::array(py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(in))
           : py::array(
                 py::array_t<uint16_t, py::array::c_style | py::array::forcecast>::ensure(in));
    fcnrt::ImageView v;
    v.height = keep.shape(0);
    v.width = keep.shape(1);
    v.channels = keep.ndim() == 3 ? int(keep.shape(2)) : 1;
    v.bit_depth = u8 ? 8 : 16;
    v.samples = keep.data();
    return v;
}

py::array numpy_of(const fcnrt::DecodedImage& image) {
    auto* keep = new fcnrt::DecodedImage(image);
    py::capsule owner(keep, [](void* p) { delete static_cast<fcnrt::DecodedImage*>(p); });
    const fcnrt::ImageView v = keep->view();
    std::vector<py::ssize_t> shape{py::ssize_t(v.height), py::ssize_t(v.width)};
    if (v.channels > 1) shape.push_back(v.channels);
    if (v.bit_depth == 16)
        return py::array_t<uint16_t>(shape, static_cast<const uint16_t*>(v.samples), owner);
    return py::array_t<uint8_t>(shape, static_cast<const uint8_t*>(v.samples), owner);
}

py::dict input_dict(const fcnrt::ImageInput& in) {
    py::dict d;
    d["path"] = in.path;
    d["page"] = in.page;
    d["pages"] = in.pages;
    d["stem"] = in.stem;
    return d;
}

}  // namespace

PYBIND11_MODULE(_fcnrt, m) {
    m.doc() = "fcnrt: inference for fully convolutional segmentation networks";
    m.attr("__version__") = fcnrt::version();
    py::register_exception<fcnrt::Error>(m, "Error", PyExc_RuntimeError);

    py::class_<fcnrt::Network>(m, "Model", "A model (fcnrt graph JSON or ONNX) loaded on a device.")
        .def(py::init([](const std::string& path, const std::string& device,
                         const std::string& precision) {
                 fcnrt::NetworkOptions options;
                 options.device = device;
                 options.precision = precision;
                 py::gil_scoped_release release;
                 return std::make_unique<fcnrt::Network>(path, options);
             }),
             py::arg("path"), py::arg("device") = "auto", py::arg("precision") = "")
        .def_property_readonly("path", &fcnrt::Network::path)
        .def_property_readonly("device", &fcnrt::Network::device)
        .def_property_readonly("inputs", &fcnrt::Network::input_names)
        .def_property_readonly("outputs", &fcnrt::Network::output_names)
        .def(
            "run",
            [](fcnrt::Network& net, const py::dict& inputs) {
                std::map<std::string, fcnrt::ArrayView> views;
                std::vector<FloatArray> keep;  // float32 C-contiguous: the caller's own array
                for (const auto& [key, value] : inputs) {
                    keep.push_back(FloatArray::ensure(value));
                    if (!keep.back())
                        throw fcnrt::Error("input '" + std::string(py::str(key)) +
                                           "' is not a numeric array");
                    const FloatArray& a = keep.back();
                    views[py::str(key)] = {std::vector<int64_t>(a.shape(), a.shape() + a.ndim()),
                                           a.data()};
                }
                std::map<std::string, fcnrt::Array> outputs;
                {
                    py::gil_scoped_release release;
                    outputs = net.run(views);
                }
                py::dict out;
                for (const auto& [name, a] : outputs) out[py::str(name)] = numpy_of(a);
                return out;
            },
            py::arg("inputs"),
            "Runs the model: {input name: array} -> {output name: array}, as `fcnrt run`.")
        .def(
            "segment",
            [](fcnrt::Network& net, const py::array& image, size_t max_memory, bool probs,
               const std::string& halo) -> py::object {
                fcnrt::SegmentOptions options;
                options.max_memory = max_memory;
                options.probs = probs;
                options.halo = halo_of(halo);
                py::array keep;
                const fcnrt::ImageView view = image_view_of(image, keep);
                fcnrt::Segmentation s;
                {
                    py::gil_scoped_release release;
                    s = net.segment(view, options);
                }
                py::array labels = labels_of(s);
                if (!probs) return labels;
                return py::make_tuple(labels, numpy_of(s.probs));
            },
            py::arg("image"), py::kw_only(), py::arg("max_memory") = 0, py::arg("probs") = false,
            py::arg("halo") = "reflect",
            "Segments an image ([H, W] or [H, W, C], uint8 or uint16) as `fcnrt segment`: "
            "labels [H, W] uint8, or (labels, probs [classes, H, W] float32) with probs=True.")
        .def(
            "segment_file",
            [](fcnrt::Network& net, const std::string& path, const std::string& outdir,
               int64_t page, const std::string& stem, size_t max_memory, bool probs, bool overlay,
               double opacity, const std::string& halo) {
                fcnrt::ImageInput in{path, page, 1, stem.empty() ? fcnrt::stem_of(path) : stem};
                fcnrt::FileSegmentOptions options;
                options.segment.max_memory = max_memory;
                options.segment.probs = probs;
                options.segment.halo = halo_of(halo);
                options.overlay = overlay;
                options.opacity = opacity;
                fcnrt::Segmentation s;
                {
                    py::gil_scoped_release release;
                    s = net.segment_file(in, outdir, options);
                }
                return labels_of(s);
            },
            py::arg("path"), py::arg("outdir"), py::kw_only(), py::arg("page") = 0,
            py::arg("stem") = "", py::arg("max_memory") = 0, py::arg("probs") = false,
            py::arg("overlay") = false, py::arg("opacity") = 0.5, py::arg("halo") = "reflect",
            "Writes `fcnrt segment`'s files for one image (or TIFF page) into outdir, all or "
            "none: STEM_mask.png, STEM_labels.png (STEM_overlay.png, STEM_probs.npy). "
            "Returns the labels.");

    m.def(
        "list_images",
        [](const std::vector<std::string>& paths) {
            std::vector<fcnrt::ImageInput> inputs;
            {
                py::gil_scoped_release release;
                inputs = fcnrt::list_images(paths);
            }
            py::list out;
            for (const auto& in : inputs) out.append(input_dict(in));
            return out;
        },
        py::arg("paths"),
        "The images `fcnrt segment` reads for these files and directories: a list of "
        "{path, page, pages, stem}.");
    m.def(
        "read_image",
        [](const std::string& path, int64_t page) {
            std::unique_ptr<fcnrt::DecodedImage> image;
            {
                py::gil_scoped_release release;
                image = std::make_unique<fcnrt::DecodedImage>(fcnrt::decode_image(path, page));
            }
            return numpy_of(*image);
        },
        py::arg("path"), py::arg("page") = 0,
        "Decodes an image file as fcnrt reads it: [H, W] or [H, W, C], uint8 or uint16.");
    m.def(
        "densify",
        [](const std::string& patch, const std::string& dense, bool same_size,
           const std::string& halo) {
            fcnrt::DensifySettings settings;
            settings.same_size = same_size;
            settings.halo = halo_of(halo);
            py::gil_scoped_release release;
            fcnrt::densify_file(patch, dense, settings);
        },
        py::arg("patch"), py::arg("dense"), py::kw_only(), py::arg("same_size") = false,
        py::arg("halo") = "reflect", "`fcnrt densify PATCH -o DENSE`.");
    m.def(
        "_evaluate_json",
        [](const std::string& pred, const std::string& truth, int64_t classes,
           std::optional<uint32_t> ignore, std::optional<std::array<int64_t, 4>> region) {
            fcnrt::EvalSettings settings;
            settings.classes = classes;
            settings.ignore = ignore;
            settings.region = region;
            py::gil_scoped_release release;
            return fcnrt::evaluate_json(pred, truth, settings);
        },
        py::arg("prediction"), py::arg("truth"), py::arg("classes") = 0,
        py::arg("ignore") = py::none(), py::arg("region") = py::none());
}
