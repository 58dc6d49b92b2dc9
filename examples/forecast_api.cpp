// The README's "C++ API in one screen", as a whole program: a many-to-one LSTM forecaster learns to continue noisy
// multi-frequency sine series (48 steps of 5 variables in, 6 steps x 5 variables out), then is saved, loaded back
// into a new model and checked to give the same forecast.
//
// Built with the project (build/examples/forecast_api) and, through `find_package(fusedrnn)`, against an installed
// copy (examples/CMakeLists.txt). CTest runs it: it exits non-zero unless the loss falls to a quarter of where it
// started and the reloaded model's forecast equals the trained one's to the bit.
//
//   forecast_api [checkpoint path]   (default: forecast_api.safetensors in the current folder)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/loss.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/optimizer.h"

using namespace fusedrnn;

namespace {

constexpr int kT = 48, kC = 5, kHorizon = 6, kBatch = 256;

// One batch: x [T, N, C] time-major, y [N, horizon·C]; variable c is sin(ω_c·(t + φ)) plus noise, with a random
// phase φ per series.
void make_batch(std::mt19937_64& rng, std::vector<float>& x, std::vector<float>& y) {
    std::uniform_real_distribution<float> phase(0.f, 100.f);
    std::normal_distribution<float> noise(0.f, 0.05f);
    x.assign(size_t(kT) * kBatch * kC, 0.f);
    y.assign(size_t(kBatch) * kHorizon * kC, 0.f);
    for (int n = 0; n < kBatch; ++n) {
        const float p = phase(rng);
        for (int t = 0; t < kT + kHorizon; ++t)
            for (int c = 0; c < kC; ++c) {
                const float v = std::sin(0.15f * float(c + 1) * (float(t) + p)) + noise(rng);
                if (t < kT) x[(size_t(t) * kBatch + n) * kC + c] = v;
                else y[size_t(n) * kHorizon * kC + size_t(t - kT) * kC + c] = v;
            }
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string path = argc > 1 ? argv[1] : "forecast_api.safetensors";
    auto backend = make_backend("auto");  // "cuda" with a GPU, else "cpu"
    RnnSpec spec{CellType::Lstm, /*input*/ kC, /*hidden*/ 32, /*layers*/ 1, /*bidirectional*/ false};
    Forecaster model(backend, spec, /*outputs*/ kHorizon * kC, /*seed*/ 42);  // PyTorch's default init
    OptimizerConfig oc;
    oc.lr = 1e-2f;
    auto opt = make_optimizer(model.params(), oc);
    std::printf("fusedrnn API example on backend %s: %s, %d steps of %d variables -> %d steps\n",
                backend->name().c_str(), spec.describe().c_str(), kT, kC, kHorizon);

    std::mt19937_64 rng(7);
    std::vector<float> host_x, host_y;
    double first = 0, last = 0;
    for (int step = 1; step <= 150; ++step) {
        make_batch(rng, host_x, host_y);
        Tensor<float> x = backend->from_host(host_x, {kT, kBatch, kC});          // [T, N, C]
        Tensor<float> y = backend->from_host(host_y, {kBatch, kHorizon * kC});  // [N, horizon·variables]
        model.zero_grad();
        Tensor<float> pred = model.forward(x, /*training*/ true);
        Tensor<float> grad;
        const double loss = mse_loss(*backend, pred, y, grad);  // checks y against pred's shape
        model.backward(grad);
        clip_grad_norm(model.params(), 1.0);
        opt->step(model.params());
        if (step == 1) first = loss;
        last = loss;
        if (step == 1 || step % 25 == 0) std::printf("step %3d  mse %.4f\n", step, loss);
    }

    save_checkpoint(path, model, /*extra*/ {{"example", "forecast_api"}});  // atomic; PyTorch names and shapes
    const Checkpoint ckpt = read_checkpoint(path);
    std::unique_ptr<Forecaster> loaded = Forecaster::from_config(backend, ckpt.config);
    load_parameters(ckpt, *loaded);

    make_batch(rng, host_x, host_y);
    const Tensor<float> x = backend->from_host(host_x, {kT, kBatch, kC});
    const std::vector<float> a = backend->to_host(model.forward(x, false));
    const std::vector<float> b = backend->to_host(loaded->forward(x, false));
    const bool same = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    std::printf("saved %s; the reloaded model's forecast is %s\n", path.c_str(),
                same ? "identical" : "DIFFERENT");
    if (!(last < 0.25 * first)) {
        std::fprintf(stderr, "forecast_api: the loss only fell from %.4f to %.4f\n", first, last);
        return 1;
    }
    return same ? 0 : 1;
} catch (const fusedrnn::AddressSpaceTooSmall& e) {
    // Under a `ulimit -v` too small for OpenBLAS's buffers, returning from main would hang in OpenBLAS's exit handler
    // (README, "The C++ API"): end here (QA: this example hung).
    std::fprintf(stderr, "forecast_api: %s\n", fusedrnn::message_for_user(e.what()).c_str());
    std::fflush(stderr);
    std::_Exit(2);
} catch (const std::exception& e) {
    // message_for_user: without the library's source locations, which a user would take for places in their input.
    std::fprintf(stderr, "forecast_api: %s\n", fusedrnn::message_for_user(e.what()).c_str());
    return 1;
}
