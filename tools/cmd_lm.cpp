// fusedrnn CLI: language models — `lm-train`, `generate`, `perplexity`. The work is done in models/
// (language_model.h, lm_trainer.h, lm_generate.h); these files only parse flags and print.
// Usage and recorded runs: docs/language_models.md.
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/lm_commands.h"

namespace fusedrnn::tools {

void register_lm(CLI::App& app) {
    register_lm_train(app);
    register_generate(app);
    register_perplexity(app);
}

}  // namespace fusedrnn::tools
