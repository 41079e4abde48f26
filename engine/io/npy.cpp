#include "engine/io/npy.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/file_util.h"

// Element data is copied byte for byte between the file and host memory.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fcnrt's .npy reader assumes a little-endian host"
#endif

namespace fcnrt {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kHeaderAlign = 64;   // NumPy aligns the data to 64 bytes
constexpr int kMaxLiteralDepth = 16;  // a real header nests two deep

// ---- the header: a Python dict literal ----

// A Python literal as it may appear in a .npy header.
struct PyValue {
    enum class Kind { String, Bool, None, Integer, Real, Tuple, List };
    Kind kind = Kind::None;
    std::string text;      // String: the contents; Integer/Real: the source text
    bool boolean = false;  // Bool
    int64_t integer = 0;   // Integer, when it fits
    bool integer_fits = true;
    std::vector<PyValue> items;  // Tuple, List
};

// A small recursive-descent parser for exactly the literals NumPy writes
// (and the variants Python's literal syntax allows: either quote, any
// spacing, trailing commas, Python 2's `3L`), so that any key order reads.
class HeaderParser {
public:
    HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

    std::vector<std::pair<std::string, PyValue>> parse_dict() {
        skip_space();
        expect('{');
        std::vector<std::pair<std::string, PyValue>> entries;
        for (;;) {
            skip_space();
            if (peek() == '}') break;
            PyValue key = parse_value(1);
            if (key.kind != PyValue::Kind::String) fail("dict key is not a string");
            skip_space();
            expect(':');
            entries.emplace_back(key.text, parse_value(1));
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != '}') fail("expected ',' or '}'");
        }
        ++pos_;
        skip_space();
        if (pos_ != text_.size()) fail("unexpected text after the dict");
        return entries;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(path_, "",
                    "malformed header: " + what + " at header offset " + std::to_string(pos_));
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
    // Characters of any Python number literal (ints, floats, hex, complex), so
    // that a non-integer reads as one token and gets a precise error.
    static bool is_number_char(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
               c == '+' || c == '-' || c == '.' || c == 'x' || c == 'X' || c == '_' || c == 'j' ||
               c == 'J';
    }
    void skip_space() {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }
    bool starts_with(const char* word) const {
        return text_.compare(pos_, std::strlen(word), word) == 0;
    }

    PyValue parse_value(int depth) {
        if (depth > kMaxLiteralDepth) fail("literal nested too deeply");
        skip_space();
        const char c = peek();
        if (c == '\'' || c == '"') return parse_string();
        if (c == '(') return parse_sequence(')', PyValue::Kind::Tuple, depth);
        if (c == '[') return parse_sequence(']', PyValue::Kind::List, depth);
        if (c == '-' || c == '+' || (c >= '0' && c <= '9') || c == '.') return parse_number();
        PyValue value;
        if (starts_with("True") || starts_with("False")) {
            value.kind = PyValue::Kind::Bool;
            value.boolean = c == 'T';
            pos_ += value.boolean ? 4 : 5;
        } else if (starts_with("None")) {
            pos_ += 4;
        } else {
            fail("unexpected character in literal");
        }
        return value;
    }

    PyValue parse_string() {
        const char quote = text_[pos_++];
        PyValue value;
        value.kind = PyValue::Kind::String;
        for (;;) {
            if (pos_ >= text_.size()) fail("unterminated string");
            char c = text_[pos_++];
            if (c == quote) break;
            if (c == '\\') {
                if (pos_ >= text_.size()) fail("unterminated string");
                c = text_[pos_++];
            }
            value.text += c;
        }
        return value;
    }

    PyValue parse_sequence(char close, PyValue::Kind kind, int depth) {
        ++pos_;
        PyValue value;
        value.kind = kind;
        for (;;) {
            skip_space();
            if (peek() == close) break;
            value.items.push_back(parse_value(depth + 1));
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != close) fail(std::string("expected ',' or '") + close + "'");
        }
        ++pos_;
        return value;
    }

    PyValue parse_number() {
        const size_t begin = pos_;
        while (pos_ < text_.size() && is_number_char(text_[pos_])) ++pos_;
        PyValue value;
        value.text = text_.substr(begin, pos_ - begin);
        if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long suffix
        const std::string& s = value.text;
        const size_t digits_begin = (s[0] == '-' || s[0] == '+') ? 1 : 0;
        const bool all_digits =
            s.size() > digits_begin &&
            s.find_first_not_of("0123456789", digits_begin) == std::string::npos;
        value.kind = all_digits ? PyValue::Kind::Integer : PyValue::Kind::Real;
        if (all_digits) parse_integer_value(s, digits_begin, &value);
        return value;
    }

