#include "models/lm_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "models/checkpoint.h"

namespace fusedrnn {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Fisher–Yates from mt19937_64's raw output (fixed by the standard), not std::shuffle, whose use of
// the generator is implementation-defined: the same seed gives the same window order everywhere.
void shuffle_indices(std::vector<size_t>& v, uint64_t seed, int epoch) {
    std::mt19937_64 rng(seed ^ (0x9E3779B97F4A7C15ull * uint64_t(epoch + 1)));
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(rng() % i)]);
}

// Streams for the held-out stream evaluation: as many as training uses, but no more than lets each
// stream hold one full chunk, so a short held-out part is not cut into fragments of a token or two.
int heldout_streams(size_t tokens, int streams, int bptt) {
    const size_t fit = tokens / size_t(bptt + 1);
    return int(std::max<size_t>(1, std::min<size_t>(size_t(streams), fit)));
}

}  // namespace

nlohmann::json LmEpochRecord::to_json() const {
    nlohmann::json j = {{"epoch", epoch},         {"train_loss", train_loss}, {"train_accuracy", train_accuracy},
                        {"grad_norm", grad_norm}, {"lr", lr}, {"seconds", seconds},       {"tokens_per_s", tokens_per_s},
                        {"best", best}};
    if (has_heldout) {
        j["heldout_loss"] = heldout_loss;
        j["heldout_accuracy"] = heldout_accuracy;
        j["heldout_perplexity"] = std::exp(heldout_loss);
    }
    return j;
}

LmTrainer::LmTrainer(LanguageModel& lm, Optimizer& optimizer, const std::vector<int32_t>& tokens,
                     LmTrainOptions options)
    : lm_(lm), opt_(optimizer), o_(std::move(options)) {
    FR_CHECK(o_.epochs >= 1, "--epochs must be at least 1, got {}", o_.epochs);
    FR_CHECK(o_.batch >= 1, "--batch must be at least 1, got {}", o_.batch);
    FR_CHECK(o_.max_chunks >= 0, "--max-chunks must be >= 0, got {}", o_.max_chunks);
    FR_CHECK(std::isfinite(o_.clip) && o_.clip >= 0, "--clip must be >= 0 (0 = off), got {}", o_.clip);
    FR_CHECK(std::isfinite(o_.lr_decay) && o_.lr_decay > 0 && o_.lr_decay <= 1,
             "--lr-decay must be in (0, 1] (1 = constant learning rate), got {}", o_.lr_decay);
    const LmSettings& s = lm_.settings;
    s.validate();
    if (s.mode == LmMode::Window) {
        windows_ = text::make_window_dataset(tokens, s.context, o_.heldout);
        train_tokens_ = windows_.train.count + size_t(s.context);
        heldout_tokens_ = windows_.heldout.count ? windows_.heldout.count + size_t(s.context) : 0;
        order_.resize(windows_.train.count);
        for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    } else {
        text::HeldoutSplit split = text::split_heldout(tokens, o_.heldout);
        FR_CHECK(o_.heldout == 0 || split.heldout.size() >= 2,
                 "the held-out {:g}% of the text is {} token(s), too few for one prediction; raise --heldout or "
                 "hold out nothing (--heldout 0)", 100 * o_.heldout, split.heldout.size());
        train_tokens_ = split.train.size();
        heldout_tokens_ = split.heldout.size();
        train_stream_.emplace_back(split.train, s.streams, s.bptt);
        heldout_stream_ = std::move(split.heldout);
    }
}

long LmTrainer::steps_per_epoch() const {
    const long all = lm_.settings.mode == LmMode::Window
                         ? long((windows_.train.count + size_t(o_.batch) - 1) / size_t(o_.batch))
                         : long(train_stream_.front().num_chunks());
    return o_.max_chunks > 0 ? std::min(all, o_.max_chunks) : all;
}

LmEval LmTrainer::evaluate_heldout() {
    if (lm_.settings.mode == LmMode::Window) {
        if (windows_.heldout.count == 0) return {};
        return evaluate_windows(*lm_.model, windows_.heldout, o_.batch);
    }
    if (heldout_stream_.size() < 2) return {};
    return evaluate_stream(*lm_.model, heldout_stream_,
                           heldout_streams(heldout_stream_.size(), lm_.settings.streams, lm_.settings.bptt),
                           lm_.settings.bptt);
}

LmEval LmTrainer::evaluate_train() {
    if (lm_.settings.mode == LmMode::Window) return evaluate_windows(*lm_.model, windows_.train, o_.batch);
    // The stream layout keeps every training token ([L, N] time-major), so rebuild the stream from it.
    const text::StreamBatches& b = train_stream_.front();
    const size_t L = b.stream_length(), N = size_t(b.streams());
    std::vector<int32_t> flat(L * N);
    for (size_t n = 0; n < N; ++n)
        for (size_t t = 0; t < L; ++t) flat[n * L + t] = b.data()[t * N + n];
    return evaluate_stream(*lm_.model, flat, b.streams(), b.bptt());
}

