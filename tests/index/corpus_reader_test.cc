// Tests for CorpusReader against real files in a fresh temp folder: each
// input kind, every bad-record rule (exact source:line and message), and the
// shared reuters21578 / 20newsgroups corpora read end to end.
#include "index/corpus_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cascade/status.h"

#ifndef CASCADE_SHARED_DIR
#error "CASCADE_SHARED_DIR must name the shared folder (the build defines it)"
#endif

namespace cascade::index {
namespace {

namespace fs = std::filesystem;

struct ReadResult {
  Status status;  // the error that ended reading, or OK
  std::vector<CorpusRecord> records;
  std::vector<CorpusProblem> problems;
  uint64_t skipped = 0;
  uint64_t binaries = 0;
};

// Reads every record; Open must succeed.
ReadResult ReadAll(const std::vector<std::string>& inputs,
                   const CorpusOptions& options = {}) {
  ReadResult out;
  Result<std::unique_ptr<CorpusReader>> reader =
      CorpusReader::Open(inputs, options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) {
    out.status = reader.status();
    return out;
  }
  CorpusRecord record;
  while (true) {
    Result<bool> got = (*reader)->Next(&record);
    if (!got.ok()) {
      out.status = got.status();
      break;
    }
    if (!*got) break;
    out.records.push_back(record);
  }
  out.problems = (*reader)->problems();
  out.skipped = (*reader)->skipped();
  out.binaries = (*reader)->skipped_binary_files();
  return out;
}

std::vector<std::string> Ids(const ReadResult& result) {
  std::vector<std::string> ids;
  for (const CorpusRecord& r : result.records) ids.push_back(r.doc.id);
  return ids;
}

class CorpusReaderTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info =
        testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::path(testing::TempDir()) /
        ("corpus_reader_test_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `content` to `rel` under the temp folder; returns the full path.
  std::string Write(const std::string& rel, const std::string& content) {
    fs::path path = dir_ / rel;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    EXPECT_TRUE(out.good()) << path;
    return path.string();
  }

  std::string WriteGz(const std::string& rel, const std::string& content) {
    fs::path path = dir_ / rel;
    fs::create_directories(path.parent_path());
    gzFile gz = gzopen(path.c_str(), "wb");
    EXPECT_NE(gz, nullptr) << path;
    if (gz == nullptr) return path.string();
    EXPECT_EQ(
        gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
        static_cast<int>(content.size()));
    EXPECT_EQ(gzclose(gz), Z_OK);
    return path.string();
  }

  std::string Path(const std::string& rel) const {
    return (dir_ / rel).string();
  }

  fs::path dir_;
};

TEST_F(CorpusReaderTest, ReadsJsonlWithUnderscoreIdAndId) {
  std::string path =
      Write("docs.jsonl",
            R"({"_id": "d1", "title": "First", "text": "one", "extra": [1, 2]})"
            "\n"
            R"({"id": "d2", "text": "only text"})"
            "\n"
            R"({"_id": "d3", "title": "only title", "text": null})"
            "\n"
            R"({"_id": "d4", "id": "ignored", "title": null, "text": "x"})"
            "\n");
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[0].doc.id, "d1");
  EXPECT_EQ(r.records[0].doc.title, "First");
  EXPECT_EQ(r.records[0].doc.text, "one");
  EXPECT_EQ(r.records[0].source, path);
  EXPECT_EQ(r.records[0].line, 1u);
  EXPECT_EQ(r.records[1].doc.id, "d2");
  EXPECT_EQ(r.records[1].doc.title, "");
  EXPECT_EQ(r.records[1].doc.text, "only text");
  EXPECT_EQ(r.records[2].doc.title, "only title");
  EXPECT_EQ(r.records[2].doc.text, "");
  EXPECT_EQ(r.records[3].doc.id, "d4");  // "_id" wins over "id"
  EXPECT_EQ(r.records[3].line, 4u);
}

TEST_F(CorpusReaderTest, NumericIdsBecomeDecimalText) {
  std::string path = Write("nums.json",
                           "{\"_id\": 42, \"text\": \"a\"}\n"
                           "{\"_id\": -7, \"text\": \"b\"}\n"
                           "{\"id\": 18446744073709551615, \"text\": \"c\"}\n"
                           "{\"_id\": 2.5, \"text\": \"d\"}\n"
                           "{\"_id\": 1e3, \"text\": \"e\"}\n");
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Ids(r), (std::vector<std::string>{
                        "42", "-7", "18446744073709551615", "2.5", "1000"}));
}

