// The harness of the CLI tests: runs the real `cascade` binary through
// /bin/sh in a fresh folder under testing::TempDir() (removed afterwards),
// capturing exit code, stdout and stderr. Header-only, test-only.
#ifndef CASCADE_TESTS_TOOLS_CLI_HARNESS_H_
#define CASCADE_TESTS_TOOLS_CLI_HARNESS_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace cascade::tools::testing_cli {

namespace fs = std::filesystem;

inline const std::string kBinaryDir = CASCADE_BINARY_DIR;
inline const std::string kTestData = CASCADE_TEST_DATA_DIR;
inline const std::string kSharedDir = CASCADE_SHARED_DIR;

// Single-quotes `s` for /bin/sh.
inline std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const CommandResult& r) {
  return os << "exit " << r.exit_code << "\n--- stdout:\n"
            << r.out << "--- stderr:\n"
            << r.err;
}

// A JSON number field of a flat object printed by the CLI, e.g.
// JsonNumber(R"({"map":0.3123})", "map") == 0.3123.
inline std::optional<double> JsonNumber(const std::string& json,
                                 const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const char* start = json.c_str() + at + needle.size();
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return value;
}

// The "id" values of `cascade search --json` hits, in order.
inline std::vector<std::string> HitIds(const std::string& json) {
  static const std::regex kId(R"re("id":"([^"]*)")re");
  std::vector<std::string> ids;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), kId);
       it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1].str());
  }
  return ids;
}

// Lines of `text` that contain `needle`.
inline size_t CountLines(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    // Every flag has a CASCADE_* twin; one set in the caller's environment
    // would change what the commands below do.
    std::vector<std::string> inherited;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (entry.rfind("CASCADE_", 0) == 0) {
        inherited.push_back(entry.substr(0, entry.find('=')));
      }
    }
    for (const std::string& name : inherited) unsetenv(name.c_str());

    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    root_ = fs::path(testing::TempDir()) /
            ("cli_test_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Path(const std::string& name) const {
    return (root_ / name).string();
  }

  // Runs `command` through /bin/sh, stdout and stderr captured in files
  // of the temp folder, stdin from `stdin_path` (or /dev/null).
  CommandResult Shell(const std::string& command,
                      const std::string& stdin_path = "/dev/null") {
    const std::string out = Path("stdout.txt"), err = Path("stderr.txt");
    const std::string line = command + " < " + Quote(stdin_path) + " > " +
                             Quote(out) + " 2> " + Quote(err);
    const int status = std::system(line.c_str());
    CommandResult result;
    if (status != -1 && WIFEXITED(status))
      result.exit_code = WEXITSTATUS(status);
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }

  // Runs the cascade binary with `args` (already quoted where needed).
  CommandResult Cascade(const std::string& args,
                        const std::string& stdin_path = "/dev/null") {
    return Shell(Quote(kBinaryDir + "/cascade") + " " + args, stdin_path);
  }

  // Indexes `inputs` into `index` and expects success.
  void IndexCorpus(const std::string& index, const std::string& inputs) {
    const CommandResult r =
        Cascade("index --quiet --index " + Quote(index) + " " + inputs);
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // `cascade search --json`: the hit ids, after checking the exit code.
  std::vector<std::string> Search(const std::string& index,
                                  const std::string& query,
                                  const std::string& flags = "") {
    const CommandResult r = Cascade("search --json --index " + Quote(index) +
                                    " " + flags + " " + Quote(query));
    EXPECT_EQ(r.exit_code, 0) << r;
    return HitIds(r.out);
  }

  fs::path root_;
};

}  // namespace cascade::tools::testing_cli

#endif  // CASCADE_TESTS_TOOLS_CLI_HARNESS_H_
