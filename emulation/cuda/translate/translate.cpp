// cuda_emu_translate IN.cu OUT.cpp: rewrites the three pieces of CUDA syntax that
// are not C++ into calls to the CUDA emulation (emulation/cuda/README.md), leaving
// every other character, and every line break, where it was:
//
//   kernel<<<grid, block[, shmem[, stream]]>>>(args)
//     -> ::cuda_emu::launch("kernel", kernel, grid, block[, shmem[, stream]])(args)
//   __shared__ [__align__(N)] T name[D1]...;
//     -> static char site; auto& name = ::cuda_emu::static_shared<T[D1]...>(&site, N, "name");
//   extern __shared__ [__align__(N)] T name[];
//     -> auto& name = ::cuda_emu::dynamic_shared<T[]>(N);
//
// Comments, string and character literals are skipped. The output starts with
// `#include <cuda_runtime.h>` (nvcc includes it implicitly) and a #line directive,
// so diagnostics name the .cu file and its lines. Anything it cannot rewrite safely
// (several declarators, an initialiser) is an error naming the line.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string src;
std::string path;

[[noreturn]] void die(size_t pos, const std::string& what) {
    size_t line = 1;
    for (size_t i = 0; i < pos && i < src.size(); ++i) line += src[i] == '\n';
    std::cerr << path << ":" << line << ": error: cuda_emu_translate: " << what << "\n";
    std::exit(1);
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Marks every character that is code (not in a comment or literal).
std::vector<bool> code_mask() {
    std::vector<bool> code(src.size(), true);
    size_t i = 0;
    while (i < src.size()) {
        const char c = src[i];
        if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
            while (i < src.size() && src[i] != '\n') code[i++] = false;
        } else if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
            const size_t end = src.find("*/", i + 2);
            const size_t stop = end == std::string::npos ? src.size() : end + 2;
            while (i < stop) code[i++] = false;
        } else if (c == 'R' && i + 1 < src.size() && src[i + 1] == '"' &&
                   (i == 0 || !ident_char(src[i - 1]))) {
            const size_t open = src.find('(', i + 2);
            if (open == std::string::npos) die(i, "unterminated raw string");
            const std::string close = ")" + src.substr(i + 2, open - i - 2) + "\"";
            const size_t end = src.find(close, open);
            const size_t stop = end == std::string::npos ? src.size() : end + close.size();
            while (i < stop) code[i++] = false;
        } else if (c == '"' || (c == '\'' && !(i > 0 && std::isxdigit(static_cast<unsigned char>(src[i - 1])) &&
                                                i + 1 < src.size() && std::isxdigit(static_cast<unsigned char>(src[i + 1]))))) {
            code[i++] = false;
            while (i < src.size() && src[i] != c) {
                if (src[i] == '\\') code[i++] = false;
                if (i < src.size()) code[i++] = false;
            }
            if (i < src.size()) code[i++] = false;
        } else {
            ++i;
        }
    }
    return code;
}

std::string trim(const std::string& s) {
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return s.substr(a, b - a);
}