TEST_F(CorpusReaderTest, ReadsGzippedJsonlAndReportsProgress) {
  std::string content;
  for (int i = 0; i < 1000; ++i) {
    content += "{\"_id\": \"g" + std::to_string(i) +
               "\", \"text\": \"gzipped text " + std::to_string(i) + "\"}\n";
  }
  std::string path = WriteGz("docs.jsonl.gz", content);
  Result<std::unique_ptr<CorpusReader>> reader = CorpusReader::Open({path}, {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->bytes_total(), fs::file_size(path));
  EXPECT_EQ((*reader)->bytes_done(), 0u);
  CorpusRecord record;
  int count = 0;
  while (true) {
    Result<bool> got = (*reader)->Next(&record);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (!*got) break;
    EXPECT_EQ(record.doc.id, "g" + std::to_string(count));
    EXPECT_EQ(record.line, static_cast<uint64_t>(count + 1));
    ++count;
  }
  EXPECT_EQ(count, 1000);
  EXPECT_EQ((*reader)->bytes_done(), (*reader)->bytes_total());
  // Past the end it stays at the end.
  Result<bool> again = (*reader)->Next(&record);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST_F(CorpusReaderTest, ReadsBeirFolder) {
  WriteGz("beir/corpus.jsonl.gz",
          "{\"_id\": \"b1\", \"title\": \"T\", \"text\": \"beir one\"}\n"
          "{\"_id\": \"b2\", \"text\": \"beir two\"}\n");
  Write("beir/queries.jsonl",
        "{\"_id\": \"q1\", \"text\": \"not a document\"}\n");
  Write("beir/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\tb1\t1\n");
  ReadResult r = ReadAll({Path("beir")});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(r.records[1].source,
            (fs::path(Path("beir")) / "corpus.jsonl.gz").string());
  EXPECT_EQ(r.records[1].line, 2u);
}

TEST_F(CorpusReaderTest, ReadsFolderOfTextFilesSkippingBinariesAndHidden) {
  Write("src/zeta.md", "# Zeta\nlast in order\n");
  Write("src/a.txt", "alpha text");
  Write("src/sub/b.cc", "int main() { return 0; }\n");
  Write("src/sub/empty.txt", "");
  Write("src/bom.txt",
        "\xEF\xBB\xBF"
        "after the mark");
  Write("src/blob.bin", std::string("ELF\0\1\2binary", 12));
  Write("src/latin1.txt", "caf\xE9 au lait");  // Latin-1, not UTF-8
  Write("src/.hidden", "secret");
  Write("src/.git/config", "[core]");
  Write("src/build/out.txt", "generated");
  Write("src/build-debug/out.txt", "generated");
  Write("src/builder.txt", "a file named build* is still read");

  ReadResult r = ReadAll({Path("src")});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.binaries, 2u);  // blob.bin and latin1.txt
  // Sorted by path relative to the folder.
  EXPECT_EQ(Ids(r),
            (std::vector<std::string>{"a.txt", "bom.txt", "builder.txt",
                                      "sub/b.cc", "sub/empty.txt", "zeta.md"}));
  EXPECT_EQ(r.records[0].doc.title, "a.txt");
  EXPECT_EQ(r.records[0].doc.text, "alpha text");
  EXPECT_EQ(r.records[0].source, (fs::path(Path("src")) / "a.txt").string());
  EXPECT_EQ(r.records[0].line, 0u);
  EXPECT_EQ(r.records[1].doc.text, "after the mark");
  EXPECT_EQ(r.records[3].doc.title, "b.cc");
  EXPECT_EQ(r.records[3].doc.text, "int main() { return 0; }\n");
  EXPECT_EQ(r.records[4].doc.text, "");  // the file name is its title
}

TEST_F(CorpusReaderTest, ReadsSingleTextFileAndReportsNamedBinary) {
  std::string notes = Write("notes.md", "some notes");
  std::string blob = Write("blob.dat", std::string("\0\0\0", 3));
  ReadResult r = ReadAll({notes, blob});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].doc.id, "notes.md");
  EXPECT_EQ(r.records[0].doc.title, "notes.md");
  EXPECT_EQ(r.records[0].doc.text, "some notes");
  // Named explicitly, a binary is reported rather than dropped silently.
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].ToString(),
            blob + ": not a text file: invalid UTF-8 or NUL bytes");
}

