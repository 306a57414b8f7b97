// Tests of "anything else stored": a JSON record's other top-level fields
// (Document::extra) through document_json (collected raw, in order),
// field_values (the tail of a "docs" record), index_options (the
// store_extra switch), index_writer (checks, the size limit), index_reader
// and segment_merger (read back byte for byte, after a merge too), and the
// public library (Document::extra, Hit::extra, Get, ParseDocument).
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cascade/engine.h"
#include "index/document_json.h"
#include "index/field_values.h"
#include "index/index_options.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/store.h"

namespace cascade::index {
namespace {

namespace fs = std::filesystem;
using Members = std::vector<std::pair<std::string, std::string>>;

FieldSchema Schema() {
  FieldSchema schema;
  schema.keyword_fields = {"tags"};
  schema.numeric_fields = {"year"};
  return schema;
}

Document Parsed(DocumentJsonParser& parser, std::string_view json) {
  Document doc;
  std::string problem;
  EXPECT_TRUE(parser.Parse(json, &doc, &problem)) << json << ": " << problem;
  return doc;
}

TEST(ExtraJsonTest, CollectsOtherFieldsInOrderWithRawValues) {
  DocumentJsonParser parser;
  parser.SetFields(Schema());
  // Every JSON type, whitespace inside and between values, escapes in
  // strings kept as written, a number's spelling kept (1.50, 1E3, -0).
  const Document doc = Parsed(parser, R"({ "_id" : "1", "author":"Ann \"A\" \u00e9",
      "title":"T", "n": 1.50 , "e":1E3,"z":-0, "t":true,"f":false, "nil":null,
      "meta" : { "a" : [ 1, 2 ], "s":"x  y" }, "text":"body", "tags":["k"], "year":1987,
      "list":[ {}, [], "" ], "tilde":{"w":1}, "vectors":{}, "id":"2" })");
  EXPECT_EQ(doc.id, "1");
  EXPECT_EQ(doc.title, "T");
  EXPECT_EQ(doc.text, "body");
  EXPECT_EQ(doc.keywords.size(), 1u);
  EXPECT_EQ(doc.numbers.size(), 1u);
  EXPECT_EQ(doc.extra,
            R"({"author":"Ann \"A\" \u00e9","n":1.50,"e":1E3,"z":-0,"t":true,"f":false,)"
            R"("nil":null,"meta":{"a":[1,2],"s":"x  y"},"list":[{},[],""]})");
  // None: empty, not "{}".
  EXPECT_EQ(Parsed(parser, R"({"id":"2","text":"t","year":null})").extra, "");
  // A repeated name keeps its last value in the place of the first; a
  // name spelt with escapes is read unescaped (so "t\u0069tle" is the
  // title) and written back escaped only where JSON needs it.
  const Document dup = Parsed(
      parser, R"({"id":"3","a":1,"b":2,"a":[3],"t\u0069tle":"T","caf\u00e9":0,"q\"":1})");
  EXPECT_EQ(dup.title, "T");
  EXPECT_EQ(dup.extra, "{\"a\":[3],\"b\":2,\"caf\xC3\xA9\":0,\"q\\\"\":1}");
  // Without a schema, keyword and numeric names are other fields too.
  DocumentJsonParser plain;
  EXPECT_EQ(Parsed(plain, R"({"id":"4","text":"t","tags":"k","year":"x"})").extra,
            R"({"tags":"k","year":"x"})");
}

TEST(ExtraJsonTest, BadRecordsAreStillRefusedNamingTheField) {
  DocumentJsonParser parser;
  parser.SetFields(Schema());
  const auto bad = [&](std::string_view json, const std::string& want) {
    Document doc;
    std::string problem;
    EXPECT_FALSE(parser.Parse(json, &doc, &problem)) << json;
    EXPECT_EQ(problem.rfind(want, 0), 0u) << json << ": " << problem;
  };
  bad(R"({"id":"1","text":"t","meta":{"a":}})", "invalid JSON: ");
  bad(R"({"id":"1","text":"t","meta":[1,2})", "invalid JSON: ");
  bad("{\"id\":\"1\",\"text\":\"t\",\"m\xff\":1}", "invalid UTF-8");
  bad("{\"id\":\"1\",\"text\":\"t\",\"m\":\"\xc3\"}", "invalid UTF-8");
  bad(R"({"id":"1","text":5,"meta":1})", "field \"text\": expected a string, got number");
  bad(R"({"id":"1","text":"t","year":"x","meta":1})",
      "field \"year\": expected a number or an array of numbers, got string");
  bad(R"({"id":"1","meta":1})", "empty document: no title or text");
}

