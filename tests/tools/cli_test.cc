// End-to-end tests of the `cascade` binary and the embedded example: each
// test runs the real programs in a fresh folder under testing::TempDir()
// (removed afterwards) and checks exit codes, stdout and stderr.
//
// Fixtures: tests/data/cli/ (README.md says what each query returns),
// tests/data/trec_eval/ (trec_eval's own figures), and, for
// CliEffectivenessTest, the CACM collection in ../shared/data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/tools/cli_harness.h"
#include "tools/eval_metrics.h"

namespace cascade::tools {
namespace {

using namespace testing_cli;  // NOLINT: the harness is this file's vocabulary

const std::string kSmallCorpus = kTestData + "/cli/small.jsonl";
const std::string kSmallQueries = kTestData + "/cli/queries.tsv";

using Ids = std::vector<std::string>;

TEST_F(CliTest, EmbeddedExampleRuns) {
  const CommandResult r =
      Shell(Quote(kBinaryDir + "/embed_example") + " " + Quote(Path("embed")));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("reopened: 3 documents"), std::string::npos) << r;
  // Without its argument it is a usage error.
  EXPECT_EQ(Shell(Quote(kBinaryDir + "/embed_example")).exit_code, 2);
}

TEST_F(CliTest, VersionAndUsageErrors) {
  const CommandResult version = Cascade("--version");
  EXPECT_EQ(version.exit_code, 0) << version;
  EXPECT_NE(version.out.find("cascade 0.1.0"), std::string::npos) << version;

  // Missing required flag or argument: exit code 2, and the flag is named.
  const CommandResult no_index = Cascade("search reef");
  EXPECT_EQ(no_index.exit_code, 2) << no_index;
  EXPECT_NE((no_index.out + no_index.err).find("--index"), std::string::npos)
      << no_index;
  const CommandResult no_inputs = Cascade("index --index " + Quote(Path("i")));
  EXPECT_EQ(no_inputs.exit_code, 2) << no_inputs;
  EXPECT_FALSE(fs::exists(Path("i")));
  const CommandResult no_queries = Cascade("run --index " + Quote(Path("i")));
  EXPECT_EQ(no_queries.exit_code, 2) << no_queries;
  EXPECT_EQ(Cascade("").exit_code, 2);  // no subcommand
  EXPECT_EQ(Cascade("frobnicate").exit_code, 2);
  EXPECT_EQ(Cascade("search --index x --k notanumber reef").exit_code, 2);
}

TEST_F(CliTest, IndexThenSearch) {
  const std::string index = Path("idx");
  const CommandResult r =
      Cascade("index --index " + Quote(index) + " " + Quote(kSmallCorpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("indexed 8 documents (0 replaced an existing id, 0 "
                       "skipped)"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.err, "");

  // The queries of tests/data/cli/README.md.
  EXPECT_EQ(Search(index, "danube"), Ids{"d1"});
  EXPECT_EQ(Search(index, "reef"), (Ids{"d5", "d4"}));
  EXPECT_EQ(Search(index, "anchor"), (Ids{"d6", "d7"}));
  EXPECT_EQ(Search(index, "glacier ice"), (Ids{"d8", "d2"}));
  EXPECT_EQ(Search(index, "zeppelin"), Ids{});

  // Several words on the command line form one query.
  EXPECT_EQ(Search(index, "glacier", "ice"), (Ids{"d8", "d2"}));

  // --k and --offset page through "danube glacier ice reef anchor", which
  // matches seven documents.
  const std::string q = "danube glacier ice reef anchor";
  const Ids all = Search(index, q, "--k 7");
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(Search(index, q, "--k 2"), Ids(all.begin(), all.begin() + 2));
  EXPECT_EQ(Search(index, q, "--k 3 --offset 2"),
            Ids(all.begin() + 2, all.begin() + 5));
  EXPECT_EQ(Search(index, q, "--k 3 --offset 6"), Ids{all[6]});
  EXPECT_EQ(Search(index, q), all);  // default k 10

  const CommandResult page = Cascade("search --json --k 1 --offset 1 --index " +
                                     Quote(index) + " reef");
  ASSERT_EQ(page.exit_code, 0) << page;
  EXPECT_EQ(HitIds(page.out), Ids{"d4"});
  EXPECT_EQ(JsonNumber(page.out, "rank"), 2);  // ranks count the skipped hits
  EXPECT_EQ(JsonNumber(page.out, "total_hits"), 2);

  // --text adds the stored text; without --json, one line per hit.
  const CommandResult text =
      Cascade("search --json --text --index " + Quote(index) + " danube");
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(
      text.out.find(
          R"("text":"The Danube flows east through Vienna and Budapest")"),
      std::string::npos)
      << text;
  const CommandResult plain =
      Cascade("search --index " + Quote(index) + " reef");
  ASSERT_EQ(plain.exit_code, 0) << plain;
  EXPECT_NE(plain.out.find("2 hits"), std::string::npos) << plain;
  EXPECT_EQ(CountLines(plain.out, "Coral"), 1u) << plain;

  // k out of range is refused.
  EXPECT_NE(Cascade("search --k 0 --index " + Quote(index) + " reef").exit_code,
            0);
  EXPECT_NE(
      Cascade("search --k 100001 --index " + Quote(index) + " reef").exit_code,
      0);
}

TEST_F(CliTest, BadRecordsAreReportedAndSkipped) {
  const std::string corpus = Path("bad.jsonl");
  std::string big = R"({"_id": "big", "text": ")";
  while (big.size() < (1 << 20) + 100) big += "elderberry ";
  big += "\"}";
  // Line numbers matter: stderr must name each bad one.
  const std::vector<std::string> lines = {
      R"({"_id": "g1", "text": "first good document about apples"})",
      R"({"_id": "bad1", "text": )",  // 2
      R"({"_id": "g2", "text": "second good document about bananas"})",
      R"({"title": "no id here", "text": "orphan cherries"})",       // 4
      R"({"_id": "empty"})",                                         // 5
      R"({"_id": "t1", "title": 42, "text": "wrong type durian"})",  // 6
      big,                                                           // 7
      "{\"_id\": \"u1\", \"text\": \"bad bytes \xff\xfe figs\"}",    // 8
      R"({"_id": "dup", "text": "first version zebra"})",
      R"({"_id": "g3", "text": "third good document about grapes"})",
      R"({"_id": "dup", "text": "second version giraffe"})",
  };
  std::string bytes;
  for (const std::string& line : lines) bytes += line + "\n";
  WriteFile(corpus, bytes);

  const std::string index = Path("idx");
  const CommandResult r =
      Cascade("index --index " + Quote(index) + " " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  // g1, g2, g3 and both versions of dup were added; the second dup replaced
  // the first; six lines were skipped.
  EXPECT_NE(r.out.find("indexed 5 documents (1 replaced an existing id, 6 "
                       "skipped)"),
            std::string::npos)
      << r;
  const std::vector<std::pair<int, std::string>> problems = {
      {2, "invalid JSON"},
      {4, "missing id"},
      {5, "empty document: no title or text"},
      {6, "field \"title\": expected a string, got number"},
      {7, "exceeds the 1048576-byte limit"},
      {8, "invalid UTF-8"},
  };
  for (const auto& [line, message] : problems) {
    const std::string where = corpus + ":" + std::to_string(line) + ": ";
    const size_t at = r.err.find(where);
    ASSERT_NE(at, std::string::npos) << "no message for line " << line << "\n"
                                     << r;
    const std::string rest = r.err.substr(at, r.err.find('\n', at) - at);
    EXPECT_NE(rest.find(message), std::string::npos) << rest;
    EXPECT_NE(rest.find("skipped"), std::string::npos) << rest;
  }
  EXPECT_EQ(CountLines(r.err, "(skipped)"), problems.size()) << r;
  // Good lines are never reported.
  for (int good : {1, 3, 9, 10, 11}) {
    EXPECT_EQ(r.err.find(corpus + ":" + std::to_string(good) + ":"),
              std::string::npos)
        << good;
  }

  // The good documents around the bad ones are searchable.
  EXPECT_EQ(Search(index, "apples"), Ids{"g1"});
  EXPECT_EQ(Search(index, "bananas"), Ids{"g2"});
  EXPECT_EQ(Search(index, "grapes"), Ids{"g3"});
  // Nothing of a skipped line was indexed.
  for (const char* word : {"cherries", "durian", "elderberry", "figs"}) {
    EXPECT_EQ(Search(index, word), Ids{}) << word;
  }
  // The later "dup" replaced the earlier one.
  EXPECT_EQ(Search(index, "zebra"), Ids{});
  EXPECT_EQ(Search(index, "giraffe"), Ids{"dup"});
  EXPECT_EQ(Search(index, "version"), Ids{"dup"});
}

TEST_F(CliTest, IndexIntoAFolderThatIsNotAnIndex) {
  const fs::path folder = root_ / "not-an-index";
  fs::create_directories(folder);
  WriteFile(folder / "notes.bin", "\x01\x02 random bytes \x03");
  const CommandResult r = Cascade("index --index " + Quote(folder.string()) +
                                  " " + Quote(kSmallCorpus));
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("not a Cascade index"), std::string::npos) << r;
  // The folder is left as it was.
  EXPECT_EQ(
      std::distance(fs::directory_iterator(folder), fs::directory_iterator()),
      1);
  EXPECT_EQ(ReadFile(folder / "notes.bin"), "\x01\x02 random bytes \x03");

  // A plain file where the index should be.
  const CommandResult file = Cascade("index --index " + Quote(kSmallCorpus) +
                                     " " + Quote(kSmallCorpus));
  EXPECT_NE(file.exit_code, 0) << file;
  EXPECT_NE(file.err.find("not a Cascade index"), std::string::npos) << file;
}

TEST_F(CliTest, MissingIndexOrInputFails) {
  const CommandResult search =
      Cascade("search --index " + Quote(Path("nowhere")) + " reef");
  EXPECT_NE(search.exit_code, 0) << search;
  EXPECT_NE(search.err.find("nowhere"), std::string::npos) << search;
  EXPECT_FALSE(fs::exists(Path("nowhere")));  // searching creates nothing

  const CommandResult run = Cascade("run --index " + Quote(Path("nowhere")) +
                                    " --queries " + Quote(kSmallQueries));
  EXPECT_NE(run.exit_code, 0) << run;

  // A missing input fails before the index is created.
  const CommandResult input = Cascade("index --index " + Quote(Path("idx")) +
                                      " " + Quote(Path("missing.jsonl")));
  EXPECT_NE(input.exit_code, 0) << input;
  EXPECT_NE(input.err.find("missing.jsonl"), std::string::npos) << input;
  EXPECT_FALSE(fs::exists(Path("idx")));
}

TEST_F(CliTest, IndexingAgainAddsDocuments) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  EXPECT_EQ(Search(index, "zeppelin"), Ids{});

  const std::string more = Path("more.jsonl");
  WriteFile(
      more,
      R"({"_id": "d9", "title": "Airships", "text": "a zeppelin floats"})"
      "\n"
      R"({"_id": "d1", "title": "Danube", "text": "the blue danube waltz"})"
      "\n");
  const CommandResult r =
      Cascade("index --index " + Quote(index) + " " + Quote(more));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("indexed 2 documents (1 replaced an existing id, 0 "
                       "skipped)"),
            std::string::npos)
      << r;
  // Old and new documents are both there; d1 was replaced.
  EXPECT_EQ(Search(index, "zeppelin"), Ids{"d9"});
  EXPECT_EQ(Search(index, "reef"), (Ids{"d5", "d4"}));
  EXPECT_EQ(Search(index, "waltz"), Ids{"d1"});
  EXPECT_EQ(Search(index, "vienna"), Ids{});
  EXPECT_EQ(
      Search(index, "danube glacier ice reef anchor zeppelin", "--k 20").size(),
      8u);
}