TEST_F(CorpusReaderTest, SkipsEachKindOfBadRecordWithSourceLineAndField) {
  std::string path =
      Write("bad.jsonl",
            "{\"_id\": \"ok1\", \"text\": \"good before\"}\n"      // 1
            "{\"_id\": \"x\", \"text\": \n"                        // 2
            "[1, 2]\n"                                             // 3
            "{\"title\": \"t\", \"text\": \"no id\"}\n"            // 4
            "{\"_id\": \"\", \"text\": \"x\"}\n"                   // 5
            "{\"_id\": true, \"text\": \"x\"}\n"                   // 6
            "{\"id\": [\"a\"], \"text\": \"x\"}\n"                 // 7
            "{\"_id\": \"a\", \"title\": 5, \"text\": \"x\"}\n"    // 8
            "{\"_id\": \"a\", \"text\": {\"a\": 1}}\n"             // 9
            "{\"_id\": \"a\"}\n"                                   // 10
            "{\"_id\": \"a\", \"title\": \"\", \"text\": \"\"}\n"  // 11
            "{\"_id\": \"a\", \"text\": \"bad \xFF byte\"}\n"      // 12
            "\n"                                                   // 13
            "  \t \r\n"                                            // 14
            "\"just a string\"\n"                                  // 15
            "{\"_id\": null, \"text\": \"x\"}\n"                   // 16
            "{\"_id\": \"ok2\", \"text\": \"good after\"}\n");     // 17
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"ok1", "ok2"}));
  EXPECT_EQ(r.records[1].line, 17u);

  std::vector<std::string> expected = {
      path + ":3: expected a JSON object, got array",
      path + ":4: missing id: no \"_id\" or \"id\" field",
      path + ":5: field \"_id\": empty id",
      path + ":6: field \"_id\": expected a string, got boolean",
      path + ":7: field \"id\": expected a string, got array",
      path + ":8: field \"title\": expected a string, got number",
      path + ":9: field \"text\": expected a string, got object",
      path + ":10: empty document: no title or text",
      path + ":11: empty document: no title or text",
      path + ":12: invalid UTF-8",
      path + ":15: expected a JSON object, got string",
      path + ":16: field \"_id\": expected a string, got null",
  };
  ASSERT_EQ(r.problems.size(), expected.size() + 1);
  EXPECT_EQ(r.skipped, expected.size() + 1);
  // Line 2: the message carries simdjson's own words after our prefix.
  EXPECT_EQ(r.problems[0].source, path);
  EXPECT_EQ(r.problems[0].line, 2u);
  EXPECT_TRUE(r.problems[0].message.starts_with("invalid JSON: "))
      << r.problems[0].message;
  EXPECT_GT(r.problems[0].message.size(), std::string("invalid JSON: ").size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.problems[i + 1].ToString(), expected[i]);
  }
}

