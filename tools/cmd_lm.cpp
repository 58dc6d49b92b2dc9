#include "tools/commands.h"
namespace fusedrnn::tools {
void register_lm(CLI::App&) {}  // placeholder: lm-train, generate, perplexity are being written
}