TEST_F(CliTest, MergeReclaimsReplacedDocuments) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  const std::string more = Path("more.jsonl");
  WriteFile(more,
            R"({"_id": "d1", "title": "Danube", "text": "the blue danube waltz"})"
            "\n");
  ASSERT_EQ(Cascade("index --index " + Quote(index) + " " + Quote(more)).exit_code, 0);
  const Ids before = Search(index, "danube glacier ice reef anchor waltz", "--k 20");

  // Two segments, one replaced document: one segment, nothing deleted.
  const CommandResult r = Cascade("merge --index " + Quote(index) + " --max-segments 1");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("segments 2 -> 1, 8 documents, 1 deleted documents reclaimed (0 left)"),
            std::string::npos)
      << r;
  EXPECT_EQ(Search(index, "danube glacier ice reef anchor waltz", "--k 20"), before);
  EXPECT_EQ(Search(index, "vienna"), Ids{});
  EXPECT_EQ(Search(index, "waltz"), Ids{"d1"});

  // The tiered policy finds nothing more to do.
  const CommandResult json = Cascade("merge --json --index " + Quote(index));
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_NE(json.out.find(R"("segments_before":1,"segments_after":1,"documents":8,)"),
            std::string::npos)
      << json;

  EXPECT_EQ(Cascade("merge --index " + Quote(Path("missing"))).exit_code, 2);
  EXPECT_EQ(Cascade("merge --index " + Quote(index) + " --segments-per-tier 1").exit_code, 2);
  EXPECT_EQ(Cascade("merge").exit_code, 2);
}

