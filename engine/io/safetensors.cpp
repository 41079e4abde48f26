#include "engine/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "engine/error.h"
#include "engine/io/file_util.h"

// Tensor data is copied byte for byte between the file and host memory.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fcnrt's safetensors reader assumes a little-endian host"
#endif

namespace fcnrt {
namespace {

using nlohmann::json;

// The reference implementation's MAX_HEADER_SIZE: a larger header is corrupt.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

// Element types as stored in the file (a superset of what tensors hold).
enum class StoredType { F32, F16, BF16, I32, I64 };

struct StoredTypeInfo {
    const char* name;
    StoredType type;
    size_t size;
};

constexpr StoredTypeInfo kStoredTypes[] = {
    {"F32", StoredType::F32, 4}, {"F16", StoredType::F16, 2}, {"BF16", StoredType::BF16, 2},
    {"I32", StoredType::I32, 4}, {"I64", StoredType::I64, 8},
};

// dtypes of the safetensors format that fcnrt does not load; named in errors
// differently from strings that are no dtype at all.
constexpr const char* kUnsupportedTypes[] = {
    "F64",     "I8",      "U8",      "I16", "U16",     "U32",     "U64", "BOOL",
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64",
};

// One tensor's header entry, validated against itself (not yet the file).
struct TensorEntry {
    std::string name;
    StoredTypeInfo type;
    Shape shape;
    uint64_t begin = 0, end = 0;  // byte range within the data section
};

[[noreturn]] void fail_tensor(const std::string& path, const std::string& name,
                              const std::string& reason) {
    throw Error(path, "", "tensor '" + name + "': " + reason);
}

uint64_t read_le_u64(const unsigned char* p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

void append_le_u64(std::string* out, uint64_t value) {
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the id
// means nothing to a user.
std::string without_exception_id(const std::string& message) {
    const size_t close = message.find("] ");
    return message.rfind("[json.exception.", 0) == 0 && close != std::string::npos
               ? message.substr(close + 2)
               : message;
}

// Parses the header, rejecting duplicate keys at any depth: nlohmann keeps
// the last silently, which would let a file carry two different tensors
// under one name.
json parse_header_json(const std::string& path, const char* begin, const char* end) {
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    bool duplicate_is_top_level = false;
    auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        // Copying or printing a value recurses per level; a deep header must not
        // overflow the stack. A valid header is three levels deep.
        if (depth > 64) throw Error(path, "", "header is not valid JSON: nested too deeply");
        if (event == json::parse_event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
        } else if (event == json::parse_event_t::key && duplicate.empty() &&
                   !open_objects.empty()) {
            const std::string& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second) {
                duplicate = key;
                duplicate_is_top_level = open_objects.size() == 1;
            }
        }
        return true;
    };
    // nlohmann stops at a NUL byte as if the input ended there, which would
    // accept "{}\0garbage"; the reference implementation rejects it.
    if (std::memchr(begin, '\0', static_cast<size_t>(end - begin)) != nullptr)
        throw Error(path, "", "header is not valid JSON: it contains a NUL byte");
    json header;
    try {
        header = json::parse(begin, end, on_event);
    } catch (const json::exception& e) {
        throw Error(path, "", "header is not valid JSON: " + without_exception_id(e.what()));
    }
    if (!duplicate.empty())
        throw Error(path, "",
                    (duplicate_is_top_level ? "duplicate tensor name '" : "duplicate key '") +
                        duplicate + "' in header");
    if (!header.is_object()) throw Error(path, "", "header is not a JSON object");
    return header;
}

bool is_nonnegative_integer(const json& value) {
    return value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
}

StoredTypeInfo parse_dtype(const std::string& path, const std::string& name, const json& dtype) {
    if (!dtype.is_string()) fail_tensor(path, name, "\"dtype\" is not a string");
    const std::string& text = dtype.get_ref<const std::string&>();
    for (const StoredTypeInfo& info : kStoredTypes)
        if (text == info.name) return info;
    for (const char* unsupported : kUnsupportedTypes)
        if (text == unsupported)
            fail_tensor(path, name,
                        "unsupported dtype " + text + " (supported: F32, F16, BF16, I32, I64)");
    fail_tensor(path, name, "unknown dtype '" + text + "'");
}

Shape parse_shape(const std::string& path, const std::string& name, const json& shape) {
    if (!shape.is_array()) fail_tensor(path, name, "\"shape\" is not an array");
    Shape dims;
    for (const json& dim : shape) {
        if (!dim.is_number_integer())
            fail_tensor(path, name, "shape has a non-integer dimension " + dim.dump());
        if (!is_nonnegative_integer(dim))
            fail_tensor(path, name, "shape has a negative dimension " + dim.dump());
        const uint64_t value = dim.get<uint64_t>();
        if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail_tensor(path, name, "shape has an absurd dimension " + dim.dump());
        dims.push_back(static_cast<int64_t>(value));
    }
    return dims;
}

void parse_offsets(const std::string& path, const std::string& name, const json& offsets,
                   TensorEntry* entry) {
    if (!offsets.is_array() || offsets.size() != 2 || !is_nonnegative_integer(offsets[0]) ||
        !is_nonnegative_integer(offsets[1]))
        fail_tensor(path, name,
                    "\"data_offsets\" must be [begin, end] with non-negative integers, got " +
                        offsets.dump());
    entry->begin = offsets[0].get<uint64_t>();
    entry->end = offsets[1].get<uint64_t>();
    if (entry->begin > entry->end)
        fail_tensor(path, name, "data_offsets " + offsets.dump() + " have begin > end");
}

const json& required_field(const std::string& path, const std::string& name, const json& entry,
                           const char* field) {
    const auto it = entry.find(field);
    if (it == entry.end()) fail_tensor(path, name, std::string("missing \"") + field + "\"");
    return *it;
}

// Validates one entry on its own: types, shape, and that its byte range has
// exactly the size the shape needs and lies within the data section.
TensorEntry parse_entry(const std::string& path, const std::string& name, const json& value,
                        uint64_t data_bytes) {
    if (!value.is_object()) fail_tensor(path, name, "entry is not a JSON object");
    TensorEntry entry;
    entry.name = name;
    entry.type = parse_dtype(path, name, required_field(path, name, value, "dtype"));
    entry.shape = parse_shape(path, name, required_field(path, name, value, "shape"));
    const json& offsets = required_field(path, name, value, "data_offsets");
    parse_offsets(path, name, offsets, &entry);

    int64_t numel = 0;
    try {
        numel = checked_numel(entry.shape, entry.type.size);
        // The widened tensor must fit too (F16 and BF16 double in size).
        checked_numel(entry.shape, 4);
    } catch (const Error& e) {
        fail_tensor(path, name, e.reason());
    }
    const uint64_t needed = static_cast<uint64_t>(numel) * entry.type.size;
    if (entry.end - entry.begin != needed)
        fail_tensor(path, name,
                    "data_offsets " + offsets.dump() + " span " +
                        std::to_string(entry.end - entry.begin) + " bytes but shape " +
                        shape_to_string(entry.shape) + " of " + entry.type.name + " needs " +
                        std::to_string(needed));
    if (entry.end > data_bytes)
        fail_tensor(path, name,
                    "data_offsets " + offsets.dump() + " are out of bounds of the data section (" +
                        std::to_string(data_bytes) + " bytes)");
    return entry;
}

// The tensors must tile the data section exactly, in offset order, as the
// reference implementation demands: no overlaps, no holes, no trailing bytes.
void check_coverage(const std::string& path, std::vector<const TensorEntry*> entries,
                    uint64_t data_bytes) {
    std::sort(entries.begin(), entries.end(), [](const TensorEntry* a, const TensorEntry* b) {
        return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
    });
    uint64_t covered = 0;  // end of the data tiled so far
    const TensorEntry* previous = nullptr;
    for (const TensorEntry* entry : entries) {
        if (entry->begin < covered)
            throw Error(path, "",
                        "tensors '" + previous->name + "' and '" + entry->name +
                            "' overlap in the data section");
        if (entry->begin > covered)
            throw Error(path, "",
                        "hole in the data section: bytes [" + std::to_string(covered) + ", " +
                            std::to_string(entry->begin) + ") belong to no tensor (before '" +
                            entry->name + "')");
        covered = entry->end;
        previous = entry;
    }
    if (covered != data_bytes)
        throw Error(path, "",
                    "data section has " + std::to_string(data_bytes - covered) +
                        " trailing bytes that belong to no tensor");
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& value) {
    if (!value.is_object()) throw Error(path, "", "__metadata__ is not a JSON object");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
        if (!item.is_string())
            throw Error(path, "", "__metadata__ value for key '" + key + "' is not a string");
        metadata[key] = item.get<std::string>();
    }
    return metadata;
}

template <typename Stored>
Stored load_element(const unsigned char* data, int64_t index) {
    Stored value;
    std::memcpy(&value, data + index * static_cast<int64_t>(sizeof(Stored)), sizeof value);
    return value;
}

// Copies or converts one tensor's bytes (already bounds-checked) into a Tensor.
Tensor decode_tensor(const std::string& path, const TensorEntry& entry, const unsigned char* data) {
    const StoredType type = entry.type.type;
    const bool is_float =
        type == StoredType::F32 || type == StoredType::F16 || type == StoredType::BF16;
    Tensor tensor(is_float ? DType::F32 : DType::I32, entry.shape);
    const int64_t n = tensor.numel();
    switch (type) {
        case StoredType::F32:
        case StoredType::I32:
            if (n > 0) std::memcpy(tensor.data(), data, tensor.bytes());
            break;
        case StoredType::F16:
            for (int64_t i = 0; i < n; ++i)
                tensor.f32()[i] = half_to_float(load_element<uint16_t>(data, i));
            break;
        case StoredType::BF16:
            for (int64_t i = 0; i < n; ++i)
                tensor.f32()[i] = bfloat16_to_float(load_element<uint16_t>(data, i));
            break;
        case StoredType::I64:
            for (int64_t i = 0; i < n; ++i) {
                const int64_t value = load_element<int64_t>(data, i);
                if (value < std::numeric_limits<int32_t>::min() ||
                    value > std::numeric_limits<int32_t>::max())
                    fail_tensor(path, entry.name,
                                "I64 value " + std::to_string(value) + " at index " +
                                    std::to_string(i) + " does not fit in int32");
                tensor.i32()[i] = static_cast<int32_t>(value);
            }
            break;
    }
    return tensor;
}

std::string stored_name(DType dtype) {
    return dtype == DType::I32 ? "I32" : "F32";
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
    const std::string bytes = read_file_bytes(path);
    if (bytes.size() < 8)
        throw Error(path, "",
                    "file is too short (" + std::to_string(bytes.size()) +
                        " bytes) to hold the 8-byte safetensors header length");
    const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
    const uint64_t header_bytes = read_le_u64(raw);
    if (header_bytes > kMaxHeaderBytes)
        throw Error(path, "",
                    "header length " + std::to_string(header_bytes) + " is absurd (limit " +
                        std::to_string(kMaxHeaderBytes) + "); not a safetensors file?");
    if (header_bytes > bytes.size() - 8)
        throw Error(path, "",
                    "header length " + std::to_string(header_bytes) +
                        " runs past the end of the file (" + std::to_string(bytes.size()) +
                        " bytes)");

    const char* header_begin = bytes.data() + 8;
    const json header = parse_header_json(path, header_begin, header_begin + header_bytes);
    const uint64_t data_bytes = bytes.size() - 8 - header_bytes;

    SafetensorsFile file;
    std::vector<TensorEntry> entries;
    for (const auto& [name, value] : header.items()) {
        if (name == kMetadataKey)
            file.metadata = parse_metadata(path, value);
        else
            entries.push_back(parse_entry(path, name, value, data_bytes));
    }
    std::vector<const TensorEntry*> by_offset;
    for (const TensorEntry& entry : entries) by_offset.push_back(&entry);
    check_coverage(path, by_offset, data_bytes);

    const unsigned char* data = raw + 8 + header_bytes;
    for (const TensorEntry& entry : entries)
        file.tensors.emplace(entry.name, decode_tensor(path, entry, data + entry.begin));
    return file;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    // ordered_json keeps insertion order: metadata first, then tensors by name,
    // matching the order of their data.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [key, value] : metadata) meta[key] = value;
        header[kMetadataKey] = meta;
    }
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == kMetadataKey) throw Error(path, "", "a tensor cannot be named __metadata__");
        // A default-constructed Tensor has shape [] (one element) but no
        // storage; writing it would produce a file that cannot be read back.
        if (tensor.numel() != checked_numel(tensor.shape(), dtype_size(tensor.dtype())))
            throw Error(path, "", "tensor '" + name + "' has no storage (default-constructed)");
        nlohmann::ordered_json entry = nlohmann::ordered_json::object();
        entry["dtype"] = stored_name(tensor.dtype());
        entry["shape"] = tensor.shape();
        entry["data_offsets"] = {offset, offset + tensor.bytes()};
        header[name] = entry;
        offset += tensor.bytes();
    }

    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::ordered_json::exception& e) {
        throw Error(path, "", "cannot write header: " + without_exception_id(e.what()));
    }
    // Pad with spaces so the data section starts 8-byte aligned.
    text.append((8 - text.size() % 8) % 8, ' ');

    std::string out;
    out.reserve(8 + text.size() + offset);
    append_le_u64(&out, text.size());
    out += text;
    for (const auto& [name, tensor] : tensors)
        if (tensor.bytes() > 0) out.append(static_cast<const char*>(tensor.data()), tensor.bytes());
    write_file_atomically(path, out.data(), out.size());
}

}  // namespace fcnrt