    static void parse_integer_value(const std::string& s, size_t digits_begin, PyValue* value) {
        const bool negative = s[0] == '-';
        uint64_t magnitude = 0;
        for (size_t i = digits_begin; i < s.size(); ++i) {
            const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
            if (magnitude > (uint64_t(std::numeric_limits<int64_t>::max()) - digit) / 10) {
                value->integer_fits = false;
                break;
            }
            magnitude = magnitude * 10 + digit;
        }
        value->integer =
            negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    }

    const std::string& path_;
    const std::string& text_;
    size_t pos_ = 0;
};

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

Shape parse_shape(const std::string& path, const PyValue& value) {
    if (value.kind != PyValue::Kind::Tuple)
        throw Error(path, "", "malformed header: 'shape' is not a tuple");
    Shape shape;
    for (const PyValue& dim : value.items) {
        if (dim.kind != PyValue::Kind::Integer)
            throw Error(path, "",
                        "malformed header: non-integer dimension " +
                            (dim.text.empty() ? std::string("in shape") : dim.text));
        if (dim.integer_fits && dim.integer < 0)
            throw Error(path, "", "negative dimension " + dim.text + " in shape");
        if (!dim.integer_fits) throw Error(path, "", "dimension " + dim.text + " is too large");
        shape.push_back(dim.integer);
    }
    return shape;
}

NpyHeader parse_header(const std::string& path, const std::string& text) {
    NpyHeader header;
    bool seen[3] = {false, false, false};
    for (const auto& [key, value] : HeaderParser(path, text).parse_dict()) {
        if (key == "descr" && !seen[0]) {
            seen[0] = true;
            if (value.kind == PyValue::Kind::List)
                throw Error(path, "", "structured (record) dtypes are not supported");
            if (value.kind != PyValue::Kind::String)
                throw Error(path, "", "malformed header: 'descr' is not a string");
            header.descr = value.text;
        } else if (key == "fortran_order" && !seen[1]) {
            seen[1] = true;
            if (value.kind != PyValue::Kind::Bool)
                throw Error(path, "", "malformed header: 'fortran_order' is not True or False");
            header.fortran_order = value.boolean;
        } else if (key == "shape" && !seen[2]) {
            seen[2] = true;
            header.shape = parse_shape(path, value);
        } else {
            const bool known = key == "descr" || key == "fortran_order" || key == "shape";
            throw Error(path, "",
                        "malformed header: " + std::string(known ? "duplicate" : "unexpected") +
                            " key '" + key + "'");
        }
    }
    const char* names[3] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; ++i)
        if (!seen[i])
            throw Error(path, "", std::string("malformed header: missing key '") + names[i] + "'");
    return header;
}

// ---- element types ----

// A numeric element type as stored in the file.
struct ElementType {
    char kind;         // 'f', 'i', 'u' or 'b' as in NumPy's dtype.kind
    size_t size;       // bytes per element
    const char* name;  // NumPy's name, for notes and errors
};

constexpr ElementType kElementTypes[] = {
    {'f', 2, "float16"}, {'f', 4, "float32"}, {'f', 8, "float64"}, {'i', 1, "int8"},
    {'i', 2, "int16"},   {'i', 4, "int32"},   {'i', 8, "int64"},   {'u', 1, "uint8"},
    {'u', 2, "uint16"},  {'u', 4, "uint32"},  {'u', 8, "uint64"},  {'b', 1, "bool"},
};

// Refusals for dtype kinds that are not numbers, each saying what it is.
void refuse_non_numeric(const std::string& path, const std::string& descr, char kind) {
    const char* what = nullptr;
    switch (kind) {
        case 'c': what = "complex dtype"; break;
        case 'O': what = "object dtype (a pickled array)"; break;
        case 'U':
        case 'S':
        case 'a': what = "string dtype"; break;
        case 'V': what = "void/structured dtype"; break;
        case 'M':
        case 'm': what = "datetime dtype"; break;
        default: return;
    }
    throw Error(path, "", std::string(what) + " '" + descr + "' is not supported");
}

ElementType parse_descr(const std::string& path, const std::string& descr) {
    // '=' and '|' mean native order, which is little-endian on every host we run on.
    const bool has_order = !descr.empty() && (descr[0] == '<' || descr[0] == '>' ||
                                              descr[0] == '|' || descr[0] == '=');
    const char order = has_order ? descr[0] : '=';
    const std::string code = descr.substr(has_order ? 1 : 0);
    if (code.empty()) throw Error(path, "", "malformed header: empty dtype '" + descr + "'");
    refuse_non_numeric(path, descr, code[0]);

    const std::string digits = code.substr(1);
    const bool size_ok = !digits.empty() && digits.size() <= 2 &&
                         digits.find_first_not_of("0123456789") == std::string::npos;
    for (const ElementType& type : kElementTypes) {
        if (!size_ok || type.kind != code[0] || type.size != std::stoul(digits)) continue;
        if (order == '>' && type.size > 1)
            throw Error(path, "",
                        "big-endian dtype '" + descr +
                            "' is not supported; convert with arr.astype('<" + code + "')");
        return type;
    }
    throw Error(path, "", "unsupported dtype '" + descr + "'");
}