ChunkResult LmTrainer::train_step(long step) {
    Backend<float>& be = lm_.model->backend();
    if (lm_.settings.mode == LmMode::Window) {
        const size_t start = size_t(step) * size_t(o_.batch);
        const size_t B = std::min(size_t(o_.batch), order_.size() - start);
        wbuf_.load(be, windows_.train, order_.data() + start, B);
        return lm_window_step(*lm_.model, &opt_, wbuf_, o_.clip);
    }
    const text::StreamBatches& batches = train_stream_.front();
    if (cursor_ >= batches.num_chunks()) {  // back at the start of the text: nothing to carry over
        cursor_ = 0;
        state_ = SequenceModel::State();
    }
    const long T = batches.chunk_steps(cursor_), N = batches.streams();
    host_ids_.resize(size_t(T * N));
    host_targets_.resize(size_t(T * N));
    batches.chunk_into(cursor_, host_ids_.data(), host_targets_.data());
    if (ids_.empty() || ids_.shape() != Shape{T, N}) {
        ids_ = be.empty_i32({T, N});
        targets_ = be.empty_i32({T * N});
    }
    be.copy_from_host(ids_.data(), host_ids_.data(), host_ids_.size() * sizeof(int32_t));
    be.copy_from_host(targets_.data(), host_targets_.data(), host_targets_.size() * sizeof(int32_t));
    ++cursor_;
    return tbptt_chunk_tokens(*lm_.model, &opt_, ids_, targets_, state_, o_.clip);
}

void LmTrainer::save(const std::string& name, int epoch, const std::vector<LmEpochRecord>& history) {
    if (o_.out_dir.empty()) return;
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : history) hist.push_back(r.to_json());
    nlohmann::json training = {{"epoch", epoch}, {"epochs", o_.epochs}, {"history", hist}, {"info", o_.info}};
    save_language_model((std::filesystem::path(o_.out_dir) / name).string(), lm_, training);
}

std::vector<LmEpochRecord> LmTrainer::fit() {
    if (!o_.out_dir.empty()) create_output_folder(o_.out_dir);
    const bool window = lm_.settings.mode == LmMode::Window;
    std::vector<LmEpochRecord> history;
    double best = INFINITY;
    for (int epoch = 1; epoch <= o_.epochs; ++epoch) {
        const auto t0 = Clock::now();
        if (window) shuffle_indices(order_, o_.seed, epoch);
        else if (o_.max_chunks == 0) cursor_ = train_stream_.front().num_chunks();  // restart the text
        const long steps = steps_per_epoch();
        double loss_sum = 0, norm_sum = 0;
        long correct = 0, predictions = 0;
        auto last_report = Clock::now();
        for (long s = 0; s < steps; ++s) {
            const ChunkResult r = train_step(s);
            const long n = window ? long(wbuf_.host_targets.size()) : long(host_targets_.size());
            if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm))
                throw NumericError(fmt::format("epoch {} step {}: the training loss is {} (gradient norm {}); "
                                               "lower --lr or set --clip", epoch, s + 1, r.loss, r.grad_norm));
            loss_sum += r.loss * double(n);
            norm_sum += r.grad_norm;
            correct += r.correct;
            predictions += n;
            if (on_progress && (seconds_since(last_report) > 0.25 || s + 1 == steps)) {
                last_report = Clock::now();
                const double el = seconds_since(t0);
                LmProgress p{epoch, o_.epochs, s + 1, steps, loss_sum / double(predictions),
                             double(correct) / double(predictions), double(predictions) / std::max(el, 1e-9),
                             el / double(s + 1) * double(steps - s - 1)};
                on_progress(p);
            }
        }
        LmEpochRecord rec;
        rec.epoch = epoch;
        rec.lr = opt_.lr();
        rec.train_loss = loss_sum / double(predictions);
        rec.train_accuracy = double(correct) / double(predictions);
        rec.grad_norm = norm_sum / double(steps);
        rec.tokens_per_s = double(predictions) / std::max(seconds_since(t0), 1e-9);
        const LmEval h = evaluate_heldout();
        rec.has_heldout = h.predictions > 0;
        rec.heldout_loss = h.loss;
        rec.heldout_accuracy = h.accuracy;
        const double score = rec.has_heldout ? rec.heldout_loss : rec.train_loss;
        rec.best = score < best;
        if (rec.best) best = score;
        rec.seconds = seconds_since(t0);
        history.push_back(rec);
        save("last.safetensors", epoch, history);
        if (rec.best) save("best.safetensors", epoch, history);
        if (on_epoch) on_epoch(rec);
        opt_.set_lr(float(opt_.lr() * o_.lr_decay));
    }
    return history;
}

}  // namespace fusedrnn
