// fusedrnn CLI: the language-model subcommands (registered together by register_lm in cmd_lm.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace fusedrnn::tools {

void register_lm_train(CLI::App& app);    // lm-train    (tools/lm_train.cpp)
void register_generate(CLI::App& app);    // generate    (tools/lm_generate.cpp)
void register_perplexity(CLI::App& app);  // perplexity  (tools/lm_generate.cpp)

}  // namespace fusedrnn::tools