// tests/data/cli/small.jsonl: deletes by id and by query, committed by
// the command; unknown ids are named and give exit code 3.
TEST_F(CliTest, DeleteByIdAndByQuery) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));

  const CommandResult by_id = Cascade("delete --index " + Quote(index) + " d1 nope");
  EXPECT_EQ(by_id.exit_code, 3) << by_id;
  EXPECT_NE(by_id.err.find(R"(no document with id "nope")"), std::string::npos) << by_id;
  EXPECT_NE(by_id.out.find("deleted 1 documents (0 by query, 1 by id, 1 ids not found); "
                           "7 documents left"),
            std::string::npos)
      << by_id;
  EXPECT_EQ(Search(index, "danube"), Ids{});

  // Every match, not a top k: d4 and d5 hold "reef".
  const CommandResult by_query =
      Cascade("delete --json --index " + Quote(index) + " --query reef");
  ASSERT_EQ(by_query.exit_code, 0) << by_query;
  EXPECT_EQ(JsonNumber(by_query.out, "deleted"), 2);
  EXPECT_EQ(JsonNumber(by_query.out, "by_query"), 2);
  EXPECT_EQ(JsonNumber(by_query.out, "documents"), 5);
  EXPECT_NE(by_query.out.find(R"("not_found":[])"), std::string::npos) << by_query;
  EXPECT_EQ(Search(index, "reef"), Ids{});

  // Both at once: the phrase takes d8 (d2 lacks "ice"), the id d6; an id
  // the query took already, or one given twice, counts once.
  const CommandResult both =
      Cascade("delete --json --index " + Quote(index) +
              " --syntax lucene --query '\"glacier ice\"' d8 d6 d6");
  ASSERT_EQ(both.exit_code, 0) << both;
  EXPECT_EQ(JsonNumber(both.out, "deleted"), 2);
  EXPECT_EQ(JsonNumber(both.out, "by_query"), 1);
  EXPECT_EQ(JsonNumber(both.out, "by_id"), 1);
  EXPECT_EQ(Search(index, "glacier"), Ids{"d2"});

  // A bad query deletes nothing, not even the ids given with it.
  const CommandResult bad = Cascade("delete --index " + Quote(index) +
                                    " --syntax lucene --query 'anchor AND (' d7");
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_NE(bad.err.find("column"), std::string::npos) << bad;
  EXPECT_EQ(Search(index, "anchor"), Ids{"d7"});

  EXPECT_EQ(Search(index, "*:*", "--syntax lucene --k 20"), (Ids{"d2", "d3", "d7"}));
  EXPECT_EQ(Cascade("delete --index " + Quote(index)).exit_code, 2);  // nothing to delete
  EXPECT_EQ(Cascade("delete --index " + Quote(Path("missing")) + " d1").exit_code, 2);
  EXPECT_FALSE(fs::exists(Path("missing")));
  EXPECT_EQ(Cascade("delete --index " + Quote(index) + " --syntax regex --query x").exit_code,
            2);
}

