#include "fusedrnn/core/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <type_traits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/core/detail/temp_file.h"
#include "fusedrnn/core/error.h"

// The file format is little-endian and tensors are stored as raw host bytes.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace fusedrnn {

namespace {

// The reference implementation's limit: a larger header is treated as hostile rather than allocated.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// The header follows its 8-byte length: byte offsets in messages count from the start of the file, as a hex dump does.
constexpr uint64_t kHeaderStart = 8;

template <class T> constexpr const char* dtype_of();
template <> constexpr const char* dtype_of<float>() { return "F32"; }
template <> constexpr const char* dtype_of<double>() { return "F64"; }
template <> constexpr const char* dtype_of<int32_t>() { return "I32"; }
template <> constexpr const char* dtype_of<int64_t>() { return "I64"; }

bool is_float_dtype(const std::string& d) { return d == "F32" || d == "F64"; }

std::string where(const std::string& source) { return source.empty() ? "" : " in '" + source + "'"; }

template <class Src, class Dst>
void convert_into(const SafetensorsTensor& t, Dst* dst, const std::string& source) {
    const size_t n = t.bytes.size() / sizeof(Src);
    for (size_t i = 0; i < n; ++i) {
        Src v;
        std::memcpy(&v, t.bytes.data() + i * sizeof(Src), sizeof(Src));
        if constexpr (std::is_integral_v<Dst> && sizeof(Dst) < sizeof(Src)) {
            FR_CHECK(v >= std::numeric_limits<Dst>::min() && v <= std::numeric_limits<Dst>::max(),
                     "tensor '{}'{}: value {} at index {} does not fit in {}", t.name, where(source), v, i,
                     dtype_of<Dst>());
        }
        dst[i] = static_cast<Dst>(v);
    }
}

// Copies t's values into dst (shape_numel(t.shape) elements), converting within the float or int family.
template <class Dst>
void values_into(const SafetensorsTensor& t, Dst* dst, const std::string& source) {
    constexpr bool want_float = std::is_floating_point_v<Dst>;
    FR_CHECK(is_float_dtype(t.dtype) == want_float, "tensor '{}'{} has dtype {}, which cannot be read as {}",
             t.name, where(source), t.dtype, dtype_of<Dst>());
    if (t.dtype == "F32") convert_into<float>(t, dst, source);
    else if (t.dtype == "F64") convert_into<double>(t, dst, source);
    else if (t.dtype == "I32") convert_into<int32_t>(t, dst, source);
    else convert_into<int64_t>(t, dst, source);
}

// ---- POSIX helpers: the errno text is what makes an I/O error actionable -------------------------

std::string errno_text(int err) { return std::strerror(err); }

// Writes all n bytes (write() may be partial or interrupted). Returns 0 or an errno value.
int write_all(int fd, const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return 0;
}

// Reads exactly n bytes at `offset`. Returns 0, an errno value, or -1 at an unexpected end of file.
int read_all(int fd, void* data, size_t n, uint64_t offset) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return -1;
        p += r;
        n -= static_cast<size_t>(r);
        offset += static_cast<uint64_t>(r);
    }
    return 0;
}

// Owns a file descriptor; closes it on every exit path, including exceptions.
struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() { if (fd >= 0) ::close(fd); }
};

// ---- header JSON -------------------------------------------------------------------------------

