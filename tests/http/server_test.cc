// cascade::http::Server in process, against the HTTP contract: a real index
// in a fresh folder under testing::TempDir() (removed afterwards), the real
// cross-encoder of tests/data/hf-bert on the CPU, and a real TCP client on
// 127.0.0.1 with port 0. The embedded library and the model themselves are
// the oracles: /search must return what Index::Search returns, /rerank what
// NeuralModel::Score returns.
#include "http/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cascade/engine.h"
#include "http/handlers.h"
#include "rerank/batch_queue.h"
#include "rerank/neural_model.h"
#include "tests/http/http_test_client.h"

namespace cascade::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;  // NOLINT
using testing_http::Arr;
using testing_http::Bool;
using testing_http::Client;
using testing_http::DocLine;
using testing_http::Has;
using testing_http::Headers;
using testing_http::Int;
using testing_http::Json;
using testing_http::JsonString;
using testing_http::Num;
using testing_http::Response;
using testing_http::Str;
using testing_http::UrlEncode;

const std::string kCrossEncoder =
    std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/cross-encoder";
constexpr size_t kMaxLength = 128;
const std::string kApiKey = "s3cret-key";

// Eight hand-written documents; title and text are both indexed. "rocket"
// matches d1, d3 and d7 only; "electricity" d2 and d6 only; "tea" d5 only;
// "zebra" nothing. The exact order of a query's hits is whatever
// Index::Search says: the tests compare the server with the library.
const std::vector<Document>& Corpus() {
  static const std::vector<Document> docs = {
      {"d1", "Rocket engines", "liquid fuel rocket engines burn kerosene with oxygen"},
      {"d2", "Solar power", "solar panels turn sunlight into electricity"},
      {"d3", "Rocket history", "the first rocket flew in china and every rocket since follows it"},
      {"d4", "Coffee", "espresso coffee is brewed under pressure"},
      {"d5", "Tea", "green tea and black tea come from one plant"},
      {"d6", "Wind power", "wind turbines turn moving air into electricity"},
      {"d7", "Space travel", "astronauts ride a rocket into orbit"},
      {"d8", "Bread", "sourdough bread rises with wild yeast"},
  };
  return docs;
}

const Document* FindDoc(const std::string& id) {
  for (const Document& d : Corpus()) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

std::string SearchBody(const std::string& query, const std::string& extra = "") {
  std::string body = "{\"query\":" + JsonString(query);
  if (!extra.empty()) body += "," + extra;
  return body + "}";
}

// Checks a JSON answer's Content-Type and parses its body.
Json ExpectJson(const Response& r) {
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u) << r;
  Json json(r.body);
  EXPECT_TRUE(json.ok()) << json.error() << "\n" << r;
  return json;
}

// Checks `r` is the error `status` with the contract's body and returns the
// reason ("" when the body is wrong).
std::string ExpectError(const Response& r, int status) {
  EXPECT_EQ(r.status, status) << r;
  if (r.status != status) return "";
  Json json = ExpectJson(r);
  if (!json.ok()) return "";
  simdjson::dom::element error;
  if (json.root()["error"].get(error) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no \"error\" object\n" << r;
    return "";
  }
  int64_t code = 0;
  EXPECT_EQ(error["status"].get(code), simdjson::SUCCESS) << r;
  EXPECT_EQ(code, status) << r;
  std::string_view reason;
  EXPECT_EQ(error["reason"].get(reason), simdjson::SUCCESS) << r;
  EXPECT_FALSE(reason.empty()) << r;
  return std::string(reason);
}

bool Near(double a, double b, double tolerance) {
  return std::abs(a - b) <= tolerance * std::max(1.0, std::abs(b));
}

// The value of the first Prometheus sample named `name` whose labels contain
// every string of `labels`.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const std::vector<std::string>& labels = {}) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    const size_t space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    bool all = true;
    for (const std::string& l : labels) all &= series.find(l) != std::string::npos;
    if (!all) continue;
    return std::strtod(line.c_str() + space + 1, nullptr);
  }
  return std::nullopt;
}

class ServerTest : public testing::Test {
 protected:
  struct Running {
    std::shared_ptr<Index> index;
    std::unique_ptr<Server> server;  // destroyed before the index
    uint16_t port = 0;
  };

  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    root_ = fs::path(testing::TempDir()) /
            ("http_server_test_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  void TearDown() override {
    for (auto& running : running_) {
      if (running->server) {
        const Status s = running->server->Shutdown();
        EXPECT_TRUE(s.ok()) << s.ToString();
        running->server.reset();
      }
    }
    running_.clear();
    queue_.reset();
    model_.reset();
    fs::remove_all(root_);
  }

  // The options every test starts from: port 0, no automatic refresh (the
  // tests say when documents become visible).
  static ServerOptions Options() {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.refresh_interval = 0ms;
    return options;
  }

  // What Start opens its fresh index with.
  static OpenOptions IndexOptions() {
    OpenOptions open;
    open.create_if_missing = true;
    open.block_cache_mb = 8;
    open.ram_buffer_mb = 16;
    return open;
  }

  // Opens a fresh index with `open` (holding Corpus() when `seed`) and
  // starts a server over it, with the cross-encoder when `with_model`.
  // nullptr on failure.
  Running* Start(const ServerOptions& options, bool with_model, bool seed = true,
                 const OpenOptions& open = IndexOptions()) {
    auto running = std::make_unique<Running>();
    const fs::path dir = root_ / ("index" + std::to_string(running_.size()));
    auto index = Index::Open(dir.string(), open);
    if (!index.ok()) {
      ADD_FAILURE() << index.status().ToString();
      return nullptr;
    }
    running->index = std::shared_ptr<Index>(std::move(*index));
    if (seed) {
      for (const Document& d : Corpus()) {
        const Status s = running->index->Add(d);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      const Status s = running->index->Commit();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    std::shared_ptr<rerank::BatchQueue> queue;
    if (with_model) {
      queue = Queue();
      if (queue == nullptr) return nullptr;
    }
    auto server = Server::Start(running->index, queue, options);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    running->server = std::move(*server);
    running->port = running->server->port();
    EXPECT_NE(running->port, 0);
    running_.push_back(std::move(running));
    return running_.back().get();
  }

  // The cross-encoder behind every server of this test (opened once).
  std::shared_ptr<rerank::BatchQueue> Queue() {
    if (queue_ != nullptr) return queue_;
    model_ = OpenModel();
    if (model_ == nullptr) return nullptr;
    queue_ = std::make_shared<rerank::BatchQueue>(model_.get(),
                                                  rerank::BatchQueueOptions{});
    return queue_;
  }

  // Another instance of the same cross-encoder: the oracle.
  static std::unique_ptr<rerank::NeuralModel> OpenModel() {
    rerank::ModelOptions options;
    options.device = rerank::Device::kCpu;
    options.threads = 1;
    options.max_length = kMaxLength;
    auto model = rerank::NeuralModel::Open(kCrossEncoder, options);
    if (!model.ok()) {
      ADD_FAILURE() << model.status().ToString();
      return nullptr;
    }
    return std::move(*model);
  }

  fs::path root_;
  std::unique_ptr<rerank::NeuralModel> model_;
  std::shared_ptr<rerank::BatchQueue> queue_;
  std::vector<std::unique_ptr<Running>> running_;
};

// Expects the hits of a /search answer to be `expected` (ids, scores, titles).
void ExpectSameHits(simdjson::dom::element body, const SearchResult& expected,
                    const std::string& context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(static_cast<uint64_t>(Int(body, "total_hits")), expected.total_hits);
  auto hits = Arr(body, "hits");
  ASSERT_EQ(hits.size(), expected.hits.size());
  size_t i = 0;
  for (simdjson::dom::element hit : hits) {
    const Hit& want = expected.hits[i++];
    EXPECT_EQ(Str(hit, "id"), want.id) << "hit " << i;
    EXPECT_TRUE(Near(Num(hit, "score"), want.score, 1e-4))
        << "hit " << i << ": " << Num(hit, "score") << " vs " << want.score;
    EXPECT_EQ(Str(hit, "title"), want.title) << "hit " << i;
    EXPECT_FALSE(Has(hit, "text")) << "text is not a default field";
    EXPECT_FALSE(Has(hit, "explain"));
  }
}

TEST_F(ServerTest, HealthAnswersOk) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const Response r = client.Get("/health");
  ASSERT_EQ(r.status, 200) << r;
  Json json = ExpectJson(r);
  EXPECT_EQ(Str(json.root(), "status"), "ok");
}

TEST_F(ServerTest, StatsDescribeTheIndex) {
  Running* s = Start(Options(), true);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const Response r = client.Get("/stats");
  ASSERT_EQ(r.status, 200) << r;
  Json json = ExpectJson(r);
  const auto root = json.root();
  const IndexStats want = s->index->Stats();
  EXPECT_EQ(Int(root, "documents"), 8);
  EXPECT_EQ(Int(root, "deleted_documents"), 0);
  EXPECT_EQ(Int(root, "segments"), static_cast<int64_t>(want.segments));
  EXPECT_GE(Int(root, "segments"), 1);
  EXPECT_TRUE(Near(Num(root, "average_length"), want.average_length, 1e-6));
  EXPECT_GT(Num(root, "average_length"), 0);
  EXPECT_EQ(Int(root, "format_version"), 2);
  EXPECT_EQ(Int(root, "pending_changes"), 0);
  EXPECT_GE(Int(root, "queue_depth"), 0);
  EXPECT_EQ(Int(root, "rerank_queue_depth"), 0);
}

TEST_F(ServerTest, SearchMatchesTheEmbeddedIndex) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  // Fifteen more rocket documents, so that the default k (10) cuts.
  for (int i = 0; i < 15; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(s->index->Add({"r" + n, "Rocket note " + n, "a rocket report"}).ok());
  }
  ASSERT_TRUE(s->index->Commit().ok());
  Client client(s->port);

  {  // No k, no offset: the defaults 10 and 0.
    const Response r = client.Post("/search", SearchBody("rocket"));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto want = s->index->Search("rocket", SearchOptions{});
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(want->hits.size(), 10u);
    ExpectSameHits(json.root(), *want, "defaults");
    EXPECT_EQ(Int(json.root(), "total_hits"), 18);
    EXPECT_GE(Num(json.root(), "took_ms"), 0);
  }
  struct Case {
    std::string query;
    size_t k;
    size_t offset;
  };
  const std::vector<Case> cases = {
      {"rocket", 3, 0},        {"rocket", 3, 2},       {"rocket", 100, 0},
      {"rocket", 5, 17},       {"rocket", 5, 40},      {"electricity", 10, 0},
      {"tea", 1, 0},           {"zebra", 10, 0},       {"power electricity tea", 2, 1},
      {"coffee bread yeast", 10000, 0},
  };
  for (const Case& c : cases) {
    const std::string context =
        c.query + " k=" + std::to_string(c.k) + " offset=" + std::to_string(c.offset);
    const Response r = client.Post(
        "/search", SearchBody(c.query, "\"k\":" + std::to_string(c.k) +
                                           ",\"offset\":" + std::to_string(c.offset)));
    ASSERT_EQ(r.status, 200) << context << "\n" << r;
    Json json = ExpectJson(r);
    SearchOptions options;
    options.k = c.k;
    options.offset = c.offset;
    auto want = s->index->Search(c.query, options);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ExpectSameHits(json.root(), *want, context);
  }
  {  // "syntax": "lucene" reads operators: rocket documents without "orbit".
    const Response r = client.Post(
        "/search", SearchBody("+rocket -orbit", R"("syntax":"lucene","k":100)"));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    SearchOptions options;
    options.k = 100;
    options.syntax = "lucene";
    auto want = s->index->Search("+rocket -orbit", options);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ExpectSameHits(json.root(), *want, "lucene");
    EXPECT_EQ(Int(json.root(), "total_hits"), 17);  // 18 rocket documents but d7
  }
}