TEST_F(CliTest, UpdateReplacesOnlyExistingDocuments) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  const std::string changes = Path("changes.jsonl");
  WriteFile(changes,
            R"({"_id": "d1", "title": "Danube", "text": "the blue danube waltz"})"
            "\n"
            R"({"_id": "d9", "title": "Airships", "text": "a zeppelin floats"})"
            "\n");
  const CommandResult r = Cascade("update --index " + Quote(index) + " " + Quote(changes));
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_NE(r.out.find("updated 1 documents (1 not found, 0 skipped)"), std::string::npos) << r;
  EXPECT_NE(r.err.find(changes + ":2: no document with id \"d9\" in the index (skipped)"),
            std::string::npos)
      << r;
  EXPECT_EQ(Search(index, "waltz"), Ids{"d1"});
  EXPECT_EQ(Search(index, "vienna"), Ids{});
  EXPECT_EQ(Search(index, "zeppelin"), Ids{});

  // Every id known: exit code 0; stdin works as for `index`.
  const std::string again = Path("again.jsonl");
  WriteFile(again, R"({"_id": "d5", "title": "Coral", "text": "coral atoll"})" "\n");
  const CommandResult ok = Cascade("update --quiet --index " + Quote(index) + " -", again);
  ASSERT_EQ(ok.exit_code, 0) << ok;
  EXPECT_NE(ok.out.find("updated 1 documents (0 not found, 0 skipped)"), std::string::npos)
      << ok;
  EXPECT_EQ(Search(index, "reef"), Ids{"d4"});
  EXPECT_EQ(Search(index, "atoll"), Ids{"d5"});

  // No index: nothing is created. New-index flags are not update's.
  EXPECT_EQ(Cascade("update --index " + Quote(Path("missing")) + " " + Quote(changes)).exit_code,
            2);
  EXPECT_FALSE(fs::exists(Path("missing")));
  EXPECT_EQ(Cascade("update --index " + Quote(index) + " --stemmer none " + Quote(changes))
                .exit_code,
            2);
}

// Keyword and numeric fields: declared by `index`, checked per record
// (file, line and field named; the record skipped whole), filtered on by
// `search --syntax lucene`, shown with hits (text and --json), and fixed
// for an existing index.
TEST_F(CliTest, KeywordAndNumericFields) {
  const std::string index = Path("idx");
  const std::string corpus = Path("fields.jsonl");
  WriteFile(corpus,
            R"({"_id": "f1", "title": "Rocket", "text": "liquid rocket", "tags": ["space", "Engines"], "year": 1957})"
            "\n"
            R"({"_id": "f2", "title": "Steam", "text": "steam engine", "tags": "history", "year": [1850, 1851.5]})"
            "\n"
            R"({"_id": "f3", "title": "Bad", "text": "rocket", "year": "1999"})"
            "\n"
            R"({"_id": "f4", "title": "Plain", "text": "rocket"})"
            "\n");
  const CommandResult r = Cascade("index --quiet --index " + Quote(index) +
                                  " --keyword-field tags --numeric-field year " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find(corpus +
                       ":3: field \"year\": expected a number or an array of numbers, got "
                       "string (skipped)"),
            std::string::npos)
      << r;
  EXPECT_NE(r.out.find("indexed 3 documents (0 replaced an existing id, 1 skipped)"),
            std::string::npos)
      << r;
  const CommandResult text = Cascade("search --index " + Quote(index) +
                                     " --snippet 5 --syntax lucene 'rocket -tags:space'");
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find("1 hits"), std::string::npos) << text;
  EXPECT_NE(text.out.find("f4"), std::string::npos) << text;
  EXPECT_NE(text.out.find("      <b>rocket</b>\n"), std::string::npos) << text;
  const CommandResult shown = Cascade("search --index " + Quote(index) +
                                      " --syntax lucene 'year:[1800 TO 1900}'");
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_NE(shown.out.find("tags: history  year: 1850, 1851.5"), std::string::npos) << shown;
  const CommandResult json = Cascade("search --index " + Quote(index) +
                                     " --json --syntax lucene 'tags:Engines'");
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_EQ(HitIds(json.out), Ids{"f1"});
  EXPECT_NE(json.out.find(R"("fields":{"tags":["space","Engines"],"year":[1957]})"),
            std::string::npos)
      << json;
  const CommandResult bad = Cascade("search --index " + Quote(index) +
                                    " --syntax lucene 'tags:[a TO b]'");
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_NE(bad.err.find("range query on keyword field \"tags\""), std::string::npos) << bad;
  // The fields are fixed when the index is created.
  const CommandResult other = Cascade("index --quiet --index " + Quote(index) +
                                      " --keyword-field cat " + Quote(corpus));
  EXPECT_EQ(other.exit_code, 2) << other;
  EXPECT_NE(other.err.find("differ from the fields the index was created with"),
            std::string::npos)
      << other;
  const CommandResult stats = Cascade("stats --index " + Quote(index));
  EXPECT_NE(stats.out.find("keyword fields     tags"), std::string::npos) << stats;
  EXPECT_NE(stats.out.find("numeric fields     year"), std::string::npos) << stats;
  // Bad names are refused before anything is created.
  const CommandResult reserved = Cascade("index --quiet --index " + Quote(Path("idx2")) +
                                         " --keyword-field title " + Quote(corpus));
  EXPECT_EQ(reserved.exit_code, 2) << reserved;
  EXPECT_FALSE(fs::exists(Path("idx2")));
}