// nlohmann keeps the last of duplicate keys silently; a checkpoint with two tensors of the same name
// is corrupt or hostile, so the parse callback records the first duplicate at any depth.
nlohmann::json parse_header(const std::string& text, const std::string& path) {
    std::vector<std::set<std::string>> keys;  // one set per open object
    std::string duplicate;
    auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (ev == E::object_start) keys.emplace_back();
        else if (ev == E::object_end && !keys.empty()) keys.pop_back();
        else if (ev == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second &&
                 duplicate.empty())
            duplicate = parsed.get<std::string>();
        return true;
    };
    // nlohmann takes a NUL byte for the end of its input and ignores what follows: a header whose padding (or more)
    // was damaged into NULs would read as valid.
    if (const size_t nul = text.find('\0'); nul != std::string::npos)
        FR_FAIL("safetensors file '{}': the file is damaged: its header holds a NUL byte at byte {} (near '{}')", path,
                kHeaderStart + nul, detail::excerpt_around(text, nul));
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text, cb);
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("safetensors file '{}': the file is damaged: its header is not valid JSON {}", path,
                detail::json_parse_problem(e, text, kHeaderStart));
    }
    FR_CHECK(duplicate.empty(), "safetensors file '{}': duplicate key '{}' in the header", path, duplicate);
    FR_CHECK(header.is_object(), "safetensors file '{}': the header is a JSON {}, not an object", path,
             header.type_name());
    return header;
}

struct Entry {
    std::string name, dtype;
    Shape shape;
    uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& name, const nlohmann::json& v, const std::string& path) {
    FR_CHECK(v.is_object(), "safetensors file '{}': entry '{}' is a JSON {}, not an object", path, name,
             v.type_name());
    // Unknown extra keys are ignored, as the reference reader does, so newer writers stay readable.
    for (const char* key : {"dtype", "shape", "data_offsets"})
        FR_CHECK(v.contains(key), "safetensors file '{}': entry '{}' has no \"{}\"", path, name, key);
    Entry e;
    e.name = name;
    FR_CHECK(v.at("dtype").is_string(), "safetensors file '{}': entry '{}': dtype is not a string", path, name);
    e.dtype = v.at("dtype").get<std::string>();
    const size_t esize = safetensors_dtype_size(e.dtype);
    FR_CHECK(esize != 0, "safetensors file '{}': entry '{}': unsupported dtype '{}' (fusedrnn reads F32, F64, "
             "I32, I64)", path, name, e.dtype);

    const auto& shape = v.at("shape");
    FR_CHECK(shape.is_array(), "safetensors file '{}': entry '{}': shape is not an array", path, name);
    uint64_t numel = 1;
    bool overflow = false, has_zero = false;
    for (const auto& d : shape) {
        FR_CHECK(d.is_number_integer(), "safetensors file '{}': entry '{}': shape {} has a non-integer dimension",
                 path, name, shape.dump());
        // nlohmann parses non-negative integers as unsigned and negative ones as signed.
        FR_CHECK(d.is_number_unsigned(),
                 "safetensors file '{}': entry '{}': shape {} has a negative dimension", path, name, shape.dump());
        const uint64_t du = d.get<uint64_t>();
        FR_CHECK(du <= static_cast<uint64_t>(std::numeric_limits<long>::max()),
                 "safetensors file '{}': entry '{}': dimension {} is too large", path, name, du);
        if (du == 0) has_zero = true;
        else if (numel > std::numeric_limits<uint64_t>::max() / esize / du) overflow = true;
        numel *= du;
        e.shape.push_back(static_cast<long>(du));
    }
    // A zero dimension makes any overflow of the other factors irrelevant.
    if (has_zero) {
        overflow = false;
        numel = 0;
    }

    const auto& off = v.at("data_offsets");
    FR_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
             "safetensors file '{}': entry '{}': data_offsets must be two non-negative integers, got {}", path,
             name, off.dump());
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    FR_CHECK(e.begin <= e.end, "safetensors file '{}': entry '{}': data_offsets [{}, {}] end before they begin",
             path, name, e.begin, e.end);
    FR_CHECK(!overflow && e.end - e.begin == numel * esize,
             "safetensors file '{}': entry '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}",
             path, name, shape_str(e.shape), e.dtype, overflow ? std::string("too many") : std::to_string(numel * esize),
             e.begin, e.end, e.end - e.begin);
    return e;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& v, const std::string& path) {
    FR_CHECK(v.is_object(), "safetensors file '{}': __metadata__ is a JSON {}, not an object", path, v.type_name());
    std::map<std::string, std::string> out;
    for (const auto& [k, val] : v.items()) {
        FR_CHECK(val.is_string(), "safetensors file '{}': metadata value for key '{}' is a JSON {}, not a string",
                 path, k, val.type_name());
        out[k] = val.get<std::string>();
    }
    return out;
}