// Ordinals count every record, bad ones included, across inputs; blank
// lines and silently skipped binaries are no records. Side files aligned
// with a corpus (`cascade index --vectors`) rely on this.
TEST_F(CorpusReaderTest, OrdinalsCountBadRecordsButNotBlankLines) {
  const std::string first = Write("first.jsonl",
                                  "{\"_id\":\"a\",\"text\":\"x\"}\n"
                                  "not json\n"
                                  "\n"
                                  "{\"_id\":\"b\",\"text\":\"y\"}\n");
  Write("texts/one.txt", "one");
  Write("texts/two.bin", std::string("\0\1", 2));
  Write("texts/zz.txt", "three");
  const std::string last = Write("last.jsonl", "{\"_id\":\"c\",\"text\":7}\n"
                                               "{\"_id\":\"d\",\"text\":\"z\"}\n");
  Result<std::unique_ptr<CorpusReader>> reader =
      CorpusReader::Open({first, Path("texts"), last}, {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<std::pair<std::string, uint64_t>> seen;
  CorpusRecord record;
  while (true) {
    Result<bool> got = (*reader)->Next(&record);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (!*got) break;
    seen.emplace_back(record.doc.id, record.ordinal);
  }
  // a 0, (bad 1), b 2, one.txt 3, (binary: none), zz.txt 4, (bad 5), d 6.
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"a", 0}, {"b", 2}, {"one.txt", 3}, {"zz.txt", 4}, {"d", 6}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ((*reader)->records(), 7u);
  EXPECT_EQ((*reader)->skipped(), 2u);
  EXPECT_EQ((*reader)->skipped_binary_files(), 1u);
}

TEST_F(CorpusReaderTest, KeepsOnlyMaxProblemsButCountsAll) {
  std::string content;
  for (int i = 0; i < 50; ++i) content += "not json\n";
  content += "{\"_id\": \"last\", \"text\": \"x\"}\n";
  CorpusOptions options;
  options.max_problems_kept = 10;
  ReadResult r = ReadAll({Write("junk.jsonl", content)}, options);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.problems.size(), 10u);
  EXPECT_EQ(r.skipped, 50u);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"last"}));
}

TEST_F(CorpusReaderTest, SkipsLinesOverTheSizeLimitAndKeepsGoing) {
  const std::string small = "{\"_id\": \"s1\", \"text\": \"small\"}\n";
  // 2 MB: held in the buffer then dropped; 5 MB: streamed past in chunks.
  const std::string big2 =
      "{\"_id\": \"big\", \"text\": \"" + std::string(2 << 20, 'x') + "\"}";
  const std::string big5 =
      "{\"_id\": \"big\", \"text\": \"" + std::string(5 << 20, 'y') + "\"}";
  const std::string fits = "{\"_id\": \"fits\", \"text\": \"" +
                           std::string((1 << 20) - 30, 'z') + "\"}";
  ASSERT_LE(fits.size(), size_t{1} << 20);
  std::string path =
      Write("big.jsonl", small + big2 + "\n" +
                             "{\"_id\": \"s2\", \"text\": \"after\"}\n" + big5 +
                             "\r\n" + fits + "\n" + big2);  // no final '\n'
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"s1", "s2", "fits"}));
  EXPECT_EQ(r.records[2].line, 5u);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0].ToString(),
            path + ":2: document of " + std::to_string(big2.size()) +
                " bytes exceeds the 1048576-byte limit");
  EXPECT_EQ(r.problems[1].ToString(),
            path + ":4: document of " +
                std::to_string(big5.size() + 1) +  // with its '\r'
                " bytes exceeds the 1048576-byte limit");
  EXPECT_EQ(r.problems[2].line, 6u);
}

TEST_F(CorpusReaderTest, SizeLimitIsInclusiveAndAppliesToTextFiles) {
  CorpusOptions options;
  options.max_document_bytes = 40;
  std::string at_limit = "{\"_id\": \"a\", \"text\": \"";
  at_limit += std::string(40 - at_limit.size() - 2, 'q') + "\"}";
  ASSERT_EQ(at_limit.size(), 40u);
  std::string over =
      "{\"_id\": \"b\", \"text\": \"" + std::string(40, 'r') + "\"}";
  std::string jsonl =
      Write("limit.jsonl", at_limit + "\n" + over + "\n" + at_limit + "\n");
  Write("texts/long.txt", std::string(41, 't'));
  Write("texts/short.txt", "short");
  ReadResult r = ReadAll({jsonl, Path("texts")}, options);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"a", "a", "short.txt"}));
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].ToString(), jsonl + ":2: document of " +
                                          std::to_string(over.size()) +
                                          " bytes exceeds the 40-byte limit");
  EXPECT_EQ(r.problems[1].ToString(),
            Path("texts/long.txt") +
                ": document of 41 bytes exceeds the 40-byte limit");
}