// Text fields: --text-field NAME^W at creation; a word searches contents
// and the fields, weighted; field:word one field; the values come back.
TEST_F(CliTest, TextFieldsWithWeights) {
  const std::string index = Path("idx");
  const std::string corpus = Path("texts.jsonl");
  WriteFile(corpus,
            R"({"_id": "t1", "title": "Rocket", "text": "history of engines", "abstract": "steam"})"
            "\n"
            R"({"_id": "t2", "title": "Steam", "text": "rocket rocket rocket", "abstract": "fuel"})"
            "\n"
            R"({"_id": "t3", "abstract": "a rocket abstract only"})"
            "\n"
            R"({"_id": "t4", "title": "Bad", "abstract": 7})"
            "\n");
  CommandResult r = Cascade("index --quiet --index " + Quote(index) +
                            " --text-field title^4 --text-field abstract " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find(corpus + ":4: field \"abstract\": expected a string, got number"),
            std::string::npos)
      << r;
  // The title's weight puts t1 (rocket in its title) first.
  r = Cascade("search --index " + Quote(index) + " --json rocket");
  ASSERT_EQ(r.exit_code, 0) << r;
  const Ids hits = HitIds(r.out);
  ASSERT_EQ(hits.size(), 3u) << r;
  EXPECT_EQ(hits[0], "t1") << r;
  EXPECT_NE(r.out.find(R"("fields":{"abstract":"a rocket abstract only"})"), std::string::npos)
      << r;
  r = Cascade("search --index " + Quote(index) + " --json --syntax lucene abstract:rocket");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(HitIds(r.out), Ids{"t3"}) << r;
  r = Cascade("search --index " + Quote(index) + " --json --syntax lucene 'title:steam'");
  EXPECT_EQ(HitIds(r.out), Ids{"t2"}) << r;
  r = Cascade("stats --index " + Quote(index));
  EXPECT_NE(r.out.find("text fields        title^4, abstract"), std::string::npos) << r;
  // Titles "Rocket", "Steam"; abstracts "steam", "fuel", "rocket abstract
  // only" ("a" is a stop word).
  EXPECT_NE(r.out.find("  title^4          1.00 terms on average"), std::string::npos) << r;
  EXPECT_NE(r.out.find("  abstract         1.67 terms on average"), std::string::npos) << r;
  r = Cascade("stats --json --index " + Quote(index));
  EXPECT_NE(r.out.find(R"("text_fields":["title^4","abstract"],"contents_weight":1,)"
                       R"("text_field_average_lengths":[1.0000,1.6667])"),
            std::string::npos)
      << r;
  // Fixed at creation; bad specs refused before anything is made.
  r = Cascade("index --quiet --index " + Quote(index) + " --text-field title " + Quote(corpus));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("differ from the fields the index was created with"), std::string::npos)
      << r;
  r = Cascade("index --quiet --index " + Quote(Path("idx2")) + " --text-field 'title^x' " +
              Quote(corpus));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("weight \"x\" is not a number"), std::string::npos) << r;
  r = Cascade("index --quiet --index " + Quote(Path("idx2")) +
              " --text-field title^0 --contents-weight 0 " + Quote(corpus));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("would search nothing"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(Path("idx2")));
}