// ---- conversion of the data ----

template <typename Stored>
Stored load_element(const unsigned char* data, int64_t index) {
    Stored value;
    std::memcpy(&value, data + index * static_cast<int64_t>(sizeof(Stored)), sizeof value);
    return value;
}

// float64 to float32 with IEEE round-to-nearest, including the overflow to
// infinity that a plain cast leaves undefined in C++.
float narrow_double(double value, int64_t* overflowed) {
    if (!std::isfinite(value) || std::fabs(value) <= FLT_MAX) return static_cast<float>(value);
    // Below FLT_MAX plus half an ulp (2^128 - 2^103) the value rounds to FLT_MAX.
    const double rounds_to_infinity = 0x1.ffffffp127;
    if (std::fabs(value) < rounds_to_infinity) return value > 0 ? FLT_MAX : -FLT_MAX;
    ++*overflowed;
    return value > 0 ? std::numeric_limits<float>::infinity()
                     : -std::numeric_limits<float>::infinity();
}

std::string convert_floats(const ElementType& type, const unsigned char* data, Tensor* out) {
    const int64_t n = out->numel();
    float* dst = out->f32();
    if (type.size == 4) {
        if (n > 0) std::memcpy(dst, data, out->bytes());
        return "";
    }
    if (type.size == 2) {
        for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(load_element<uint16_t>(data, i));
        return "converted float16 to float32";
    }
    int64_t overflowed = 0;
    for (int64_t i = 0; i < n; ++i)
        dst[i] = narrow_double(load_element<double>(data, i), &overflowed);
    std::string note = "converted float64 to float32";
    if (overflowed > 0)
        note += " (" + std::to_string(overflowed) + (overflowed == 1 ? " value" : " values") +
                " beyond float32 range became inf)";
    return note;
}

template <typename Stored>
void widen_integers(const std::string& path, const ElementType& type, const unsigned char* data,
                    Tensor* out) {
    const int64_t n = out->numel();
    int32_t* dst = out->i32();
    for (int64_t i = 0; i < n; ++i) {
        const Stored value = load_element<Stored>(data, i);
        bool fits = true;
        if constexpr (std::is_signed_v<Stored> && sizeof(Stored) > 4)
            fits = value >= std::numeric_limits<int32_t>::min() &&
                   value <= std::numeric_limits<int32_t>::max();
        else if constexpr (!std::is_signed_v<Stored> && sizeof(Stored) >= 4)
            fits = value <= static_cast<Stored>(std::numeric_limits<int32_t>::max());
        if (!fits)
            throw Error(path, "",
                        std::string(type.name) + " value " + std::to_string(value) + " at index " +
                            std::to_string(i) + " does not fit in int32");
        dst[i] = static_cast<int32_t>(value);
    }
}

std::string convert_integers(const std::string& path, const ElementType& type,
                             const unsigned char* data, Tensor* out) {
    const int64_t n = out->numel();
    if (type.kind == 'b') {
        // NumPy bools are one byte 0 or 1; any non-zero byte reads as true.
        for (int64_t i = 0; i < n; ++i) out->i32()[i] = data[i] != 0 ? 1 : 0;
        return "converted bool to int32";
    }
    if (type.kind == 'i' && type.size == 4) {
        if (n > 0) std::memcpy(out->data(), data, out->bytes());
        return "";
    }
    const bool is_signed = type.kind == 'i';
    switch (type.size) {
        case 1:
            is_signed ? widen_integers<int8_t>(path, type, data, out)
                      : widen_integers<uint8_t>(path, type, data, out);
            break;
        case 2:
            is_signed ? widen_integers<int16_t>(path, type, data, out)
                      : widen_integers<uint16_t>(path, type, data, out);
            break;
        case 4: widen_integers<uint32_t>(path, type, data, out); break;
        default:
            is_signed ? widen_integers<int64_t>(path, type, data, out)
                      : widen_integers<uint64_t>(path, type, data, out);
            break;
    }
    return std::string("converted ") + type.name + " to int32";
}

// ---- the file's fixed prefix ----

