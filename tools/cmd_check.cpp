// `fusedrnn check`: cross-checks every available backend against the CPU backend in double on fresh
// random inputs (outputs, final states and all gradients), printing ‖a−b‖/‖b‖ per quantity.
// The quick way to validate a GPU machine; the full grid lives in the test suites.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/commands.h"

namespace fusedrnn::tools {
namespace {

struct Result {
    std::vector<double> y, hn, cn, dx, dh0, dc0, dw;
};

template <class S>
Result run_backend(Backend<S>& be, const RnnSpec& spec, int T, int N, const std::vector<double>& w,
                   const std::vector<double>& x, const std::vector<double>& h0, const std::vector<double>& c0,
                   const std::vector<double>& dy, const std::vector<double>& dhn) {
    auto up = [&](const std::vector<double>& v) {
        std::vector<S> s(v.begin(), v.end());
        return be.from_host(s, {long(s.size())});
    };
    auto down = [&](const Tensor<S>& t) {
        auto h = be.to_host(t);
        return std::vector<double>(h.begin(), h.end());
    };
    const bool lstm = has_cell_state(spec.cell);
    const size_t state = h0.size();
    auto tw = up(w), tx = up(x), th0 = up(h0), tc0 = up(c0), tdy = up(dy), tdhn = up(dhn);
    auto ty = be.empty({long(dy.size())}), thn = be.empty({long(state)}), tcn = be.empty({long(state)});
    auto reserve = be.empty({long(be.rnn_reserve_size(spec, T, N))});
    RnnForwardArgs<S> f;
    f.T = T; f.N = N; f.x = tx.data(); f.h0 = th0.data(); f.c0 = lstm ? tc0.data() : nullptr;
    f.weights = tw.data(); f.y = ty.data(); f.hn = thn.data(); f.cn = lstm ? tcn.data() : nullptr;
    f.reserve = reserve.data();
    be.rnn_forward(spec, f);
    auto tdx = be.empty({long(x.size())}), tdh0 = be.empty({long(state)}), tdc0 = be.empty({long(state)});
    auto tdw = be.zeros({long(w.size())});
    RnnBackwardArgs<S> b;
    b.T = T; b.N = N; b.x = tx.data(); b.h0 = th0.data(); b.c0 = f.c0; b.weights = tw.data(); b.y = ty.data();
    b.dy = tdy.data(); b.dhn = tdhn.data(); b.reserve = reserve.data(); b.dx = tdx.data(); b.dh0 = tdh0.data();
    b.dc0 = lstm ? tdc0.data() : nullptr; b.dweights = tdw.data();
    be.rnn_backward(spec, b);
    Result r{down(ty), down(thn), lstm ? down(tcn) : std::vector<double>(), down(tdx), down(tdh0),
             lstm ? down(tdc0) : std::vector<double>(), down(tdw)};
    return r;
}

double rel(const std::vector<double>& a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

}  // namespace

void register_check(CLI::App& app) {
    auto* cmd = app.add_subcommand("check", "Cross-check backends against the CPU backend in double");
    struct Opts {
        std::vector<std::string> cells{"rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before"};
        int hidden = 37, input = 5, layers = 2, T = 7, N = 9;
        bool bidirectional = true;
        double tolerance = 1e-5;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--cells", o->cells, "Cells to check, comma-separated or as separate words")
        ->capture_default_str()
        ->delimiter(',')
        ->transform(kTrimmed);
    cmd->add_option("--hidden", o->hidden, "Hidden size")->capture_default_str()->check(kPositive);
    cmd->add_option("--input", o->input, "Input size")->capture_default_str()->check(kPositive);
    cmd->add_option("--layers", o->layers, "Layers")->capture_default_str()->check(kPositive);
    cmd->add_option("--steps", o->T, "Sequence length")->capture_default_str()->check(kPositive);
    cmd->add_option("--batch", o->N, "Batch size")->capture_default_str()->check(kPositive);
    // Said in words: CLI11 would show the negated name's default ("{false}"), which reads as "off".
    cmd->add_flag("--bidirectional,!--unidirectional", o->bidirectional,
                  "Both directions (the default), or one with --unidirectional");
    cmd->add_option("--tolerance", o->tolerance, "Largest relative error accepted")
        ->capture_default_str()
        ->check(kPositive);
    cmd->callback([o] {
        for (const auto& cname : o->cells) (void)parse_cell(cname);  // a typo fails before any check runs
        auto ref = make_backend_f64("cpu");
        // Said first, so that a run showing only cpu lines is not read as having checked the GPU backends.
        if (const std::string why = gpu_backends_missing_reason(); !why.empty())
            fmt::print("cuda, cudnn: not checked: {}\n", why);
        fmt::print("stacks of {} {} layer(s), input {}, hidden {}; {} steps, batch {}; fresh random weights and "
                   "inputs; worst relative error against cpu in double must stay below {:.0e}\n",
                   o->layers, o->bidirectional ? "bidirectional" : "unidirectional", o->input, o->hidden, o->T, o->N,
                   o->tolerance);
        std::mt19937_64 rng(std::random_device{}());
        bool ok = true;
        for (const std::string& cname : o->cells) {
            const RnnSpec spec{parse_cell(cname), o->input, o->hidden, o->layers, o->bidirectional};
            const size_t state = size_t(spec.num_layers) * spec.directions() * o->N * spec.hidden_size;
            std::uniform_real_distribution<double> u(-1, 1);
            auto rnd = [&](size_t n, double scale) {
                std::vector<double> v(n);
                for (auto& e : v) e = scale * u(rng);
                return v;
            };
            auto w = rnd(rnn_param_count(spec), 1.0 / std::sqrt(double(spec.hidden_size)));
            auto x = rnd(size_t(o->T) * o->N * spec.input_size, 1), h0 = rnd(state, 1), c0 = rnd(state, 1);
            auto dy = rnd(size_t(o->T) * o->N * spec.output_size(), 1), dhn = rnd(state, 1);
            const Result want = run_backend(*ref, spec, o->T, o->N, w, x, h0, c0, dy, dhn);
            for (const std::string& bname : available_backends()) {
                std::shared_ptr<Backend<float>> be;
                try {
                    be = make_backend(bname);
                } catch (const Error& e) {
                    fmt::print("{:<18} {:<6} unavailable: {}\n", cname, bname, message_for_user(e.what()));
                    continue;
                }
                Result got;
                try {
                    got = run_backend(*be, spec, o->T, o->N, w, x, h0, c0, dy, dhn);
                } catch (const Error& e) {
                    fmt::print("{:<18} {:<6} not supported: {}\n", cname, bname, message_for_user(e.what()));
                    continue;
                }
                const double errs[] = {rel(got.y, want.y), rel(got.hn, want.hn), rel(got.dx, want.dx),
                                       rel(got.dh0, want.dh0), rel(got.dw, want.dw),
                                       want.cn.empty() ? 0.0 : rel(got.cn, want.cn),
                                       want.dc0.empty() ? 0.0 : rel(got.dc0, want.dc0)};
                double worst = 0;
                for (double e : errs) worst = std::max(worst, e);
                const bool pass = worst < o->tolerance;
                ok = ok && pass;
                // The cell state's columns only where there is one (LSTM): "0.0e+00" beside a GRU read as checked.
                const auto cell_state = [&](double e) { return want.cn.empty() ? std::string("-      ")
                                                                               : fmt::format("{:.1e}", e); };
                fmt::print("{:<18} {:<6} y {:.1e}  h_n {:.1e}  dx {:.1e}  dh0 {:.1e}  dW {:.1e}  c_n {}  dc0 {}  {}\n",
                           cname, bname, errs[0], errs[1], errs[2], errs[3], errs[4], cell_state(errs[5]),
                           cell_state(errs[6]), pass ? "ok" : "FAIL");
            }
        }
        FR_CHECK(ok, "backend cross-check failed (relative error above {:.0e})", o->tolerance);
    });
}

}  // namespace fusedrnn::tools
