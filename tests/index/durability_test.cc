// kill -9 durability: a child process (crash_writer) indexes, commits,
// replaces and merges; the test kills it with SIGKILL at random moments,
// reopens the index and checks that it opens, that every document the child
// logged as committed is found exactly once (by id and by its unique term),
// and that no document appears twice. Several rounds on one index, with a
// fixed seed, so the kills land in creating the index, adds, commits and
// merges alike.
//
// The child is fork()ed and then exec()s crash_writer: RocksDB's background
// threads, which this process starts when it reopens the index between
// rounds, do not survive a fork, so a child that only forked could hang in
// its first flush.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cascade/engine.h"

namespace cascade {
namespace {

namespace fs = std::filesystem;

constexpr int kRounds = 12;

// The ids of complete lines of the log (a line cut by the kill has no
// '\n' and was never acknowledged).
std::vector<std::string> ReadLog(const std::string& path) {
  std::vector<std::string> ids;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!in.eof()) ids.push_back(line);
  }
  return ids;
}

class DurabilityTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) / ("durability_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    path_ = (root_ / "index").string();
    log_ = (root_ / "committed.log").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Starts crash_writer for `round`, lets it run `run_for`, kills it. With
  // `after_a_commit`, `run_for` counts from the child's first new commit in
  // this round (the log grows), so that a slow or loaded machine still
  // commits something each round; it waits at most 20 s for it.
  void RunAndKill(int round, std::chrono::milliseconds run_for,
                  bool after_a_commit) {
    std::error_code ec;
    const auto log_size = [&] {
      const auto size = fs::file_size(log_, ec);
      return ec ? uintmax_t{0} : size;
    };
    const uintmax_t before = log_size();
    const std::string round_arg = std::to_string(round);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      execl(CASCADE_CRASH_WRITER, "crash_writer", path_.c_str(), log_.c_str(),
            round_arg.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (after_a_commit) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (log_size() <= before && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    std::this_thread::sleep_for(run_for);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    // Killed, not exited: an exit means the writer hit an error (stderr).
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "crash_writer exited by itself with status " << status;
  }

  // Opens the index as the next writer would and checks every logged id.
  void Verify(int round) {
    const std::vector<std::string> committed = ReadLog(log_);
    OpenOptions options;
    options.block_cache_mb = 8;
    auto index = Index::Open(path_, options);
    // Killed while creating the index: it may not exist, but then nothing
    // was committed.
    if (index.status().IsNotFound() && committed.empty()) return;
    ASSERT_TRUE(index.ok()) << "round " << round << ": " << index.status().ToString();
    const IndexStats stats = (*index)->Stats();
    // Every document, once: ids unique, as many as the index counts.
    SearchOptions all;
    all.syntax = "lucene";
    all.k = 100000;
    auto everything = (*index)->Search("*:*", all);
    ASSERT_TRUE(everything.ok()) << everything.status().ToString();
    EXPECT_EQ(everything->total_hits, stats.documents) << "round " << round;
    std::set<std::string> seen;
    for (const Hit& hit : everything->hits) {
      EXPECT_TRUE(seen.insert(hit.id).second) << "round " << round << ": " << hit.id << " twice";
    }
    EXPECT_EQ(seen.size(), stats.documents) << "round " << round;
    // Every acknowledged document, found exactly once by its unique term.
    for (const std::string& id : committed) {
      auto got = (*index)->Get(id);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_TRUE(got->has_value()) << "round " << round << ": committed " << id << " lost";
      EXPECT_EQ((*got)->id, id);
      auto found = (*index)->Search(id, SearchOptions());
      ASSERT_TRUE(found.ok()) << found.status().ToString();
      EXPECT_EQ(found->total_hits, 1u) << "round " << round << ": " << id;
      ASSERT_EQ(found->hits.size(), 1u) << "round " << round << ": " << id;
      EXPECT_EQ(found->hits[0].id, id);
      EXPECT_TRUE(seen.count(id)) << id;
    }
    committed_ = committed.size();
    segments_ = stats.segments;
  }

  fs::path root_;
  std::string path_;
  std::string log_;
  size_t committed_ = 0;
  uint32_t segments_ = 0;
};

TEST_F(DurabilityTest, KillNineNeverLosesACommittedDocumentNorDuplicatesOne) {
  std::mt19937 rng(20261127);
  // The first rounds are short, to kill the child while it creates the
  // index or makes its first commits.
  std::uniform_int_distribution<int> short_ms(5, 150);
  std::uniform_int_distribution<int> run_ms(0, 600);
  for (int round = 0; round < kRounds; ++round) {
    RunAndKill(round, std::chrono::milliseconds(round < 3 ? short_ms(rng) : run_ms(rng)),
               /*after_a_commit=*/round >= 3);
    if (HasFatalFailure()) return;
    Verify(round);
    if (HasFatalFailure()) return;
  }
  // The rounds did commit (and merge) something to check.
  EXPECT_GT(committed_, 100u);
  RecordProperty("committed", static_cast<int>(committed_));
  RecordProperty("segments", static_cast<int>(segments_));
}

}  // namespace
}  // namespace cascade