TEST_F(ServerTest, SearchFieldsChooseWhatHitsCarry) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  {
    const Response r =
        client.Post("/search", SearchBody("rocket", R"("fields":["id","text"])"));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 3u);
    for (simdjson::dom::element hit : hits) {
      const Document* doc = FindDoc(Str(hit, "id"));
      ASSERT_NE(doc, nullptr) << Str(hit, "id");
      EXPECT_EQ(Str(hit, "text"), doc->text);
      EXPECT_FALSE(Has(hit, "score"));
      EXPECT_FALSE(Has(hit, "title"));
    }
  }
  {
    const Response r = client.Post(
        "/search", SearchBody("tea", R"("fields":["id","score","title","text"])"));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 1u);
    simdjson::dom::element hit = hits.at(0).value();
    EXPECT_EQ(Str(hit, "id"), "d5");
    EXPECT_EQ(Str(hit, "title"), "Tea");
    EXPECT_EQ(Str(hit, "text"), FindDoc("d5")->text);
    EXPECT_GT(Num(hit, "score"), 0);
  }
}

TEST_F(ServerTest, SearchBm25ParametersApply) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const std::string query = "rocket power electricity tea";
  auto defaults = s->index->Search(query, SearchOptions{});
  ASSERT_TRUE(defaults.ok());
  for (const auto& [k1, b] : std::vector<std::pair<double, double>>{
           {1.5, 1.0}, {0.0, 0.0}, {2.0, 0.75}}) {
    const std::string context = "k1=" + std::to_string(k1) + " b=" + std::to_string(b);
    const Response r = client.Post(
        "/search", SearchBody(query, "\"k1\":" + std::to_string(k1) +
                                         ",\"b\":" + std::to_string(b)));
    ASSERT_EQ(r.status, 200) << context << "\n" << r;
    Json json = ExpectJson(r);
    SearchOptions options;
    options.k1 = k1;
    options.b = b;
    auto want = s->index->Search(query, options);
    ASSERT_TRUE(want.ok());
    ExpectSameHits(json.root(), *want, context);
    // The parameters must reach the scorer: some score differs from the
    // index defaults (k1 0.9, b 0.4).
    bool differs = false;
    for (size_t i = 0; i < want->hits.size(); ++i) {
      differs |= !Near(want->hits[i].score, defaults->hits[i].score, 1e-4);
    }
    EXPECT_TRUE(differs) << context;
  }
}

TEST_F(ServerTest, SearchReportsTimingsAndExplains) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  {
    const Response r = client.Post("/search", SearchBody("rocket"));
    ASSERT_EQ(r.status, 200) << r;
    ASSERT_FALSE(r.Header("x-took-ms").empty()) << r;
    ASSERT_FALSE(r.Header("x-stage-bm25-ms").empty()) << r;
    EXPECT_GE(std::stod(r.Header("x-took-ms")), 0);
    EXPECT_GE(std::stod(r.Header("x-stage-bm25-ms")), 0);
    EXPECT_TRUE(r.Header("x-stage-ce-ms").empty()) << r;
    Json json = ExpectJson(r);
    const auto root = json.root();
    EXPECT_GE(Num(root, "took_ms"), 0);
    bool exact = false;
    EXPECT_EQ(root["total_hits_exact"].get(exact), simdjson::SUCCESS);
    EXPECT_TRUE(exact);  // a handful of matches: counted exactly
    simdjson::dom::element timings = root["timings"].value();
    EXPECT_GE(Num(timings, "bm25_ms"), 0);
    EXPECT_FALSE(Has(timings, "ce_ms"));
  }
  {
    const Response r =
        client.Post("/search", SearchBody("rocket power", R"("k":4,"explain":true)"));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 4u);
    // Ranks count from 0 or 1 (the contract does not say); they must run on
    // from the first hit, in the order of the hits.
    int64_t base = -1;
    int64_t i = 0;
    for (simdjson::dom::element hit : hits) {
      ASSERT_TRUE(Has(hit, "explain")) << r;
      simdjson::dom::element explain = hit["explain"].value();
      if (base < 0) base = Int(explain, "bm25_rank");
      EXPECT_TRUE(base == 0 || base == 1) << r;
      EXPECT_EQ(Int(explain, "bm25_rank"), base + i);
      EXPECT_TRUE(Near(Num(explain, "bm25_score"), Num(hit, "score"), 1e-5)) << r;
      EXPECT_FALSE(Has(explain, "ce_rank"));
      EXPECT_FALSE(Has(explain, "ce_score"));
      ++i;
    }
  }
}

// --- Dense retrieval over HTTP ---
//
// Corpus() with a 3-d dot-product field "emb": the rocket documents lie
// near the first axis (d1 (1,0,0), d3 (0.8,0.2,0), d7 (0.7,0.1,0.2)), the
// electricity ones near the second (d2, d6), food near the third. The
// vector (1,0,0) ranks d1, d3, d7 first; the embedded index is the oracle
// for every order and score.
const std::map<std::string, std::vector<float>>& DenseVectors() {
  static const std::map<std::string, std::vector<float>> vectors = {
      {"d1", {1, 0, 0}},       {"d2", {0, 1, 0}},     {"d3", {0.8, 0.2, 0}},
      {"d4", {0, 0, 1}},       {"d5", {0.1, 0, 0.9}}, {"d6", {0.1, 0.9, 0}},
      {"d7", {0.7, 0.1, 0.2}}, {"d8", {0, 0.2, 0.8}},
  };
  return vectors;
}

class DenseServerTest : public ServerTest {
 protected:
  // A server over a fresh index of Corpus() with DenseVectors().
  Running* StartDense() {
    auto running = std::make_unique<Running>();
    OpenOptions open;
    open.create_if_missing = true;
    open.block_cache_mb = 8;
    open.vector_fields = {"emb:3:dot"};
    auto index = Index::Open((root_ / "dense_index").string(), open);
    if (!index.ok()) {
      ADD_FAILURE() << index.status().ToString();
      return nullptr;
    }
    running->index = std::shared_ptr<Index>(std::move(*index));
    for (Document d : Corpus()) {
      d.vectors = {{"emb", DenseVectors().at(d.id)}};
      const Status s = running->index->Add(d);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    const Status s = running->index->Commit();
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto server = Server::Start(running->index, nullptr, Options());
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    running->server = std::move(*server);
    running->port = running->server->port();
    running_.push_back(std::move(running));
    return running_.back().get();
  }
};

// Expects a /search answer with explain to hold `expected`'s hits and each
// source's rank and score.
void ExpectSameDenseHits(simdjson::dom::element body, const SearchResult& expected,
                         const std::string& context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(static_cast<uint64_t>(Int(body, "total_hits")), expected.total_hits);
  EXPECT_EQ(Str(body, "cascade"), expected.cascade);
  auto hits = Arr(body, "hits");
  ASSERT_EQ(hits.size(), expected.hits.size());
  size_t i = 0;
  for (simdjson::dom::element hit : hits) {
    const Hit& want = expected.hits[i++];
    EXPECT_EQ(Str(hit, "id"), want.id) << "hit " << i;
    EXPECT_TRUE(Near(Num(hit, "score"), want.score, 1e-5)) << "hit " << i;
    ASSERT_TRUE(Has(hit, "explain")) << "hit " << i;
    simdjson::dom::element explain = hit["explain"].value();
    ASSERT_FALSE(want.explain.empty());
    for (const StageScore& source : want.explain) {
      EXPECT_EQ(Has(explain, source.stage + "_rank"), source.scored) << source.stage;
      if (!source.scored) continue;
      EXPECT_EQ(static_cast<size_t>(Int(explain, source.stage + "_rank")), source.rank);
      EXPECT_TRUE(Near(Num(explain, source.stage + "_score"), source.score, 1e-5));
    }
  }
}

TEST_F(DenseServerTest, DenseAndHybridSearchMatchTheEmbeddedIndex) {
  Running* s = StartDense();
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  struct Case {
    std::string body;
    SearchOptions options;
    std::string query;
  };
  auto with = [](auto change) {
    SearchOptions options;
    options.explain = true;
    options.vector = {1, 0, 0};
    change(options);
    return options;
  };
  const std::vector<Case> cases = {
      {R"({"mode":"dense","vector":[1,0,0],"k":3,"explain":true})",
       with([](SearchOptions& o) { o.mode = "dense"; o.k = 3; }), ""},
      {R"({"mode":"dense","vector":[0,1,0],"vector_field":"emb","offset":1,"k":2,"explain":true})",
       with([](SearchOptions& o) {
         o.mode = "dense"; o.vector = {0, 1, 0}; o.vector_field = "emb"; o.offset = 1; o.k = 2;
       }),
       ""},
      // The words keep only the rocket documents.
      {R"({"query":"rocket","mode":"dense","vector":[0,0,1],"explain":true})",
       with([](SearchOptions& o) { o.mode = "dense"; o.vector = {0, 0, 1}; }), "rocket"},
      {R"({"query":"rocket power","mode":"hybrid","vector":[0,1,0],"k":5,"explain":true})",
       with([](SearchOptions& o) { o.mode = "hybrid"; o.vector = {0, 1, 0}; o.k = 5; }),
       "rocket power"},
      {R"({"query":"rocket power","mode":"hybrid","vector":[0,1,0],"rrf_k":1,"dense_depth":3,"explain":true})",
       with([](SearchOptions& o) {
         o.mode = "hybrid"; o.vector = {0, 1, 0}; o.rrf_k = 1; o.dense_depth = 3;
       }),
       "rocket power"},
      {R"({"query":"tea rocket","mode":"hybrid","vector":[0.5,0,0.5],"fusion":"weighted","dense_weight":0.7,"normalization":"zscore","explain":true})",
       with([](SearchOptions& o) {
         o.mode = "hybrid"; o.vector = {0.5, 0, 0.5}; o.fusion = "weighted";
         o.dense_weight = 0.7; o.normalization = "zscore";
       }),
       "tea rocket"},
  };
  for (const Case& c : cases) {
    const Response r = client.Post("/search", c.body);
    ASSERT_EQ(r.status, 200) << c.body << "\n" << r;
    Json json = ExpectJson(r);
    Result<SearchResult> expected = s->index->Search(c.query, c.options);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    ASSERT_FALSE(expected->hits.empty()) << c.body;
    ExpectSameDenseHits(json.root(), *expected, c.body);
  }
  // The oracle's own sense: kNN of (1,0,0) is d1, d3, d7; hybrid shows
  // both sources, and a hit only one list holds has no rank in the other.
  const Response knn = client.Post("/search", R"({"mode":"dense","vector":[1,0,0],"k":3})");
  ASSERT_EQ(knn.status, 200) << knn;
  Json knn_json = ExpectJson(knn);
  std::vector<std::string> ids;
  for (simdjson::dom::element hit : Arr(knn_json.root(), "hits")) {
    ids.emplace_back(Str(hit, "id"));
    EXPECT_FALSE(Has(hit, "explain"));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"d1", "d3", "d7"}));
  EXPECT_FALSE(knn.Header("x-stage-dense-ms").empty()) << knn;
  const Response hybrid = client.Post(
      "/search", R"({"query":"tea","mode":"hybrid","vector":[1,0,0],"k":8,"explain":true})");
  ASSERT_EQ(hybrid.status, 200) << hybrid;
  Json hybrid_json = ExpectJson(hybrid);
  bool saw_both = false, saw_dense_only = false;
  for (simdjson::dom::element hit : Arr(hybrid_json.root(), "hits")) {
    simdjson::dom::element explain = hit["explain"].value();
    EXPECT_TRUE(Has(explain, "dense_rank")) << hybrid;  // kNN reaches all eight
    if (Str(hit, "id") == "d5") {
      saw_both = Has(explain, "bm25_rank") && Has(explain, "bm25_score");
    } else {
      saw_dense_only |= !Has(explain, "bm25_rank");
    }
  }
  EXPECT_TRUE(saw_both) << hybrid;
  EXPECT_TRUE(saw_dense_only) << hybrid;
}