struct Preamble {
    size_t header_begin = 0;
    size_t header_bytes = 0;
};

uint32_t read_le(const unsigned char* p, int bytes) {
    uint32_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

Preamble parse_preamble(const std::string& path, const std::string& bytes) {
    if (bytes.size() < kMagicBytes || bytes.compare(0, kMagicBytes, kMagic) != 0)
        throw Error(path, "", "not a .npy file (bad magic; expected \\x93NUMPY)");
    if (bytes.size() < kMagicBytes + 2)
        throw Error(path, "", "truncated header: file ends inside the format version");
    const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
    const int major = raw[6], minor = raw[7];
    if (minor != 0 || major < 1 || major > 3)
        throw Error(path, "",
                    "unsupported .npy format version " + std::to_string(major) + "." +
                        std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
    // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4.
    const int length_bytes = major == 1 ? 2 : 4;
    Preamble pre;
    pre.header_begin = kMagicBytes + 2 + length_bytes;
    if (bytes.size() < pre.header_begin)
        throw Error(path, "", "truncated header: file ends inside the header length");
    pre.header_bytes = read_le(raw + 8, length_bytes);
    if (pre.header_bytes > bytes.size() - pre.header_begin)
        throw Error(path, "",
                    "truncated header: header length " + std::to_string(pre.header_bytes) +
                        " runs past the end of the file (" + std::to_string(bytes.size()) +
                        " bytes)");
    return pre;
}

// A default-constructed Tensor has shape [] (one element) but no storage;
// writing it would produce a file that cannot be read back.
bool holds_its_shape(const Tensor& tensor) {
    return tensor.numel() == checked_numel(tensor.shape(), dtype_size(tensor.dtype()));
}

std::string shape_literal(const Shape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");  // (5,) is a tuple, (5) is not
}

}  // namespace

Tensor read_npy(const std::string& path, std::string* conversion_note) {
    const std::string bytes = read_file_bytes(path);
    const Preamble pre = parse_preamble(path, bytes);
    const NpyHeader header = parse_header(path, bytes.substr(pre.header_begin, pre.header_bytes));
    const ElementType type = parse_descr(path, header.descr);
    if (header.fortran_order)
        throw Error(path, "", "Fortran order is not supported; save with np.ascontiguousarray");

    uint64_t expected = 0;
    try {
        // Both the stored and the converted sizes must be sane.
        expected = static_cast<uint64_t>(checked_numel(header.shape, type.size)) * type.size;
        checked_numel(header.shape, 4);
    } catch (const Error& e) {
        throw Error(path, "", e.reason());
    }
    const uint64_t found = bytes.size() - pre.header_begin - pre.header_bytes;
    if (found < expected)
        throw Error(path, "",
                    "truncated: expected " + std::to_string(expected) + " bytes of data, found " +
                        std::to_string(found));
    if (found > expected)
        throw Error(path, "",
                    "trailing data: expected " + std::to_string(expected) +
                        " bytes of data, found " + std::to_string(found) + " (" +
                        std::to_string(found - expected) + " extra)");

    const auto* data =
        reinterpret_cast<const unsigned char*>(bytes.data()) + pre.header_begin + pre.header_bytes;
    Tensor tensor(type.kind == 'f' ? DType::F32 : DType::I32, header.shape);
    const std::string note = type.kind == 'f' ? convert_floats(type, data, &tensor)
                                              : convert_integers(path, type, data, &tensor);
    if (conversion_note) *conversion_note = note;
    return tensor;
}

void write_npy(const std::string& path, const Tensor& tensor) {
    if (!holds_its_shape(tensor))
        throw Error(path, "", "cannot write a tensor without storage (default-constructed)");
    const char* descr = tensor.dtype() == DType::I32 ? "<i4" : "<f4";
    std::string header = std::string("{'descr': '") + descr +
                         "', 'fortran_order': False, 'shape': " + shape_literal(tensor.shape()) +
                         ", }";
    // Pad with spaces so that magic, version, length, header and '\n' end on a
    // 64-byte boundary, where the data then starts.
    const size_t prefix = kMagicBytes + 2 + 2;
    header.append((kHeaderAlign - (prefix + header.size() + 1) % kHeaderAlign) % kHeaderAlign, ' ');
    header += '\n';
    if (header.size() > 0xffff)
        throw Error(path, "",
                    "shape of rank " + std::to_string(tensor.shape().size()) +
                        " is too long for a version 1.0 .npy header");

    std::string out(kMagic, kMagicBytes);
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    if (tensor.bytes() > 0) out.append(static_cast<const char*>(tensor.data()), tensor.bytes());
    write_file_atomically(path, out.data(), out.size());
}

}  // namespace fcnrt