// Other fields ("anything else stored"): kept by `index` by default and
// shown with hits (text and --json) as given; an index created with
// --no-store-extra drops them, and the choice is fixed at creation.
TEST_F(CliTest, OtherFieldsAreStoredByDefault) {
  const std::string corpus = Path("extra.jsonl");
  WriteFile(corpus,
            R"({"_id": "x1", "title": "Rocket", "text": "liquid rocket", "tags": "space", "author": "Ann", "meta": {"stages": [1, 2]}, "price": 1.50})"
            "\n"
            R"({"_id": "x2", "title": "Steam", "text": "steam engine"})"
            "\n");
  const std::string index = Path("idx");
  CommandResult r =
      Cascade("index --quiet --index " + Quote(index) + " --keyword-field tags " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  const CommandResult text = Cascade("search --index " + Quote(index) + " rocket");
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find(R"(      tags: space  author: "Ann"  meta: {"stages":[1,2]}  price: 1.50)"
                          "\n"),
            std::string::npos)
      << text;
  const CommandResult json = Cascade("search --index " + Quote(index) + " --json rocket");
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_NE(
      json.out.find(R"("fields":{"tags":["space"],"author":"Ann","meta":{"stages":[1,2]},"price":1.50})"),
      std::string::npos)
      << json;
  const CommandResult plain = Cascade("search --index " + Quote(index) + " --json steam");
  ASSERT_EQ(plain.exit_code, 0) << plain;
  EXPECT_EQ(plain.out.find("\"fields\""), std::string::npos) << plain;
  // Fixed at creation: asking an index that stores them to drop them fails.
  r = Cascade("index --quiet --no-store-extra --index " + Quote(index) + " " + Quote(corpus));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--no-store-extra"), std::string::npos) << r;

  const std::string dropped = Path("dropped");
  r = Cascade("index --quiet --no-store-extra --index " + Quote(dropped) + " " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  const CommandResult none = Cascade("search --index " + Quote(dropped) + " --json rocket");
  ASSERT_EQ(none.exit_code, 0) << none;
  EXPECT_EQ(HitIds(none.out), Ids{"x1"});
  EXPECT_EQ(none.out.find("\"fields\""), std::string::npos) << none;
  EXPECT_EQ(none.out.find("author"), std::string::npos) << none;
  // Adding to it later keeps dropping them, with or without the flag.
  r = Cascade("index --quiet --index " + Quote(dropped) + " " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Cascade("search --index " + Quote(dropped) + " --json rocket").out.find("author"),
            std::string::npos);
}

// The bytes a `cascade stats --json` column family's tables take, or -1.
long long TableBytes(const std::string& json, const std::string& cf) {
  const std::regex pattern("\"" + cf + R"re(":\{"table_bytes":([0-9]+))re");
  std::smatch m;
  if (!std::regex_search(json, m, pattern)) return -1;
  return std::stoll(m[1].str());
}

TEST_F(CliTest, StatsReportsCountsAndColumnFamilies) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  // Opening for writing flushes the write-ahead log into table files.
  ASSERT_EQ(Cascade("delete --index " + Quote(index) + " d3").exit_code, 0);
  const std::string more = Path("more.jsonl");
  WriteFile(more, R"({"_id": "d9", "title": "Airships", "text": "a zeppelin floats"})" "\n");
  IndexCorpus(index, Quote(more));

  const CommandResult json = Cascade("stats --json --index " + Quote(index));
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_EQ(JsonNumber(json.out, "documents"), 8);          // 8 - d3 + d9
  EXPECT_EQ(JsonNumber(json.out, "deleted_documents"), 1);  // d3
  EXPECT_EQ(JsonNumber(json.out, "segments"), 2);           // one per `index` run
  EXPECT_NE(json.out.find(R"("positions":true)"), std::string::npos) << json;
  EXPECT_NE(json.out.find(R"("vector_fields":[])"), std::string::npos) << json;
  for (const char* cf : {"postings", "positions", "docs", "ids", "segments"}) {
    EXPECT_GT(TableBytes(json.out, cf), 0) << cf << "\n" << json;
  }
  EXPECT_GE(TableBytes(json.out, "tilde"), 0) << json;
  EXPECT_GT(JsonNumber(json.out, "disk_bytes").value_or(0), 0);

  const CommandResult text = Cascade("stats --index " + Quote(index));
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find("documents          8\n"), std::string::npos) << text;
  EXPECT_NE(text.out.find("deleted documents  1 "), std::string::npos) << text;
  EXPECT_EQ(CountLines(text.out, "  postings "), 1u) << text;

  // Read-only: it runs while `cascade serve` holds the index for writing.
  const std::string script =
      "(" + Quote(kBinaryDir + "/cascade") + " serve --index " + Quote(index) +
      " --port 0 > " + Quote(Path("serve.txt")) + " 2>&1 & pid=$!; " +
      "for i in $(seq 100); do grep -q listening " + Quote(Path("serve.txt")) +
      " && break; sleep 0.1; done; " + Quote(kBinaryDir + "/cascade") +
      " stats --json --index " + Quote(index) + "; code=$?; kill $pid; wait $pid; exit $code)";
  const CommandResult beside = Shell(script);
  ASSERT_EQ(beside.exit_code, 0) << beside << ReadFile(Path("serve.txt"));
  EXPECT_EQ(JsonNumber(beside.out, "documents"), 8);

  EXPECT_EQ(Cascade("stats --index " + Quote(Path("missing"))).exit_code, 2);
  EXPECT_FALSE(fs::exists(Path("missing")));
}

TEST_F(CliTest, GzipAndStdinInputs) {
  const std::string plain = ReadFile(kSmallCorpus);
  ASSERT_FALSE(plain.empty());
  const std::string gz = Path("small.jsonl.gz");
  gzFile out = gzopen(gz.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, plain.data(), static_cast<unsigned>(plain.size())),
            static_cast<int>(plain.size()));
  ASSERT_EQ(gzclose(out), Z_OK);

  const std::string from_gz = Path("gz");
  IndexCorpus(from_gz, Quote(gz));
  EXPECT_EQ(Search(from_gz, "reef"), (Ids{"d5", "d4"}));
  EXPECT_EQ(Search(from_gz, "glacier ice"), (Ids{"d8", "d2"}));

  const std::string from_stdin = Path("stdin");
  const CommandResult r =
      Cascade("index --index " + Quote(from_stdin) + " -", kSmallCorpus);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("indexed 8 documents"), std::string::npos) << r;
  EXPECT_EQ(Search(from_stdin, "reef"), (Ids{"d5", "d4"}));
  EXPECT_EQ(Search(from_stdin, "anchor"), (Ids{"d6", "d7"}));

  // Problems on stdin are named <stdin>:line.
  const std::string bad = Path("bad.jsonl");
  WriteFile(bad, "{\"_id\": \"ok\", \"text\": \"fine\"}\n{\"_id\": \"x\"}\n");
  const CommandResult b =
      Cascade("index --index " + Quote(Path("stdin2")) + " -", bad);
  ASSERT_EQ(b.exit_code, 0) << b;
  EXPECT_NE(b.err.find("<stdin>:2: empty document"), std::string::npos) << b;
  EXPECT_NE(
      b.out.find("indexed 1 documents (0 replaced an existing id, 1 skipped)"),
      std::string::npos)
      << b;
}