TEST_F(DenseServerTest, DocumentsCarryVectors) {
  Running* s = StartDense();
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const std::string body =
      R"({"id":"n1","title":"Kites","text":"a kite in the wind","vectors":{"emb":[0,0,5]}})"
      "\n"
      R"({"id":"n2","title":"No vector","text":"plain text"})"
      "\n"
      R"({"id":"n3","title":"Short","text":"two values","vectors":{"emb":[1,2]}})"
      "\n"
      R"({"id":"n4","title":"NaN-ish","text":"huge","vectors":{"emb":[1e39,0,0]}})"
      "\n";
  const Response r = client.Post("/documents?refresh=true", body);
  ASSERT_EQ(r.status, 200) << r;
  Json json = ExpectJson(r);
  EXPECT_TRUE(Bool(json.root(), "errors"));
  std::vector<int64_t> statuses;
  std::vector<std::string> errors;
  for (simdjson::dom::element item : Arr(json.root(), "items")) {
    statuses.push_back(Int(item, "status"));
    errors.emplace_back(Has(item, "error") ? Str(item, "error") : "");
  }
  EXPECT_EQ(statuses, (std::vector<int64_t>{201, 400, 400, 400})) << r;
  EXPECT_NE(errors[1].find("emb"), std::string::npos) << r;        // missing vector
  EXPECT_NE(errors[2].find("dimension"), std::string::npos) << r;  // 2 for 3
  EXPECT_NE(errors[3].find("vectors"), std::string::npos) << r;    // not a float
  EXPECT_EQ(s->index->Stats().documents, 9u);
  const Response knn = client.Post("/search", R"({"mode":"dense","vector":[0,0,1],"k":1})");
  ASSERT_EQ(knn.status, 200) << knn;
  Json knn_json = ExpectJson(knn);
  auto hits = Arr(knn_json.root(), "hits");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(Str(*hits.begin(), "id"), "n1");
}

// With --embedding-model (OpenOptions::embedding_model), "query" alone is
// embedded. The documents' vectors are the tiny bi-encoder's embeddings of
// their texts, so each text finds its own document first.
TEST_F(DenseServerTest, QueryTextIsEmbeddedWithAnEmbeddingModel) {
  const std::string bi_encoder = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/bi-encoder";
  rerank::ModelOptions model_options;
  model_options.device = rerank::Device::kCpu;
  model_options.threads = 1;
  auto model = rerank::NeuralModel::Open(bi_encoder, model_options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<std::string> texts;
  for (const Document& d : Corpus()) texts.push_back(d.text);
  auto embeddings = (*model)->Embed(texts);
  ASSERT_TRUE(embeddings.ok()) << embeddings.status().ToString();

  OpenOptions open;
  open.create_if_missing = true;
  open.block_cache_mb = 8;
  open.vector_fields = {"emb:32:cosine"};
  open.embedding_model = bi_encoder;
  open.device = "cpu";
  open.model_threads = 1;
  auto opened = Index::Open((root_ / "embedding_index").string(), open);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto running = std::make_unique<Running>();
  running->index = std::shared_ptr<Index>(std::move(*opened));
  for (size_t i = 0; i < Corpus().size(); ++i) {
    Document d = Corpus()[i];
    d.vectors = {{"emb", (*embeddings)[i]}};
    ASSERT_TRUE(running->index->Add(d).ok());
  }
  ASSERT_TRUE(running->index->Commit().ok());
  auto server = Server::Start(running->index, nullptr, Options());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  running->server = std::move(*server);
  running->port = running->server->port();
  running_.push_back(std::move(running));
  Client client(running_.back()->port);

  for (const Document& d : Corpus()) {
    SCOPED_TRACE(d.id);
    const Response r = client.Post(
        "/search", "{\"query\":" + JsonString(d.text) + ",\"mode\":\"dense\",\"k\":2}");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_FALSE(r.Header("x-stage-embed-ms").empty()) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 2u) << r;
    EXPECT_EQ(Str(*hits.begin(), "id"), d.id) << r;
  }
  // Neither "vector" nor "query": nothing to embed.
  const std::string reason =
      ExpectError(client.Post("/search", R"({"mode":"dense"})"), 400);
  EXPECT_NE(reason.find("\"vector\""), std::string::npos) << reason;
}

TEST_F(DenseServerTest, BadDenseRequestsNameTheField) {
  Running* s = StartDense();
  ASSERT_NE(s, nullptr);
  Running* plain = Start(Options(), false);  // an index without vector fields
  ASSERT_NE(plain, nullptr);
  std::string long_vector = "[";
  for (int64_t i = 0; i <= kMaxVectorDimension; ++i) long_vector += i ? ",1" : "1";
  long_vector += "]";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"mode":"knn","vector":[1,0,0]})", "\"mode\""},
      {R"({"mode":3,"vector":[1,0,0]})", "\"mode\""},
      {R"({"mode":"dense"})", "\"vector\""},
      {R"({"mode":"dense","vector":"1,0,0"})", "\"vector\""},
      {R"({"mode":"dense","vector":[]})", "\"vector\""},
      {R"({"mode":"dense","vector":[1,"0",0]})", "\"vector\""},
      {R"({"mode":"dense","vector":[1e39,0,0]})", "\"vector\""},
      {R"({"mode":"dense","vector":[1,0]})", "\"vector\""},  // the field has 3
      {"{\"mode\":\"dense\",\"vector\":" + long_vector + "}", "\"vector\""},
      {R"({"mode":"dense","vector":[1,0,0],"vector_field":"nope"})", "\"vector_field\""},
      {R"({"mode":"dense","vector":[1,0,0],"nprobe":4})", "\"nprobe\""},  // no IVF lists
      {R"({"mode":"dense","vector":[1,0,0],"nprobe":-1})", "\"nprobe\""},
      {R"({"mode":"dense","vector":[1,0,0],"quantized":true,"rescore":0})", "\"rescore\""},
      {R"({"mode":"dense","vector":[1,0,0],"quantized":"yes"})", "\"quantized\""},
      {R"({"mode":"hybrid","vector":[1,0,0]})", "\"query\""},
      {R"({"mode":"hybrid","query":"  ","vector":[1,0,0]})", "\"query\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"dense_depth":0})", "\"dense_depth\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"dense_depth":10001})", "\"dense_depth\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"fusion":"max"})", "\"fusion\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"rrf_k":0})", "\"rrf_k\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"dense_weight":1.5})", "\"dense_weight\""},
      {R"({"mode":"hybrid","query":"tea","vector":[1,0,0],"normalization":"l2"})", "\"normalization\""},
      {R"({"mode":"dense","vector":[1,0,0],"fusion":"rrf"})", "\"fusion\""},  // hybrid only
      {R"({"query":"tea","vector":[1,0,0]})", "\"vector\""},                  // mode bm25
      {R"({"query":"tea","mode":"hybrid","vector":[1,0,0],"rerank":"bm25:10"})", "\"rerank\""},
  };
  for (const auto& [body, field] : cases) {
    SCOPED_TRACE(body.substr(0, 200));
    Client client(s->port);
    const std::string reason = ExpectError(client.Post("/search", body), 400);
    EXPECT_NE(reason.find(field), std::string::npos) << reason;
  }
  Client client(plain->port);
  const std::string reason =
      ExpectError(client.Post("/search", R"({"mode":"dense","vector":[1,0,0]})"), 400);
  EXPECT_NE(reason.find("\"mode\""), std::string::npos) << reason;
  EXPECT_EQ(s->index->Stats().documents, 8u);
}

TEST_F(ServerTest, DocumentsReportEachLine) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const std::string body =
      DocLine("n1", "Alpha", "first new document") +                // 201
      R"({"_id":"n2","title":"Beta","text":"second new document"})"  // 201
      "\n" R"({"id":"n3","title":"Gamma","text":5})"                // 400
      "\nnot json at all\n"                                         // 400
      R"({"title":"no id","text":"orphan"})"                        // 400
      "\n" + DocLine("d1", "Rocket engines v2", "replaced text");   // 200
  const Response r = client.Post("/documents?refresh=true", body,
                                 {{"Content-Type", "application/x-ndjson"}});
  ASSERT_EQ(r.status, 200) << r;
  Json json = ExpectJson(r);
  const auto root = json.root();
  EXPECT_TRUE(Bool(root, "errors"));
  EXPECT_GE(Num(root, "took_ms"), 0);
  auto items = Arr(root, "items");
  ASSERT_EQ(items.size(), 6u) << r;
  const std::vector<int64_t> statuses = {201, 201, 400, 400, 400, 200};
  const std::vector<std::string> ids = {"n1", "n2", "n3", "", "", "d1"};
  int64_t line = 1;
  for (simdjson::dom::element item : items) {
    SCOPED_TRACE("line " + std::to_string(line));
    EXPECT_EQ(Int(item, "line"), line);
    EXPECT_EQ(Int(item, "status"), statuses[line - 1]);
    if (line == 1 || line == 2 || line == 6) {
      EXPECT_EQ(Str(item, "id"), ids[line - 1]);
    }
    if (statuses[line - 1] == 400) {
      EXPECT_FALSE(Str(item, "error").empty());
    } else {
      EXPECT_FALSE(Has(item, "error"));
    }
    ++line;
  }
  EXPECT_NE(Str(items.at(2).value(), "error").find("text"), std::string::npos) << r;
  EXPECT_NE(Str(items.at(4).value(), "error").find("id"), std::string::npos) << r;

  // The good lines applied, the bad ones did not.
  EXPECT_EQ(client.Get("/documents/n1").status, 200);
  EXPECT_EQ(client.Get("/documents/n2").status, 200);
  ExpectError(client.Get("/documents/n3"), 404);
  {
    const Response d1 = client.Get("/documents/d1");
    ASSERT_EQ(d1.status, 200) << d1;
    Json doc = ExpectJson(d1);
    EXPECT_EQ(Str(doc.root(), "title"), "Rocket engines v2");
    EXPECT_EQ(Str(doc.root(), "text"), "replaced text");
  }
  EXPECT_EQ(s->index->Stats().documents, 10u);

  // All good, with blank lines skipped: no errors.
  const Response ok = client.Post("/documents?refresh=true",
                                  "\n" + DocLine("n1", "Alpha 2", "again") + "\n\n" +
                                      DocLine("n4", "Delta", "fourth") + "\n");
  ASSERT_EQ(ok.status, 200) << ok;
  Json okj = ExpectJson(ok);
  EXPECT_FALSE(Bool(okj.root(), "errors"));
  auto ok_items = Arr(okj.root(), "items");
  ASSERT_EQ(ok_items.size(), 2u) << ok;
  EXPECT_EQ(Int(ok_items.at(0).value(), "status"), 200);  // n1 replaced
  EXPECT_EQ(Int(ok_items.at(1).value(), "status"), 201);
  EXPECT_LT(Int(ok_items.at(0).value(), "line"), Int(ok_items.at(1).value(), "line"));
}

TEST_F(ServerTest, DocumentsBecomeVisibleOnRefresh) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const Response add = client.Post("/documents", DocLine("f1", "Fresh", "quasar light"));
  ASSERT_EQ(add.status, 200) << add;
  {
    Json json = ExpectJson(add);
    EXPECT_FALSE(Bool(json.root(), "errors"));
    EXPECT_EQ(Int(Arr(json.root(), "items").at(0).value(), "status"), 201);
  }
  auto total = [&](const std::string& query) -> int64_t {
    const Response r = client.Post("/search", SearchBody(query));
    EXPECT_EQ(r.status, 200) << r;
    if (r.status != 200) return -1;
    Json json = ExpectJson(r);
    return Int(json.root(), "total_hits");
  };
  EXPECT_EQ(total("quasar"), 0) << "visible before any refresh";
  {
    const Response stats = client.Get("/stats");
    ASSERT_EQ(stats.status, 200) << stats;
    Json json = ExpectJson(stats);
    EXPECT_EQ(Int(json.root(), "pending_changes"), 1);
    EXPECT_EQ(Int(json.root(), "documents"), 8);
  }
  {
    const Response refresh = client.Post("/refresh", "");
    ASSERT_EQ(refresh.status, 200) << refresh;
    Json json = ExpectJson(refresh);
    EXPECT_TRUE(Bool(json.root(), "refreshed"));
    EXPECT_EQ(Int(json.root(), "documents"), 9);
  }
  EXPECT_EQ(total("quasar"), 1);

  // ?refresh=true: searchable when the answer comes.
  const Response now =
      client.Post("/documents?refresh=true", DocLine("f2", "Fresh two", "pulsar beam"));
  ASSERT_EQ(now.status, 200) << now;
  EXPECT_EQ(total("pulsar"), 1);
  const Response stats = client.Get("/stats");
  ASSERT_EQ(stats.status, 200) << stats;
  Json json = ExpectJson(stats);
  EXPECT_EQ(Int(json.root(), "pending_changes"), 0);
  EXPECT_EQ(Int(json.root(), "documents"), 10);
}

