// `cascade serve` as a real process: it prints its listening line, takes
// NDJSON batches, and on SIGTERM or SIGINT shuts down gracefully: exit code
// 0, and every document it acknowledged (item status 200/201) is in the
// index afterwards, although --refresh-interval-ms 0 means nothing but the
// shutdown commits them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cascade/engine.h"
#include "tests/http/http_test_client.h"

extern char** environ;

namespace cascade::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;  // NOLINT
using testing_http::Client;
using testing_http::DocLine;
using testing_http::Json;
using testing_http::Response;

const std::string kBinary = std::string(CASCADE_BINARY_DIR) + "/cascade";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ServeSignalTest : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    root_ = fs::path(testing::TempDir()) /
            ("serve_signal_test_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  void TearDown() override {
    if (pid_ > 0) {  // a failed test leaves no server behind
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (out_ >= 0) close(out_);
    fs::remove_all(root_);
  }

  // Starts `cascade serve` with stdout to a pipe and stderr to a file,
  // without the caller's CASCADE_* variables (each flag's twin).
  void Spawn(const std::vector<std::string>& args) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0) << std::strerror(errno);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    const std::string err = (root_ / "stderr.txt").string();
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

    std::vector<std::string> argv_strings = {kBinary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "CASCADE_", 8) != 0) envp.push_back(*e);
    }
    envp.push_back(nullptr);

    const int rc = posix_spawn(&pid_, kBinary.c_str(), &actions, nullptr,
                               argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    ASSERT_EQ(rc, 0) << kBinary << ": " << std::strerror(rc);
  }

  // Reads stdout until a full line came (or EOF, or `timeout`).
  std::string ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (stdout_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) break;
      stdout_.append(buf, static_cast<size_t>(n));
    }
    const size_t nl = stdout_.find('\n');
    return nl == std::string::npos ? stdout_ : stdout_.substr(0, nl + 1);
  }

  // Everything the process wrote to stdout, read until EOF.
  std::string AllStdout() {
    char buf[4096];
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) break;
      stdout_.append(buf, static_cast<size_t>(n));
    }
    return stdout_;
  }

  // Waits up to `timeout` for the process; its exit code, or -1 (killed by
  // a signal, or still running: then killed).
  int Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        ADD_FAILURE() << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -1;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "still running after " << timeout.count() << " ms";
        return -1;  // TearDown kills it
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  std::string Stderr() const { return ReadFile(root_ / "stderr.txt"); }

  fs::path root_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string stdout_;
};

TEST_P(ServeSignalTest, AcknowledgedDocumentsSurviveTheSignal) {
  const int signal = GetParam();
  const std::string index = (root_ / "index").string();
  Spawn({"serve", "--create", "--index", index, "--port", "0", "--refresh-interval-ms", "0"});
  const std::string line = ReadLine(20s);
  std::smatch m;
  const std::regex listening(R"(^listening on http://127\.0\.0\.1:(\d+)\n$)");
  ASSERT_TRUE(std::regex_match(line, m, listening))
      << "stdout: \"" << line << "\"\nstderr: " << Stderr();
  const int port = std::stoi(m[1].str());
  ASSERT_GT(port, 0);
  ASSERT_LT(port, 65536);

  // Batches of 25 documents, one after another on a kept-alive connection
  // (reconnecting when the server closes it), until the server is gone.
  std::map<std::string, std::string> acked;  // id -> title
  std::atomic<bool> signalled{false};
  int batches_before_signal = 0;
  std::vector<std::string> failures;
  std::thread killer([&] {
    std::this_thread::sleep_for(300ms);
    signalled = true;
    kill(pid_, signal);
  });
  {
    Client client(static_cast<uint16_t>(port), 5s);
    const auto start = std::chrono::steady_clock::now();
    for (int b = 0; std::chrono::steady_clock::now() - start < 5s; ++b) {
      std::string body;
      std::vector<std::string> ids;
      for (int j = 0; j < 25; ++j) {
        ids.push_back("b" + std::to_string(b) + "-" + std::to_string(j));
        body += DocLine(ids.back(), "title " + ids.back(), "signal test document " + ids.back());
      }
      const bool before = !signalled.load();
      const Response r = client.Post("/documents", body);
      if (r.status == 0) {
        if (!signalled.load()) failures.push_back("batch " + std::to_string(b) + ": " + r.error);
        std::string error;
        if (signalled.load() && !client.Open(&error)) break;  // the server is gone
        continue;
      }
      if (r.status != 200) {
        // While shutting down the server may refuse work (e.g. 503); it must
        // not acknowledge it then, and before the signal it must not refuse.
        if (!signalled.load()) {
          failures.push_back("batch " + std::to_string(b) + ": " + std::to_string(r.status) + " " +
                             r.body);
        }
        continue;
      }
      Json json(r.body);
      simdjson::dom::array items;
      if (!json.ok() || json.root()["items"].get(items) != simdjson::SUCCESS ||
          items.size() != ids.size()) {
        failures.push_back("bad body: " + r.body);
        continue;
      }
      size_t i = 0;
      for (simdjson::dom::element item : items) {
        int64_t status = 0;
        const std::string& id = ids[i++];
        if (item["status"].get(status) == simdjson::SUCCESS && (status == 200 || status == 201)) {
          acked[id] = "title " + id;
        } else if (!signalled.load()) {
          failures.push_back(id + ": " + simdjson::minify(item));
        }
      }
      if (before) ++batches_before_signal;
    }
  }
  killer.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures[0];
  ASSERT_GT(batches_before_signal, 0) << "nothing was written before the signal";

  const int code = Wait(30s);
  EXPECT_EQ(code, 0) << Stderr();
  // Exactly one line on stdout.
  EXPECT_EQ(AllStdout(), "listening on http://127.0.0.1:" + std::to_string(port) + "\n");
  if (code != 0) return;

  OpenOptions options;
  options.read_only = true;
  auto reopened = Index::Open(index, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  size_t missing = 0;
  for (const auto& [id, title] : acked) {
    auto doc = (*reopened)->Get(id);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    if (!doc->has_value()) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged " << id << " is missing";
      continue;
    }
    EXPECT_EQ((*doc)->title, title);
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
  EXPECT_GE((*reopened)->Stats().documents, acked.size());
  EXPECT_EQ((*reopened)->Stats().pending_changes, 0u);
}

TEST_P(ServeSignalTest, IdleServerExitsCleanly) {
  const std::string index = (root_ / "index").string();
  Spawn({"serve", "--create", "--index", index, "--port", "0", "--refresh-interval-ms", "0"});
  const std::string line = ReadLine(20s);
  ASSERT_EQ(line.rfind("listening on http://127.0.0.1:", 0), 0u)
      << "stdout: \"" << line << "\"\nstderr: " << Stderr();
  const int port = std::stoi(line.substr(std::strlen("listening on http://127.0.0.1:")));
  {
    Client client(static_cast<uint16_t>(port));
    ASSERT_EQ(client.Get("/health").status, 200);
  }
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid_, GetParam()), 0);
  EXPECT_EQ(Wait(30s), 0) << Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  Client client(static_cast<uint16_t>(port), 2s);
  EXPECT_EQ(client.Get("/health").status, 0) << "still answering after exit";
  // The index it created can be opened.
  OpenOptions options;
  options.read_only = true;
  auto reopened = Index::Open(index, options);
  EXPECT_TRUE(reopened.ok()) << reopened.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Signals, ServeSignalTest, testing::Values(SIGTERM, SIGINT),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

}  // namespace
}  // namespace cascade::http
