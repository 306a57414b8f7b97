// The `cascade` subcommands. Each Register* adds one subcommand to the app;
// its callback stores the command's exit code in *exit_code.
#ifndef CASCADE_TOOLS_COMMANDS_H_
#define CASCADE_TOOLS_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace cascade::tools {

// index and update (cmd_index.cc).
void RegisterIndexCommand(CLI::App& app, int* exit_code);
void RegisterUpdateCommand(CLI::App& app, int* exit_code);
void RegisterSearchCommand(CLI::App& app, int* exit_code);
void RegisterEvalCommand(CLI::App& app, int* exit_code);
void RegisterRunCommand(CLI::App& app, int* exit_code);
void RegisterModelCommand(CLI::App& app, int* exit_code);
void RegisterServeCommand(CLI::App& app, int* exit_code);
void RegisterGenCorpusCommand(CLI::App& app, int* exit_code);
// train-ivf, ivf-stats, gen-vectors (cmd_dense.cc).
void RegisterDenseCommands(CLI::App& app, int* exit_code);
// merge (cmd_merge.cc).
void RegisterMergeCommand(CLI::App& app, int* exit_code);
// delete (cmd_delete.cc).
void RegisterDeleteCommand(CLI::App& app, int* exit_code);
// stats (cmd_stats.cc).
void RegisterStatsCommand(CLI::App& app, int* exit_code);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_COMMANDS_H_
