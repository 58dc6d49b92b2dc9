// ForecastTrainer's data parallelism: setting up the ranks (local replicas and other processes), agreeing on when
// to stop, report and save, and checking that every rank holds the same parameters. The training loop is in
// forecast_trainer.cpp, checkpoints and --resume in forecast_trainer_resume.cpp.
#include "fusedrnn/models/forecast_trainer.h"

#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace fusedrnn {

namespace {
// FNV-1a over the window lists: processes that built other windows (other files, flags or a damaged copy) would
// train on other batches.
uint64_t fingerprint(const data::WindowStarts& starts, uint64_t h = 1469598103934665603ull) {
    for (int64_t v : starts) {
        for (int byte = 0; byte < 8; ++byte) {
            h ^= uint64_t(v >> (8 * byte)) & 0xffu;
            h *= 1099511628211ull;
        }
    }
    return h;
}

}  // namespace

void ForecastTrainer::set_up_data_parallel(const std::vector<Replica>& replicas, ProcessGroup* processes,
                                           RankRunner::Threads threads) {
    FR_CHECK(ranks_.size() == 1 && !processes_, "the data-parallel set-up of this trainer is done already ({} ranks)",
             ranks());
    if (processes && processes->size() > 1) processes_ = processes;
    const int L = int(replicas.size()) + 1, R = L * this->processes();
    if (R == 1) return;
    FR_CHECK(o_.batch % R == 0, "--batch {} does not split evenly over {} data-parallel ranks: use a multiple of {}",
             o_.batch, R, R);
    std::vector<Backend<float>*> backends{&model_.backend()};
    for (size_t i = 0; i < replicas.size(); ++i) {
        const Replica& r = replicas[i];
        const size_t rank = i + 1;
        FR_CHECK(r.model && r.optimizer && r.data, "data-parallel rank {}: a model, an optimizer and a dataset are "
                 "needed", rank);
        FR_CHECK(r.model->config() == model_.config(), "data-parallel rank {} holds a different model ({}) than rank "
                 "0 ({})", rank, r.model->config().dump(), model_.config().dump());
        FR_CHECK(r.optimizer->config().name == opt_.config().name, "data-parallel rank {} uses optimizer {}, rank 0 {}",
                 rank, r.optimizer->config().name, opt_.config().name);
        // The series and the training windows must match: rank 0's window lists index every rank's series.
        const ForecastDataset& d = *r.data;
        const bool same_windows = d.F == data_.F && d.target_cols == data_.target_cols &&
                                  d.window.span() == data_.window.span() && d.series.numel() == data_.series.numel() &&
                                  d.starts[0].size() == data_.starts[0].size();
        FR_CHECK(same_windows, "data-parallel rank {} was given other data than rank 0 (variables, targets, window, "
                 "rows or training windows differ)", rank);
        backends.push_back(&r.model->backend());
        Rank k;
        k.model = r.model;
        k.opt = r.optimizer;
        k.data = r.data;
        ranks_.push_back(std::move(k));
    }
    if (processes_) {
        first_rank_ = processes_->rank() * L;
        // Everything that decides the batches, the model and the updates must be the same in every process.
        const OptimizerConfig& oc = opt_.config();
        check_same_on_every_process(
            *processes_, "ranks, model, optimizer, schedule and data",
            fmt::format("ranks per process {}; model {}; optimizer {}; lr {}; momentum {}; weight decay {}; epochs {}; "
                        "batch {}; clip {}; patience {}; seed {}; lr-decay {}; lr-plateau {}; lr-plateau-factor {}; "
                        "lr-cosine {}; teacher forcing {}; max-batches {}; steps-per-epoch {}; resume {}; dataset {}; "
                        "variables {}; rows {}; windows {}/{}/{}; window fingerprint {:x}",
                        L, model_.config().dump(), oc.name, oc.lr, oc.momentum, oc.weight_decay, o_.epochs, o_.batch,
                        o_.clip, o_.patience, o_.seed, o_.lr_decay, o_.lr_plateau, o_.lr_plateau_factor, o_.lr_cosine,
                        o_.teacher_forcing, o_.max_batches, o_.steps_per_epoch, o_.resume,
                        o_.extra.contains("dataset") ? o_.extra.at("dataset").dump() : std::string("-"), data_.F,
                        data_.series.numel(), data_.starts[0].size(), data_.starts[1].size(), data_.starts[2].size(),
                        fingerprint(data_.starts[2], fingerprint(data_.starts[1], fingerprint(data_.starts[0])))));
    }
    if (L > 1) runner_ = std::make_unique<RankRunner>(backends, threads);
    gradient_sum_ = make_gradient_sum(backends, &why_not_nccl_, processes_);
}