TEST_F(ServerTest, GetAndDeleteByPercentEncodedId) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const std::vector<std::string> ids = {"a b/c", "caf\xC3\xA9?x=1&y#z%"};
  std::string body;
  for (size_t i = 0; i < ids.size(); ++i) {
    body += DocLine(ids[i], "Odd id " + std::to_string(i), "nebula number " + std::to_string(i));
  }
  const Response add = client.Post("/documents?refresh=true", body);
  ASSERT_EQ(add.status, 200) << add;
  {
    Json json = ExpectJson(add);
    ASSERT_FALSE(Bool(json.root(), "errors")) << add;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const Response r = client.Get("/documents/" + UrlEncode(ids[i]));
    ASSERT_EQ(r.status, 200) << ids[i] << "\n" << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Str(json.root(), "id"), ids[i]);
    EXPECT_EQ(Str(json.root(), "title"), "Odd id " + std::to_string(i));
    EXPECT_EQ(Str(json.root(), "text"), "nebula number " + std::to_string(i));
  }
  // Lower-case hex decodes the same.
  EXPECT_EQ(client.Get("/documents/a%20b%2fc").status, 200);
  // A plain document id, for comparison.
  EXPECT_EQ(client.Get("/documents/d4").status, 200);

  const Response del = client.Delete("/documents/" + UrlEncode(ids[0]));
  ASSERT_EQ(del.status, 200) << del;
  {
    Json json = ExpectJson(del);
    EXPECT_EQ(Str(json.root(), "id"), ids[0]);
    EXPECT_TRUE(Bool(json.root(), "deleted"));
  }
  ASSERT_EQ(client.Post("/refresh", "").status, 200);
  ExpectError(client.Get("/documents/" + UrlEncode(ids[0])), 404);
  ExpectError(client.Delete("/documents/" + UrlEncode(ids[0])), 404);
  EXPECT_EQ(client.Get("/documents/" + UrlEncode(ids[1])).status, 200);
  const Response search = client.Post("/search", SearchBody("nebula"));
  ASSERT_EQ(search.status, 200) << search;
  Json json = ExpectJson(search);
  EXPECT_EQ(Int(json.root(), "total_hits"), 1);
  EXPECT_EQ(s->index->Stats().documents, 9u);
}

TEST_F(ServerTest, RerankMatchesTheModel) {
  Running* s = Start(Options(), true);
  ASSERT_NE(s, nullptr);
  auto oracle = OpenModel();
  ASSERT_NE(oracle, nullptr);
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "rocket fuel burns ";
  const std::string query = "rocket engines";
  const std::vector<std::string> texts = {
      "liquid fuel rocket engines burn kerosene with oxygen",
      "green tea and black tea come from one plant",
      "astronauts ride a rocket into orbit",
      "",
      "sourdough bread rises with wild yeast",
      long_text,  // longer than max_length: truncated
  };
  auto want = oracle->Score(query, texts);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_EQ(want->size(), texts.size());

  std::string array;
  for (const std::string& t : texts) array += (array.empty() ? "" : ",") + JsonString(t);
  Client client(s->port);
  for (const std::string extra : {"", ",\"truncate\":true"}) {
    const Response r = client.Post(
        "/rerank", "{\"query\":" + JsonString(query) + ",\"texts\":[" + array + "]" + extra + "}");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    simdjson::dom::array results;
    ASSERT_EQ(json.root().get_array().get(results), simdjson::SUCCESS) << r;
    ASSERT_EQ(results.size(), texts.size());
    std::set<int64_t> seen;
    double previous = INFINITY;
    for (simdjson::dom::element e : results) {
      const int64_t index = Int(e, "index");
      const double score = Num(e, "score");
      ASSERT_GE(index, 0);
      ASSERT_LT(index, static_cast<int64_t>(texts.size()));
      EXPECT_TRUE(seen.insert(index).second) << "index " << index << " twice";
      EXPECT_NEAR(score, (*want)[index], 1e-5) << "text " << index;
      EXPECT_LE(score, previous) << "not sorted by score";
      previous = score;
    }
  }
}

TEST_F(ServerTest, SearchWithRerankReordersByCrossEncoder) {
  Running* s = Start(Options(), true);
  ASSERT_NE(s, nullptr);
  auto oracle = OpenModel();
  ASSERT_NE(oracle, nullptr);
  const std::string query = "rocket power electricity tea coffee bread";
  constexpr size_t kDepth = 8;
  constexpr size_t kK = 5;

  // The oracle: BM25's top kDepth, rescored on title + " " + text, best
  // first (ties keep BM25 order).
  SearchOptions options;
  options.k = kDepth;
  options.load_text = true;
  auto bm25 = s->index->Search(query, options);
  ASSERT_TRUE(bm25.ok());
  ASSERT_GT(bm25->hits.size(), kK);
  std::vector<std::string> passages;
  for (const Hit& h : bm25->hits) passages.push_back(h.title + " " + h.text);
  auto scores = oracle->Score(query, passages);
  ASSERT_TRUE(scores.ok()) << scores.status().ToString();
  std::vector<size_t> order(bm25->hits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return (*scores)[a] > (*scores)[b]; });
  std::vector<size_t> identity(order.size());
  std::iota(identity.begin(), identity.end(), 0);
  ASSERT_NE(order, identity) << "the cross-encoder keeps BM25 order: pick another query";

  Client client(s->port);
  for (const std::string rerank :
       {"{\"depth\":8}", "{\"depth\":8,\"model\":\"ce\"}", "\"bm25:8,ce:8\""}) {
    SCOPED_TRACE(rerank);
    const Response r = client.Post(
        "/search", SearchBody(query, "\"k\":5,\"explain\":true,\"rerank\":" + rerank));
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_FALSE(r.Header("x-stage-bm25-ms").empty()) << r;
    ASSERT_FALSE(r.Header("x-stage-ce-ms").empty()) << r;
    EXPECT_GE(std::stod(r.Header("x-stage-ce-ms")), 0);
    Json json = ExpectJson(r);
    const auto root = json.root();
    simdjson::dom::element timings = root["timings"].value();
    EXPECT_GE(Num(timings, "bm25_ms"), 0);
    EXPECT_GE(Num(timings, "ce_ms"), 0);
    auto hits = Arr(root, "hits");
    ASSERT_EQ(hits.size(), kK) << r;
    int64_t bm25_base = -1;
    int64_t rerank_base = -1;
    size_t i = 0;
    for (simdjson::dom::element hit : hits) {
      SCOPED_TRACE("hit " + std::to_string(i));
      const size_t at = order[i];
      EXPECT_EQ(Str(hit, "id"), bm25->hits[at].id);
      ASSERT_TRUE(Has(hit, "explain")) << r;
      simdjson::dom::element explain = hit["explain"].value();
      if (bm25_base < 0) bm25_base = Int(explain, "bm25_rank") - static_cast<int64_t>(at);
      if (rerank_base < 0) rerank_base = Int(explain, "ce_rank");
      EXPECT_TRUE(bm25_base == 0 || bm25_base == 1);
      EXPECT_TRUE(rerank_base == 0 || rerank_base == 1);
      EXPECT_EQ(Int(explain, "bm25_rank"), bm25_base + static_cast<int64_t>(at));
      EXPECT_EQ(Int(explain, "ce_rank"), rerank_base + static_cast<int64_t>(i));
      EXPECT_TRUE(Near(Num(explain, "bm25_score"), bm25->hits[at].score, 1e-4));
      EXPECT_NEAR(Num(explain, "ce_score"), (*scores)[at], 1e-4);
      ++i;
    }
  }
}

TEST_F(ServerTest, MetricsCountRequests) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.Post("/search", SearchBody("rocket")).status, 200);
  ASSERT_EQ(client.Get("/health").status, 200);
  ASSERT_EQ(client.Get("/nowhere").status, 404);
  const Response r = client.Get("/metrics");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Header("content-type").rfind("text/plain", 0), 0u) << r;
  EXPECT_NE(r.Header("content-type").find("version=0.0.4"), std::string::npos) << r;
  const std::string& m = r.body;
  EXPECT_NE(m.find("cascade_http_requests_total{endpoint=\"/search\",code=\"200\"}"),
            std::string::npos)
      << m;
  EXPECT_GE(Sample(m, "cascade_http_requests_total", {"endpoint=\"/search\"", "code=\"200\""})
                .value_or(-1),
            3)
      << m;
  EXPECT_GE(Sample(m, "cascade_http_requests_total", {"endpoint=\"/health\"", "code=\"200\""})
                .value_or(-1),
            1)
      << m;
  EXPECT_NE(m.find("# TYPE cascade_http_request_duration_seconds histogram"), std::string::npos)
      << m;
  EXPECT_GE(Sample(m, "cascade_http_request_duration_seconds_bucket",
                   {"endpoint=\"/search\"", "le=\"+Inf\""})
                .value_or(-1),
            3)
      << m;
  EXPECT_TRUE(Sample(m, "cascade_http_request_duration_seconds_bucket",
                     {"endpoint=\"/search\"", "le=\"0.0005\""})
                  .has_value())
      << m;
  EXPECT_TRUE(Sample(m, "cascade_http_request_duration_seconds_bucket",
                     {"endpoint=\"/search\"", "le=\"10\""})
                  .has_value() ||
              Sample(m, "cascade_http_request_duration_seconds_bucket",
                     {"endpoint=\"/search\"", "le=\"10.0\""})
                  .has_value())
      << m;
  EXPECT_GE(Sample(m, "cascade_http_request_duration_seconds_sum", {"endpoint=\"/search\""})
                .value_or(-1),
            0)
      << m;
  EXPECT_GE(Sample(m, "cascade_http_request_duration_seconds_count", {"endpoint=\"/search\""})
                .value_or(-1),
            3)
      << m;
  EXPECT_GE(Sample(m, "cascade_search_stage_duration_seconds_count", {"stage=\"bm25\""})
                .value_or(-1),
            3)
      << m;
  EXPECT_TRUE(Sample(m, "cascade_search_stage_duration_seconds_bucket",
                     {"stage=\"bm25\"", "le=\"+Inf\""})
                  .has_value())
      << m;
  EXPECT_EQ(Sample(m, "cascade_queue_depth").value_or(-1), 0) << m;
  EXPECT_EQ(Sample(m, "cascade_rerank_queue_depth").value_or(-1), 0) << m;
  EXPECT_EQ(Sample(m, "cascade_documents").value_or(-1), 8) << m;
}

