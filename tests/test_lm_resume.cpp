// Language-model training resumes exactly: stopped mid-epoch (Ctrl-C) or crashed after a periodic
// checkpoint, `resume` continues to the same parameters and history as an uninterrupted run —
// bit-identical on the CPU backend — in window mode (shuffled windows) and in stream mode (state and
// position carried across short epochs, learning-rate decay); a resume with other settings is refused.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::error_of;

const char* kText =
    "long ago , the mice had a general council to consider what measures they could take to outwit their "
    "common enemy , the cat . some said this , and some said that ; but at last a young mouse got up and "
    "said he had a proposal to make , which he thought would meet the case .";

struct RunResult {
    std::vector<LmEpochRecord> history;
    std::vector<float> params;
};

class LmResume : public ::testing::TestWithParam<LmMode> {
protected:
    // polls_before_stop < 0: never stop; crash: throw a plain exception there instead of asking to stop.
    RunResult run(const std::string& dir, bool resume, int polls_before_stop = -1, bool crash = false,
            double checkpoint_seconds = 0, int batch = 8) {
        LmSettings s;
        s.mode = GetParam();
        s.context = 3;
        s.bptt = 5;
        s.streams = 3;
        text::TokenizerOptions to;
        to.kind = s.mode == LmMode::Window ? text::TokenizerKind::Word : text::TokenizerKind::Char;
        LanguageModel lm = make_language_model(make_backend("cpu"), {CellType::Gru, 8, 12, layers_, false},
                                               text::Tokenizer::build(kText, to), s, 11);
        lm.model->set_dropout(dropout_);
        OptimizerConfig oc;
        oc.lr = 0.02f;
        auto opt = make_optimizer(lm.model->params(), oc);
        LmTrainOptions o;
        o.epochs = epochs_;
        o.batch = batch;
        o.heldout = heldout_;
        o.lr_decay = 0.7;
        o.seed = 4;
        o.max_chunks = s.mode == LmMode::Stream ? 4 : 0;  // short epochs: the stream continues across them
        o.out_dir = dir;
        o.resume = resume;
        o.overwrite = overwrite_;
        o.checkpoint_seconds = checkpoint_seconds;
        o.info = info_.is_null() ? nlohmann::json{{"batch", batch}} : info_;
        o.stop_requested = testing::stop_at_poll(polls_before_stop, crash);
        LmTrainer t(lm, *opt, lm.tokenizer.encode(kText), o);
        steps_ = t.steps_per_epoch();
        polls_ = steps_ + 1;
        RunResult r;
        r.history = t.fit();
        r.params = lm.model->params().values_to_host();
        return r;
    }
    void expect_same(const RunResult& a, const RunResult& b) {
        EXPECT_EQ(a.params, b.params);  // bit-identical
        testing::expect_same_history(a.history, b.history);
    }
    long steps_ = 0;
    long polls_ = 0;  // stop polls in a whole epoch: one after each step, one after the epoch's report
    int epochs_ = 3;
    double heldout_ = 0.2;  // 0: the best epoch is the one with the lowest training loss
    nlohmann::json info_;  // null: {"batch": batch}
    bool overwrite_ = false;
    int layers_ = 1;
    float dropout_ = 0;
};

TEST_P(LmResume, ANewRunDoesNotSilentlyReplaceAnUnfinishedOne) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, 2), Interrupted);
    try {
        run(dir, false);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unfinished run (stopped in epoch 1, step 2/"), std::string::npos)
            << e.what();
    }
    overwrite_ = true;
    EXPECT_EQ(run(dir, false).history.size(), 3u);
    overwrite_ = false;
    EXPECT_EQ(run(dir, false).history.size(), 3u);  // the finished run may be replaced
}