// Offsets must tile [0, data_bytes) exactly: the format has no padding, so a gap, an overlap or a
// leftover byte means the header and the data disagree.
void check_tiling(std::vector<Entry>& entries, uint64_t data_bytes, const std::string& path) {
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const auto& e : entries) {
        FR_CHECK(e.begin <= pos || prev != nullptr,
                 "safetensors file '{}': data_offsets do not start at 0 (first tensor '{}' begins at byte {})",
                 path, e.name, e.begin);
        FR_CHECK(e.begin <= pos, "safetensors file '{}': data_offsets leave a gap: bytes [{}, {}) between '{}' "
                 "and '{}' belong to no tensor", path, pos, e.begin, prev ? prev->name : "", e.name);
        FR_CHECK(e.begin == pos, "safetensors file '{}': data_offsets overlap: '{}' [{}, {}) begins inside '{}' "
                 "which ends at {}", path, e.name, e.begin, e.end, prev ? prev->name : "", pos);
        pos = e.end;
        prev = &e;
    }
    FR_CHECK(pos <= data_bytes, "safetensors file '{}': truncated data: the tensors need {} bytes after the header "
             "but the file holds {}", path, pos, data_bytes);
    FR_CHECK(pos == data_bytes, "safetensors file '{}': data_offsets do not cover the data section: {} bytes after "
             "the last tensor belong to no tensor", path, data_bytes - pos);
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
    if (dtype == "F32" || dtype == "I32") return 4;
    if (dtype == "F64" || dtype == "I64") return 8;
    return 0;
}

// ---- SafetensorsFile ---------------------------------------------------------------------------

void SafetensorsFile::add(const std::string& name, const std::string& dtype, const Shape& shape,
                          const void* data) {
    FR_CHECK(!name.empty(), "safetensors: tensor names must not be empty");
    FR_CHECK(name != "__metadata__", "safetensors: '__metadata__' is reserved and cannot name a tensor");
    FR_CHECK(!has(name), "safetensors: duplicate tensor name '{}'", name);
    const size_t esize = safetensors_dtype_size(dtype);
    FR_CHECK(esize != 0, "safetensors: tensor '{}': unsupported dtype '{}' (use F32, F64, I32 or I64)", name, dtype);
    const size_t bytes = shape_numel(shape) * esize;
    FR_CHECK(bytes == 0 || data != nullptr, "safetensors: tensor '{}': data is null", name);
    SafetensorsTensor t{name, dtype, shape, std::vector<uint8_t>(bytes)};
    if (bytes) std::memcpy(t.bytes.data(), data, bytes);
    tensors_.push_back(std::move(t));
}

void SafetensorsFile::add_f32(const std::string& n, const Shape& s, const float* d) { add(n, "F32", s, d); }
void SafetensorsFile::add_f64(const std::string& n, const Shape& s, const double* d) { add(n, "F64", s, d); }
void SafetensorsFile::add_i32(const std::string& n, const Shape& s, const int32_t* d) { add(n, "I32", s, d); }
void SafetensorsFile::add_i64(const std::string& n, const Shape& s, const int64_t* d) { add(n, "I64", s, d); }

bool SafetensorsFile::has(const std::string& name) const {
    return std::any_of(tensors_.begin(), tensors_.end(), [&](const auto& t) { return t.name == name; });
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& t : tensors_) out.push_back(t.name);
    return out;
}