TEST(ExtraJsonTest, SplitJoinAndCheck) {
  Members members;
  ASSERT_TRUE(SplitExtraJson(R"({"a":"x","b":{"c":[1,2.50]},"d":null})", &members).ok());
  EXPECT_EQ(members, (Members{{"a", "\"x\""}, {"b", R"({"c":[1,2.50]})"}, {"d", "null"}}));
  EXPECT_EQ(JoinExtraJson(members), R"({"a":"x","b":{"c":[1,2.50]},"d":null})");
  // Text written by hand: whitespace outside strings goes, names unescape.
  ASSERT_TRUE(SplitExtraJson(" { \"a\\u0062\" : [ 1 , \"x y\" ] ,\n\"c\":true } ", &members).ok());
  EXPECT_EQ(members, (Members{{"ab", R"([1,"x y"])"}, {"c", "true"}}));
  ASSERT_TRUE(SplitExtraJson("", &members).ok());
  EXPECT_TRUE(members.empty());
  EXPECT_EQ(JoinExtraJson({}), "");
  EXPECT_TRUE(SplitExtraJson("[1]", &members).IsCorruption());
  EXPECT_TRUE(SplitExtraJson("{\"a\":", &members).IsCorruption());

  const auto check = [](std::string extra) {
    Document doc{"d", "", "t"};
    doc.extra = std::move(extra);
    return CheckExtraJson(Schema(), doc);
  };
  EXPECT_TRUE(check("").ok());
  EXPECT_TRUE(check(R"({"a":1,"b":[{}]})").ok());
  EXPECT_TRUE(check(" {\"a\" : 1} ").ok());
  for (const char* bad :
       {R"({"title":"x"})", R"({"_id":"x"})", R"({"tags":"x"})", R"({"year":1})",
        R"({"vectors":1})", R"({"a":1,"a":2})", R"([1])", R"({"a":})", "{\"a\":\"\xff\"}"}) {
    const Status s = check(bad);
    EXPECT_TRUE(s.IsInvalidArgument()) << bad;
    EXPECT_EQ(s.message().rfind("document d: extra fields: ", 0), 0u) << s.ToString();
  }
  EXPECT_NE(check(R"({"a":1,"a":2})").message().find("\"a\" given twice"), std::string::npos);
}

TEST(ExtraJsonTest, StoredAfterTheSchemaValues) {
  Document doc{"x", "", "t"};
  doc.keywords = {{"tags", {"k"}}};
  doc.extra = R"({"a":[1,2]})";
  for (const FieldSchema& schema : {Schema(), FieldSchema{}}) {
    std::string tail;
    EncodeStoredFields(schema, doc, /*store_extra=*/true, &tail);
    std::string without;
    EncodeStoredFields(schema, doc, /*store_extra=*/false, &without);
    // The extra is one length-prefixed string after the schema values.
    EXPECT_EQ(tail, without + "\x0b" + doc.extra);
    Document back;
    ASSERT_TRUE(DecodeStoredFields(schema, tail, &back).ok());
    EXPECT_EQ(back.extra, doc.extra);
    EXPECT_EQ(back.keywords.size(), schema.empty() ? 0u : 1u);
    // A record written before extras (or without any) reads as none.
    back.extra = "stale";
    ASSERT_TRUE(DecodeStoredFields(schema, without, &back).ok());
    EXPECT_EQ(back.extra, "");
    EXPECT_TRUE(DecodeStoredFields(schema, tail.substr(0, tail.size() - 1), &back)
                    .IsCorruption());
  }
}

TEST(ExtraJsonTest, SwitchPersistedOnlyWhenOff) {
  IndexOptions options;
  EXPECT_TRUE(options.store_extra);
  const std::string on = SerializeIndexOptions(options);
  EXPECT_EQ(on.find("store_extra"), std::string::npos);  // unchanged text
  auto parsed = ParseIndexOptions(on);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->store_extra);
  options.store_extra = false;
  const std::string off = SerializeIndexOptions(options);
  EXPECT_NE(off.find("store_extra=false\n"), std::string::npos);
  parsed = ParseIndexOptions(off);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->store_extra);
  EXPECT_TRUE(ParseIndexOptions("store_extra=maybe\n").status().IsCorruption());
}

class ExtraFieldsTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("extra_fields_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::shared_ptr<Store> Open(const std::string& name, bool store_extra) {
    StoreOptions options;
    options.create_if_missing = true;
    options.create_options.fields = Schema();
    options.create_options.store_extra = store_extra;
    options.block_cache_mb = 8;
    auto store = Store::Open((root_ / name).string(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  // The live documents of the store, by id.
  static std::map<std::string, Document> LiveDocs(const std::shared_ptr<Store>& store) {
    std::map<std::string, Document> out;
    auto reader = IndexReader::Open(store);
    EXPECT_TRUE(reader.ok());
    if (!reader.ok()) return out;
    for (const SegmentInfo& seg : (*reader)->segments()) {
      for (uint32_t doc = seg.base; doc < seg.base + seg.count; ++doc) {
        if ((*reader)->IsDeleted(doc)) continue;
        auto read = (*reader)->ReadDocument(doc);
        EXPECT_TRUE(read.ok()) << read.status().ToString();
        if (read.ok()) out[read->id] = std::move(*read);
      }
    }
    return out;
  }

  fs::path root_;
};

// Records with other fields through the writer, read back byte for byte,
// then again after deletes, replacements and a merge into one segment.
TEST_F(ExtraFieldsTest, ReadBackByteForByteAndAfterAMerge) {
  auto store = Open("idx", true);
  ASSERT_NE(store, nullptr);
  DocumentJsonParser parser;
  parser.SetFields(Schema());
  std::map<std::string, std::string> want;  // id -> extra
  {
    auto writer = IndexWriter::Open(store, WriterOptions());
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 60; ++i) {
      const std::string id = "d" + std::to_string(i % 45);  // some replaced
      std::string json = R"({"id":")" + id + R"(","text":"word )" + std::to_string(i) +
                         R"(","tags":["t)" + std::to_string(i % 3) + R"("],"year":)" +
                         std::to_string(1990 + i);
      if (i % 4 != 0) {
        json += R"(,"n":)" + std::to_string(i) + R"(.50,"meta":{"i":[)" + std::to_string(i) +
                R"(,"x"]},"ok":)" + (i % 2 ? "true" : "null");
      }
      json += "}";
      const Document doc = Parsed(parser, json);
      ASSERT_TRUE((*writer)->Add(doc).ok());
      want[id] = doc.extra;
      if (i % 4 != 0) {
        EXPECT_EQ(doc.extra, R"({"n":)" + std::to_string(i) + R"(.50,"meta":{"i":[)" +
                                 std::to_string(i) + R"(,"x"]},"ok":)" +
                                 (i % 2 ? "true" : "null") + "}");
      }
      if (i % 10 == 9) ASSERT_TRUE((*writer)->Flush().ok());
    }
    ASSERT_TRUE((*writer)->Delete("d7").ok());
    want.erase("d7");
    ASSERT_TRUE((*writer)->Commit().ok());
    auto live = LiveDocs(store);
    ASSERT_EQ(live.size(), want.size());
    for (const auto& [id, doc] : live) {
      EXPECT_EQ(doc.extra, want[id]) << id;
      EXPECT_EQ(doc.keywords.size(), 1u) << id;  // schema values alongside
      EXPECT_EQ(doc.numbers.size(), 1u) << id;
    }
    ASSERT_TRUE((*writer)->ForceMerge(1).ok());
  }
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->segments().size(), 1u);
  EXPECT_EQ((*reader)->stats().deleted_docs, 0u);
  auto live = LiveDocs(store);
  ASSERT_EQ(live.size(), want.size());
  for (const auto& [id, doc] : live) EXPECT_EQ(doc.extra, want[id]) << id;
}

// The size limit counts the extra's JSON text; an index that drops extras
// neither stores nor counts them, and its records are laid out as before.
TEST_F(ExtraFieldsTest, SizeLimitAndSwitchOff) {
  Document doc{"a", "T", "text"};
  doc.extra = R"({"blob":")" + std::string(100, 'x') + "\"}";
  WriterOptions small;
  small.max_document_bytes = 100;
  {
    auto store = Open("on", true);
    ASSERT_NE(store, nullptr);
    auto writer = IndexWriter::Open(store, small);
    ASSERT_TRUE(writer.ok());
    const Status s = (*writer)->Add(doc);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find("has 117 bytes, over the limit of 100"), std::string::npos)
        << s.ToString();
    Document bad = doc;
    bad.extra = R"({"title":"x"})";
    EXPECT_TRUE((*writer)->Add(bad).IsInvalidArgument());
    bad.extra = "{";
    EXPECT_TRUE((*writer)->Add(bad).IsInvalidArgument());
    EXPECT_EQ((*writer)->buffered_documents(), 0u);
  }
  auto store = Open("off", false);
  ASSERT_NE(store, nullptr);
  {
    auto writer = IndexWriter::Open(store, small);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add(doc).ok());
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  std::string value;
  ASSERT_TRUE(
      store->db()->Get(rocksdb::ReadOptions(), store->cf(Cf::kDocs), DocKey(0), &value).ok());
  // id, title, text, then "tags" and "year" with no values: nothing more.
  EXPECT_EQ(value, std::string("\x01"
                               "a"
                               "\x01"
                               "T"
                               "\x04"
                               "text"
                               "\x00\x00",
                               11));
  store.reset();
  StoreOptions ro;
  ro.read_only = true;
  auto reopened = Store::Open((root_ / "off").string(), ro);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_FALSE((*reopened)->options().store_extra);
  auto live = LiveDocs(*reopened);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live["a"].extra, "");
}