TEST_P(LmResume, StopMidEpochThenResumeEqualsUninterruptedRun) {
    const RunResult full = run(testing::temp_dir(), false);
    ASSERT_GE(steps_, 3);
    const std::string dir = testing::temp_dir();
    try {
        run(dir, false, int(polls_ + 2));  // epoch 2, step 2
        FAIL() << "expected Interrupted";
    } catch (const Interrupted& e) {
        EXPECT_NE(std::string(e.what()).find("epoch 2, step 2/"), std::string::npos) << e.what();
    }
    const auto t = read_checkpoint(dir + "/last.safetensors").extra.at("training");
    EXPECT_EQ(t.at("epoch").get<int>(), 1);
    EXPECT_EQ(t.at("epoch_in_progress").at("steps_done").get<long>(), 2);
    expect_same(run(dir, true), full);
    // Resuming a finished run trains nothing more.
    expect_same(run(dir, true), full);
}

// The carried stream state is stored as tensors beside the parameters (trainer_state.h), not as JSON numbers: a big
// run's (512 streams x 2048 units x 3 layers) would pass the 100 MB the reader allows a header (QA: a last.safetensors
// its own resume could not read). A checkpoint of 0.3.6, with the values in the JSON, still resumes to the same run.
TEST_P(LmResume, TheStreamStateIsStoredAsTensorsAndTheOldJsonFormReads) {
    const RunResult full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(polls_ + 2)), Interrupted);
    const Checkpoint c = read_checkpoint(dir + "/last.safetensors");
    if (GetParam() == LmMode::Window) {  // carries no state
        EXPECT_FALSE(c.extra.at("training").contains("state"));
        EXPECT_TRUE(state_tensors_of(c).empty());
        return;
    }
    const nlohmann::json& h = c.extra.at("training").at("state").at("h");
    EXPECT_FALSE(h.contains("values")) << h.dump().substr(0, 200);
    ASSERT_TRUE(c.file.has("trainer_state.h"));
    EXPECT_EQ(c.file.at("trainer_state.h").shape, (Shape{1, 3, 12}));
    EXPECT_FALSE(c.file.has("trainer_state.c"));  // a GRU has no cell state
    // Rewritten as 0.3.6 wrote it: the values in the training block, no state tensor.
    nlohmann::json training = c.extra.at("training");
    training["state"]["h"]["values"] = c.file.get_f32("trainer_state.h");
    LanguageModel lm = load_language_model(dir + "/last.safetensors", make_backend("cpu"));
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    load_optimizer(c, *opt);
    save_language_model(dir + "/last.safetensors", lm, training, opt.get());
    ASSERT_FALSE(read_checkpoint(dir + "/last.safetensors").file.has("trainer_state.h"));
    expect_same(run(dir, true), full);
}

// The masks are drawn by the step over the whole run, not from a generator's state: the resumed steps draw the
// uninterrupted run's masks. (Dropout 0.3 does change the run: its parameters differ from the run without.)
TEST_P(LmResume, WithDropoutResumeEqualsUninterruptedRun) {
    layers_ = 2;
    const RunResult plain = run(testing::temp_dir(), false);
    dropout_ = 0.3f;
    const RunResult full = run(testing::temp_dir(), false);
    EXPECT_NE(full.params, plain.params);
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(polls_ + 2)), Interrupted);  // epoch 2, step 2
    expect_same(run(dir, true), full);
}

TEST_P(LmResume, PeriodicCheckpointSurvivesACrash) {
    const RunResult full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    // Saves after every step; the crash at epoch 3's 2nd poll leaves the save after its 1st step.
    EXPECT_THROW(run(dir, false, int(2 * polls_ + 2), /*crash*/ true, 1e-9), std::runtime_error);
    EXPECT_EQ(read_checkpoint(dir + "/last.safetensors").extra.at("training").at("epoch_in_progress").at("steps_done")
                  .get<long>(), 1);
    expect_same(run(dir, true), full);
}