TEST_F(CorpusReaderTest, ToleratesBomAndCrlf) {
  std::string path =
      Write("win.jsonl",
            "\xEF\xBB\xBF{\"_id\": \"w1\", \"text\": \"first\"}\r\n"
            "\r\n"
            "{\"_id\": \"w2\", \"title\": \"second\"}\r\n");
  ReadResult r = ReadAll({path});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(r.records[1].line, 3u);
}

TEST_F(CorpusReaderTest, ReadsManyLinesAcrossBufferBoundaries) {
  // About 6 MB of lines of varying length, so lines straddle every 1 MiB
  // read; the last line has no '\n'.
  std::string content;
  const int kDocs = 60000;
  for (int i = 0; i < kDocs; ++i) {
    content += "{\"_id\": \"" + std::to_string(i) +
               "\", \"title\": \"t\", \"text\": \"" +
               std::string(i % 170, 'w') + "\"}";
    if (i + 1 < kDocs) content += "\n";
  }
  std::string plain = Write("many.jsonl", content);
  std::string gz = WriteGz("many.jsonl.gz", content);
  ReadResult r = ReadAll({plain, gz});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.records.size(), 2u * kDocs);
  for (int i = 0; i < 2 * kDocs; ++i) {
    ASSERT_EQ(r.records[i].doc.id, std::to_string(i % kDocs));
    ASSERT_EQ(r.records[i].doc.text.size(),
              static_cast<size_t>((i % kDocs) % 170))
        << i;
  }
  EXPECT_EQ(r.records.back().source, gz);
  EXPECT_EQ(r.records.back().line, static_cast<uint64_t>(kDocs));
}

TEST_F(CorpusReaderTest, CorruptGzipIsAnError) {
  std::string content;
  for (int i = 0; i < 20000; ++i) {
    content += "{\"_id\": \"" + std::to_string(i) + "\", \"text\": \"token" +
               std::to_string(i * 7919) + "\"}\n";
  }
  std::string path = WriteGz("cut.jsonl.gz", content);
  fs::resize_file(path, fs::file_size(path) / 2);
  Result<std::unique_ptr<CorpusReader>> reader = CorpusReader::Open({path}, {});
  ASSERT_TRUE(reader.ok());
  CorpusRecord record;
  Status error;
  for (int i = 0; i < 100000 && error.ok(); ++i) {
    Result<bool> got = (*reader)->Next(&record);
    if (!got.ok())
      error = got.status();
    else if (!*got)
      break;
  }
  ASSERT_FALSE(error.ok())
      << "a truncated gzip stream must not read as a shorter corpus";
  EXPECT_TRUE(error.IsCorruption()) << error.ToString();
  EXPECT_NE(error.message().find(path), std::string::npos) << error.ToString();
  // The reader stays finished with the same error.
  Result<bool> again = (*reader)->Next(&record);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().ToString(), error.ToString());

  // Garbage in the middle of the deflate data.
  std::string path2 = WriteGz("garbled.jsonl.gz", content);
  {
    std::fstream f(path2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path2) / 2));
    f.write(std::string(64, '\xA5').data(), 64);
  }
  ReadResult r = ReadAll({path2});
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
}

