// fusedrnn CLI: each subcommand registers itself on the app (one file per command).
#pragma once

#include <CLI/CLI.hpp>

namespace fusedrnn::tools {

void register_info(CLI::App& app);
void register_check(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
void register_predict(CLI::App& app);
void register_data(CLI::App& app);
void register_lm(CLI::App& app);  // lm-train, generate, perplexity

}  // namespace fusedrnn::tools