size_t count_newlines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// Rewrites one __shared__ declaration, the text from after `__shared__` to `;`.
std::string rewrite_shared(size_t pos, std::string decl, bool is_extern, int serial) {
    const size_t newlines = count_newlines(decl);
    std::string align = "0";
    for (const char* attr : {"__align__", "alignas"}) {
        const size_t at = decl.find(attr);
        if (at == std::string::npos) continue;
        const size_t open = decl.find('(', at);
        const size_t close = decl.find(')', open);
        if (open == std::string::npos || close == std::string::npos) die(pos, "malformed alignment");
        align = trim(decl.substr(open + 1, close - open - 1));
        decl.erase(at, close + 1 - at);
    }
    decl = trim(decl);
    int depth = 0;
    size_t dims = std::string::npos;
    for (size_t i = 0; i < decl.size(); ++i) {
        const char c = decl[i];
        if (c == '(' || c == '<' || c == '{') ++depth;
        if (c == ')' || c == '>' || c == '}') --depth;
        if (depth == 0 && (c == ',' )) die(pos, "one declarator per __shared__ declaration, please");
        if (depth == 0 && c == '=') die(pos, "__shared__ variables cannot have an initializer");
        if (depth == 0 && c == '[' && dims == std::string::npos) dims = i;
    }
    const std::string head = trim(decl.substr(0, dims));
    const std::string dim_text = dims == std::string::npos ? "" : decl.substr(dims);
    size_t name_end = head.size();
    size_t name_begin = name_end;
    while (name_begin > 0 && ident_char(head[name_begin - 1])) --name_begin;
    if (name_begin == name_end) die(pos, "cannot find the name in this __shared__ declaration");
    const std::string name = head.substr(name_begin);
    const std::string type = trim(head.substr(0, name_begin));
    if (type.empty()) die(pos, "cannot find the type in this __shared__ declaration");
    std::string out;
    if (is_extern) {
        out = "auto& " + name + " = ::cuda_emu::dynamic_shared<" + type + dim_text + ">(" + align + ");";
    } else {
        const std::string site = "cuda_emu_shared_site_" + std::to_string(serial);
        out = "static char " + site + "; auto& " + name + " = ::cuda_emu::static_shared<" + type +
              dim_text + ">(&" + site + ", " + align + ", \"" + name + "\");";
    }
    return out + std::string(newlines, '\n');
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: cuda_emu_translate IN.cu OUT.cpp\n";
        return 2;
    }
    path = argv[1];
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            std::cerr << "cuda_emu_translate: cannot read " << path << "\n";
            return 1;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        src = ss.str();
    }
    const std::vector<bool> code = code_mask();
    std::string out;
    out.reserve(src.size() + 1024);
    int serial = 0;
    size_t i = 0;
    auto is_code_at = [&](size_t at, const char* word) {
        const size_t n = std::char_traits<char>::length(word);
        if (src.compare(at, n, word) != 0) return false;
        for (size_t k = at; k < at + n; ++k)
            if (!code[k]) return false;
        return true;
    };
    while (i < src.size()) {
        if (code[i] && is_code_at(i, "__shared__") && (i == 0 || !ident_char(src[i - 1])) &&
            !ident_char(src[i + 10])) {
            // `extern` right before it (possibly with attributes between) makes it dynamic.
            bool is_extern = false;
            size_t k = out.size();
            while (k > 0 && std::isspace(static_cast<unsigned char>(out[k - 1]))) --k;
            if (k >= 6 && out.compare(k - 6, 6, "extern") == 0 && (k == 6 || !ident_char(out[k - 7]))) {
                is_extern = true;
                out.erase(k - 6, 6);
            }
            const size_t semi = src.find(';', i);
            if (semi == std::string::npos) die(i, "__shared__ declaration without ';'");
            out += rewrite_shared(i, src.substr(i + 10, semi - i - 10), is_extern, ++serial);
            i = semi + 1;
            continue;
        }
        if (code[i] && is_code_at(i, "<<<")) {
            // The callee: an id-expression, maybe with template arguments, before <<<.
            size_t end = out.size();
            while (end > 0 && std::isspace(static_cast<unsigned char>(out[end - 1]))) --end;
            size_t begin = end;
            if (begin > 0 && out[begin - 1] == '>') {
                int depth = 0;
                while (begin > 0) {
                    const char c = out[--begin];
                    if (c == '>') ++depth;
                    if (c == '<' && --depth == 0) break;
                }
            }
            while (begin > 0 && (ident_char(out[begin - 1]) || out[begin - 1] == ':')) --begin;
            const std::string callee = trim(out.substr(begin, end - begin));
            if (callee.empty()) die(i, "cannot find the kernel before <<<");
            // The configuration: up to >>> at bracket depth 0.
            size_t j = i + 3;
            int depth = 0;
            while (j < src.size()) {
                if (code[j]) {
                    const char c = src[j];
                    if (c == '(' || c == '[' || c == '{') ++depth;
                    if (c == ')' || c == ']' || c == '}') --depth;
                    if (depth == 0 && src.compare(j, 3, ">>>") == 0) break;
                }
                ++j;
            }
            if (j >= src.size()) die(i, "<<< without >>>");
            const std::string config = src.substr(i + 3, j - i - 3);
            std::string name = callee;
            for (char& c : name)
                if (c == '"' || c == '\\') c = '_';
            out.erase(begin);
            out += "::cuda_emu::launch(\"" + name + "\", " + callee + ", " + config + ")";
            i = j + 3;
            continue;
        }
        out += src[i++];
    }
    std::ofstream o(argv[2], std::ios::binary);
    o << "#include <cuda_runtime.h>\n#line 1 \"" << path << "\"\n" << out;
    if (!o) {
        std::cerr << "cuda_emu_translate: cannot write " << argv[2] << "\n";
        return 1;
    }
    return 0;
}