TEST_P(LmResume, OtherSettingsAreRefused) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, 2), Interrupted);
    if (GetParam() == LmMode::Stream) {
        // The window batch does nothing in stream mode: another one resumes (stopped again at its first poll).
        EXPECT_THROW(run(dir, true, 1, false, 0, /*batch*/ 5), Interrupted);
    } else {
        try {
            run(dir, true, -1, false, 0, /*batch*/ 5);
            FAIL() << "expected an error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("other settings (--batch: 8 saved, 5 now)"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_THROW(run(testing::temp_dir(), true), Error);  // nothing to resume
    // A damaged training block (a field missing) is named, not an internal JSON error.
    Checkpoint c = read_checkpoint(dir + "/last.safetensors");
    LanguageModel lm = load_language_model(dir + "/last.safetensors", make_backend("cpu"));
    nlohmann::json training = c.extra.at("training");
    training["epoch_in_progress"].erase("loss_sum");
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    load_optimizer(c, *opt);
    save_language_model(dir + "/last.safetensors", lm, training, opt.get(), nullptr, state_tensors_of(c));
    try {
        run(dir, true);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("damaged or incomplete"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("(its field 'loss_sum' is missing)"), std::string::npos) << e.what();
    }
}

// A resume must not end claiming a best.safetensors that was deleted or replaced since the run wrote it.
TEST_P(LmResume, AMissingOrDamagedBestCheckpointIsRefused) {
    const std::string dir = testing::temp_dir();
    RunResult dummy = run(testing::temp_dir(), false);
    (void)dummy;
    EXPECT_THROW(run(dir, false, int(polls_ + 2)), Interrupted);  // epoch 2: epoch 1 wrote best.safetensors
    const std::string best = dir + "/best.safetensors", kept = dir + "/kept.safetensors";
    std::filesystem::rename(best, kept);
    std::string m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find(best + " (the best model, epoch 1) is missing"), std::string::npos) << m;
    std::ofstream(best) << "not a checkpoint at all";
    m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find(best + " (the best model, epoch 1) cannot be read"), std::string::npos) << m;
    // A checkpoint of the same model, but not the best one (epoch 1).
    save_language_model(best, load_language_model(kept, make_backend("cpu")), {{"epoch", 7}});
    m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find(best + " is not the best model of this run (epoch 1)"), std::string::npos) << m;
    // Of the same epoch, but another loss: another run's best.
    save_language_model(best, load_language_model(kept, make_backend("cpu")), {{"epoch", 1}, {"best", 123.0}});
    m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find(best + " is not the best model of this run (epoch 1)"), std::string::npos) << m;
    // The best model itself with its settings block cut out (checksum gone too): damaged, not another run's (QA).
    SafetensorsFile cut = read_safetensors(kept);
    nlohmann::json extra = nlohmann::json::parse(cut.metadata.at("fusedrnn.extra"));
    extra.erase("lm");
    cut.metadata["fusedrnn.extra"] = extra.dump();
    cut.metadata.erase("fusedrnn.metadata_checksum");
    write_safetensors(best, cut);
    m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find(best + " (the best model, epoch 1) cannot be read (" + best + " is damaged: it stores a tokenizer "
                     "but not the language model's settings"), std::string::npos) << m;
    std::filesystem::rename(kept, best);
    EXPECT_EQ(run(dir, true).history.size(), 3u);  // put back: the run resumes
}

