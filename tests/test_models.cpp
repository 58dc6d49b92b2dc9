// Model-level behaviour: truncated BPTT, learning a task, checkpoints, clear errors on bad input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/optimizer.h"
#include "fusedrnn/models/tbptt.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::error_of;
using testing::rel_error;

Tensor<float> random_tensor(Backend<float>& be, const Shape& shape, std::mt19937_64& rng) {
    return be.from_host(testing::random_vector<float>(shape_numel(shape), rng), shape);
}

// The [t0, t0+k) slice of a time-major tensor [T, N, F].
Tensor<float> time_slice(const Tensor<float>& x, long t0, long k) {
    const long N = x.dim(1), F = x.dim(2);
    return x.view(size_t(t0 * N * F), {k, N, F});
}

TEST(Tbptt, ChunkedForwardCarriesStateExactly) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    for (CellType cell : {CellType::Lstm, CellType::Gru, CellType::RnnTanh}) {
        SequenceModel m(be, {cell, 3, 8, 2, false}, 0, 2, 7);
        auto x = random_tensor(*be, {12, 4, 3}, rng);
        SequenceModel::State full_state;
        auto full = be->to_host(m.forward(x, full_state, false));
        SequenceModel::State st;
        std::vector<float> chunked;
        for (int t0 = 0; t0 < 12; t0 += 4) {
            auto out = be->to_host(m.forward(time_slice(x, t0, 4), st, false));
            chunked.insert(chunked.end(), out.begin(), out.end());
        }
        EXPECT_LT(rel_error(chunked, full), 1e-6) << cell_name(cell);
        EXPECT_LT(rel_error(be->to_host(st.h), be->to_host(full_state.h)), 1e-6);
    }
}

TEST(Tbptt, WholeSequenceChunkEqualsFullBptt) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    SequenceModel m(be, {CellType::Lstm, 3, 6, 1, false}, 0, 2, 11);
    auto x = random_tensor(*be, {10, 3, 3}, rng);
    auto y = random_tensor(*be, {30, 2}, rng);
    // Full BPTT by hand.
    m.zero_grad();
    SequenceModel::State s0;
    auto out = m.forward(x, s0, true);
    auto grad = be->empty(out.shape());
    be->mse(out.numel(), out.data(), y.data(), grad.data(), 1.0f);
    m.backward(grad);
    auto full = be->to_host(m.params().grads_tensor());
    // One chunk covering everything.
    SequenceModel::State s1;
    tbptt_chunk_mse(m, nullptr, x, y, s1, 0.0);
    EXPECT_EQ(be->to_host(m.params().grads_tensor()), full);
}

TEST(Tbptt, GradientsStopAtTheChunkBoundary) {
    // The second chunk's gradient must equal that of a fresh run of the second chunk alone, started
    // from the (detached) state the first chunk produced.
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    SequenceModel m(be, {CellType::Gru, 2, 5, 1, false}, 0, 1, 3);
    auto x = random_tensor(*be, {8, 2, 2}, rng);
    auto y = random_tensor(*be, {16, 1}, rng);
    SequenceModel::State st;
    tbptt_chunk_mse(m, nullptr, time_slice(x, 0, 4), y.view(0, {8, 1}), st, 0.0);
    SequenceModel::State carried = st;
    tbptt_chunk_mse(m, nullptr, time_slice(x, 4, 4), y.view(8, {8, 1}), st, 0.0);
    auto chunk2 = be->to_host(m.params().grads_tensor());
    SequenceModel::State again = carried;
    tbptt_chunk_mse(m, nullptr, time_slice(x, 4, 4), y.view(8, {8, 1}), again, 0.0);
    EXPECT_EQ(be->to_host(m.params().grads_tensor()), chunk2);
    // And it differs from full BPTT over both chunks (the first chunk's dependence is cut).
    SequenceModel::State fresh;
    m.zero_grad();
    auto out = m.forward(x, fresh, true);
    auto grad = be->zeros(out.shape());
    be->mse(8, out.data() + 8, y.data() + 8, grad.data() + 8, 0.5f);  // loss on the second half only
    m.backward(grad);
    EXPECT_GT(rel_error(be->to_host(m.params().grads_tensor()), chunk2), 1e-4);
}

