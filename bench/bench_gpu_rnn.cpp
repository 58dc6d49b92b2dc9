// fusedrnn — GPU recurrent-stack benchmark: the fused `cuda` backend vs `cudnn` (and optionally `cpu`)
// at the station-forecasting shapes: batch 1024, T = 48, input 5, hidden 64/128/256/512, every cell,
// 1 and 2 layers; a training step (forward + backward) and inference (forward only). The `cuda` backend is
// timed with both of its recurrence strategies (FUSEDRNN_CUDA_RECURRENCE = alternating, persistent;
// kernels/cuda/rnn_recurrence.h), the persistent one at each rows-per-block count of --persistent-rows (0: the
// backend's own choice, one block per multiprocessor; others: FUSEDRNN_CUDA_RECURRENCE=persistent:R), since
// several blocks of fewer rows may share a multiprocessor and the best R is a measurement, not a formula.
//
// Only the public Backend API is used (no CUDA headers): each repetition is timed on the host with
// std::chrono around the op and a backend->synchronize(), after warm-up, with L2 flushed (a 256 MiB
// fill) before every repetition; the median (and min, p90) of the repetitions is reported. Inputs and
// weights are fresh random values. cuDNN is timed with every algorithm FUSEDRNN_CUDNN_ALGO can select
// (standard, persist_static, persist_static_small_h, persist_dynamic) and its best is used for the ratio.
// A cuDNN algorithm that refuses a shape is recorded "unsupported"; a fused configuration that throws is recorded
// "failed" (and listed in "failures"), the grid goes on, the JSON is written, and the exit status is 1.
//
// Usage: bench_gpu_rnn [--out FILE.json] [--repeats N] [--warmup N] [--quick] [--cpu] [--cells a,b]
//                      [--hidden 64,128] [--layers 1,2] [--batch N] [--steps T] [--persistent-rows 0,2,4]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"

namespace {

using fusedrnn::Backend;
using fusedrnn::CellType;
using fusedrnn::RnnSpec;
using fusedrnn::Storage;

struct Options {
    std::string out = "bench_gpu_rnn.json";
    int repeats = 20, warmup = 5;
    int batch = 1024, steps = 48, input = 5;
    int cpu_batch = 64;
    bool cpu = false;
    std::vector<std::string> cells{"rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before"};
    std::vector<int> hidden{64, 128, 256, 512};
    std::vector<int> layers{1, 2};
    std::vector<int> persistent_rows{0};  // 0: the backend chooses
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) if (!item.empty()) out.push_back(item);
    return out;
}

std::vector<int> split_ints(const std::string& s) {
    std::vector<int> out;
    for (const auto& t : split(s)) out.push_back(std::stoi(t));
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
            return argv[++i];
        };
        if (a == "--out") o.out = value();
        else if (a == "--repeats") o.repeats = std::stoi(value());
        else if (a == "--warmup") o.warmup = std::stoi(value());
        else if (a == "--batch") o.batch = std::stoi(value());
        else if (a == "--steps") o.steps = std::stoi(value());
        else if (a == "--cpu") o.cpu = true;
        else if (a == "--cells") o.cells = split(value());
        else if (a == "--hidden") o.hidden = split_ints(value());
        else if (a == "--layers") o.layers = split_ints(value());
        else if (a == "--persistent-rows") o.persistent_rows = split_ints(value());
        else if (a == "--quick") { o.repeats = 5; o.warmup = 2; o.hidden = {128}; o.layers = {1}; }
        else if (a == "--help" || a == "-h") {
            std::cout << "bench_gpu_rnn [--out FILE.json] [--repeats N] [--warmup N] [--quick] [--cpu] [--cells a,b]\n"
                         "              [--hidden 64,128] [--layers 1,2] [--batch N] [--steps T]\n"
                         "              [--persistent-rows 0,1,2,4,8,16]   (0: the backend's own choice)\n";
            std::exit(0);
        } else throw std::runtime_error("unknown argument " + a);
    }
    // stats() reads the first sample: zero repetitions would be undefined behaviour, not an empty result.
    if (o.repeats < 1 || o.warmup < 0 || o.batch < 1 || o.steps < 1)
        throw std::runtime_error("--repeats, --batch and --steps must be >= 1 and --warmup >= 0");
    for (int r : o.persistent_rows)  // the values FUSEDRNN_CUDA_RECURRENCE=persistent:R accepts, or 0
        if (r != 0 && r != 1 && r != 2 && r != 4 && r != 8 && r != 16)
            throw std::runtime_error("--persistent-rows: each value must be 0 (automatic), 1, 2, 4, 8 or 16, got " +
                                     std::to_string(r));
    if (o.persistent_rows.empty()) throw std::runtime_error("--persistent-rows: give at least one value (0: automatic)");
    return o;
}