TEST_F(CliTest, RunReportsLatencyAndWritesARun) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  const std::string run_path = Path("run.txt");
  const CommandResult r =
      Cascade("run --json --index " + Quote(index) + " --queries " +
              Quote(kSmallQueries) + " --output " + Quote(run_path));
  ASSERT_EQ(r.exit_code, 0) << r;
  // Exactly one JSON object on one line.
  EXPECT_EQ(r.out.front(), '{') << r;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r;
  for (const char* key : {"queries", "qps", "mean_ms", "p50_ms", "p99_ms"}) {
    EXPECT_TRUE(JsonNumber(r.out, key).has_value()) << key << "\n" << r;
  }
  EXPECT_EQ(JsonNumber(r.out, "queries"), 4);
  EXPECT_GT(JsonNumber(r.out, "qps").value_or(0), 0);
  EXPECT_GE(JsonNumber(r.out, "mean_ms").value_or(-1), 0);
  EXPECT_LE(JsonNumber(r.out, "p50_ms").value_or(1),
            JsonNumber(r.out, "p99_ms").value_or(0));

  auto run = ReadRun(run_path);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  // zeppelin (q3) has no hits, so no lines.
  ASSERT_EQ(run->ranked.size(), 3u);
  auto docs = [&](const std::string& qid) {
    Ids ids;
    for (const RunEntry& e : run->ranked[qid]) ids.push_back(e.doc);
    return ids;
  };
  EXPECT_EQ(docs("q1"), (Ids{"d5", "d4"}));
  EXPECT_EQ(docs("q2"), (Ids{"d8", "d2"}));
  EXPECT_EQ(docs("q4"), Ids{"d1"});
  EXPECT_GT(run->ranked["q1"][0].score, run->ranked["q1"][1].score);
}

// --syntax lucene: operators, groups and fields (title is an alias of the
// one text field for now). r1 and r3 are the rocket documents with an
// engine or a motor and nothing solid; r2 is solid, r4 no rocket.
TEST_F(CliTest, SearchLuceneSyntax) {
  const std::string corpus = Path("rockets.jsonl");
  WriteFile(corpus,
            R"({"_id": "r1", "title": "Rocket engine", "text": "liquid fuel burns"})" "\n"
            R"({"_id": "r2", "title": "Solid rocket", "text": "a solid motor"})" "\n"
            R"({"_id": "r3", "title": "Rocket", "text": "a small motor for models"})" "\n"
            R"({"_id": "r4", "title": "Electric motor", "text": "an engine without fuel"})" "\n");
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(corpus));
  const std::string query = "title:rocket AND (engine OR motor) -solid";
  Ids got = Search(index, query, "--syntax lucene");
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Ids{"r1", "r3"}));
  // The environment twin; the default stays plain (words: r2 matches).
  const CommandResult env = Shell("CASCADE_SYNTAX=lucene " + Quote(kBinaryDir + "/cascade") +
                                  " search --json --index " + Quote(index) + " " +
                                  Quote("+motor -solid"));
  ASSERT_EQ(env.exit_code, 0) << env;
  got = HitIds(env.out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Ids{"r3", "r4"}));
  const Ids plain = Search(index, query);
  EXPECT_NE(std::find(plain.begin(), plain.end(), "r2"), plain.end());

  // A syntax error is a usage error naming the column.
  const CommandResult bad = Cascade("search --syntax lucene --index " + Quote(index) +
                                    " " + Quote("rocket AND (motor"));
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_NE(bad.err.find("column"), std::string::npos) << bad;
  const CommandResult field = Cascade("search --syntax lucene --index " + Quote(index) +
                                      " " + Quote("author:rocket"));
  EXPECT_EQ(field.exit_code, 2) << field;
  EXPECT_NE(field.err.find("author"), std::string::npos) << field;
  const CommandResult phrase = Cascade("search --syntax lucene --index " + Quote(index) +
                                       " " + Quote("\"solid rocket\""));
  EXPECT_EQ(phrase.exit_code, 0) << phrase;
  EXPECT_NE(phrase.out.find("1 hits"), std::string::npos) << phrase;
  // An index made without positions refuses phrases, naming them.
  const std::string bare = Path("bare");
  ASSERT_EQ(Cascade("index --quiet --no-positions --index " + Quote(bare) + " " +
                    Quote(corpus)).exit_code, 0);
  const CommandResult refused = Cascade("search --syntax lucene --index " + Quote(bare) +
                                        " " + Quote("\"solid rocket\""));
  EXPECT_NE(refused.exit_code, 0) << refused;
  EXPECT_NE(refused.err.find("without positions"), std::string::npos) << refused;
  EXPECT_EQ(Cascade("search --syntax sql --index " + Quote(index) + " rocket").exit_code, 2);

  // run takes the flag too.
  const std::string queries = Path("queries.tsv");
  WriteFile(queries, "q1\t+rocket -solid\n");
  const std::string run_path = Path("run.txt");
  const CommandResult run = Cascade("run --syntax lucene --index " + Quote(index) +
                                    " --queries " + Quote(queries) + " --output " +
                                    Quote(run_path));
  ASSERT_EQ(run.exit_code, 0) << run;
  auto ranked = ReadRun(run_path);
  ASSERT_TRUE(ranked.ok()) << ranked.status().ToString();
  Ids ids;
  for (const RunEntry& e : ranked->ranked["q1"]) ids.push_back(e.doc);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (Ids{"r1", "r3"}));
}

// trec_eval's "all" figures from a *.trec_eval.c.txt file.
std::map<std::string, double> TrecEvalAll(const std::string& path,
                                          size_t* queries) {
  std::ifstream in(path);
  std::map<std::string, double> all;
  std::string measure, qid;
  double value;
  *queries = 0;
  while (in >> measure >> qid >> value) {
    if (qid == "all") {
      all[measure] = value;
    } else if (measure == "map") {
      ++*queries;
    }
  }
  return all;
}

// The parameter names a fixture of tests/data/trec_eval/.
class CliEvalTest : public CliTest,
                    public testing::WithParamInterface<std::string> {};

