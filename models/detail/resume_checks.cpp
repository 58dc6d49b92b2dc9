#include "fusedrnn/models/detail/resume_checks.h"

#include <fmt/format.h>

#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {

void check_history_order(const std::vector<int>& epochs, const std::string& path) {
    for (size_t i = 0; i < epochs.size(); ++i)
        FR_CHECK(epochs[i] == int(i) + 1, "--resume: {} is damaged: its history lists epoch {} in place {}", path,
                 epochs[i], i + 1);
}

void check_epochs_reach(long epochs, long in_progress, long done, const std::string& path) {
    if (in_progress > 0)
        FR_CHECK(epochs >= in_progress, "--resume: --epochs {} is below the epoch in progress ({}) in {}: give "
                 "--epochs {} or more to finish it", epochs, in_progress, path, in_progress);
    else
        FR_CHECK(epochs >= done, "--resume: --epochs {} is below the {} epoch{} {} already holds: give --epochs {} or "
                 "more", epochs, done, done == 1 ? "" : "s", path, done);
}

std::string best_checkpoint_rewritten_note(const std::string& best_path, long epoch, const std::string& last_path,
                                           bool was_missing) {
    return fmt::format("--resume: {} {} epoch {}, the best so far (the run stopped between saving {} and it): written "
                       "now from {}", best_path, was_missing ? "was missing: it is to hold" : "did not hold", epoch,
                       last_path, last_path);
}

}  // namespace fusedrnn::detail