TEST_F(ServerTest, KeepAliveAndConnectionClose) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  // Five requests on one connection: the client only reconnects after the
  // server says close, so a failure here means the server dropped it.
  for (int i = 0; i < 5; ++i) {
    const Response r = i % 2 == 0 ? client.Get("/health")
                                  : client.Post("/search", SearchBody("tea"));
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_TRUE(r.keep_alive) << r;
    EXPECT_TRUE(client.connected());
  }
  const Response last = client.Request("GET", "/health", "", {}, /*close=*/true);
  ASSERT_EQ(last.status, 200) << last;
  EXPECT_FALSE(last.keep_alive) << last;
  EXPECT_EQ(testing_http::Lower(last.Header("connection")), "close") << last;

  // After answering `Connection: close` the server closes: a request sent
  // behind it on the same connection gets no answer.
  Client raw(s->port, 5s);
  ASSERT_TRUE(raw.Send(
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const Response first = raw.Read(/*keep_open=*/true);
  EXPECT_EQ(first.status, 200) << first;
  EXPECT_FALSE(first.keep_alive);
  const Response second = raw.Read();
  EXPECT_EQ(second.status, 0) << "answered after Connection: close\n" << second;
  EXPECT_TRUE(second.closed) << second;
}

// POST /delete_by_query deletes every match (not a top k), keeps the
// created/replaced answers of later adds right, and shows in /stats.
TEST_F(ServerTest, DeleteByQueryDeletesEveryMatch) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  auto total = [&](const std::string& query) -> int64_t {
    const Response r = client.Post("/search", SearchBody(query));
    EXPECT_EQ(r.status, 200) << r;
    if (r.status != 200) return -1;
    Json json = ExpectJson(r);
    return Int(json.root(), "total_hits");
  };
  ASSERT_EQ(total("rocket"), 3);  // d1, d3, d7
  {
    const Response r = client.Post("/delete_by_query", R"({"query":"rocket"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Int(json.root(), "deleted"), 3);
    EXPECT_FALSE(Bool(json.root(), "refreshed"));
  }
  EXPECT_EQ(total("rocket"), 3) << "visible before the refresh";
  {
    const Response stats = client.Get("/stats");
    ASSERT_EQ(stats.status, 200) << stats;
    Json json = ExpectJson(stats);
    EXPECT_EQ(Int(json.root(), "pending_changes"), 3);
  }
  // A deleted id added again before the refresh is created, not replaced.
  const Response again = client.Post("/documents", DocLine("d7", "Space travel", "a capsule"));
  ASSERT_EQ(again.status, 200) << again;
  {
    Json json = ExpectJson(again);
    EXPECT_EQ(Int(Arr(json.root(), "items").at(0).value(), "status"), 201);
  }
  ASSERT_EQ(client.Post("/refresh", "").status, 200);
  EXPECT_EQ(total("rocket"), 0);
  EXPECT_EQ(total("capsule"), 1);
  ExpectError(client.Get("/documents/d1"), 404);
  EXPECT_EQ(s->index->Stats().documents, 6u);

  // Lucene syntax and ?refresh=true: "turn" is in d2 and d6, "-wind" keeps d6.
  {
    const Response r = client.Post("/delete_by_query?refresh=true",
                                   R"({"query":"+turn -wind","syntax":"lucene"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Int(json.root(), "deleted"), 1);
    EXPECT_TRUE(Bool(json.root(), "refreshed"));
  }
  EXPECT_EQ(total("turn"), 1);
  ExpectError(client.Get("/documents/d2"), 404);
  EXPECT_EQ(client.Get("/documents/d6").status, 200);
  // Nothing matches: nothing deleted.
  {
    const Response r = client.Post("/delete_by_query", R"({"query":"zeppelin"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Int(json.root(), "deleted"), 0);
  }
  // /stats reports the deletes and the column families.
  const Response stats = client.Get("/stats");
  ASSERT_EQ(stats.status, 200) << stats;
  Json json = ExpectJson(stats);
  EXPECT_EQ(Int(json.root(), "documents"), 5);
  EXPECT_EQ(Int(json.root(), "deleted_documents"), 4);
  auto families = json.root()["column_families"].get_object();
  ASSERT_FALSE(families.error()) << stats;
  size_t count = 0;
  for (auto family : families.value()) {
    ++count;
    EXPECT_GE(Int(family.value, "table_bytes"), 0) << family.key;
    EXPECT_GE(Int(family.value, "memtable_bytes"), 0) << family.key;
  }
  EXPECT_EQ(count, s->index->Stats().column_families.size());
  EXPECT_GT(Int(json.root()["column_families"]["postings"].value(), "memtable_bytes") +
                Int(json.root()["column_families"]["postings"].value(), "table_bytes"),
            0);
}

TEST_F(ServerTest, WrongMethodAnswers405WithAllow) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  struct Case {
    std::string method, path, allowed;
  };
  for (const Case& c : std::vector<Case>{{"GET", "/search", "POST"},
                                         {"DELETE", "/health", "GET"},
                                         {"GET", "/refresh", "POST"},
                                         {"PUT", "/documents/d1", "DELETE"},
                                         {"POST", "/stats", "GET"},
                                         {"GET", "/rerank", "POST"}}) {
    Client client(s->port);
    const Response r = client.Request(c.method, c.path);
    SCOPED_TRACE(c.method + " " + c.path);
    ExpectError(r, 405);
    EXPECT_NE(r.Header("allow").find(c.allowed), std::string::npos) << r;
  }
}

// Which server of the table test a request goes to.
enum class Target { kMain, kNoModel, kAuthWrites, kAuthAll };

struct BadRequest {
  std::string name;
  Target target;
  std::string method;
  std::string path;
  std::string body;
  Headers headers;
  int status;
  std::string reason_has;  // a word the error's reason must hold ("" = any)
};

std::string Texts(size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) out += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  return out + "]";
}

std::vector<BadRequest> BadRequests() {
  const Headers none;
  const Headers bearer = {{"Authorization", "Bearer " + kApiKey}};
  const Headers x_api_key = {{"X-API-Key", kApiKey}};
  std::string max_query(16384, 'q');
  for (size_t i = 7; i < max_query.size(); i += 8) max_query[i] = ' ';
  const std::string long_query = max_query + "q";
  const std::string big_body = SearchBody(std::string(70 << 10, 'x'));
  const std::string doc = DocLine("auth1", "Auth", "written with a key");
  std::string big_ndjson;
  while (big_ndjson.size() < (100 << 10)) {
    big_ndjson += DocLine("big" + std::to_string(big_ndjson.size()), "Big", "filler text here");
  }
  // A search body of exactly `n` bytes (JSON whitespace as padding).
  auto padded = [](size_t n) {
    std::string body = R"({"query":"rocket")";
    body.append(n - body.size() - 1, ' ');
    return body + "}";
  };
  Headers many_headers;  // each small, together over 16 KiB
  for (int i = 0; i < 600; ++i) many_headers.emplace_back("X-H" + std::to_string(i), std::string(30, 'v'));
  const Target M = Target::kMain;
  return {
      // Malformed JSON and bodies that are not objects.
      {"truncated JSON", M, "POST", "/search", R"({"query":)", none, 400, "invalid JSON"},
      {"empty body", M, "POST", "/search", "", none, 400, ""},
      {"trailing garbage", M, "POST", "/search", R"({"query":"a"} x)", none, 400, "JSON"},
      {"body is an array", M, "POST", "/search", R"(["rocket"])", none, 400, ""},
      {"body is a string", M, "POST", "/search", R"("rocket")", none, 400, ""},
      {"invalid UTF-8", M, "POST", "/search", "{\"query\":\"caf\xC3\x28\"}", none, 400, ""},
      {"lone continuation byte", M, "POST", "/search", "{\"query\":\"\x80\"}", none, 400, ""},
      // Wrong types.
      {"k as string", M, "POST", "/search", R"({"query":"a","k":"10"})", none, 400, "k"},
      {"k as bool", M, "POST", "/search", R"({"query":"a","k":true})", none, 400, "k"},
      {"k fractional", M, "POST", "/search", R"({"query":"a","k":2.5})", none, 400, "k"},
      {"k1 as string", M, "POST", "/search", R"({"query":"a","k1":"1.2"})", none, 400, "k1"},
      {"b as string", M, "POST", "/search", R"({"query":"a","b":"0.5"})", none, 400, "b"},
      {"fields not array", M, "POST", "/search", R"({"query":"a","fields":"id"})", none, 400, "fields"},
      {"fields unknown name", M, "POST", "/search", R"({"query":"a","fields":["id","bogus"]})", none, 400, "fields"},
      {"fields not strings", M, "POST", "/search", R"({"query":"a","fields":[1]})", none, 400, "fields"},
      {"query number", M, "POST", "/search", R"({"query":5})", none, 400, "query"},
      {"query null", M, "POST", "/search", R"({"query":null})", none, 400, "query"},
      {"explain as string", M, "POST", "/search", R"({"query":"a","explain":"yes"})", none, 400, "explain"},
      {"rerank not object", M, "POST", "/search", R"({"query":"a","rerank":5})", none, 400, "rerank"},
      // Out of range.
      {"k negative", M, "POST", "/search", R"({"query":"a","k":-1})", none, 400, "k"},
      {"k zero", M, "POST", "/search", R"({"query":"a","k":0})", none, 400, "k"},
      {"k 10001", M, "POST", "/search", R"({"query":"a","k":10001})", none, 400, "k"},
      {"k huge", M, "POST", "/search", R"({"query":"a","k":1e30})", none, 400, "k"},
      {"offset negative", M, "POST", "/search", R"({"query":"a","offset":-1})", none, 400, "offset"},
      {"k+offset over 10000", M, "POST", "/search", R"({"query":"a","k":5000,"offset":5001})", none, 400, ""},
      {"b 2", M, "POST", "/search", R"({"query":"a","b":2})", none, 400, "b"},
      {"b negative", M, "POST", "/search", R"({"query":"a","b":-0.1})", none, 400, "b"},
      {"k1 negative", M, "POST", "/search", R"({"query":"a","k1":-1})", none, 400, "k1"},
      {"rerank depth 0", M, "POST", "/search", R"({"query":"a","rerank":{"depth":0}})", none, 400, "depth"},
      {"rerank depth 1001", M, "POST", "/search", R"({"query":"a","rerank":{"depth":1001}})", none, 400, "depth"},
      {"rerank unknown model", M, "POST", "/search", R"({"query":"a","rerank":{"model":"gpt"}})", none, 400, "model"},
      {"cascade unknown stage", M, "POST", "/search", R"({"query":"a","rerank":"bm25:10,gpt:5"})", none, 400, "gpt"},
      {"cascade deeper than previous", M, "POST", "/search", R"({"query":"a","rerank":"bm25:10,ce:20"})", none, 400, "rerank"},
      {"cascade reranker first", M, "POST", "/search", R"({"query":"a","rerank":"ce:10"})", none, 400, "rerank"},
      {"cascade ce depth 1001", M, "POST", "/search", R"({"query":"a","rerank":"bm25:5000,ce:1001"})", none, 400, "1000"},
      {"cascade empty", M, "POST", "/search", R"({"query":"a","rerank":""})", none, 400, "rerank"},
      {"cascade tilde without weights", M, "POST", "/search", R"({"query":"a","rerank":"bm25:10,tilde:5"})", none, 400, "TILDE"},
      {"tilde_alpha 2", M, "POST", "/search", R"({"query":"a","tilde_alpha":2})", none, 400, "tilde_alpha"},
      {"tilde_alpha string", M, "POST", "/search", R"({"query":"a","tilde_alpha":"x"})", none, 400, "tilde_alpha"},
      {"long_passages unknown", M, "POST", "/search", R"({"query":"a","long_passages":"split"})", none, 400, "long_passages"},
      {"chunk_overlap negative", M, "POST", "/search", R"({"query":"a","chunk_overlap":-1})", none, 400, "chunk_overlap"},
      {"syntax unknown", M, "POST", "/search", R"({"query":"a","syntax":"sql"})", none, 400, "syntax"},
      {"syntax not a string", M, "POST", "/search", R"({"query":"a","syntax":1})", none, 400, "syntax"},
      {"lucene syntax error", M, "POST", "/search", R"({"query":"rocket AND","syntax":"lucene"})", none, 400, "column"},
      {"lucene phrase field", M, "POST", "/search", R"({"query":"author:\"rocket engines\"","syntax":"lucene"})", none, 400, "author"},
      {"lucene range", M, "POST", "/search", R"({"query":"year:[1 TO 5]","syntax":"lucene"})", none, 400, "unknown field \"year\""},
      {"lucene unknown field", M, "POST", "/search", R"({"query":"author:x","syntax":"lucene"})", none, 400, "author"},
      // Unknown and missing fields, limits.
      {"unknown field", M, "POST", "/search", R"({"query":"a","foo":1})", none, 400, "foo"},
      {"missing query", M, "POST", "/search", R"({"k":5})", none, 400, "query"},
      {"query over 16384 bytes", M, "POST", "/search", SearchBody(long_query), none, 400, "query"},
      {"body over max_body_bytes", M, "POST", "/search", big_body, none, 413, ""},
      {"NDJSON over max_body_bytes", M, "POST", "/documents", big_ndjson, none, 413, ""},
      {"huge header", M, "GET", "/health", "", {{"X-Filler", std::string(20 << 10, 'h')}}, 431, ""},
      {"many headers", M, "GET", "/health", "", many_headers, 431, ""},
      {"deeply nested JSON", M, "POST", "/search", std::string(5000, '[') + std::string(5000, ']'), none, 400, ""},
      {"deeply nested field", M, "POST", "/search", "{\"query\":" + std::string(5000, '[') + std::string(5000, ']') + "}", none, 400, ""},
      // Paths, methods, ids.
      {"unknown path", M, "GET", "/nowhere", "", none, 404, ""},
      {"root path", M, "GET", "/", "", none, 404, ""},
      {"wrong method", M, "GET", "/search", "", none, 405, ""},
      {"unknown id", M, "GET", "/documents/no-such-doc", "", none, 404, ""},
      {"delete unknown id", M, "DELETE", "/documents/no-such-doc", "", none, 404, ""},
      {"bad percent-encoding", M, "GET", "/documents/a%zz", "", none, 400, ""},
      // /delete_by_query: refusals delete nothing (the table's index stays whole).
      {"delete_by_query syntax error", M, "POST", "/delete_by_query", R"({"query":"rocket AND (","syntax":"lucene"})", none, 400, "column"},
      {"delete_by_query unknown query field", M, "POST", "/delete_by_query", R"({"query":"author:x","syntax":"lucene"})", none, 400, "author"},
      {"delete_by_query range", M, "POST", "/delete_by_query", R"({"query":"year:[1 TO 5]","syntax":"lucene"})", none, 400, "query"},
      {"delete_by_query missing query", M, "POST", "/delete_by_query", R"({"syntax":"lucene"})", none, 400, "query"},
      {"delete_by_query bad syntax", M, "POST", "/delete_by_query", R"({"query":"rocket","syntax":"regex"})", none, 400, "syntax"},
      {"delete_by_query unknown field", M, "POST", "/delete_by_query", R"({"query":"rocket","k":5})", none, 400, "k"},
      {"delete_by_query query number", M, "POST", "/delete_by_query", R"({"query":5})", none, 400, "query"},
      {"delete_by_query bad refresh", M, "POST", "/delete_by_query?refresh=maybe", R"({"query":"rocket"})", none, 400, "refresh"},
      {"delete_by_query GET", M, "GET", "/delete_by_query", "", none, 405, ""},
      {"truncated percent-encoding", M, "GET", "/documents/a%4", "", none, 400, ""},
      // /rerank.
      {"rerank no model", Target::kNoModel, "POST", "/rerank", R"({"query":"a","texts":["b"]})", none, 503, ""},
      {"search rerank no model", Target::kNoModel, "POST", "/search", R"({"query":"a","rerank":{"depth":5}})", none, 400, ""},
      {"rerank empty texts", M, "POST", "/rerank", R"({"query":"a","texts":[]})", none, 400, "texts"},
      {"rerank texts not strings", M, "POST", "/rerank", R"({"query":"a","texts":[1,2]})", none, 400, "texts"},
      {"rerank texts not array", M, "POST", "/rerank", R"({"query":"a","texts":"b"})", none, 400, "texts"},
      {"rerank 1001 texts", M, "POST", "/rerank", "{\"query\":\"a\",\"texts\":" + Texts(1001) + "}", none, 400, "texts"},
      {"rerank missing query", M, "POST", "/rerank", R"({"texts":["b"]})", none, 400, "query"},
      {"rerank query number", M, "POST", "/rerank", R"({"query":1,"texts":["b"]})", none, 400, "query"},
      {"rerank unknown field", M, "POST", "/rerank", R"({"query":"a","texts":["b"],"top":1})", none, 400, "top"},
      {"rerank truncate string", M, "POST", "/rerank", R"({"query":"a","texts":["b"],"truncate":"no"})", none, 400, "truncate"},
      {"rerank malformed", M, "POST", "/rerank", R"({"query":"a","texts":["b")", none, 400, "invalid JSON"},
      // NDJSON line errors are per item; the request itself succeeds.
      {"NDJSON bad lines", M, "POST", "/documents", "not json\n{\"id\":\"x\"}\n[1]\n{\"id\":5,\"text\":\"t\"}\n", none, 200, ""},
      // Limits that must still be accepted.
      {"query of 16384 bytes", M, "POST", "/search", SearchBody(max_query), none, 200, ""},
      {"k 10000", M, "POST", "/search", R"({"query":"rocket","k":10000})", none, 200, ""},
      {"lucene query", M, "POST", "/search", R"({"query":"+rocket -title:engines","syntax":"lucene"})", none, 200, ""},
      {"plain syntax reads operators as words", M, "POST", "/search", R"({"query":"rocket AND (","syntax":"plain"})", none, 200, ""},
      {"k+offset 10000", M, "POST", "/search", R"({"query":"rocket","k":1,"offset":9999})", none, 200, ""},
      {"b 0 and 1, k1 0", M, "POST", "/search", R"({"query":"rocket","b":1,"k1":0})", none, 200, ""},
      {"body of max_body_bytes", M, "POST", "/search", padded(64 << 10), none, 200, ""},
      {"body one over max_body_bytes", M, "POST", "/search", padded((64 << 10) + 1), none, 413, ""},
      {"header under the limit", M, "GET", "/health", "", {{"X-Filler", std::string(8 << 10, 'h')}}, 200, ""},
      // Auth, scope writes.
      {"writes: no key", Target::kAuthWrites, "POST", "/documents", doc, none, 401, ""},
      {"writes: wrong bearer", Target::kAuthWrites, "POST", "/documents", doc, {{"Authorization", "Bearer nope"}}, 401, ""},
      {"writes: wrong X-API-Key", Target::kAuthWrites, "POST", "/documents", doc, {{"X-API-Key", "nope"}}, 401, ""},
      {"writes: key without Bearer", Target::kAuthWrites, "POST", "/documents", doc, {{"Authorization", kApiKey}}, 401, ""},
      {"writes: bearer", Target::kAuthWrites, "POST", "/documents", doc, bearer, 200, ""},
      {"writes: X-API-Key", Target::kAuthWrites, "POST", "/documents", doc, x_api_key, 200, ""},
      {"writes: delete without key", Target::kAuthWrites, "DELETE", "/documents/d1", "", none, 401, ""},
      {"writes: refresh without key", Target::kAuthWrites, "POST", "/refresh", "", none, 401, ""},
      {"writes: delete_by_query without key", Target::kAuthWrites, "POST", "/delete_by_query", R"({"query":"rocket"})", none, 401, ""},
      {"writes: refresh with key", Target::kAuthWrites, "POST", "/refresh", "", bearer, 200, ""},
      {"writes: search without key", Target::kAuthWrites, "POST", "/search", R"({"query":"rocket"})", none, 200, ""},
      {"writes: get without key", Target::kAuthWrites, "GET", "/documents/d2", "", none, 200, ""},
      {"writes: stats without key", Target::kAuthWrites, "GET", "/stats", "", none, 200, ""},
      {"writes: health", Target::kAuthWrites, "GET", "/health", "", none, 200, ""},
      // Auth, scope all.
      {"all: search without key", Target::kAuthAll, "POST", "/search", R"({"query":"rocket"})", none, 401, ""},
      {"all: search wrong key", Target::kAuthAll, "POST", "/search", R"({"query":"rocket"})", {{"X-API-Key", "nope"}}, 401, ""},
      {"all: stats without key", Target::kAuthAll, "GET", "/stats", "", none, 401, ""},
      {"all: metrics without key", Target::kAuthAll, "GET", "/metrics", "", none, 401, ""},
      {"all: get without key", Target::kAuthAll, "GET", "/documents/d1", "", none, 401, ""},
      {"all: search bearer", Target::kAuthAll, "POST", "/search", R"({"query":"rocket"})", bearer, 200, ""},
      {"all: search X-API-Key", Target::kAuthAll, "POST", "/search", R"({"query":"rocket"})", x_api_key, 200, ""},
      {"all: health without key", Target::kAuthAll, "GET", "/health", "", none, 200, ""},
  };
}

TEST_F(ServerTest, BadRequestsAreRefusedAndTheServerStaysHealthy) {
  ServerOptions main_options = Options();
  main_options.max_body_bytes = 64 << 10;
  ServerOptions writes = Options();
  writes.api_key = kApiKey;
  writes.auth_scope = AuthScope::kWrites;
  ServerOptions all = writes;
  all.auth_scope = AuthScope::kAll;
  std::map<Target, Running*> servers = {
      {Target::kMain, Start(main_options, true)},
      {Target::kNoModel, Start(Options(), false)},
      {Target::kAuthWrites, Start(writes, false)},
      {Target::kAuthAll, Start(all, false)},
  };
  for (const auto& [target, running] : servers) ASSERT_NE(running, nullptr);

  const std::vector<BadRequest> requests = BadRequests();
  ASSERT_GE(requests.size(), 30u);
  for (const BadRequest& bad : requests) {
    SCOPED_TRACE(bad.name);
    const uint16_t port = servers[bad.target]->port;
    Client client(port);
    const Response r = client.Request(bad.method, bad.path, bad.body, bad.headers);
    if (bad.status >= 400) {
      const std::string reason = ExpectError(r, bad.status);
      if (!bad.reason_has.empty()) {
        EXPECT_NE(reason.find(bad.reason_has), std::string::npos)
            << "reason \"" << reason << "\" does not name " << bad.reason_has;
      }
    } else {
      EXPECT_EQ(r.status, bad.status) << r;
    }
    if (bad.name == "NDJSON bad lines" && r.status == 200) {
      Json json = ExpectJson(r);
      EXPECT_TRUE(Bool(json.root(), "errors"));
      auto items = Arr(json.root(), "items");
      EXPECT_EQ(items.size(), 4u);
      for (simdjson::dom::element item : items) EXPECT_EQ(Int(item, "status"), 400) << r;
    }
    if (bad.status == 405) {
      EXPECT_FALSE(r.Header("allow").empty()) << r;
    }
    Client health(port);
    const Response h = health.Get("/health");
    ASSERT_EQ(h.status, 200) << "after " << bad.name << ":\n" << h;
  }
  // Nothing the table sent changed the main index.
  EXPECT_EQ(servers[Target::kMain]->index->Stats().documents, 8u);
}

TEST_F(ServerTest, ChunkedBodiesAreReadAndLimited) {
  ServerOptions options = Options();
  options.max_body_bytes = 64 << 10;
  Running* s = Start(options, false);
  ASSERT_NE(s, nullptr);
  auto chunked = [](const std::string& body, size_t chunk) {
    std::string out =
        "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (size_t at = 0; at < body.size(); at += chunk) {
      const std::string piece = body.substr(at, chunk);
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      out += size + piece + "\r\n";
    }
    return out + "0\r\n\r\n";
  };
  {
    Client client(s->port);
    const Response r = client.Raw(chunked(SearchBody("rocket", R"("k":2)"), 5));
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Arr(json.root(), "hits").size(), 2u);
  }
  {
    std::string big = R"({"query":"rocket")";
    big.append(70 << 10, ' ');
    big += "}";
    Client client(s->port);
    ExpectError(client.Raw(chunked(big, 8 << 10)), 413);
  }
  Client health(s->port);
  EXPECT_EQ(health.Get("/health").status, 200);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  const std::string search = SearchBody("tea");
  Client client(s->port);
  ASSERT_TRUE(client.Send(
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
      std::to_string(search.size()) + "\r\n\r\n" + search +
      "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const Response health = client.Read();
  ASSERT_EQ(health.status, 200) << health;
  EXPECT_NE(health.body.find("ok"), std::string::npos) << health;
  const Response found = client.Read();
  ASSERT_EQ(found.status, 200) << found;
  EXPECT_NE(found.body.find("\"d5\""), std::string::npos) << found;
  ExpectError(client.Read(), 404);
}

TEST_F(ServerTest, DocumentsTheIndexRefusesAreItemErrors) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  Client client(s->port);
  const std::string body =
      DocLine("big", "Too big", std::string((1 << 20) + 100, 'x')) +  // over 1 MiB: 400
      DocLine("empty", "", "") +                                      // no title, no text: 400
      DocLine("", "No id", "text") +                                  // empty id: 400
      "{\"id\":\"bad-utf8\",\"title\":\"t\",\"text\":\"caf\xC3\x28\"}\n" +  // 400
      DocLine("n9", "First", "dup one") +                             // 201
      DocLine("n9", "Second", "dup two") +                            // 200: replaces line 5
      DocLine("d8", "Bread again", "rye");                            // 200
  const Response r = client.Post("/documents", body);
  ASSERT_EQ(r.status, 200) << r;
  Json json = ExpectJson(r);
  EXPECT_TRUE(Bool(json.root(), "errors"));
  auto items = Arr(json.root(), "items");
  ASSERT_EQ(items.size(), 7u) << r.body.substr(0, 2000);
  const std::vector<int64_t> want = {400, 400, 400, 400, 201, 200, 200};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(Int(items.at(i).value(), "status"), want[i])
        << "line " << i + 1 << ": " << simdjson::minify(items.at(i).value());
  }

  // A delete, then the same id again before any refresh: created anew.
  ASSERT_EQ(client.Delete("/documents/d1").status, 200);
  const Response again = client.Post("/documents", DocLine("d1", "Rocket engines 2", "re-added"));
  ASSERT_EQ(again.status, 200) << again;
  Json again_json = ExpectJson(again);
  EXPECT_EQ(Int(Arr(again_json.root(), "items").at(0).value(), "status"), 201) << again;

  ASSERT_EQ(client.Post("/refresh", "").status, 200);
  const Response n9 = client.Get("/documents/n9");
  ASSERT_EQ(n9.status, 200) << n9;
  Json n9_json = ExpectJson(n9);
  EXPECT_EQ(Str(n9_json.root(), "title"), "Second");
  const Response d1 = client.Get("/documents/d1");
  ASSERT_EQ(d1.status, 200) << d1;
  Json d1_json = ExpectJson(d1);
  EXPECT_EQ(Str(d1_json.root(), "text"), "re-added");
  ExpectError(client.Get("/documents/big"), 404);
  ExpectError(client.Get("/documents/empty"), 404);
  ExpectError(client.Get("/documents/bad-utf8"), 404);
  EXPECT_EQ(s->index->Stats().documents, 9u);  // eight + n9
}