// Noisy sine: from 16 past values predict the next `horizon`. Loss must fall well below the variance of the
// signal (0.5) and near the noise floor: learning, not just running.
double train_on_noisy_sine(Forecaster& model, int horizon, int steps) {
    auto& be = model.backend();
    OptimizerConfig oc;
    oc.lr = 0.01f;
    auto opt = make_optimizer(model.params(), oc);
    std::mt19937_64 rng(5);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    std::uniform_real_distribution<float> phase(0.0f, 6.2832f);
    const int T = 16, N = 64, H = horizon;
    double last = 0;
    for (int s = 0; s < steps; ++s) {
        std::vector<float> x(T * N), y(N * H);
        for (int n = 0; n < N; ++n) {
            const float p = phase(rng);
            for (int t = 0; t < T; ++t) x[t * N + n] = std::sin(p + 0.4f * t) + noise(rng);
            for (int h = 0; h < H; ++h) y[n * H + h] = std::sin(p + 0.4f * (T + h));
        }
        auto xt = be.from_host(x, {T, N, 1});
        auto yt = be.from_host(y, {N, H});
        model.zero_grad();
        auto pred = model.forward(xt, true);
        auto grad = be.empty(pred.shape());
        last = be.mse(pred.numel(), pred.data(), yt.data(), grad.data(), 1.0f).loss;
        model.backward(grad);
        clip_grad_norm(model.params(), 1.0);
        opt->step(model.params());
    }
    return last;
}

double train_sine(CellType cell, int steps) {
    Forecaster model(make_backend("cpu"), {cell, 1, 24, 1, false}, 4, 1);
    return train_on_noisy_sine(model, 4, steps);
}

TEST(Learning, LstmForecastsANoisySine) { EXPECT_LT(train_sine(CellType::Lstm, 300), 0.02); }
TEST(Learning, GruForecastsANoisySine) { EXPECT_LT(train_sine(CellType::Gru, 300), 0.02); }
// The encoder-decoder, free running: one lead time per decoder step, 6 ahead.
TEST(Learning, Seq2SeqGruForecastsANoisySine) {
    Forecaster model(make_backend("cpu"), {CellType::Gru, 1, 24, 1, false}, Seq2SeqShape{6, {0}}, 1);
    EXPECT_LT(train_on_noisy_sine(model, 6, 300), 0.02);
}

TEST(Learning, LanguageModelMemorisesATinySequence) {
    // A repeating token pattern learned to near-zero cross-entropy with truncated BPTT.
    auto be = make_backend("cpu");
    const int V = 5, T = 8, N = 1;
    SequenceModel lm(be, {CellType::Lstm, 8, 32, 1, false}, V, V, 2);
    OptimizerConfig oc;
    oc.lr = 0.02f;
    auto opt = make_optimizer(lm.params(), oc);
    const std::vector<int32_t> pattern{0, 1, 2, 3, 4, 2, 1, 0, 3};
    double loss = 0;
    SequenceModel::State st;
    for (int step = 0, pos = 0; step < 300; ++step, pos += T) {
        std::vector<int32_t> ids(T), tgt(T);
        for (int t = 0; t < T; ++t) {
            ids[t] = pattern[(pos + t) % pattern.size()];
            tgt[t] = pattern[(pos + t + 1) % pattern.size()];
        }
        auto idt = be->empty_i32({T, N});
        auto tgtt = be->empty_i32({T * N});
        be->copy_from_host(idt.data(), ids.data(), ids.size() * 4);
        be->copy_from_host(tgtt.data(), tgt.data(), tgt.size() * 4);
        loss = tbptt_chunk_tokens(lm, opt.get(), idt, tgtt, st, 1.0).loss;
    }
    EXPECT_LT(loss, 0.05);
}

TEST(Checkpoint, RoundTripGivesIdenticalPredictions) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const RnnSpec spec{CellType::Gru, 5, 16, 2, true};
    Forecaster a(be, spec, 6, 123);
    OptimizerConfig oc;
    auto opt = make_optimizer(a.params(), oc);
    const std::string path = testing::temp_dir() + "/model.safetensors";
    save_checkpoint(path, a, {{"note", "hello"}}, opt.get());
    Checkpoint c = read_checkpoint(path);
    EXPECT_EQ(c.extra["note"], "hello");
    EXPECT_TRUE(c.has_optimizer());
    auto b = Forecaster::from_config(be, c.config);
    load_parameters(c, *b);
    auto x = random_tensor(*be, {7, 3, 5}, rng);
    EXPECT_EQ(be->to_host(a.forward(x, false)), be->to_host(b->forward(x, false)));
    EXPECT_EQ(b->params().layout().entries().front().name, "rnn.weight_ih_l0");
}