const SafetensorsTensor& SafetensorsFile::at(const std::string& name) const {
    for (const auto& t : tensors_)
        if (t.name == name) return t;
    FR_FAIL("safetensors: no tensor named '{}'{}", name, where(source));
}

namespace {
template <class T>
std::vector<T> get_values(const SafetensorsFile& f, const std::string& name) {
    const auto& t = f.at(name);
    std::vector<T> out(shape_numel(t.shape));
    values_into(t, out.data(), f.source);
    return out;
}
template <class T>
void copy_values(const SafetensorsFile& f, const std::string& name, const Shape& expected, T* dst) {
    const auto& t = f.at(name);
    FR_CHECK(t.shape == expected, "{}{}: expected shape {}, got {}", name, where(f.source), shape_str(expected),
             shape_str(t.shape));
    values_into(t, dst, f.source);
}
}  // namespace

std::vector<float> SafetensorsFile::get_f32(const std::string& name) const { return get_values<float>(*this, name); }
std::vector<double> SafetensorsFile::get_f64(const std::string& name) const { return get_values<double>(*this, name); }
std::vector<int32_t> SafetensorsFile::get_i32(const std::string& name) const { return get_values<int32_t>(*this, name); }
std::vector<int64_t> SafetensorsFile::get_i64(const std::string& name) const { return get_values<int64_t>(*this, name); }
void SafetensorsFile::copy_f32(const std::string& name, const Shape& expected, float* dst) const {
    copy_values(*this, name, expected, dst);
}
void SafetensorsFile::copy_f64(const std::string& name, const Shape& expected, double* dst) const {
    copy_values(*this, name, expected, dst);
}

// ---- writing -----------------------------------------------------------------------------------

namespace {

// Compact JSON with "__metadata__" first and each entry's keys in the order dtype, shape, data_offsets:
// byte for byte what the reference implementation writes for the same tensor order.
std::string make_header(const SafetensorsFile& file, const std::vector<const SafetensorsTensor*>& order,
                        const std::string& path) {
    using ojson = nlohmann::ordered_json;
    ojson header = ojson::object();
    if (!file.metadata.empty()) {
        ojson meta = ojson::object();
        for (const auto& [k, v] : file.metadata) meta[k] = v;
        header["__metadata__"] = std::move(meta);
    }
    uint64_t offset = 0;
    for (const SafetensorsTensor* t : order) {
        ojson entry = ojson::object();
        entry["dtype"] = t->dtype;
        entry["shape"] = ojson::array();
        for (long d : t->shape) entry["shape"].push_back(d);
        entry["data_offsets"] = ojson::array({offset, offset + t->bytes.size()});
        offset += t->bytes.size();
        header[t->name] = std::move(entry);
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
        FR_FAIL("cannot write safetensors file '{}': {}", path, e.what());
    }
    // Padding keeps the data section 8-byte aligned, so every tensor is aligned to its element size.
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

}  // namespace

void write_safetensors(const std::string& path, const SafetensorsFile& file,
                       const std::function<void()>& before_rename) {
    FR_CHECK(!path.empty(), "write_safetensors: empty path");
    std::vector<const SafetensorsTensor*> order;
    for (const auto& t : file.tensors()) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return safetensors_dtype_size(a->dtype) > safetensors_dtype_size(b->dtype);
    });
    const std::string header = make_header(file, order, path);

    std::string tmp;
    Fd f;
    // Removed by the CLI's signal handler should the process be ended mid-write (a second Ctrl-C), and unregistered
    // however this function ends (the name is gone by then: renamed, or unlinked below).
    struct Registered {
        int slot = -1;
        ~Registered() { detail::unregister_temp_file(slot); }
    } registered;
    f.fd = detail::create_temp_beside(path, tmp, "safetensors file", &registered.slot);
    auto fail = [&](const char* what, int err) {
        ::close(f.fd);
        f.fd = -1;
        ::unlink(tmp.c_str());
        FR_FAIL("cannot write safetensors file '{}': {} of temporary file '{}' failed: {}", path, what, tmp,
                errno_text(err));
    };

    std::string prefix(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(prefix.data(), &n, 8);
    prefix += header;
    if (int err = write_all(f.fd, prefix.data(), prefix.size())) fail("write", err);
    for (const auto* t : order)
        if (int err = write_all(f.fd, t->bytes.data(), t->bytes.size())) fail("write", err);
    // fsync before rename: otherwise a crash can leave the new name pointing at unwritten blocks.
    if (::fsync(f.fd) != 0) fail("fsync", errno);
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        FR_FAIL("cannot write safetensors file '{}': close of temporary file '{}' failed: {}", path, tmp,
                errno_text(err));
    }
    if (before_rename) {
        try {
            before_rename();
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        FR_FAIL("cannot write safetensors file '{}': rename from '{}' failed: {}", path, tmp, errno_text(err));
    }
    // Make the rename itself durable (best effort: the file is complete and in place either way).
    detail::sync_parent_folder(path);
}