// last.safetensors is written before best.safetensors at the end of an epoch: a run stopped between the two (a full
// disk, a kill) resumes, writing the best model it had not written yet, as the run would have.
TEST_P(LmResume, AStopBetweenSavingLastAndBestIsMendedOnResume) {
    namespace fs = std::filesystem;
    const std::string dir = testing::temp_dir(), best = dir + "/best.safetensors", before = dir + "/best.before";
    heldout_ = 0;  // judged on the training loss, which falls: a later epoch is soon the best
    // Epoch by epoch, up to the first after epoch 1 that improves on the best (best.before: the best until then).
    epochs_ = 1;
    run(dir, false);
    for (bool improved = false; !improved;) {
        fs::copy_file(best, before, fs::copy_options::overwrite_existing);
        ++epochs_;
        ASSERT_LE(epochs_, 8) << "no epoch improved on the first";
        improved = run(dir, true).history.back().best;
    }
    const std::string best_now = testing::read_file_bytes(best);
    // As if the run had stopped after saving last.safetensors at the end of that epoch, before best.safetensors.
    fs::copy_file(before, best, fs::copy_options::overwrite_existing);
    EXPECT_NO_THROW(run(dir, true));
    EXPECT_EQ(testing::read_file_bytes(best), best_now);  // what the uninterrupted run wrote
    // The same where there was no best.safetensors before (a stop after epoch 1's last.safetensors).
    fs::remove(best);
    EXPECT_NO_THROW(run(dir, true));
    EXPECT_EQ(testing::read_file_bytes(best), best_now);
}

// The text is recognised by its content: another path to the same text resumes, a changed text is refused.
TEST_P(LmResume, TheTextIsComparedByContentNotByPath) {
    const std::string dir = testing::temp_dir();
    info_ = {{"text", "corpus.txt"}, {kTextBytesKey, 1000}, {kTextHashKey, "00000000deadbeef"}};
    EXPECT_THROW(run(dir, false, 2), Interrupted);
    info_["text"] = "./corpus.txt";
    const std::string moved = testing::temp_dir();
    std::filesystem::copy_file(dir + "/last.safetensors", moved + "/last.safetensors");
    EXPECT_EQ(run(moved, true).history.size(), 3u);  // the same content under another name
    info_ = {{"text", "corpus.txt"}, {kTextBytesKey, 1000}, {kTextHashKey, "00000000feedface"}};
    const std::string m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find("the training text \"corpus.txt\" is not the text"), std::string::npos) << m;
    // A checkpoint from before the fingerprint was recorded: the path is compared, as then.
    const std::string old = testing::temp_dir();
    info_ = {{"text", "corpus.txt"}};
    EXPECT_THROW(run(old, false, 2), Interrupted);
    info_ = {{"text", "corpus.txt"}, {kTextBytesKey, 1000}, {kTextHashKey, "00000000deadbeef"}};
    EXPECT_EQ(run(old, true).history.size(), 3u);
}

TEST_P(LmResume, EpochsBelowTheEpochInProgressAreRefused) {
    const std::string dir = testing::temp_dir();
    RunResult dummy = run(testing::temp_dir(), false);
    (void)dummy;
    EXPECT_THROW(run(dir, false, int(polls_ + 2)), Interrupted);  // epoch 2, step 2
    epochs_ = 1;
    const std::string m = error_of([&] { run(dir, true); });
    EXPECT_NE(m.find("--epochs 1 is below the epoch in progress (2)"), std::string::npos) << m;
    epochs_ = 3;
    EXPECT_EQ(run(dir, true).history.size(), 3u);
    epochs_ = 2;  // a finished 3-epoch run resumed with fewer epochs
    const std::string f = error_of([&] { run(dir, true); });
    EXPECT_NE(f.find("--epochs 2 is below the 3 epochs"), std::string::npos) << f;
}