// Optimizer state resumes only into the optimizer it was built by: the same kind and the same settings (a resumed
// run equals an uninterrupted one only then); the step count comes back with it.
TEST(Checkpoint, OptimizerStateResumesOnlyWithTheSameSettings) {
    auto be = make_backend("cpu");
    Forecaster a(be, {CellType::Gru, 5, 8, 1, false}, 4, 1);
    OptimizerConfig oc;
    oc.name = "adamw";
    oc.weight_decay = 0.01f;
    auto opt = make_optimizer(a.params(), oc);
    opt->step(a.params());
    const std::string path = testing::temp_dir() + "/opt.safetensors";
    save_checkpoint(path, a, {}, opt.get());
    const Checkpoint c = read_checkpoint(path);
    auto same = make_optimizer(a.params(), oc);
    load_optimizer(c, *same);
    EXPECT_EQ(same->steps(), 1);
    oc.weight_decay = 0.05f;
    auto other_decay = make_optimizer(a.params(), oc);
    EXPECT_NE(error_of([&] { load_optimizer(c, *other_decay); })
                  .find("trained with --weight-decay 0.01, this run has 0.05: resume with the same optimizer flags"),
              std::string::npos);
    oc.name = "adam";
    oc.weight_decay = 0.01f;
    auto other_kind = make_optimizer(a.params(), oc);
    EXPECT_NE(error_of([&] { load_optimizer(c, *other_kind); })
                  .find("trained with --optimizer adamw, this run has adam: resume with the same optimizer flags"),
              std::string::npos);
    // Edited optimizer metadata (with the checksum gone): a setting no flag sets is not blamed on the flags, and the
    // step count must be a whole number (get<long>() took 3.9 as 3 and 1e30 as anything).
    oc.name = "adamw";
    auto again = make_optimizer(a.params(), oc);
    const auto edited = [&](const char* key, const nlohmann::json& value) {
        Checkpoint e = c;
        nlohmann::json meta = nlohmann::json::parse(e.file.metadata.at("fusedrnn.optimizer"));
        meta[key] = value;
        e.file.metadata["fusedrnn.optimizer"] = meta.dump();
        return error_of([&] { load_optimizer(e, *again); });
    };
    EXPECT_NE(edited("beta1", 0.5).find("trained with beta1 0.5, this run has 0.9: no command-line flag sets it, so "
                                        "the file was edited or written by another version of fusedrnn (or a "
                                        "program's OptimizerConfig differs"), std::string::npos);
    for (const nlohmann::json& steps : {nlohmann::json(3.9), nlohmann::json(1e30), nlohmann::json(-2)}) {
        const std::string m = edited("steps", steps);
        EXPECT_NE(m.find(path + ": the optimizer's step count (fusedrnn.optimizer.steps) is " + steps.dump() +
                         ", not a whole number in [0, "), std::string::npos) << m;
    }
    // A deleted step count is not taken for zero (QA: it passed as a file from before counts were recorded, but every
    // version has written it), nor a learning rate or setting of another type let through unread.
    const auto without = [&](const char* key) {
        Checkpoint e = c;
        nlohmann::json meta = nlohmann::json::parse(e.file.metadata.at("fusedrnn.optimizer"));
        meta.erase(key);
        e.file.metadata["fusedrnn.optimizer"] = meta.dump();
        return error_of([&] { load_optimizer(e, *again); });
    };
    for (const char* key : {"steps", "lr", "name"})
        EXPECT_NE(without(key).find(path + ": the file is damaged: its optimizer metadata has no fusedrnn.optimizer." +
                                    key + ", which every version of fusedrnn writes"), std::string::npos) << key;
    EXPECT_NE(edited("lr", "fast").find(path + ": the file is damaged: its learning rate (fusedrnn.optimizer.lr) is "
                                        "\"fast\", not a number >= 0"), std::string::npos);
    EXPECT_NE(edited("beta2", "x").find(path + ": the file is damaged: its optimizer's beta2 "
                                        "(fusedrnn.optimizer.beta2) is \"x\", not a number"), std::string::npos);
    EXPECT_NE(edited("name", 3).find("its optimizer name (fusedrnn.optimizer.name) is 3, not a name"),
              std::string::npos);
}