// ---- reading -----------------------------------------------------------------------------------

SafetensorsFile read_safetensors(const std::string& path) {
    Fd f;
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer before the regular-file check below could refuse
    // it (on a regular file the flag changes nothing).
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FR_CHECK(f.fd >= 0, "cannot open safetensors file '{}': {}", path, errno_text(errno));
    struct stat st {};
    FR_CHECK(::fstat(f.fd, &st) == 0, "cannot stat safetensors file '{}': {}", path, errno_text(errno));
    FR_CHECK(S_ISREG(st.st_mode), "safetensors file '{}' is not a regular file", path);
    const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
    FR_CHECK(file_bytes >= 8, "safetensors file '{}' is {} bytes long, shorter than the 8-byte header length",
             path, file_bytes);

    auto read_or_fail = [&](void* dst, size_t n, uint64_t offset, const char* what) {
        const int r = read_all(f.fd, dst, n, offset);
        FR_CHECK(r == 0, "cannot read {} of safetensors file '{}': {}", what, path,
                 r < 0 ? std::string("unexpected end of file") : errno_text(r));
    };
    uint64_t header_bytes = 0;
    read_or_fail(&header_bytes, 8, 0, "the header length");
    // A text file or another format read as a header length gives an absurd number: say what the file is not.
    FR_CHECK(header_bytes <= kMaxHeaderBytes, "safetensors file '{}': header length {} exceeds the 100 MB limit (it is "
             "not a safetensors file, or its start is damaged)", path, header_bytes);
    // A file of zeros (a disk that lost its blocks, a preallocated file never written) reads as length 0 (QA: it
    // was "header is not valid JSON at byte 8").
    FR_CHECK(header_bytes > 0, "safetensors file '{}': header length 0 (its first bytes are zeros: the file is "
             "damaged or was never written)", path);
    FR_CHECK(header_bytes <= file_bytes - 8, "safetensors file '{}': header length {} is larger than the {} bytes "
             "that follow it (it is not a safetensors file, or it is cut short)", path, header_bytes, file_bytes - 8);
    std::string text(header_bytes, '\0');
    read_or_fail(text.data(), text.size(), kHeaderStart, "the header");

    const nlohmann::json header = parse_header(text, path);
    SafetensorsFile out;
    out.source = path;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") out.metadata = parse_metadata(value, path);
        else entries.push_back(parse_entry(key, value, path));
    }
    const uint64_t data_start = kHeaderStart + header_bytes;
    check_tiling(entries, file_bytes - data_start, path);

    for (const auto& e : entries) {
        SafetensorsTensor t{e.name, e.dtype, e.shape, std::vector<uint8_t>(e.end - e.begin)};
        read_or_fail(t.bytes.data(), t.bytes.size(), data_start + e.begin, ("tensor '" + e.name + "'").c_str());
        out.tensors_.push_back(std::move(t));
    }
    return out;
}

}  // namespace fusedrnn