// A hand-edited training state is refused naming the file, not trained from.
TEST_P(LmResume, DamagedResumeStateIsRefusedNamingTheFile) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, 2), Interrupted);
    const std::string last = dir + "/last.safetensors";
    const Checkpoint c = read_checkpoint(last);
    const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        const std::string d = testing::temp_dir();
        LanguageModel lm = load_language_model(last, make_backend("cpu"));
        nlohmann::json training = c.extra.at("training");
        edit(training);
        auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
        load_optimizer(c, *opt);
        save_language_model(d + "/last.safetensors", lm, training, opt.get(), nullptr, state_tensors_of(c));
        return error_of([&] { run(d, true); });
    };
    std::string m = edited([](nlohmann::json& t) { t["lr"] = -0.5; });
    EXPECT_NE(m.find("last.safetensors is damaged: its learning rate is -0.5"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["epoch_in_progress"]["steps_done"] = 1000000; });
    EXPECT_NE(m.find("last.safetensors is damaged: its epoch in progress"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["epoch_in_progress"]["steps_done"] = -3; });
    EXPECT_NE(m.find("is damaged: its training.epoch_in_progress.steps_done is -3, not a whole number in [0, "),
              std::string::npos) << m;
    // get<int>() would read 1.5 as 1 and 2^32 + 1 as 1, and train on.
    m = edited([](nlohmann::json& t) { t["epoch_in_progress"]["epoch"] = 1.5; });
    EXPECT_NE(m.find("is damaged: its training.epoch_in_progress.epoch is 1.5, not a whole number in [0, 2147483647]"),
              std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["history"][0]["epoch"] = 4294967297u; });
    EXPECT_NE(m.find("is damaged: its training.history[0].epoch is 4294967297, not a whole number"), std::string::npos)
        << m;
    // The epoch it records goes with its history (epoch 1 is in progress: none done).
    m = edited([](nlohmann::json& t) { t["epoch"] = 2; });
    EXPECT_NE(m.find("is damaged: it records epoch 2 as done, but its history is empty"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["history"] = "x"; });
    EXPECT_NE(m.find("damaged or incomplete (a value is a string where a block of fields belongs)"), std::string::npos)
        << m;
    m = edited([](nlohmann::json& t) { t["info"]["batch"] = "x"; });
    EXPECT_NE(m.find("is damaged: its training.info.batch is \"x\", not a number"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t.erase("cursor"); });
    EXPECT_NE(m.find("was written by a version that could not resume, or is damaged (its training state has no "
                     "cursor)"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["cursor"] = 1000000; });
    if (GetParam() == LmMode::Window) {
        EXPECT_NE(m.find("it records a stream position (chunk 1000000), but a window-mode run has none"),
                  std::string::npos) << m;
    }
    if (GetParam() == LmMode::Stream) {
        EXPECT_NE(m.find("is damaged: its stream position (chunk 1000000)"), std::string::npos) << m;
        m = edited([](nlohmann::json& t) { t.erase("state"); });
        EXPECT_NE(m.find("is damaged: the carried stream state is missing"), std::string::npos) << m;
        m = edited([](nlohmann::json& t) { t["state"]["h"] = {{"shape", {1, 1, 2}}, {"values", {0.5, 0.5}}}; });
        EXPECT_NE(m.find("is damaged: the carried stream state h has shape [1, 1, 2]"), std::string::npos) << m;
    }
    // The optimizer's step count goes with the history and the epoch in progress (epoch 1, its 2nd step saved).
    const std::string d = testing::temp_dir();
    SafetensorsFile f = read_safetensors(last);
    nlohmann::json optimizer = nlohmann::json::parse(f.metadata.at("fusedrnn.optimizer"));
    ASSERT_EQ(optimizer.at("steps").get<long>(), 2);
    optimizer["steps"] = 7;
    f.metadata["fusedrnn.optimizer"] = optimizer.dump();
    f.metadata.erase("fusedrnn.metadata_checksum");
    write_safetensors(d + "/last.safetensors", f);
    m = error_of([&] { run(d, true); });
    EXPECT_NE(m.find("is damaged: its optimizer has taken 7 steps, but its training state accounts for 2 (no epoch "
                     "finished, and 2 in epoch 1)"),
              std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Modes, LmResume, ::testing::Values(LmMode::Window, LmMode::Stream),
                         [](const auto& p) { return std::string(p.param == LmMode::Window ? "window" : "stream"); });

}  // namespace
}  // namespace fusedrnn