TEST(Checkpoint, MismatchedOrCorruptedFilesGiveClearErrors) {
    auto be = make_backend("cpu");
    const std::string dir = testing::temp_dir();
    Forecaster a(be, {CellType::Lstm, 5, 8, 1, false}, 4, 1);
    save_checkpoint(dir + "/a.safetensors", a, {});
    // A model with another hidden size or layer count: the error names the setting and both values.
    Forecaster b(be, {CellType::Lstm, 5, 9, 1, false}, 4, 1);
    const std::string msg = error_of([&] { load_parameters(read_checkpoint(dir + "/a.safetensors"), b); });
    EXPECT_NE(msg.find("a.safetensors: the checkpoint holds another model than this one (spec.hidden_size: 8 saved, "
                       "9 now)"), std::string::npos) << msg;
    Forecaster c(be, {CellType::Lstm, 5, 8, 2, false}, 4, 1);
    EXPECT_NE(error_of([&] { load_parameters(read_checkpoint(dir + "/a.safetensors"), c); })
                  .find("spec.num_layers: 1 saved, 2 now"),
              std::string::npos);
    // Truncated file.
    {
        std::ifstream in(dir + "/a.safetensors", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir + "/t.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
    }
    EXPECT_NE(error_of([&] { read_checkpoint(dir + "/t.safetensors"); }).find("t.safetensors"), std::string::npos);
    // Wrong kind.
    SequenceModel lm(be, {CellType::Lstm, 4, 8, 1, false}, 10, 10, 1);
    save_checkpoint(dir + "/lm.safetensors", lm, {});
    EXPECT_NE(error_of([&] { Forecaster::from_config(be, read_checkpoint(dir + "/lm.safetensors").config); })
                  .find("not a forecaster"),
              std::string::npos);
}

// The checksums are found by their keys' names: a flipped bit in a name must not turn a check off (the file would
// load as one from before the checksum). Keys of fusedrnn's own that it does not know (a newer version's) are refused
// too; keys other tools add are let be, unless they are one byte off one of fusedrnn's.
TEST(Checkpoint, DamagedOrUnknownMetadataKeysAreRefused) {
    auto be = make_backend("cpu");
    const std::string dir = testing::temp_dir();
    Forecaster a(be, {CellType::Gru, 5, 8, 1, false}, 4, 1);
    auto opt = make_optimizer(a.params(), OptimizerConfig{});
    const std::string good = dir + "/keys.safetensors", path = dir + "/bad_keys.safetensors";
    save_checkpoint(good, a, {{"dataset", "d"}}, opt.get());  // every key fusedrnn writes
    const std::string bytes = testing::read_file_bytes(good);
    const auto renamed = [&](const std::string& from, const std::string& to) {
        std::string b = bytes;
        const size_t at = b.find("\"" + from + "\"");
        EXPECT_NE(at, std::string::npos) << from;
        b.replace(at + 1, from.size(), to);
        std::ofstream(path, std::ios::binary) << b;
        return error_of([&] { read_checkpoint(path); });
    };
    // A flip in any other key's name fails the metadata checksum; one in the checksum's own name hid it.
    for (const std::string flipped : {"fusedrnn.metadata_chebksum", "fwsedrnn.metadata_checksum"}) {
        const std::string msg = renamed("fusedrnn.metadata_checksum", flipped);
        EXPECT_NE(msg.find(path + ": the file is damaged: its metadata key '" + flipped + "' is one byte off "
                           "'fusedrnn.metadata_checksum'"), std::string::npos) << msg;
    }
    // Not a bit flip (another length): a key of a newer fusedrnn.
    SafetensorsFile f = read_safetensors(good);
    f.metadata.erase("fusedrnn.metadata_checksum");
    f.metadata["fusedrnn.future_setting"] = "1";
    write_safetensors(path, f);
    std::string msg = error_of([&] { read_checkpoint(path); });
    EXPECT_NE(msg.find(path + ": unknown metadata key 'fusedrnn.future_setting': the file is damaged, or was written "
                       "by a newer fusedrnn than this one"), std::string::npos) << msg;
    // Another tool's key loads.
    f.metadata.erase("fusedrnn.future_setting");
    f.metadata["note"] = "from a script";
    write_safetensors(path, f);
    EXPECT_NO_THROW(read_checkpoint(path));
}

TEST(ApiErrors, NameWhatWasWrong) {
    auto be = make_backend("cpu");
    EXPECT_NE(error_of([] { parse_cell("lstmm"); }).find("unknown cell 'lstmm'"), std::string::npos);
    EXPECT_NE(error_of([] { make_backend("tpu"); }).find("unknown backend 'tpu'"), std::string::npos);
    EXPECT_NE(error_of([] { make_backend("cuda"); }).find("not available"), std::string::npos);
    Forecaster m(be, {CellType::Lstm, 5, 8, 1, false}, 4, 1);
    std::mt19937_64 rng(1);
    auto wrong = random_tensor(*be, {6, 2, 4}, rng);
    EXPECT_NE(error_of([&] { m.forward(wrong, false); }).find("4 features per step, but the model expects 5"),
              std::string::npos);
    auto flat = random_tensor(*be, {6, 5}, rng);
    EXPECT_NE(error_of([&] { m.forward(flat, false); }).find("[T, N, C]"), std::string::npos);
    SequenceModel s(be, {CellType::Gru, 5, 8, 1, false}, 0, 2, 1);
    SequenceModel::State st;
    st.h = random_tensor(*be, {2, 2, 8}, rng);
    auto x = random_tensor(*be, {3, 2, 5}, rng);
    EXPECT_NE(error_of([&] { s.forward(x, st, false); }).find("h0"), std::string::npos);
    EXPECT_NE(error_of([] { RnnSpec{CellType::Lstm, 0, 8, 1, false}.validate(); }).find("input_size"), std::string::npos);
}

// A size nothing could hold is named as such, not wrapped into a small number and allocated; sizes beyond RnnSpec's
// bounds are refused by name; the deepest stack allowed names every entry (looked up by name through an index).
TEST(ApiErrors, ParameterLayoutsBeyondMemoryAndDeepStacks) {
    EXPECT_NE(error_of([] { shape_numel({long(1) << 40, long(1) << 40}); }).find("more elements than any memory holds"),
              std::string::npos);
    // Sizes whose products would wrap an int (2·H for a bidirectional stack) are refused by name before any is made.
    EXPECT_NE(error_of([] { rnn_param_layout({CellType::Lstm, 5, 2147483647, 1, true}); })
                  .find("hidden_size must be in [1, 16777216], got 2147483647"),
              std::string::npos);
    EXPECT_NE(error_of([] { rnn_param_layout({CellType::Gru, 4, 4, kMaxRnnLayers + 1, false}); })
                  .find("num_layers must be in [1, 1024], got 1025"),
              std::string::npos);
    const ParamLayout deep = rnn_param_layout({CellType::Gru, 4, 4, kMaxRnnLayers, false});
    EXPECT_EQ(deep.entries().size(), 4096u);
    EXPECT_EQ(deep.at("weight_hh_l1023").shape, (Shape{12, 4}));
    EXPECT_EQ(deep.at("weight_hh_l1023").offset, deep.entries()[4093].offset);
}

}  // namespace
}  // namespace fusedrnn