TEST_F(CorpusReaderTest, ReadsStdin) {
  std::string path =
      Write("stdin.jsonl", "{\"_id\": \"in1\", \"text\": \"from stdin\"}\n");
  ASSERT_NE(std::freopen(path.c_str(), "rb", stdin), nullptr);
  Result<std::unique_ptr<CorpusReader>> reader = CorpusReader::Open({"-"}, {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->bytes_total(), 0u);  // unknown for stdin
  CorpusRecord record;
  Result<bool> got = (*reader)->Next(&record);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(record.doc.id, "in1");
  EXPECT_EQ(record.source, "<stdin>");
  EXPECT_EQ(record.line, 1u);

  Result<std::unique_ptr<CorpusReader>> twice =
      CorpusReader::Open({"-", "-"}, {});
  EXPECT_TRUE(twice.status().IsInvalidArgument()) << twice.status().ToString();
}

TEST_F(CorpusReaderTest, NonexistentInputIsNotFound) {
  std::string missing = Path("no/such/corpus.jsonl");
  Result<std::unique_ptr<CorpusReader>> reader =
      CorpusReader::Open({missing}, {});
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsNotFound()) << reader.status().ToString();
  EXPECT_NE(reader.status().message().find(missing), std::string::npos);
}

TEST_F(CorpusReaderTest, FolderWithNothingIndexableIsInvalidArgument) {
  fs::create_directories(Path("empty"));
  Result<std::unique_ptr<CorpusReader>> reader =
      CorpusReader::Open({Path("empty")}, {});
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsInvalidArgument())
      << reader.status().ToString();
  EXPECT_NE(reader.status().message().find(Path("empty")), std::string::npos);

  Write("hidden_only/.env", "X=1");
  Write("hidden_only/build/a.txt", "generated");
  reader = CorpusReader::Open({Path("hidden_only")}, {});
  EXPECT_TRUE(reader.status().IsInvalidArgument())
      << reader.status().ToString();
}

TEST_F(CorpusReaderTest, BadOptionsAreInvalidArgument) {
  std::string path = Write("a.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n");
  CorpusOptions options;
  options.max_document_bytes = 0;
  Result<std::unique_ptr<CorpusReader>> reader =
      CorpusReader::Open({path}, options);
  EXPECT_TRUE(reader.status().IsInvalidArgument());
  EXPECT_NE(reader.status().message().find("max_document_bytes"),
            std::string::npos);
  EXPECT_TRUE(CorpusReader::Open({}, {}).status().IsInvalidArgument());
}

// The shared corpora, read whole. Missing data is a failure, not a skip: the
// speed benchmarks depend on it.
fs::path SharedCorpus(const std::string& name) {
  return fs::path(CASCADE_SHARED_DIR) / "data" / name / "corpus.jsonl.gz";
}

TEST(CorpusReaderSharedDataTest, ReadsReuters21578) {
  fs::path corpus = SharedCorpus("reuters21578");
  ASSERT_TRUE(fs::exists(corpus))
      << "shared data folder missing: " << corpus.parent_path() << " (expected "
      << corpus << ")";
  ReadResult r = ReadAll({corpus.parent_path().string()});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  // The file holds 21,578 records. Its README says one has no text; that
  // record (NEWID 12793) has an empty title too, so it is an empty document
  // and is skipped. 737 records have no title but do have text.
  EXPECT_EQ(r.records.size(), 21577u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].ToString(),
            corpus.string() + ":12793: empty document: no title or text");
  size_t no_title = 0;
  for (const CorpusRecord& rec : r.records) no_title += rec.doc.title.empty();
  EXPECT_EQ(no_title, 737u - 1);
  EXPECT_EQ(r.records.front().doc.id, "1");
  EXPECT_EQ(r.records.front().doc.title, "BAHIA COCOA REVIEW");
}

TEST(CorpusReaderSharedDataTest, Reads20Newsgroups) {
  fs::path corpus = SharedCorpus("20newsgroups");
  ASSERT_TRUE(fs::exists(corpus))
      << "shared data folder missing: " << corpus.parent_path() << " (expected "
      << corpus << ")";
  ReadResult r = ReadAll({corpus.string()});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.records.size(), 18846u);
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().ToString();
}

}  // namespace
}  // namespace cascade::index
