// Tests of keyword and numeric fields in the index layer (field_values.h,
// and their paths through index_options, document_json, corpus_reader,
// index_writer, index_reader and segment_merger), and through the public
// library (cascade/engine.h): schema validation and persistence, the
// encodings, JSON records of the wrong type, stored values read back,
// merges that carry the keyword and numeric indexes over with deletes,
// and an index written without fields. The query semantics are checked
// against a brute-force oracle in tests/query/lucene_search_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cascade/engine.h"
#include "index/corpus_reader.h"
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

class FieldsTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("fields_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::shared_ptr<Store> Open(const std::string& name,
                              const FieldSchema& fields) {
    StoreOptions options;
    options.create_if_missing = true;
    options.create_options.fields = fields;
    options.block_cache_mb = 8;
    auto store = Store::Open((root_ / name).string(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  // Every key of a column family.
  static std::vector<std::string> Keys(const Store& store, Cf cf) {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(
        store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      keys.push_back(it->key().ToString());
    return keys;
  }

  fs::path root_;
};

FieldSchema Schema() {
  FieldSchema schema;
  schema.keyword_fields = {"tags", "cat"};
  schema.numeric_fields = {"year"};
  return schema;
}

TEST(FieldSchemaTest, ValidatesNames) {
  EXPECT_TRUE(ValidateFieldSchema(Schema()).ok());
  EXPECT_TRUE(ValidateFieldSchema({}).ok());
  const auto schema_of = [](std::vector<std::string> keywords,
                            std::vector<std::string> numerics) {
    FieldSchema schema;
    schema.keyword_fields = std::move(keywords);
    schema.numeric_fields = std::move(numerics);
    return schema;
  };
  const auto bad = [](FieldSchema schema, const std::string& want) {
    const Status s = ValidateFieldSchema(schema);
    EXPECT_TRUE(s.IsInvalidArgument()) << want;
    EXPECT_NE(s.message().find(want), std::string::npos) << s.ToString();
  };
  bad(schema_of({"title"}, {}), "reserved");
  bad(schema_of({}, {"id"}), "reserved");
  bad(schema_of({"tags"}, {"tags"}), "numeric field \"tags\" is declared twice");
  bad(schema_of({"a b"}, {}), "keyword field \"a b\": a name is letters");
  bad(schema_of({"-x"}, {}), "a name is letters");
  bad(schema_of({""}, {}), "empty name");
  bad(schema_of({std::string(65, 'x')}, {}), "over 64 bytes");
  FieldSchema many;
  for (int i = 0; i < 65; ++i)
    many.keyword_fields.push_back("f" + std::to_string(i));
  bad(many, "more than 64");
  FieldSchema ok;
  ok.keyword_fields = {"a.b-c_d", "X1"};
  EXPECT_TRUE(ValidateFieldSchema(ok).ok());
}

TEST(FieldSchemaTest, PersistedWithTheOptions) {
  IndexOptions options;
  options.fields = Schema();
  const std::string text = SerializeIndexOptions(options);
  EXPECT_NE(
      text.find("keyword_field=tags\nkeyword_field=cat\nnumeric_field=year\n"),
      std::string::npos)
      << text;
  auto parsed = ParseIndexOptions(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->fields, Schema());
  // An index without fields writes no line for them (its options text is
  // as before) and reads back without any.
  const std::string plain = SerializeIndexOptions(IndexOptions());
  EXPECT_EQ(plain.find("_field"), std::string::npos) << plain;
  auto old = ParseIndexOptions(plain);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->fields.empty());
  // A bad schema in stored options is corruption.
  EXPECT_TRUE(
      ParseIndexOptions(text + "numeric_field=tags\n").status().IsCorruption());
}

TEST(FieldCodecTest, SortableDoublesSortAsNumbers) {
  std::vector<double> values = {-1e300, -2.5, -1, -1e-300, 0,
                                1e-300, 0.5,  1,  1987,    1e300};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> any(-1e6, 1e6);
  for (int i = 0; i < 200; ++i) values.push_back(any(rng));
  std::map<std::string, double> by_bytes;
  for (double v : values) {
    std::string key;
    PutSortableDouble(&key, v);
    ASSERT_EQ(key.size(), 8u);
    EXPECT_EQ(DecodeSortableDouble(key.data()), v);
    by_bytes[key] = v;
  }
  double prev = -INFINITY;
  for (const auto& [key, v] : by_bytes) {
    EXPECT_LT(prev, v);
    prev = v;
  }
  std::string zero, minus_zero;
  PutSortableDouble(&zero, 0.0);
  PutSortableDouble(&minus_zero, -0.0);
  EXPECT_EQ(zero, minus_zero);
}

TEST(FieldCodecTest, DocListsRoundTrip) {
  const std::vector<uint32_t> docs = {0, 1, 5, 127, 128, 70000, UINT32_MAX};
  std::string bytes;
  EncodeDocList(docs, &bytes);
  std::vector<uint32_t> back;
  ASSERT_TRUE(DecodeDocList(bytes, &back).ok());
  EXPECT_EQ(back, docs);
  EXPECT_TRUE(
      DecodeDocList(bytes.substr(0, bytes.size() - 1), &back).IsCorruption());
  EXPECT_TRUE(DecodeDocList(bytes + "x", &back).IsCorruption());
  std::string repeated;
  EncodeDocList({3, 3}, &repeated);
  EXPECT_TRUE(DecodeDocList(repeated, &back).IsCorruption());
}

TEST(FieldCodecTest, StoredValuesRoundTrip) {
  Document doc;
  doc.id = "x";
  doc.keywords = {{"cat", {"c1"}}, {"tags", {"a", "b b", "a"}}};
  doc.numbers = {{"year", {1987, -0.5}}};
  std::string tail;
  EncodeStoredFields(Schema(), doc, /*store_extra=*/true, &tail);
  Document back;
  ASSERT_TRUE(DecodeStoredFields(Schema(), tail, &back).ok());
  // Schema order, duplicates kept as given.
  ASSERT_EQ(back.keywords.size(), 2u);
  EXPECT_EQ(back.keywords[0].first, "tags");
  EXPECT_EQ(back.keywords[0].second,
            (std::vector<std::string>{"a", "b b", "a"}));
  EXPECT_EQ(back.keywords[1].first, "cat");
  ASSERT_EQ(back.numbers.size(), 1u);
  EXPECT_EQ(back.numbers[0].second, (std::vector<double>{1987, -0.5}));
  EXPECT_TRUE(
      DecodeStoredFields(Schema(), tail.substr(0, tail.size() - 3), &back)
          .IsCorruption());
  ASSERT_TRUE(DecodeStoredFields(Schema(), "", &back).ok());  // an older record
  EXPECT_TRUE(back.keywords.empty() && back.numbers.empty());
}

TEST(FieldJsonTest, ReadsDeclaredFieldsAndNamesBadOnes) {
  DocumentJsonParser parser;
  parser.SetFields(Schema());
  Document doc;
  std::string problem;
  ASSERT_TRUE(parser.Parse(
      R"({"_id":"1","text":"t","tags":["a","b"],"cat":"c","year":1987,"other":[1]})",
      &doc, &problem))
      << problem;
  EXPECT_EQ(doc.keywords,
            (std::vector<std::pair<std::string, std::vector<std::string>>>{
                {"tags", {"a", "b"}}, {"cat", {"c"}}}));
  EXPECT_EQ(doc.numbers,
            (std::vector<std::pair<std::string, std::vector<double>>>{
                {"year", {1987}}}));
  ASSERT_TRUE(parser.Parse(
      R"({"_id":"2","text":"t","tags":null,"year":[1,2.5]})", &doc, &problem));
  EXPECT_TRUE(doc.keywords.empty());
  EXPECT_EQ(doc.numbers[0].second, (std::vector<double>{1, 2.5}));
  const auto bad = [&](const std::string& json, const std::string& want) {
    Document d;
    std::string p;
    EXPECT_FALSE(parser.Parse(json, &d, &p)) << json;
    EXPECT_EQ(p, want) << json;
  };
  bad(R"({"_id":"3","text":"t","year":"1987"})",
      "field \"year\": expected a number or an array of numbers, got string");
  bad(R"({"_id":"3","text":"t","year":[1,"2"]})",
      "field \"year\": expected an array of numbers, got string");
  bad(R"({"_id":"3","text":"t","tags":5})",
      "field \"tags\": expected a string or an array of strings, got number");
  bad(R"({"_id":"3","text":"t","tags":["a",{}]})",
      "field \"tags\": expected an array of strings, got object");
  bad(R"({"_id":"3","text":"t","cat":""})", "field \"cat\": empty string");
  bad(R"({"_id":"3","text":"t","year":true})",
      "field \"year\": expected a number or an array of numbers, got boolean");
  // Without a schema the same fields carry no values: they are other
  // fields (extra_fields_test.cc).
  DocumentJsonParser plain;
  ASSERT_TRUE(
      plain.Parse(R"({"_id":"3","text":"t","year":"1987"})", &doc, &problem));
  EXPECT_TRUE(doc.numbers.empty());
  EXPECT_EQ(doc.extra, R"({"year":"1987"})");
}

TEST_F(FieldsTest, CorpusProblemsNameFileLineAndField) {
  const fs::path file = root_ / "c.jsonl";
  std::ofstream(file) << R"({"_id":"a","text":"x","tags":["t"],"year":2000})"
                         "\n"
                      << R"({"_id":"b","text":"x","year":"2000"})"
                         "\n"
                      << R"({"_id":"c","text":"x","tags":[1]})"
                         "\n";
  CorpusOptions options;
  options.fields = Schema();
  auto reader = CorpusReader::Open({file.string()}, options);
  ASSERT_TRUE(reader.ok());
  CorpusRecord record;
  std::vector<std::string> ids;
  while (true) {
    auto more = (*reader)->Next(&record);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    ids.push_back(record.doc.id);
  }
  EXPECT_EQ(ids, std::vector<std::string>{"a"});
  ASSERT_EQ((*reader)->problems().size(), 2u);
  EXPECT_EQ((*reader)->problems()[0].ToString(),
            file.string() +
                ":2: field \"year\": expected a number or an array of numbers, "
                "got string");
  EXPECT_EQ((*reader)->problems()[1].ToString(),
            file.string() +
                ":3: field \"tags\": expected an array of strings, got number");
}

TEST_F(FieldsTest, WriterChecksValuesAndReaderReturnsThem) {
  auto store = Open("idx", Schema());
  ASSERT_NE(store, nullptr);
  {
    auto writer = IndexWriter::Open(store, WriterOptions());
    ASSERT_TRUE(writer.ok());
    Document good{"g", "Title", "text"};
    good.keywords = {{"tags", {"x", "y", "x"}}};
    good.numbers = {{"year", {2001}}};
    ASSERT_TRUE((*writer)->Add(good).ok());
    const auto refused = [&](Document d, const std::string& want) {
      d.id = "bad";
      d.text = "t";
      const Status s = (*writer)->Add(d);
      EXPECT_TRUE(s.IsInvalidArgument()) << want;
      EXPECT_NE(s.message().find(want), std::string::npos) << s.ToString();
    };
    refused(Document{.keywords = {{"color", {"red"}}}},
            "field \"color\": the index has no keyword field of that name");
    refused(Document{.keywords = {{"year", {"1"}}}},
            "field \"year\": is a numeric field");
    refused(Document{.numbers = {{"tags", {1}}}},
            "field \"tags\": is a keyword field");
    refused(Document{.numbers = {{"year", {NAN}}}}, "not a finite number");
    refused(Document{.keywords = {{"tags", {"a"}}, {"tags", {"b"}}}},
            "given twice");
    refused(Document{.keywords = {{"tags", {std::string(4097, 'x')}}}},
            "over 4096 bytes");
    refused(
        Document{.keywords = {{"tags", std::vector<std::string>(1025, "v")}}},
        "more than 1024 values");
    EXPECT_EQ((*writer)->buffered_documents(), 1u);  // nothing half-added
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  auto doc = (*reader)->ReadDocument(0);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->id, "g");
  EXPECT_EQ(doc->keywords.size(), 1u);
  EXPECT_EQ(doc->keywords[0].second, (std::vector<std::string>{"x", "y", "x"}));
  EXPECT_EQ(doc->numbers[0].second, std::vector<double>{2001});
  std::vector<uint32_t> docs;
  ASSERT_TRUE((*reader)
                  ->ReadKeywordDocs((*reader)->segments()[0].id, 0, "x", &docs)
                  .ok());
  EXPECT_EQ(docs, std::vector<uint32_t>{0});          // indexed once
  EXPECT_EQ(Keys(*store, Cf::kKeywords).size(), 2u);  // tags:x, tags:y
  EXPECT_EQ(Keys(*store, Cf::kNumerics).size(), 1u);
}

// Segments with deletes and replacements merged into one: the keyword and
// numeric indexes equal those of the live documents, under the merged
// segment's id with the new local ids, and no key of the old segments is
// left.
TEST_F(FieldsTest, MergesCarryKeywordsAndNumerics) {
  auto store = Open("idx", Schema());
  ASSERT_NE(store, nullptr);
  std::mt19937 rng(3);
  const auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  {
    auto writer = IndexWriter::Open(store, WriterOptions());
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 400; ++i) {
      Document d{"d" + std::to_string(pick(300)), "", "word"};
      std::vector<std::string> tags;
      for (int t = pick(3); t > 0; --t)
        tags.push_back("t" + std::to_string(pick(6)));
      if (!tags.empty()) d.keywords.emplace_back("tags", tags);
      if (pick(2))
        d.numbers.push_back(
            {"year", {double(1990 + pick(10)), double(pick(3))}});
      ASSERT_TRUE((*writer)->Add(d).ok());  // repeated ids replace
      if (i % 90 == 89) ASSERT_TRUE((*writer)->Flush().ok());
      if (i % 13 == 0)
        (*writer)->Delete("d" + std::to_string(pick(300))).IgnoreError();
    }
    ASSERT_TRUE((*writer)->Commit().ok());
    ASSERT_TRUE((*writer)->ForceMerge(1).ok());
  }
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  ASSERT_EQ((*reader)->segments().size(), 1u);
  ASSERT_EQ((*reader)->stats().deleted_docs, 0u);
  const SegmentInfo& seg = (*reader)->segments()[0];
  // Brute force from the stored (moved) documents.
  std::map<std::string, std::vector<uint32_t>> want_tags;
  std::map<double, std::set<uint32_t>> want_years;
  size_t numeric_entries = 0;
  for (uint32_t local = 0; local < seg.count; ++local) {
    auto doc = (*reader)->ReadDocument(seg.base + local);
    ASSERT_TRUE(doc.ok());
    for (const auto& [field, values] : doc->keywords) {
      for (const std::string& v :
           std::set<std::string>(values.begin(), values.end())) {
        want_tags[v].push_back(local);
      }
    }
    for (const auto& [field, values] : doc->numbers) {
      for (double v : values) want_years[v].insert(local);
      numeric_entries += values.size();
    }
  }
  ASSERT_FALSE(want_tags.empty());
  for (const auto& [value, docs] : want_tags) {
    std::vector<uint32_t> got;
    ASSERT_TRUE((*reader)->ReadKeywordDocs(seg.id, 0, value, &got).ok());
    EXPECT_EQ(got, docs) << value;
  }
  EXPECT_EQ(Keys(*store, Cf::kKeywords).size(), want_tags.size());
  EXPECT_EQ(Keys(*store, Cf::kNumerics).size(), numeric_entries);
  for (const auto& [value, docs] : want_years) {
    std::vector<uint32_t> got;
    ASSERT_TRUE(
        (*reader)
            ->ReadNumericRange(seg.id, 0, value, true, value, true, &got)
            .ok());
    EXPECT_EQ(got, std::vector<uint32_t>(docs.begin(), docs.end())) << value;
  }
  for (const std::string& key : Keys(*store, Cf::kKeywords)) {
    EXPECT_EQ(DecodeFixed32BE(key.data()), seg.id);
  }
}

// An index created without fields writes nothing to the new column
// families and reads its documents without values.
TEST_F(FieldsTest, IndexWithoutFieldsIsUnchanged) {
  auto store = Open("plain", {});
  ASSERT_NE(store, nullptr);
  {
    auto writer = IndexWriter::Open(store, WriterOptions());
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add(Document{"a", "T", "text"}).ok());
    Document with{"b", "T", "text"};
    with.keywords = {{"tags", {"x"}}};
    EXPECT_TRUE((*writer)->Add(with).IsInvalidArgument());
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  EXPECT_TRUE(Keys(*store, Cf::kKeywords).empty());
  EXPECT_TRUE(Keys(*store, Cf::kNumerics).empty());
  // The "docs" record is exactly id, title and text.
  std::string value;
  ASSERT_TRUE(
      store->db()
          ->Get(rocksdb::ReadOptions(), store->cf(Cf::kDocs), DocKey(0), &value)
          .ok());
  EXPECT_EQ(value, std::string("\x01"
                               "a"
                               "\x01"
                               "T"
                               "\x04"
                               "text"));
  store.reset();
  // Reopened read-only, as an older index would be.
  StoreOptions ro;
  ro.read_only = true;
  auto reopened = Store::Open((root_ / "plain").string(), ro);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE((*reopened)->options().fields.empty());
  auto reader = IndexReader::Open(*reopened);
  ASSERT_TRUE(reader.ok());
  auto doc = (*reader)->ReadDocument(0);
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE(doc->keywords.empty() && doc->numbers.empty());
}

// The public library: fields declared in OpenOptions, given with
// documents, returned with hits and by Get, updated and deleted by query.
TEST_F(FieldsTest, LibraryRoundTrip) {
  OpenOptions options;
  options.create_if_missing = true;
  options.block_cache_mb = 8;
  options.keyword_fields = {"tags"};
  options.numeric_fields = {"year"};
  auto index = cascade::Index::Open((root_ / "lib").string(), options);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  cascade::Document a{"a", "Rocket", "liquid rocket"};
  a.keywords = {{"tags", {"space", "liquid"}}};
  a.numbers = {{"year", {1957}}};
  cascade::Document b{"b", "Rocket", "solid rocket"};
  b.keywords = {{"tags", {"space"}}};
  b.numbers = {{"year", {1970.5}}};
  ASSERT_TRUE((*index)->Add(a).ok());
  ASSERT_TRUE((*index)->Add(b).ok());
  ASSERT_TRUE((*index)->Commit().ok());
  cascade::SearchOptions lucene;
  lucene.syntax = "lucene";
  auto result = (*index)->Search("+rocket +year:{1957 TO *]", lucene);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].id, "b");
  EXPECT_EQ(result->hits[0].keywords,
            (std::vector<std::pair<std::string, std::vector<std::string>>>{
                {"tags", {"space"}}}));
  EXPECT_EQ(result->hits[0].numbers,
            (std::vector<std::pair<std::string, std::vector<double>>>{
                {"year", {1970.5}}}));
  EXPECT_TRUE(result->hits[0].snippet.empty());
  // Snippets: the query's text terms marked, never the filter values.
  lucene.snippet_words = 2;
  result = (*index)->Search("+rocket +tags:space +year:{1957 TO *]", lucene);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].snippet, "solid <b>rocket</b>");
  lucene.snippet_words = 1001;
  EXPECT_TRUE((*index)->Search("rocket", lucene).status().IsInvalidArgument());
  lucene.snippet_words = 0;
  // ParseDocument reads the index's fields; Update replaces the values.
  auto parsed = (*index)->ParseDocument(
      R"({"id":"a","text":"rocket","tags":"moon","year":1969})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_TRUE((*index)->Update(*parsed).ok());
  ASSERT_TRUE((*index)->Commit().ok());
  result = (*index)->Search("tags:liquid", lucene);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->total_hits, 0u);
  result = (*index)->Search("tags:moon", lucene);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].score, 1.0f);
  auto got = (*index)->Get("a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got).numbers[0].second, std::vector<double>{1969});
  // Deletes by query, and a merge after them.
  cascade::DeleteByQueryOptions by_query;
  by_query.syntax = "lucene";
  auto deleted = (*index)->DeleteByQuery("year:[1960 TO 1970]", by_query);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 1u);
  ASSERT_TRUE((*index)->ForceMerge(1).ok());
  result = (*index)->Search("tags:space", lucene);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].id, "b");
  const cascade::IndexStats stats = (*index)->Stats();
  EXPECT_EQ(stats.keyword_fields, std::vector<std::string>{"tags"});
  EXPECT_EQ(stats.numeric_fields, std::vector<std::string>{"year"});
  // Errors name the field.
  auto bad = (*index)->Search("year:[a TO 2]", lucene);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("numeric field \"year\""),
            std::string::npos);
  cascade::Document wrong{"c", "", "text"};
  wrong.numbers = {{"tags", {1}}};
  EXPECT_TRUE((*index)->Add(wrong).IsInvalidArgument());
  // Bad names are refused when creating.
  OpenOptions reserved = options;
  reserved.keyword_fields = {"title"};
  EXPECT_TRUE(cascade::Index::Open((root_ / "bad").string(), reserved)
                  .status()
                  .IsInvalidArgument());
}

}  // namespace
}  // namespace cascade::index