TEST_P(CliEvalTest, MatchesTrecEval) {
  const std::string base = kTestData + "/trec_eval/" + GetParam();
  const std::string run_path =
      fs::exists(base + ".run.gz") ? base + ".run.gz" : base + ".run";
  const std::string qrels_path = base + ".qrels";
  const CommandResult r = Cascade("eval --json --run-in " + Quote(run_path) +
                                  " --qrels " + Quote(qrels_path));
  ASSERT_EQ(r.exit_code, 0) << r;

  size_t queries = 0;
  const auto expected = TrecEvalAll(base + ".trec_eval.c.txt", &queries);
  ASSERT_GT(queries, 0u);
  EXPECT_EQ(JsonNumber(r.out, "queries"), static_cast<double>(queries)) << r;
  // The CLI prints 4 decimals, as the trec_eval files do.
  constexpr double kTolerance = 5e-5 + 1e-12;
  const std::pair<const char*, const char*> pairs[] = {
      {"map", "map"},
      {"ndcg@10", "ndcg_cut_10"},
      {"recall@100", "recall_100"},
      {"recall@1000", "recall_1000"},
  };
  for (const auto& [ours, theirs] : pairs) {
    ASSERT_TRUE(expected.count(theirs)) << theirs;
    const auto value = JsonNumber(r.out, ours);
    ASSERT_TRUE(value.has_value()) << ours << "\n" << r;
    EXPECT_NEAR(*value, expected.at(theirs), kTolerance) << ours;
  }
  // The fixtures' recip_rank is uncut, so MRR@10 is checked against the
  // library the CLI prints from.
  auto qrels = ReadQrels(qrels_path);
  auto run = ReadRun(run_path);
  ASSERT_TRUE(qrels.ok() && run.ok());
  const EvalReport report = Evaluate(*qrels, *run);
  const auto mrr = JsonNumber(r.out, "mrr@10");
  ASSERT_TRUE(mrr.has_value()) << r;
  EXPECT_NEAR(*mrr, report.all.mrr_10, kTolerance);
  EXPECT_LE(*mrr, expected.at("recip_rank") + kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliEvalTest,
                         testing::Values("cacm", "nfcorpus-orig-test", "edge"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST_F(CliTest, EvalErrors) {
  const std::string qrels = kTestData + "/trec_eval/edge.qrels";
  // Neither --index nor --run-in.
  const CommandResult none = Cascade("eval --qrels " + Quote(qrels));
  EXPECT_NE(none.exit_code, 0) << none;
  // A missing run file.
  const CommandResult missing = Cascade("eval --qrels " + Quote(qrels) +
                                        " --run-in " + Quote(Path("nope.run")));
  EXPECT_NE(missing.exit_code, 0) << missing;
  // A malformed run line names file:line.
  const std::string bad = Path("bad.run");
  WriteFile(bad, "q1 Q0 d1 1 2.0 t\nq1 Q0 d2\n");
  const CommandResult malformed =
      Cascade("eval --qrels " + Quote(qrels) + " --run-in " + Quote(bad));
  EXPECT_NE(malformed.exit_code, 0) << malformed;
  EXPECT_NE(malformed.err.find(bad + ":2"), std::string::npos) << malformed;
}

using CliEffectivenessTest = CliTest;

// BM25 on CACM against Anserini's published regression (MAP 0.3123 with the
// verbatim qrels, 1000 hits, k1 0.9, b 0.4).
TEST_F(CliEffectivenessTest, CacmMatchesAnserini) {
  const std::string dataset = kSharedDir + "/data/cacm";
  ASSERT_TRUE(fs::is_directory(dataset)) << "shared data missing: " << dataset;
  const std::string qrels = dataset + "/qrels/test.anserini-verbatim.tsv";
  ASSERT_TRUE(fs::exists(qrels)) << "shared data missing: " << qrels;

  const std::string index = Path("cacm");
  const CommandResult indexed =
      Cascade("index --quiet --index " + Quote(index) + " " + Quote(dataset));
  ASSERT_EQ(indexed.exit_code, 0) << indexed;
  EXPECT_NE(indexed.out.find("indexed 3204 documents"), std::string::npos)
      << indexed;

  const std::string run_path = Path("cacm.run");
  const CommandResult eval = Cascade(
      "eval --json --index " + Quote(index) + " --dataset " + Quote(dataset) +
      " --qrels " + Quote(qrels) + " --run " + Quote(run_path));
  ASSERT_EQ(eval.exit_code, 0) << eval;
  EXPECT_EQ(JsonNumber(eval.out, "queries"), 52) << eval;
  const auto map = JsonNumber(eval.out, "map");
  ASSERT_TRUE(map.has_value()) << eval;
  EXPECT_NEAR(*map, 0.3123, 0.005) << eval;

  // The written run evaluates to the same figures.
  const CommandResult again = Cascade(
      "eval --json --run-in " + Quote(run_path) + " --qrels " + Quote(qrels));
  ASSERT_EQ(again.exit_code, 0) << again;
  for (const char* key :
       {"map", "ndcg@10", "mrr@10", "recall@100", "recall@1000", "queries"}) {
    ASSERT_TRUE(JsonNumber(eval.out, key).has_value()) << key;
    EXPECT_EQ(JsonNumber(again.out, key), JsonNumber(eval.out, key)) << key;
  }
  auto run = ReadRun(run_path);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->ranked.size(), 52u);
  for (const auto& [qid, entries] : run->ranked) {
    EXPECT_LE(entries.size(), 1000u) << qid;
  }
}

}  // namespace
}  // namespace cascade::tools