namespace fusedrnn {
namespace {

// A resume compares what a run computed on with what it computes on now. Checkpoints before 0.3.5 recorded no
// OpenBLAS kernels: their record is compared without that part, so resuming one on the same CPU says nothing.
TEST(Checkpoint, ResumedArithmeticNoteComparesWhatTheCheckpointRecorded) {
    const std::string here = "cpu (float kernels avx512, OpenBLAS Haswell)";
    const auto note = [&](const std::string& then) {
        return resumed_arithmetic_note(nlohmann::json{{"arithmetic", then}}, here, "run/last.safetensors");
    };
    EXPECT_EQ(note(here), "");
    EXPECT_EQ(note("cpu (float kernels avx512)"), "");  // 0.3.4 and before
    EXPECT_NE(note("cpu (float kernels avx2)").find("was trained on cpu (float kernels avx2), this run computes on " +
                                                    here + ": it goes on, but may differ"),
              std::string::npos);
    EXPECT_NE(note("cpu (float kernels avx512, OpenBLAS SkylakeX)").find("OpenBLAS SkylakeX), this run"),
              std::string::npos);
    EXPECT_NE(note("cpu (float kernels avx512, 2 threads)"), "");  // sums that followed the threads
    EXPECT_EQ(resumed_arithmetic_note(nlohmann::json::object(), here, "x"), "");  // older than the record
}

}  // namespace
}  // namespace fusedrnn
