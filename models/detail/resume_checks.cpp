#include "fusedrnn/models/detail/resume_checks.h"

#include <cstdint>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {

void check_resume_wholes(const nlohmann::json& block, const char* block_name, const ResumeWholes& keys,
                         const std::string& path) {
    const auto check = [&](const nlohmann::json& obj, const std::vector<WholeKey>& wanted, const std::string& where) {
        if (!obj.is_object()) return;  // the reading names a block of the wrong type
        for (const WholeKey& k : wanted) {
            if (!obj.contains(k.key)) continue;
            const int64_t hi = k.is_long ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int>::max();
            (void)json_whole(obj, k.key, fmt::format("--resume: {} is damaged: its {}.{}", path, where, k.key), 0, hi);
        }
    };
    check(block, keys.block, block_name);
    if (block.is_object() && block.contains("history") && block.at("history").is_array()) {
        const nlohmann::json& history = block.at("history");
        for (size_t i = 0; i < history.size(); ++i)
            check(history[i], keys.record, fmt::format("{}.history[{}]", block_name, i));
    }
    if (block.is_object() && block.contains("epoch_in_progress"))
        check(block.at("epoch_in_progress"), keys.in_progress, fmt::format("{}.epoch_in_progress", block_name));
}

void check_history_order(const std::vector<int>& epochs, const std::string& path) {
    for (size_t i = 0; i < epochs.size(); ++i)
        FR_CHECK(epochs[i] == int(i) + 1, "--resume: {} is damaged: its history lists epoch {} in place {}", path,
                 epochs[i], i + 1);
}

void check_optimizer_steps(long steps, long expected, const std::string& accounted, const std::string& path) {
    FR_CHECK(steps == expected, "--resume: {} is damaged: its optimizer has taken {} step{}, but its "
             "training state accounts for {} ({}); start a new run or resume from an unedited checkpoint", path, steps,
             steps == 1 ? "" : "s", expected, accounted);
}

void check_epochs_reach(long epochs, long in_progress, long done, const std::string& path) {
    if (in_progress > 0)
        FR_CHECK(epochs >= in_progress, "--resume: --epochs {} is below the epoch in progress ({}) in {}: give "
                 "--epochs {} or more to finish it", epochs, in_progress, path, in_progress);
    else
        FR_CHECK(epochs >= done, "--resume: --epochs {} is below the {} epoch{} {} already holds: give --epochs {} or "
                 "more", epochs, done, done == 1 ? "" : "s", path, done);
}

std::string check_resumed_best(const ResumedBest& r) {
    if (r.epoch == 0) return {};
    if (r.last_ends_it && best_checkpoint_is_behind(r.best_path, *r.config, r.block, *r.last_history)) {
        const bool was_missing = !std::filesystem::exists(r.best_path);
        r.save_best();
        return fmt::format("--resume: {} {} epoch {}, the best so far (the run stopped between saving {} and it): "
                           "written now from {}", r.best_path,
                           was_missing ? "was missing: it is to hold" : "did not hold", r.epoch, r.last_path,
                           r.last_path);
    }
    const Checkpoint b = read_best_checkpoint_for_resume(r.best_path, r.epoch, r.last_path, r.check_readable);
    if (!(b.config == *r.config && b.extra.is_object() && r.is_the_runs_best(b)))
        fail_not_the_runs_best(r.best_path, r.what, r.last_path);
    return {};
}

}  // namespace fusedrnn::detail
