// `cascade`: the command-line tool. See README.md for each subcommand.
#include <iostream>

#include <CLI/CLI.hpp>

#include "tools/cli_common.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Cascade: a search engine with BM25 retrieval and neural reranking.\n"
      "Every flag can also be set by its CASCADE_<FLAG> environment variable."};
  app.set_version_flag("--version", "cascade 0.1.0");
  app.require_subcommand(1);
  int exit_code = cascade::tools::kExitOk;
  cascade::tools::RegisterIndexCommand(app, &exit_code);
  cascade::tools::RegisterUpdateCommand(app, &exit_code);
  cascade::tools::RegisterDeleteCommand(app, &exit_code);
  cascade::tools::RegisterStatsCommand(app, &exit_code);
  cascade::tools::RegisterSearchCommand(app, &exit_code);
  cascade::tools::RegisterEvalCommand(app, &exit_code);
  cascade::tools::RegisterRunCommand(app, &exit_code);
  cascade::tools::RegisterModelCommand(app, &exit_code);
  cascade::tools::RegisterServeCommand(app, &exit_code);
  cascade::tools::RegisterGenCorpusCommand(app, &exit_code);
  cascade::tools::RegisterDenseCommands(app, &exit_code);
  cascade::tools::RegisterMergeCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : cascade::tools::kExitUsage;
  }
  return exit_code;
}