void ForecastTrainer::agree_on_step(bool& stop, bool& save_due, bool& report_due) {
    if (!processes_) return;
    const uint8_t mine = uint8_t((stop ? 1 : 0) | (save_due ? 2 : 0) | (report_due ? 4 : 0));
    std::vector<uint8_t> all(size_t(processes_->size()), 0);
    processes_->all_gather(&mine, 1, all.data());
    stop = false;
    for (uint8_t f : all) stop = stop || (f & 1);
    save_due = all[0] & 2;
    report_due = all[0] & 4;
}

std::vector<std::vector<double>> ForecastTrainer::gather_ranks(const std::vector<std::vector<double>>& local,
                                                               size_t per_rank, const char* what) {
    std::vector<double> mine;
    mine.reserve(local.size() * per_rank);
    for (const auto& v : local) {
        FR_CHECK(v.size() <= per_rank, "{}: a rank has {} values for {} slots", what, v.size(), per_rank);
        mine.insert(mine.end(), v.begin(), v.end());
        mine.resize(mine.size() + per_rank - v.size(), 0.0);  // a rank that had no batch in the last round
    }
    std::vector<std::vector<double>> per_process{mine};
    if (processes_) per_process = all_gather(*processes_, mine, what);
    std::vector<std::vector<double>> out;
    for (const auto& p : per_process)
        for (size_t k = 0; k < local.size(); ++k)
            out.emplace_back(p.begin() + std::ptrdiff_t(k * per_rank), p.begin() + std::ptrdiff_t((k + 1) * per_rank));
    return out;
}

void ForecastTrainer::run_ranks(const std::function<void(int)>& fn) {
    if (runner_) runner_->run(fn);
    else fn(0);
}

void ForecastTrainer::sync_replicas() {
    if (ranks() == 1) return;
    std::vector<float> values = model_.params().values_to_host();
    auto state = opt_.state_to_host();
    long steps = opt_.steps();
    float lr = opt_.lr();
    if (processes_) {  // process 0's rank 0 is every rank's source
        broadcast(*processes_, values, 0);
        for (auto& kv : state) broadcast(*processes_, kv.second, 0);  // the same names everywhere (same optimizer)
        processes_->broadcast(&steps, sizeof steps, 0);
        processes_->broadcast(&lr, sizeof lr, 0);
        if (processes_->rank() > 0) {
            model_.params().values_from_host(values);
            opt_.state_from_host(state, steps);
            opt_.set_lr(lr);
        }
    }
    for (size_t r = 1; r < ranks_.size(); ++r) {
        ranks_[r].model->params().values_from_host(values);
        ranks_[r].opt->state_from_host(state, steps);
        ranks_[r].opt->set_lr(lr);
    }
}

void ForecastTrainer::check_replicas_agree(int epoch) {
    if (ranks() == 1) return;
    std::vector<float> ref = model_.params().values_to_host();
    if (processes_) broadcast(*processes_, ref, 0);
    std::vector<int64_t> differ(ranks_.size(), 0);  // per local rank
    for (size_t r = 0; r < ranks_.size(); ++r) {
        if (r == 0 && (!processes_ || processes_->rank() == 0)) continue;
        const std::vector<float> v = ranks_[r].model->params().values_to_host();
        for (size_t i = 0; i < v.size(); ++i) differ[r] += std::memcmp(&v[i], &ref[i], sizeof(float)) != 0;
    }
    std::vector<std::vector<int64_t>> all{differ};
    if (processes_) all = all_gather(*processes_, differ, "the ranks' parameter check");
    for (size_t p = 0; p < all.size(); ++p)
        for (size_t r = 0; r < all[p].size(); ++r)
            FR_CHECK(all[p][r] == 0, "data parallelism: after epoch {} the parameters of rank {}{} differ from rank 0's "
                     "in {} of {} values; the gradient sum ({}) or an update is not the same on every rank", epoch,
                     p * ranks_.size() + r, processes_ ? fmt::format(" (process {})", p) : std::string(), all[p][r],
                     ref.size(), gradient_sum_name());
}

}  // namespace fusedrnn