TEST_F(ServerTest, GarbageBytesDoNotHurt) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 22),
      "NOT HTTP AT ALL\r\n\r\n",
      std::string(1000, '\0') + "\r\n\r\n",
      "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
      "POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
      "GET /health HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
  };
  for (size_t i = 0; i < garbage.size(); ++i) {
    SCOPED_TRACE("garbage " + std::to_string(i));
    Client client(s->port, 5s);
    const Response r = client.Raw(garbage[i]);
    EXPECT_TRUE(r.status == 400 || (r.status == 0 && r.closed)) << r;
    Client health(s->port);
    ASSERT_EQ(health.Get("/health").status, 200);
  }
}

TEST_F(ServerTest, SlowClientsAreTimedOutWhileOthersAreServed) {
  ServerOptions options = Options();
  options.request_timeout = 500ms;
  Running* s = Start(options, false);
  ASSERT_NE(s, nullptr);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 4; ++i) {  // more slow connections than I/O threads
    slow.push_back(std::make_unique<Client>(s->port, 5s));
    ASSERT_TRUE(slow.back()->Send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty"));
  }
  // Headers done, body cut short.
  slow.push_back(std::make_unique<Client>(s->port, 5s));
  ASSERT_TRUE(slow.back()->Send(
      "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"query\":"));

  // Meanwhile other clients are served.
  for (int i = 0; i < 3; ++i) {
    Client client(s->port);
    const Response r = client.Post("/search", SearchBody("rocket"));
    EXPECT_EQ(r.status, 200) << r;
  }
  for (auto& client : slow) {
    const Response r = client->Read();
    EXPECT_TRUE(r.status == 408 || (r.status == 0 && r.closed)) << r;
    EXPECT_FALSE(r.timed_out) << "still open after 5 s";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  Client health(s->port);
  EXPECT_EQ(health.Get("/health").status, 200);
}

TEST_F(ServerTest, ConcurrentWritersAndReadersLoseNothing) {
  ServerOptions options = Options();
  options.refresh_interval = 100ms;  // commits race with the writes
  Running* s = Start(options, false, /*seed=*/false);
  ASSERT_NE(s, nullptr);
  constexpr int kWriters = 4;
  constexpr int kReaders = 4;
  constexpr int kBatches = 8;
  constexpr int kBatchSize = 20;
  constexpr int kReplaced = 5;  // lines per batch that replace an earlier id

  struct WriterLog {
    std::map<std::string, std::string> title;  // acknowledged id -> last title
    std::vector<std::string> failures;
  };
  std::vector<WriterLog> logs(kWriters);
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> reads{0};
  std::mutex read_mu;
  std::vector<std::string> read_failures;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      WriterLog& log = logs[w];
      Client client(s->port);
      std::vector<std::string> acked;
      int next = 0;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::pair<std::string, std::string>> lines;  // id, title
        std::set<std::string> in_batch;
        for (int j = 0; j < kBatchSize; ++j) {
          std::string id;
          if (j < kReplaced && !acked.empty()) id = acked[(b * 7 + j * 13) % acked.size()];
          if (id.empty() || in_batch.count(id)) {
            id = std::string("w").append(std::to_string(w)).append("-").append(
                std::to_string(next++));
          }
          in_batch.insert(id);
          lines.emplace_back(id, id + " v" + std::to_string(b));
        }
        std::string body;
        for (const auto& [id, title] : lines) {
          body += DocLine(id, title, "common words from writer" + std::to_string(w));
        }
        const Response r = client.Post("/documents", body);
        if (r.status != 200) {
          log.failures.push_back("batch " + std::to_string(b) + ": " + r.error + " " + r.body);
          continue;
        }
        Json json(r.body);
        simdjson::dom::array items;
        if (!json.ok() || json.root()["items"].get(items) != simdjson::SUCCESS ||
            items.size() != lines.size()) {
          log.failures.push_back("batch " + std::to_string(b) + ": bad body " + r.body);
          continue;
        }
        size_t i = 0;
        for (simdjson::dom::element item : items) {
          const auto& [id, title] = lines[i++];
          int64_t status = 0;
          if (item["status"].get(status) != simdjson::SUCCESS ||
              (status != 200 && status != 201)) {
            log.failures.push_back(id + ": " + simdjson::minify(item));
            continue;
          }
          if (!log.title.count(id)) acked.push_back(id);
          log.title[id] = title;
        }
      }
      --writers_left;
    });
  }
  for (int rd = 0; rd < kReaders; ++rd) {
    threads.emplace_back([&, rd] {
      Client client(s->port);
      for (int n = 0; writers_left.load() > 0; ++n) {
        const Response r =
            n % 5 == 4 ? client.Get("/stats")
                       : client.Post("/search", SearchBody("common writer" + std::to_string(rd),
                                                           "\"k\":20"));
        ++reads;
        bool good = r.status == 200;
        if (good && n % 5 != 4) {
          Json json(r.body);
          simdjson::dom::array hits;
          good = json.ok() && json.root()["hits"].get(hits) == simdjson::SUCCESS &&
                 hits.size() <= 20;
        }
        if (!good) {
          std::lock_guard<std::mutex> lock(read_mu);
          read_failures.push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(logs[w].failures.empty()) << "writer " << w << ": " << logs[w].failures[0];
  }
  EXPECT_TRUE(read_failures.empty()) << read_failures.size() << " reads failed, first: "
                                     << read_failures[0];
  EXPECT_GT(reads.load(), 0);

  std::map<std::string, std::string> all;
  for (const WriterLog& log : logs) all.insert(log.title.begin(), log.title.end());
  ASSERT_GT(all.size(), static_cast<size_t>(kWriters * kBatchSize));

  Client client(s->port);
  const Response refresh = client.Post("/refresh", "");
  ASSERT_EQ(refresh.status, 200) << refresh;
  {
    Json json = ExpectJson(refresh);
    EXPECT_EQ(static_cast<size_t>(Int(json.root(), "documents")), all.size());
  }
  size_t found = 0;
  for (const auto& [id, title] : all) {
    const Response r = client.Get("/documents/" + UrlEncode(id));
    EXPECT_EQ(r.status, 200) << id << "\n" << r;
    if (r.status != 200) continue;
    Json json = ExpectJson(r);
    EXPECT_EQ(Str(json.root(), "id"), id);
    EXPECT_EQ(Str(json.root(), "title"), title) << "not the last acknowledged version";
    ++found;
  }
  EXPECT_EQ(found, all.size());
  const Response stats = client.Get("/stats");
  ASSERT_EQ(stats.status, 200) << stats;
  {
    Json json = ExpectJson(stats);
    EXPECT_EQ(static_cast<size_t>(Int(json.root(), "documents")), all.size());
    EXPECT_EQ(Int(json.root(), "pending_changes"), 0);
  }
  // Each id once among the hits of a term every document holds.
  const Response search =
      client.Post("/search", SearchBody("common", R"("k":10000,"fields":["id"])"));
  ASSERT_EQ(search.status, 200) << search;
  Json json = ExpectJson(search);
  EXPECT_EQ(static_cast<size_t>(Int(json.root(), "total_hits")), all.size());
  std::multiset<std::string> hit_ids;
  for (simdjson::dom::element hit : Arr(json.root(), "hits")) hit_ids.insert(Str(hit, "id"));
  EXPECT_EQ(hit_ids.size(), all.size());
  for (const auto& [id, title] : all) EXPECT_EQ(hit_ids.count(id), 1u) << id;
}

TEST_F(ServerTest, FullWorkQueueAnswers429) {
  ServerOptions options = Options();
  options.worker_threads = 1;
  options.max_queue = 1;
  Running* s = Start(options, true);
  ASSERT_NE(s, nullptr);
  std::string texts = "[";
  for (int i = 0; i < 400; ++i) {
    if (i) texts += ",";
    texts += JsonString("passage " + std::to_string(i) +
                        " about rocket engines, solar power, green tea and sourdough bread "
                        "with many more words so that each pair fills a good part of the "
                        "sequence length the cross-encoder accepts");
  }
  texts += "]";
  const std::string body = "{\"query\":\"rocket power\",\"texts\":" + texts + "}";

  constexpr int kThreads = 12;
  constexpr int kRounds = 3;
  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::string> bad;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Client client(s->port, 30s);
      std::string error;
      if (!client.Open(&error)) {
        std::lock_guard<std::mutex> lock(mu);
        bad.push_back("connect: " + error);
      }
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        const Response r = client.Post("/rerank", body);
        std::lock_guard<std::mutex> lock(mu);
        ++statuses[r.status];
        if (r.status == 429) {
          Json json(r.body);
          int64_t code = 0;
          if (!json.ok() || json.root()["error"]["status"].get(code) != simdjson::SUCCESS ||
              code != 429) {
            bad.push_back("429 without the error body: " + r.body);
          }
        } else if (r.status != 200) {
          std::ostringstream os;
          os << r;
          bad.push_back(os.str());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::ostringstream summary;
  for (const auto& [status, n] : statuses) summary << status << ": " << n << "  ";
  EXPECT_TRUE(bad.empty()) << summary.str() << "\nfirst: " << bad[0];
  EXPECT_GT(statuses[429], 0) << summary.str();
  EXPECT_GT(statuses[200], 0) << summary.str();

  Client client(s->port);
  EXPECT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(client.Post("/rerank", R"({"query":"a","texts":["b","c"]})").status, 200);
  const Response stats = client.Get("/stats");
  ASSERT_EQ(stats.status, 200);
  Json json = ExpectJson(stats);
  EXPECT_EQ(Int(json.root(), "queue_depth"), 0);
}

TEST_F(ServerTest, ShutdownIsNotHeldUpBySlowOrIdleClients) {
  ServerOptions options = Options();
  options.request_timeout = 1000ms;
  Running* s = Start(options, false);
  ASSERT_NE(s, nullptr);
  Client idle(s->port);  // kept alive after one request
  ASSERT_EQ(idle.Get("/health").status, 200);
  Client slow(s->port);  // stops in the middle of its headers
  ASSERT_TRUE(slow.Send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s->server->Shutdown().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  const Response r = slow.Read();
  EXPECT_TRUE(r.status == 408 || r.status == 503 || r.closed) << r;
  EXPECT_FALSE(r.timed_out) << r;
}

TEST_F(ServerTest, ShutdownCommitsPendingWritesAndIsIdempotent) {
  Running* s = Start(Options(), false);
  ASSERT_NE(s, nullptr);
  {
    Client client(s->port);
    const Response r = client.Post("/documents", DocLine("late1", "Late", "written last") +
                                                     DocLine("late2", "Late", "written last"));
    ASSERT_EQ(r.status, 200) << r;
  }
  EXPECT_EQ(s->index->Stats().documents, 8u);
  EXPECT_EQ(s->index->Stats().pending_changes, 2u);
  const uint16_t port = s->port;
  ASSERT_TRUE(s->server->Shutdown().ok());
  EXPECT_EQ(s->index->Stats().documents, 10u);
  EXPECT_EQ(s->index->Stats().pending_changes, 0u);
  EXPECT_TRUE(s->server->Shutdown().ok());
  Client client(port, 2s);
  const Response r = client.Get("/health");
  EXPECT_EQ(r.status, 0) << "still serving after Shutdown\n" << r;
}

// Keyword and numeric fields: declared when the index is created, given
// with POST /documents, filtered on in Lucene syntax, returned with hits
// ("fields") and by GET /documents/{id} (top level, as posted).
TEST_F(ServerTest, KeywordAndNumericFields) {
  OpenOptions open = IndexOptions();
  open.keyword_fields = {"tags"};
  open.numeric_fields = {"year"};
  Running* running = Start(Options(), /*with_model=*/false, /*seed=*/false, open);
  ASSERT_NE(running, nullptr);
  Client client(running->port);

  const std::string body =
      R"({"id":"r1","title":"Rocket","text":"a rocket","tags":["space","Old"],"year":1957})"
      "\n"
      R"({"id":"r2","title":"Rocket two","text":"rocket again","tags":"space","year":[1969,1970.5]})"
      "\n"
      R"({"id":"r3","title":"Bad","text":"rocket","year":"1999"})"
      "\n"
      R"({"id":"r4","title":"Plain rocket","text":"no values"})"
      "\n";
  const Response posted = client.Post("/documents?refresh=true", body);
  ASSERT_EQ(posted.status, 200) << posted;
  {
    Json json = ExpectJson(posted);
    auto items = Arr(json.root(), "items");
    ASSERT_EQ(items.size(), 4u);
    size_t i = 0;
    for (simdjson::dom::element item : items) {
      EXPECT_EQ(Int(item, "status"), i == 2 ? 400 : 201) << posted;
      if (i == 2) {
        EXPECT_NE(Str(item, "error").find("field \"year\": expected a number"),
                  std::string::npos)
            << posted;
      }
      ++i;
    }
  }
  {
    const Response r = client.Post(
        "/search",
        R"({"query":"+rocket +tags:space +year:[1960 TO *]","syntax":"lucene","snippet":2})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 1u) << r;
    simdjson::dom::element hit = *hits.begin();
    EXPECT_EQ(Str(hit, "id"), "r2");
    EXPECT_EQ(Str(hit, "snippet"), "<b>rocket</b> again");
    ASSERT_TRUE(Has(hit, "fields")) << r;
    simdjson::dom::element fields = hit["fields"].value();
    auto tags = Arr(fields, "tags");
    ASSERT_EQ(tags.size(), 1u);
    EXPECT_EQ(std::string((*tags.begin()).get_string().value()), "space");
    auto years = Arr(fields, "year");
    ASSERT_EQ(years.size(), 2u);
  }
  {
    // "fields" in the list chooses them; without it they are left out; a
    // hit without values has none.
    const Response r = client.Post(
        "/search", R"({"query":"rocket","syntax":"lucene","k":5,"fields":["id"]})");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body.find("\"fields\""), std::string::npos) << r;
    EXPECT_EQ(r.body.find("\"snippet\""), std::string::npos) << r;
    ExpectError(client.Post("/search", R"({"query":"rocket","snippet":1001})"), 400);
    const Response all = client.Post("/search", R"({"query":"tags:Old","syntax":"lucene"})");
    ASSERT_EQ(all.status, 200) << all;
    EXPECT_NE(all.body.find(R"("fields":{"tags":["space","Old"],"year":[1957]})"),
              std::string::npos)
        << all;
  }
  {
    const std::string reason = ExpectError(
        client.Post("/search", R"({"query":"tags:[a TO b]","syntax":"lucene"})"), 400);
    EXPECT_NE(reason.find("field \"query\""), std::string::npos) << reason;
    EXPECT_NE(reason.find("keyword field \"tags\""), std::string::npos) << reason;
  }
  {
    const Response r = client.Get("/documents/r2");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.body.find(R"("tags":["space"],"year":[1969,1970.5])"), std::string::npos) << r;
  }
  {
    const Response r = client.Get("/stats");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.body.find(R"("keyword_fields":["tags"],"numeric_fields":["year"])"),
              std::string::npos)
        << r;
  }
  {
    const Response r = client.Post("/delete_by_query?refresh=true",
                                   R"({"query":"tags:space -year:1957","syntax":"lucene"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Int(json.root(), "deleted"), 1) << r;
    ExpectError(client.Get("/documents/r2"), 404);
  }
}

// Text fields over HTTP: posted as top-level strings, searched with and
// without a field, returned in "fields" and by GET /documents/{id}, named
// by /stats, and matched by plain deletes by query.
TEST_F(ServerTest, TextFields) {
  OpenOptions open = IndexOptions();
  open.text_fields = {"title^2", "summary"};
  Running* running = Start(Options(), /*with_model=*/false, /*seed=*/false, open);
  ASSERT_NE(running, nullptr);
  Client client(running->port);
  const std::string body =
      R"({"id":"s1","title":"Rocket","text":"engines","summary":"a history of fuel"})"
      "\n"
      R"({"id":"s2","summary":"only a summary about rockets"})"
      "\n"
      R"({"id":"s3","title":"Bad","summary":["x"]})"
      "\n";
  const Response posted = client.Post("/documents?refresh=true", body);
  ASSERT_EQ(posted.status, 200) << posted;
  EXPECT_NE(posted.body.find(R"(field \"summary\": expected a string, got array)"),
            std::string::npos)
      << posted;
  {
    const Response r = client.Post("/search", R"({"query":"summary:fuel","syntax":"lucene"})");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.body.find(R"("fields":{"summary":"a history of fuel"})"), std::string::npos)
        << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Arr(json.root(), "hits").size(), 1u) << r;
  }
  {
    const Response r = client.Post("/search", R"({"query":"rocket"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 2u) << r;
    EXPECT_EQ(Str(*hits.begin(), "id"), "s1") << r;  // title, weight 2
  }
  {
    const Response r = client.Get("/documents/s2");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.body.find(R"("summary":"only a summary about rockets")"), std::string::npos)
        << r;
    const Response stats = client.Get("/stats");
    EXPECT_NE(stats.body.find(R"("text_fields":["title^2","summary"],"contents_weight":1)"),
              std::string::npos)
        << stats;
  }
  {
    const Response r = client.Post("/delete_by_query?refresh=true", R"({"query":"summary"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Int(json.root(), "deleted"), 1) << r;
    ExpectError(client.Get("/documents/s2"), 404);
  }
}

// A record's other fields ("anything else stored"): given with POST
// /documents, returned verbatim in a hit's "fields" beside the keyword and
// numeric values, and at the top level by GET /documents/{id}.
TEST_F(ServerTest, OtherFieldsComeBackAsGiven) {
  OpenOptions open = IndexOptions();
  open.keyword_fields = {"tags"};
  Running* running = Start(Options(), /*with_model=*/false, /*seed=*/false, open);
  ASSERT_NE(running, nullptr);
  Client client(running->port);

  const std::string body =
      R"({"id":"e1","title":"Rocket","text":"a rocket","tags":["space"],"author":"Ann \u00e9",)"
      R"( "price": 1.50, "meta": {"a": [1, 2], "ok": true}, "none": null, "n": -3})"
      "\n"
      R"({"id":"e2","title":"Plain","text":"rocket without others"})"
      "\n"
      R"({"id":"e3","title":"Bad","text":"rocket","meta":{"a":}})"
      "\n";
  const Response posted = client.Post("/documents?refresh=true", body);
  ASSERT_EQ(posted.status, 200) << posted;
  {
    Json json = ExpectJson(posted);
    auto items = Arr(json.root(), "items");
    ASSERT_EQ(items.size(), 3u);
    size_t i = 0;
    for (simdjson::dom::element item : items) {
      EXPECT_EQ(Int(item, "status"), i == 2 ? 400 : 201) << posted;
      if (i == 2) {
        EXPECT_EQ(Str(item, "error").rfind("invalid JSON", 0), 0u) << posted;
      }
      ++i;
    }
  }
  const std::map<std::string, std::string> want = {
      {"author", "\"Ann \\u00e9\""},
      {"price", "1.50"},
      {"meta", R"({"a":[1,2],"ok":true})"},
      {"none", "null"},
      {"n", "-3"}};
  {
    const Response r = client.Post("/search", R"({"query":"+rocket +tags:space","syntax":"lucene"})");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    auto hits = Arr(json.root(), "hits");
    ASSERT_EQ(hits.size(), 1u) << r;
    simdjson::dom::element hit = *hits.begin();
    EXPECT_EQ(Str(hit, "id"), "e1");
    ASSERT_TRUE(Has(hit, "fields")) << r;
    simdjson::dom::object fields = hit["fields"].get_object().value();
    std::vector<std::string> names;
    for (auto field : fields) names.emplace_back(field.key);
    // Keyword values first (arrays), then the others in input order.
    EXPECT_EQ(names, (std::vector<std::string>{"tags", "author", "price", "meta", "none", "n"}));
    EXPECT_EQ(std::string(hit["fields"]["author"].get_string().value()), "Ann \xC3\xA9");
    EXPECT_EQ(hit["fields"]["price"].get_double().value(), 1.5);
    EXPECT_EQ(hit["fields"]["meta"]["a"].get_array().size(), 2u);
    EXPECT_TRUE(hit["fields"]["none"].is_null());
    EXPECT_EQ(hit["fields"]["n"].get_int64().value(), -3);
    // Verbatim: each value spelt as given (whitespace outside strings gone).
    std::string spelt = R"("fields":{"tags":["space"])";
    for (const char* name : {"author", "price", "meta", "none", "n"}) {
      spelt += ",\"" + std::string(name) + "\":" + want.at(name);
    }
    EXPECT_NE(r.body.find(spelt + "}"), std::string::npos) << r;
  }
  {
    // A hit without other fields or values has no "fields"; without
    // "fields" in the list none come back.
    const Response r = client.Post("/search", R"({"query":"without"})");
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_NE(r.body.find(R"("id":"e2")"), std::string::npos) << r;
    EXPECT_EQ(r.body.find("\"fields\""), std::string::npos) << r;
    const Response ids = client.Post("/search", R"({"query":"rocket","fields":["id"]})");
    ASSERT_EQ(ids.status, 200) << ids;
    EXPECT_EQ(ids.body.find("\"fields\""), std::string::npos) << ids;
    EXPECT_EQ(ids.body.find("author"), std::string::npos) << ids;
  }
  {
    const Response r = client.Get("/documents/e1");
    ASSERT_EQ(r.status, 200) << r;
    Json json = ExpectJson(r);
    EXPECT_EQ(Str(json.root(), "id"), "e1");
    std::string spelt = R"("tags":["space"])";
    for (const char* name : {"author", "price", "meta", "none", "n"}) {
      spelt += ",\"" + std::string(name) + "\":" + want.at(name);
    }
    EXPECT_NE(r.body.find(spelt + "}"), std::string::npos) << r;
  }
}

}  // namespace
}  // namespace cascade::http