// A "docs" record as builds before extras wrote it (bytes put by hand)
// reads as before: schema values, no extra.
TEST_F(ExtraFieldsTest, RecordWrittenBeforeExtrasStillReads) {
  auto store = Open("old", true);
  ASSERT_NE(store, nullptr);
  {
    auto writer = IndexWriter::Open(store, WriterOptions());
    ASSERT_TRUE(writer.ok());
    Document doc{"a", "T", "text"};
    doc.extra = R"({"new":1})";
    ASSERT_TRUE((*writer)->Add(doc).ok());
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  std::string old("\x01"
                  "a"
                  "\x01"
                  "T"
                  "\x04"
                  "text"
                  "\x01"   // tags: one value
                  "\x02"
                  "k1"
                  "\x01",  // year: one value, 8 bytes little-endian
                  14);
  const uint64_t bits = std::bit_cast<uint64_t>(2001.0);
  for (int i = 0; i < 8; ++i) old.push_back(static_cast<char>(bits >> (8 * i)));
  ASSERT_TRUE(
      store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kDocs), DocKey(0), old).ok());
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  auto doc = (*reader)->ReadDocument(0);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->id, "a");
  EXPECT_EQ(doc->text, "text");
  EXPECT_EQ(doc->keywords,
            (std::vector<std::pair<std::string, std::vector<std::string>>>{{"tags", {"k1"}}}));
  EXPECT_EQ(doc->numbers,
            (std::vector<std::pair<std::string, std::vector<double>>>{{"year", {2001}}}));
  EXPECT_EQ(doc->extra, "");
}

// The public library: extras given as (name, raw JSON) pairs or parsed
// from JSON, returned with hits and by Get, beside keyword and numeric
// fields and filters; an index created with store_extra off drops them.
TEST_F(ExtraFieldsTest, LibraryRoundTrip) {
  OpenOptions options;
  options.create_if_missing = true;
  options.block_cache_mb = 8;
  options.keyword_fields = {"tags"};
  options.numeric_fields = {"year"};
  auto index = cascade::Index::Open((root_ / "lib").string(), options);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  cascade::Document a{"a", "Rocket", "liquid rocket"};
  a.keywords = {{"tags", {"space"}}};
  a.numbers = {{"year", {1957}}};
  a.extra = {{"author", "\"Korolev\""}, {"stages", "[ 1, 2 ]"}};
  ASSERT_TRUE((*index)->Add(a).ok());
  auto parsed = (*index)->ParseDocument(
      R"({"id":"b","text":"solid rocket","tags":"space","year":1970,"meta":{"k":[true,null]},"n":2.50})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->extra, (Members{{"meta", R"({"k":[true,null]})"}, {"n", "2.50"}}));
  EXPECT_TRUE(parsed->keywords.size() == 1 && parsed->numbers.size() == 1);
  ASSERT_TRUE((*index)->Add(*parsed).ok());
  cascade::Document bad{"c", "", "rocket"};
  bad.extra = {{"year", "1"}};  // a numeric field is not another field
  EXPECT_TRUE((*index)->Add(bad).IsInvalidArgument());
  bad.extra = {{"x", "[1,"}};
  EXPECT_TRUE((*index)->Add(bad).IsInvalidArgument());
  ASSERT_TRUE((*index)->Commit().ok());

  cascade::SearchOptions lucene;
  lucene.syntax = "lucene";
  auto result = (*index)->Search("+rocket +tags:space +year:[1950 TO 1960]", lucene);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].id, "a");
  EXPECT_EQ(result->hits[0].extra, (Members{{"author", "\"Korolev\""}, {"stages", "[1,2]"}}));
  EXPECT_EQ(result->hits[0].keywords.size(), 1u);
  result = (*index)->Search("solid", {});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].extra, parsed->extra);
  auto got = (*index)->Get("b");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->extra, parsed->extra);
  ASSERT_TRUE((*index)->ForceMerge(1).ok());
  got = (*index)->Get("a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->extra, (Members{{"author", "\"Korolev\""}, {"stages", "[1,2]"}}));
  index->reset();

  options.store_extra = false;
  options.keyword_fields.clear();
  options.numeric_fields.clear();
  auto off = cascade::Index::Open((root_ / "off").string(), options);
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  ASSERT_TRUE((*off)->Add(a).IsInvalidArgument());  // no keyword field "tags" here
  a.keywords.clear();
  a.numbers.clear();
  ASSERT_TRUE((*off)->Add(a).ok());
  ASSERT_TRUE((*off)->Commit().ok());
  result = (*off)->Search("rocket", {});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_TRUE(result->hits[0].extra.empty());
}

}  // namespace
}  // namespace cascade::index