struct Stats {
    double median_ms = 0, min_ms = 0, p90_ms = 0;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    Stats s;
    s.min_ms = v.front();
    s.median_ms = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    s.p90_ms = v[std::min(v.size() - 1, size_t(std::ceil(0.9 * double(v.size()))) - 1)];
    return s;
}

std::shared_ptr<Storage> upload(Backend<float>& be, const std::vector<float>& v) {
    auto s = be.allocate(v.size() * sizeof(float));
    be.copy_from_host(s->data(), v.data(), v.size() * sizeof(float));
    return s;
}

float* f(const std::shared_ptr<Storage>& s) { return s ? static_cast<float*>(s->data()) : nullptr; }

struct Result {
    Stats train, infer;
};

// Times one backend at one shape. Throws fusedrnn::Error when the backend cannot run it.
Result time_backend(Backend<float>& be, const RnnSpec& spec, int T, int N, const Options& opt, std::mt19937_64& rng) {
    const size_t P = fusedrnn::rnn_param_count(spec);
    const double k = 1.0 / std::sqrt(double(spec.hidden_size));
    std::uniform_real_distribution<double> u(-1, 1), uw(-k, k);
    auto rand_vec = [&](size_t n, bool weights) {
        std::vector<float> v(n);
        for (auto& x : v) x = float(weights ? uw(rng) : u(rng));
        return v;
    };
    const size_t xs = size_t(T) * N * spec.input_size, ys = size_t(T) * N * spec.output_size();
    auto x = upload(be, rand_vec(xs, false));
    auto w = upload(be, rand_vec(P, true));
    auto dy = upload(be, rand_vec(ys, false));
    auto y = be.allocate(ys * sizeof(float));
    auto dx = be.allocate(xs * sizeof(float));
    auto dw = be.allocate(P * sizeof(float));
    auto reserve = be.allocate(be.rnn_reserve_size(spec, T, N) * sizeof(float));
    const size_t flush_n = be.device().is_cpu() ? 0 : (size_t(256) << 20) / sizeof(float);
    auto flush = flush_n ? be.allocate(flush_n * sizeof(float)) : nullptr;
    be.fill(P, f(dw), 0.f);

    fusedrnn::RnnForwardArgs<float> fa;
    fa.T = T;
    fa.N = N;
    fa.x = f(x);
    fa.weights = f(w);
    fa.y = f(y);
    fusedrnn::RnnBackwardArgs<float> ba;
    ba.T = T;
    ba.N = N;
    ba.x = f(x);
    ba.weights = f(w);
    ba.y = f(y);
    ba.dy = f(dy);
    ba.reserve = f(reserve);
    ba.dx = f(dx);
    ba.dweights = f(dw);

    auto measure = [&](bool training) {
        auto once = [&] {
            fusedrnn::RnnForwardArgs<float> a = fa;
            a.reserve = training ? f(reserve) : nullptr;
            be.rnn_forward(spec, a);
            if (training) be.rnn_backward(spec, ba);
        };
        for (int i = 0; i < opt.warmup; ++i) once();
        std::vector<double> ms;
        for (int i = 0; i < opt.repeats; ++i) {
            if (flush) be.fill(flush_n, f(flush), float(i));
            be.synchronize();
            const auto t0 = std::chrono::steady_clock::now();
            once();
            be.synchronize();
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        return stats(ms);
    };
    Result r;
    r.infer = measure(false);
    r.train = measure(true);
    return r;
}

nlohmann::json to_json(const Stats& s) {
    return {{"median_ms", s.median_ms}, {"min_ms", s.min_ms}, {"p90_ms", s.p90_ms}};
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options opt = parse(argc, argv);
        if (!fusedrnn::gpu_available()) {
            std::cerr << "bench_gpu_rnn: no CUDA GPU in this process (available backends:";
            for (const auto& n : fusedrnn::available_backends()) std::cerr << " " << n;
            std::cerr << "); nothing to measure\n";
            return 2;
        }
        std::mt19937_64 rng(std::random_device{}());
        nlohmann::json results = nlohmann::json::array();
        std::vector<std::string> failures;  // fused-backend configurations that threw, named
        const char* algos[] = {"standard", "persist_static", "persist_static_small_h", "persist_dynamic"};

        // "persistent" is the fastest training time over --persistent-rows, at the rows-per-block count in "R".
        std::printf("%-17s %6s %2s | %10s %10s %4s %10s %7s %7s | %10s %10s %10s %7s %7s\n", "cell", "hidden", "L",
                    "train alt", "persistent", "R", "cudnn", "alt/dnn", "per/dnn", "infer alt", "persistent", "cudnn",
                    "alt/dnn", "per/dnn");
        for (const auto& cell_name : opt.cells) {
            const CellType cell = fusedrnn::parse_cell(cell_name);
            for (int H : opt.hidden) {
                for (int L : opt.layers) {
                    RnnSpec spec;
                    spec.cell = cell;
                    spec.input_size = opt.input;
                    spec.hidden_size = H;
                    spec.num_layers = L;
                    nlohmann::json shape = {{"cell", cell_name}, {"hidden", H},       {"layers", L},
                                            {"batch", opt.batch}, {"steps", opt.steps}, {"input", opt.input}};

                    // The fused backend under each recurrence strategy (the reset-before GRU has only alternating);
                    // the persistent one at each requested rows-per-block count, its best kept for the table.
                    std::vector<std::pair<std::string, int>> runs{{"alternating", 0}};
                    if (cell != CellType::GruResetBefore)
                        for (int rows : opt.persistent_rows) runs.emplace_back("persistent", rows);
                    Result rf{};
                    const Result* rp = nullptr;
                    Result best_persistent{};
                    std::string best_rows;
                    for (const auto& [recurrence, rows] : runs) {
                        const std::string env = rows > 0 ? recurrence + ":" + std::to_string(rows) : recurrence;
                        setenv("FUSEDRNN_CUDA_RECURRENCE", env.c_str(), 1);
                        nlohmann::json e = shape;
                        e["backend"] = "cuda";
                        e["recurrence"] = recurrence;
                        if (recurrence == "persistent") e["rows_per_block"] = rows;  // 0: the backend's choice
                        Result r{};
                        try {
                            auto fused = fusedrnn::make_backend("cuda");
                            r = time_backend(*fused, spec, opt.steps, opt.batch, opt, rng);
                            e["device"] = fused->device().str();
                            e["details"] = fused->details();  // the strategy, and ", tf32" under FUSEDRNN_TF32=1
                            e["train"] = to_json(r.train);
                            e["infer"] = to_json(r.infer);
                        } catch (const fusedrnn::Error& err) {
                            // Recorded, and the grid goes on: one failing configuration must not cost a lease's
                            // other figures. The exit status says so at the end.
                            e["failed"] = err.what();
                            failures.push_back(fmt::format("{} H={} L={} {}: {}", cell_name, H, L, env, err.what()));
                            std::fprintf(stderr, "FAILED %s\n", failures.back().c_str());
                            results.push_back(e);
                            continue;
                        }
                        results.push_back(e);
                        if (recurrence == "alternating") {
                            rf = r;
                        } else if (!rp || r.train.median_ms < best_persistent.train.median_ms) {
                            best_persistent = r;
                            rp = &best_persistent;
                            best_rows = rows > 0 ? std::to_string(rows) : "auto";
                        }
                    }
                    unsetenv("FUSEDRNN_CUDA_RECURRENCE");

                    double best_train = 0, best_infer = 0;
                    if (cell != CellType::GruResetBefore) {
                        for (const char* algo : algos) {
                            setenv("FUSEDRNN_CUDNN_ALGO", algo, 1);
                            nlohmann::json c = shape;
                            c["backend"] = "cudnn";
                            c["algo"] = algo;
                            try {
                                auto dnn = fusedrnn::make_backend("cudnn");
                                const Result rc = time_backend(*dnn, spec, opt.steps, opt.batch, opt, rng);
                                c["details"] = dnn->details();  // cuDNN's version, and ", tf32" under FUSEDRNN_TF32=1
                                c["train"] = to_json(rc.train);
                                c["infer"] = to_json(rc.infer);
                                if (best_train == 0 || rc.train.median_ms < best_train) best_train = rc.train.median_ms;
                                if (best_infer == 0 || rc.infer.median_ms < best_infer) best_infer = rc.infer.median_ms;
                            } catch (const fusedrnn::Error& err) {
                                c["unsupported"] = err.what();
                            }
                            results.push_back(c);
                        }
                        unsetenv("FUSEDRNN_CUDNN_ALGO");
                    }
                    if (opt.cpu) {
                        auto cpu = fusedrnn::make_backend("cpu");
                        const Result rc = time_backend(*cpu, spec, opt.steps, opt.cpu_batch, opt, rng);
                        nlohmann::json c = shape;
                        c["backend"] = "cpu";
                        c["batch"] = opt.cpu_batch;
                        c["train"] = to_json(rc.train);
                        c["infer"] = to_json(rc.infer);
                        results.push_back(c);
                    }
                    const auto ratio = [](double a, double b) { return a > 0 && b > 0 ? a / b : 0.0; };
                    const double pt = rp ? rp->train.median_ms : 0, pi = rp ? rp->infer.median_ms : 0;
                    std::printf("%-17s %6d %2d | %8.3fms %8.3fms %4s %8.3fms %7.3f %7.3f | %8.3fms %8.3fms %8.3fms "
                                "%7.3f %7.3f\n",
                                cell_name.c_str(), H, L, rf.train.median_ms, pt, rp ? best_rows.c_str() : "-",
                                best_train,
                                ratio(rf.train.median_ms, best_train), ratio(pt, best_train), rf.infer.median_ms, pi,
                                best_infer, ratio(rf.infer.median_ms, best_infer), ratio(pi, best_infer));
                    std::fflush(stdout);
                }
            }
        }
        nlohmann::json doc = {{"benchmark", "bench_gpu_rnn"},
                              {"repeats", opt.repeats},
                              {"warmup", opt.warmup},
                              {"timing", "host std::chrono around op + synchronize, L2 flushed, median"},
                              {"results", results},
                              {"failures", failures}};
        std::ofstream out(opt.out);
        if (!out) throw std::runtime_error("cannot write " + opt.out);
        out << doc.dump(2) << "\n";
        std::cout << "wrote " << opt.out << "\n";
        for (const std::string& f : failures) std::cerr << "bench_gpu_rnn: failed: " << f << "\n";
        return failures.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "bench_gpu_rnn: " << e.what() << "\n";
        return 1;
    }
}
