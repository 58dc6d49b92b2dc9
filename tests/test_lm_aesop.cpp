// The course's word-level example on the real fable (../shared/data/aesop): an LSTM reading 3 words
// reaches ≥ 90% training accuracy and, from "had a general", continues the fable's text.
#include <memory>
#include <string>

#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/models/lm_corpus.h"
#include "fusedrnn/models/lm_generate.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

TEST(LmAesop, ThreeWordsInLstmLearnsTheFable) {
    FUSEDRNN_REQUIRE_DATA("aesop");
    text::TokenizerOptions to;  // word-level, as in the course
    LmCorpus corpus = load_lm_corpus(testing::data_dir() + "/aesop/belling_the_cat.txt", to, /*heldout=*/0);
    LmSettings s;  // window mode, context 3
    LanguageModel lm = make_language_model(make_backend("cpu"), {CellType::Lstm, 32, 128, 1, false}, corpus.tokenizer,
                                           s, 1);
    OptimizerConfig oc;
    oc.lr = 0.01f;
    auto opt = make_optimizer(lm.model->params(), oc);
    LmTrainOptions o;
    o.epochs = 20;
    o.heldout = 0;
    LmTrainer trainer(lm, *opt, corpus.tokens, o);
    trainer.fit();
    const LmEval fit = trainer.evaluate_train();
    EXPECT_GE(fit.accuracy, 0.9);
    std::cout << "[ aesop    ] training accuracy " << 100 * fit.accuracy << "%, loss " << fit.loss << "\n";

    LmGenerator gen(lm);
    text::SamplingOptions greedy;
    greedy.greedy = true;
    text::Sampler sampler(greedy, 0);
    EXPECT_EQ(gen.continue_text("had a general", 10, sampler),
              "had a general council to consider what measures they could take to outwit");
}

}  // namespace
}  // namespace fusedrnn
