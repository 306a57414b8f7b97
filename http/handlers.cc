#include "http/handlers.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <vector>

#include "http/json.h"
#include "query/cascade_spec.h"

namespace cascade::http {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string MillisText(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", ms);
  return buf;
}

// simdjson elements point into their parser, which is reused by the next
// parse on the same thread; each worker thread keeps its own.
simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Header values must not carry CR or LF (they would end the header).
std::string HeaderSafe(std::string_view text) {
  std::string out;
  out.reserve(std::min<size_t>(text.size(), 200));
  for (char c : text.substr(0, 200)) {
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Request bodies.

struct SearchRequest {
  std::string query;
  int64_t k = 10;
  int64_t offset = 0;
  std::optional<double> k1;
  std::optional<double> b;
  bool want_id = true;
  bool want_score = true;
  bool want_title = true;
  bool want_text = false;
  bool want_fields = true;  // the hit's keyword, numeric and other fields
  int64_t snippet = 0;      // words of each hit's snippet; 0: none
  bool explain = false;
  std::string cascade;  // "" = the index's default
  std::optional<double> tilde_alpha;
  std::string long_passages = "truncate";
  std::optional<int64_t> chunk_overlap;
  std::string syntax = "plain";  // or "lucene"
  // Dense retrieval (SearchOptions' fields of the same names).
  std::string mode = "bm25";  // or "dense", "hybrid"
  std::vector<float> vector;
  bool has_vector = false;
  std::string vector_field;
  int64_t nprobe = 0;
  bool quantized = false;
  int64_t rescore = 4;
  int64_t dense_depth = 100;
  std::string fusion = "rrf";
  double rrf_k = 60;
  double dense_weight = 0.5;
  std::string normalization = "minmax";
  // Dense options that only apply in some modes, seen in the body, so that
  // one sent with the wrong mode is refused rather than silently ignored.
  std::string dense_only_field;   // needs mode dense or hybrid
  std::string hybrid_only_field;  // needs mode hybrid
};

// "vector": an array of 1..kMaxVectorDimension finite float32 numbers.
Status ParseVector(const simdjson::dom::element& value, SearchRequest* req) {
  simdjson::dom::array array;
  if (value.get(array) != simdjson::SUCCESS) {
    return FieldError("vector", std::string("expected an array of numbers, got ") +
                                    JsonTypeName(value.type()));
  }
  const size_t n = array.size();
  if (n < 1 || n > static_cast<size_t>(kMaxVectorDimension)) {
    return FieldError("vector", "must hold 1 to " + std::to_string(kMaxVectorDimension) +
                                    " numbers, got " + std::to_string(n));
  }
  req->vector.clear();
  req->vector.reserve(n);
  for (simdjson::dom::element item : array) {
    double x;
    if (item.get(x) != simdjson::SUCCESS) {
      return FieldError("vector", "value " + std::to_string(req->vector.size()) +
                                      ": expected a number, got " + JsonTypeName(item.type()));
    }
    if (!std::isfinite(x) || std::fabs(x) > std::numeric_limits<float>::max()) {
      return FieldError("vector", "value " + std::to_string(req->vector.size()) +
                                      " is not a finite float");
    }
    req->vector.push_back(static_cast<float>(x));
  }
  req->has_vector = true;
  return Status::OK();
}

// The fields of "mode" dense and hybrid; false when `key` is none of them.
Result<bool> ParseDenseField(std::string_view key, const simdjson::dom::element& value,
                             SearchRequest* req) {
  if (key == "mode") {
    CASCADE_ASSIGN_OR_RETURN(std::string_view mode, ReadString(value, "mode"));
    if (mode != "bm25" && mode != "dense" && mode != "hybrid") {
      return FieldError("mode", "expected \"bm25\", \"dense\" or \"hybrid\"");
    }
    req->mode.assign(mode);
  } else if (key == "vector") {
    CASCADE_RETURN_IF_ERROR(ParseVector(value, req));
  } else if (key == "vector_field") {
    CASCADE_ASSIGN_OR_RETURN(std::string_view field, ReadString(value, "vector_field"));
    if (field.empty()) return FieldError("vector_field", "must not be empty");
    req->vector_field.assign(field);
  } else if (key == "nprobe") {
    CASCADE_ASSIGN_OR_RETURN(req->nprobe, ReadInt(value, "nprobe", 0, kMaxNprobe));
  } else if (key == "quantized") {
    CASCADE_ASSIGN_OR_RETURN(req->quantized, ReadBool(value, "quantized"));
  } else if (key == "rescore") {
    CASCADE_ASSIGN_OR_RETURN(req->rescore, ReadInt(value, "rescore", 1, kMaxRescore));
  } else if (key == "dense_depth") {
    CASCADE_ASSIGN_OR_RETURN(req->dense_depth,
                             ReadInt(value, "dense_depth", 1, kMaxSearchHits));
  } else if (key == "fusion") {
    CASCADE_ASSIGN_OR_RETURN(std::string_view fusion, ReadString(value, "fusion"));
    if (fusion != "rrf" && fusion != "weighted") {
      return FieldError("fusion", "expected \"rrf\" or \"weighted\"");
    }
    req->fusion.assign(fusion);
  } else if (key == "rrf_k") {
    CASCADE_ASSIGN_OR_RETURN(req->rrf_k, ReadNumber(value, "rrf_k"));
    if (!(req->rrf_k > 0) || !std::isfinite(req->rrf_k)) {
      return FieldError("rrf_k", "must be a finite number > 0");
    }
  } else if (key == "dense_weight") {
    CASCADE_ASSIGN_OR_RETURN(req->dense_weight, ReadNumber(value, "dense_weight"));
    if (!(req->dense_weight >= 0 && req->dense_weight <= 1)) {
      return FieldError("dense_weight", "must be between 0 and 1");
    }
  } else if (key == "normalization") {
    CASCADE_ASSIGN_OR_RETURN(std::string_view norm, ReadString(value, "normalization"));
    if (norm != "minmax" && norm != "zscore") {
      return FieldError("normalization", "expected \"minmax\" or \"zscore\"");
    }
    req->normalization.assign(norm);
  } else {
    return false;
  }
  if (key == "dense_depth" || key == "fusion" || key == "rrf_k" || key == "dense_weight" ||
      key == "normalization") {
    req->hybrid_only_field.assign(key);
  } else if (key != "mode") {
    req->dense_only_field.assign(key);
  }
  return true;
}

// The rules between fields that ParseDenseField cannot check alone.
Status CheckDenseRequest(const SearchRequest& req, bool has_query, bool has_rerank) {
  if (req.mode == "bm25") {
    if (!req.dense_only_field.empty() || !req.hybrid_only_field.empty()) {
      const std::string& field =
          req.dense_only_field.empty() ? req.hybrid_only_field : req.dense_only_field;
      return FieldError(field, "needs \"mode\": \"dense\" or \"hybrid\"");
    }
    if (!has_query) return Status::InvalidArgument("missing required field \"query\"");
    return Status::OK();
  }
  if (req.mode == "dense" && !req.hybrid_only_field.empty()) {
    return FieldError(req.hybrid_only_field, "needs \"mode\": \"hybrid\"");
  }
  if (has_rerank) {
    return FieldError("rerank", "rerank stages do not run with \"mode\": \"" + req.mode + "\"");
  }
  if (req.mode == "hybrid" && req.query.find_first_not_of(" \t\r\n") == std::string::npos) {
    return FieldError("query", "\"mode\": \"hybrid\" needs query text as well as a vector");
  }
  return Status::OK();
}

// "name": [values] for each keyword and numeric field, then "name": value
// for each other stored field (its JSON as indexed), into an open object.
void AppendFieldValues(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& keywords,
    const std::vector<std::pair<std::string, std::vector<double>>>& numbers,
    const std::vector<std::pair<std::string, std::string>>& texts,
    const std::vector<std::pair<std::string, std::string>>& extra, JsonWriter& json) {
  for (const auto& [field, values] : keywords) {
    json.Key(field).BeginArray();
    for (const std::string& v : values) json.String(v);
    json.EndArray();
  }
  for (const auto& [field, values] : numbers) {
    json.Key(field).BeginArray();
    for (double v : values) json.Double(v);
    json.EndArray();
  }
  for (const auto& [field, value] : texts) json.Key(field).String(value);
  // Validated JSON when the document was added (index::CheckExtraJson).
  for (const auto& [field, value] : extra) json.Key(field).Raw(value);
}

Status ParseFieldList(const simdjson::dom::element& value, SearchRequest* req) {
  simdjson::dom::array array;
  if (value.get(array) != simdjson::SUCCESS) {
    return FieldError("fields", std::string("expected an array, got ") +
                                    JsonTypeName(value.type()));
  }
  req->want_id = req->want_score = req->want_title = req->want_text = req->want_fields = false;
  for (simdjson::dom::element item : array) {
    std::string_view name;
    if (item.get(name) != simdjson::SUCCESS) {
      return FieldError("fields", std::string("expected an array of strings, got ") +
                                      JsonTypeName(item.type()) + " in it");
    }
    if (name == "id") {
      req->want_id = true;
    } else if (name == "score") {
      req->want_score = true;
    } else if (name == "title") {
      req->want_title = true;
    } else if (name == "text") {
      req->want_text = true;
    } else if (name == "fields") {
      req->want_fields = true;
    } else {
      std::string what = "unknown field name \"";
      what.append(name);
      what.append("\" (use id, score, title, text, fields)");
      return FieldError("fields", what);
    }
  }
  return Status::OK();
}

// "rerank": a cascade spec ("bm25:100,tilde:50,ce:10", query/cascade_spec.h)
// or the short form {"depth": N} = "bm25:N,ce:N".
Status ParseRerankOption(const simdjson::dom::element& value,
                         SearchRequest* req) {
  std::string_view spec;
  if (value.get(spec) == simdjson::SUCCESS) {
    Result<std::vector<query::StageSpec>> stages = query::ParseCascadeSpec(spec);
    if (!stages.ok()) return FieldError("rerank", stages.status().message());
    if (stages->front().depth > static_cast<size_t>(kMaxSearchHits)) {
      return FieldError("rerank", "first stage depth over " + std::to_string(kMaxSearchHits));
    }
    for (size_t i = 1; i < stages->size(); ++i) {
      if ((*stages)[i].depth > static_cast<size_t>(kMaxRerankDepth)) {
        return FieldError("rerank", "stage " + std::to_string(i + 1) + " depth over " +
                                        std::to_string(kMaxRerankDepth));
      }
    }
    req->cascade = query::FormatCascadeSpec(*stages);
    return Status::OK();
  }
  simdjson::dom::object object;
  if (value.get(object) != simdjson::SUCCESS) {
    return FieldError("rerank", std::string("expected a cascade string or an object, got ") +
                                    JsonTypeName(value.type()));
  }
  CASCADE_RETURN_IF_ERROR(CheckFields(object, {"depth", "model"}, "rerank."));
  int64_t depth = 100;
  for (simdjson::dom::key_value_pair field : object) {
    if (field.key == "depth") {
      CASCADE_ASSIGN_OR_RETURN(depth,
                               ReadInt(field.value, "rerank.depth", 1, kMaxRerankDepth));
    } else {
      CASCADE_ASSIGN_OR_RETURN(std::string_view model,
                               ReadString(field.value, "rerank.model"));
      if (model != "ce") {
        return FieldError("rerank.model", "unknown model \"" + std::string(model) +
                                              "\" (the server has \"ce\")");
      }
    }
  }
  req->cascade = "bm25:" + std::to_string(depth) + ",ce:" + std::to_string(depth);
  return Status::OK();
}

Result<SearchRequest> ParseSearch(std::string_view body) {
  simdjson::dom::object object;
  CASCADE_RETURN_IF_ERROR(ParseObject(ThreadParser(), body, &object));
  SearchRequest req;
  bool has_query = false;
  bool has_rerank = false;
  for (simdjson::dom::key_value_pair field : object) {
    const std::string_view key = field.key;
    const simdjson::dom::element& value = field.value;
    CASCADE_ASSIGN_OR_RETURN(bool dense_field, ParseDenseField(key, value, &req));
    if (dense_field) continue;
    if (key == "query") {
      CASCADE_ASSIGN_OR_RETURN(std::string_view query, ReadString(value, "query"));
      if (query.size() > kMaxQueryBytes) {
        return FieldError("query", "longer than " + std::to_string(kMaxQueryBytes) +
                                       " bytes (" + std::to_string(query.size()) + ")");
      }
      req.query.assign(query);
      has_query = true;
    } else if (key == "k") {
      CASCADE_ASSIGN_OR_RETURN(req.k, ReadInt(value, "k", 1, kMaxSearchHits));
    } else if (key == "offset") {
      CASCADE_ASSIGN_OR_RETURN(req.offset,
                               ReadInt(value, "offset", 0, kMaxSearchHits - 1));
    } else if (key == "k1") {
      CASCADE_ASSIGN_OR_RETURN(double k1, ReadNumber(value, "k1"));
      if (!(k1 >= 0) || !std::isfinite(k1)) return FieldError("k1", "must be >= 0");
      req.k1 = k1;
    } else if (key == "b") {
      CASCADE_ASSIGN_OR_RETURN(double b, ReadNumber(value, "b"));
      if (!(b >= 0 && b <= 1)) return FieldError("b", "must be between 0 and 1");
      req.b = b;
    } else if (key == "fields") {
      CASCADE_RETURN_IF_ERROR(ParseFieldList(value, &req));
    } else if (key == "explain") {
      CASCADE_ASSIGN_OR_RETURN(req.explain, ReadBool(value, "explain"));
    } else if (key == "snippet") {
      CASCADE_ASSIGN_OR_RETURN(req.snippet, ReadInt(value, "snippet", 0, 1000));
    } else if (key == "rerank") {
      CASCADE_RETURN_IF_ERROR(ParseRerankOption(value, &req));
      has_rerank = true;
    } else if (key == "tilde_alpha") {
      CASCADE_ASSIGN_OR_RETURN(double alpha, ReadNumber(value, "tilde_alpha"));
      if (!(alpha >= 0 && alpha <= 1)) {
        return FieldError("tilde_alpha", "must be between 0 and 1");
      }
      req.tilde_alpha = alpha;
    } else if (key == "long_passages") {
      CASCADE_ASSIGN_OR_RETURN(std::string_view mode, ReadString(value, "long_passages"));
      if (mode != "truncate" && mode != "chunk") {
        return FieldError("long_passages", "expected \"truncate\" or \"chunk\"");
      }
      req.long_passages.assign(mode);
    } else if (key == "chunk_overlap") {
      CASCADE_ASSIGN_OR_RETURN(req.chunk_overlap,
                               ReadInt(value, "chunk_overlap", 0, kMaxChunkOverlap));
    } else if (key == "syntax") {
      CASCADE_ASSIGN_OR_RETURN(std::string_view syntax, ReadString(value, "syntax"));
      if (syntax != "plain" && syntax != "lucene") {
        return FieldError("syntax", "expected \"plain\" or \"lucene\"");
      }
      req.syntax.assign(syntax);
    } else {
      return Status::InvalidArgument("unknown field \"" + std::string(key) + "\"");
    }
  }
  // Dense searches may leave out "query" (plain kNN); BM25 needs it.
  CASCADE_RETURN_IF_ERROR(CheckDenseRequest(req, has_query, has_rerank));
  if (req.k + req.offset > kMaxSearchHits) {
    return FieldError("offset", "k + offset must be at most " +
                                    std::to_string(kMaxSearchHits));
  }
  return req;
}

struct RerankRequest {
  std::string_view query;           // points into the thread's parser
  std::vector<std::string_view> texts;
  bool truncate = true;
};

Result<RerankRequest> ParseRerank(std::string_view body) {
  simdjson::dom::object object;
  CASCADE_RETURN_IF_ERROR(ParseObject(ThreadParser(), body, &object));
  RerankRequest req;
  bool has_query = false;
  bool has_texts = false;
  for (simdjson::dom::key_value_pair field : object) {
    const std::string_view key = field.key;
    const simdjson::dom::element& value = field.value;
    if (key == "query") {
      CASCADE_ASSIGN_OR_RETURN(req.query, ReadString(value, "query"));
      has_query = true;
    } else if (key == "texts") {
      simdjson::dom::array array;
      if (value.get(array) != simdjson::SUCCESS) {
        return FieldError("texts", std::string("expected an array of strings, got ") +
                                       JsonTypeName(value.type()));
      }
      const size_t n = array.size();
      if (n < 1 || n > static_cast<size_t>(kMaxRerankTexts)) {
        return FieldError("texts", "must hold 1 to " + std::to_string(kMaxRerankTexts) +
                                       " texts, got " + std::to_string(n));
      }
      req.texts.clear();
      req.texts.reserve(n);
      for (simdjson::dom::element item : array) {
        std::string_view text;
        if (item.get(text) != simdjson::SUCCESS) {
          return FieldError("texts[" + std::to_string(req.texts.size()) + "]",
                            std::string("expected a string, got ") +
                                JsonTypeName(item.type()));
        }
        req.texts.push_back(text);
      }
      has_texts = true;
    } else if (key == "truncate") {
      CASCADE_ASSIGN_OR_RETURN(req.truncate, ReadBool(value, "truncate"));
    } else {
      return Status::InvalidArgument("unknown field \"" + std::string(key) + "\"");
    }
  }
  if (!has_query) return Status::InvalidArgument("missing required field \"query\"");
  if (!has_texts) return Status::InvalidArgument("missing required field \"texts\"");
  return req;
}

void AppendEncoding(const rerank::Encoding& encoding, gpu::PairBatch* batch) {
  batch->token_ids.insert(batch->token_ids.end(), encoding.ids.begin(),
                          encoding.ids.end());
  batch->segment_ids.insert(batch->segment_ids.end(), encoding.type_ids.begin(),
                            encoding.type_ids.end());
  batch->offsets.push_back(static_cast<int32_t>(batch->token_ids.size()));
}

// Sort key of a model score: NaN ranks last.
float ScoreKey(float score) {
  return std::isnan(score) ? -std::numeric_limits<float>::infinity() : score;
}

// A failed dense or hybrid search, named by the request field at fault
// where the engine's message says which (its checks run after the
// request's own: dimension, IVF lists, the field's existence).
Status DenseSearchError(const Status& status) {
  const std::string& message = status.message();
  if (message.find("has no vector fields") != std::string::npos) {
    return FieldError("mode", message);
  }
  if (message.find("no vector field") != std::string::npos) {  // NotFound
    return FieldError("vector_field", message);
  }
  if (!status.IsInvalidArgument()) return status;
  if (message.starts_with("query vector") ||
      message.find("needs a query vector") != std::string::npos) {
    return FieldError("vector", message);
  }
  if (message.find("no IVF index") != std::string::npos) return FieldError("nprobe", message);
  // The server's embedding model does not fit the field searched.
  if (message.starts_with("embedding model")) return FieldError("vector_field", message);
  if (message.starts_with("query")) return FieldError("query", message);
  return status;
}

// The "refresh" query parameter of a write: absent, "false" or "0" is
// false; bare, "true" or "1" is true; anything else InvalidArgument.
Result<bool> ParseRefreshParam(std::string_view query) {
  Result<std::optional<std::string>> param = QueryParam(query, "refresh");
  if (!param.ok()) {
    return Status::InvalidArgument("query parameter \"refresh\": " +
                                   param.status().message());
  }
  if (!param->has_value()) return false;
  const std::string& v = **param;
  if (v.empty() || v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return Status::InvalidArgument("query parameter \"refresh\": expected true or false");
}

struct DeleteByQueryRequest {
  std::string query;
  std::string syntax = "plain";
};

// {"query": "...", "syntax": "plain"|"lucene"}; "query" is required.
Result<DeleteByQueryRequest> ParseDeleteByQuery(std::string_view body) {
  simdjson::dom::object object;
  CASCADE_RETURN_IF_ERROR(ParseObject(ThreadParser(), body, &object));
  DeleteByQueryRequest req;
  bool has_query = false;
  for (simdjson::dom::key_value_pair field : object) {
    const std::string_view key = field.key;
    if (key == "query") {
      CASCADE_ASSIGN_OR_RETURN(std::string_view query, ReadString(field.value, "query"));
      if (query.size() > kMaxQueryBytes) {
        return FieldError("query", "longer than " + std::to_string(kMaxQueryBytes) +
                                       " bytes (" + std::to_string(query.size()) + ")");
      }
      req.query.assign(query);
      has_query = true;
    } else if (key == "syntax") {
      CASCADE_ASSIGN_OR_RETURN(std::string_view syntax, ReadString(field.value, "syntax"));
      if (syntax != "plain" && syntax != "lucene") {
        return FieldError("syntax", "expected \"plain\" or \"lucene\"");
      }
      req.syntax.assign(syntax);
    } else {
      return Status::InvalidArgument("unknown field \"" + std::string(key) + "\"");
    }
  }
  if (!has_query) return FieldError("query", "is required");
  return req;
}

std::string NotFoundReason(const std::string& id) {
  std::string reason = "document ";
  AppendJsonString(&reason, id);
  reason.append(" not found");
  return reason;
}

}  // namespace

Handlers::Handlers(std::shared_ptr<Index> index,
                   std::shared_ptr<rerank::BatchQueue> rerank, Metrics* metrics,
                   std::function<size_t()> queue_depth)
    : index_(std::move(index)),
      rerank_(std::move(rerank)),
      metrics_(metrics),
      queue_depth_(std::move(queue_depth)) {}

Response Handlers::Handle(const RouteMatch& match, std::string_view method,
                          std::string_view body) {
  switch (match.route) {
    case Route::kHealth:
      return JsonResponse("{\"status\":\"ok\"}");
    case Route::kStats:
      return Stats();
    case Route::kMetrics:
      return MetricsText();
    case Route::kSearch:
      return Search(body);
    case Route::kDocuments:
      return AddDocuments(match.query, body);
    case Route::kDocument:
      if (method == "DELETE") return DeleteDocument(match.id);
      return GetDocument(match.id);
    case Route::kRefresh:
      return RefreshEndpoint();
    case Route::kDeleteByQuery:
      return DeleteByQuery(match.query, body);
    case Route::kRerank:
      return Rerank(body);
    case Route::kNone:
      break;
  }
  return ErrorResponse(Status::NotFound("unknown path"));
}

Gauges Handlers::CurrentGauges() const {
  Gauges gauges;
  gauges.queue_depth = queue_depth_ ? queue_depth_() : 0;
  gauges.rerank_queue_depth = rerank_ ? rerank_->depth() : 0;
  gauges.documents = index_->Stats().documents;
  return gauges;
}

Response Handlers::Stats() {
  const IndexStats stats = index_->Stats();
  JsonWriter json;
  json.BeginObject();
  json.Key("documents").Uint(stats.documents);
  json.Key("deleted_documents").Uint(stats.deleted_documents);
  json.Key("segments").Uint(stats.segments);
  json.Key("average_length").Double(stats.average_length);
  json.Key("format_version").Uint(stats.format_version);
  json.Key("pending_changes").Uint(stats.pending_changes);
  json.Key("uncommitted_changes").Bool(stats.uncommitted_changes);
  json.Key("positions").Bool(stats.positions);
  json.Key("tilde").Bool(stats.tilde);
  json.Key("vector_fields").BeginArray();
  for (const std::string& field : stats.vector_fields) json.String(field);
  json.EndArray();
  json.Key("keyword_fields").BeginArray();
  for (const std::string& field : stats.keyword_fields) json.String(field);
  json.EndArray();
  json.Key("numeric_fields").BeginArray();
  for (const std::string& field : stats.numeric_fields) json.String(field);
  json.EndArray();
  json.Key("text_fields").BeginArray();
  for (const std::string& field : stats.text_fields) json.String(field);
  json.EndArray();
  json.Key("contents_weight").Double(stats.contents_weight);
  json.Key("text_field_average_lengths").BeginArray();
  for (double length : stats.text_field_average_lengths) json.Double(length);
  json.EndArray();
  // Bytes per RocksDB column family: table files on disk, and writes still
  // in memtables (on disk in the write-ahead log meanwhile).
  json.Key("column_families").BeginObject();
  for (const ColumnFamilyStats& cf : stats.column_families) {
    json.Key(cf.name).BeginObject();
    json.Key("table_bytes").Uint(cf.table_bytes);
    json.Key("memtable_bytes").Uint(cf.memtable_bytes);
    json.EndObject();
  }
  json.EndObject();
  json.Key("queue_depth").Uint(queue_depth_ ? queue_depth_() : 0);
  json.Key("rerank_queue_depth").Uint(rerank_ ? rerank_->depth() : 0);
  json.EndObject();
  return JsonResponse(json.Take());
}

Response Handlers::MetricsText() {
  Response response;
  response.body = metrics_->Render(CurrentGauges());
  response.content_type = "text/plain; version=0.0.4";
  return response;
}

Response Handlers::Search(std::string_view body) {
  const auto start = Clock::now();
  Result<SearchRequest> parsed = ParseSearch(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const SearchRequest& req = *parsed;

  SearchOptions options;
  options.k1 = req.k1;
  options.b = req.b;
  options.k = static_cast<size_t>(req.k);
  options.offset = static_cast<size_t>(req.offset);
  options.load_text = req.want_text;
  options.snippet_words = static_cast<size_t>(req.snippet);
  options.explain = req.explain;
  options.cascade = req.cascade;
  if (req.tilde_alpha) options.tilde_alpha = *req.tilde_alpha;
  options.long_passages = req.long_passages;
  if (req.chunk_overlap) options.chunk_overlap = static_cast<size_t>(*req.chunk_overlap);
  options.syntax = req.syntax;
  options.mode = req.mode;
  options.vector = req.vector;
  options.vector_field = req.vector_field;
  options.nprobe = static_cast<size_t>(req.nprobe);
  options.quantized = req.quantized;
  options.rescore = static_cast<size_t>(req.rescore);
  options.dense_depth = static_cast<size_t>(req.dense_depth);
  options.fusion = req.fusion;
  options.rrf_k = req.rrf_k;
  options.dense_weight = req.dense_weight;
  options.normalization = req.normalization;
  Result<SearchResult> result = index_->Search(req.query, options);
  if (!result.ok() && req.mode != "bm25") {
    return ErrorResponse(DenseSearchError(result.status()));
  }
  if (!result.ok()) {
    // A Lucene syntax error, or a construct this index cannot run yet (a
    // phrase, a range), is the request's mistake: name the field.
    if (req.syntax == "lucene" &&
        ((result.status().IsNotSupported() &&
          result.status().message().find("query") != std::string::npos) ||
         (result.status().IsInvalidArgument() &&
          result.status().message().find(" at column ") != std::string::npos) ||
         result.status().message().starts_with("query syntax error") ||
         result.status().message().starts_with("query too"))) {
      return ErrorResponse(FieldError("query", result.status().message()));
    }
    // A stage that cannot run is the request's mistake: name the field.
    if (result.status().IsInvalidArgument() &&
        result.status().message().find("stage") != std::string::npos) {
      return ErrorResponse(FieldError("rerank", result.status().message()));
    }
    return ErrorResponse(result.status());
  }
  std::string stage_errors;
  for (const StageInfo& stage : result->stages) {
    metrics_->RecordStage(stage.stage, stage.took_ms / 1000);
    if (!stage.error.empty()) {
      if (!stage_errors.empty()) stage_errors += "; ";
      stage_errors += stage.stage + ": " + stage.error;
    }
  }

  const double took_ms = MillisSince(start);
  JsonWriter json;
  json.BeginObject();
  json.Key("took_ms").Millis(took_ms);
  json.Key("total_hits").Uint(result->total_hits);
  // False when pruning stopped counting: total_hits is then a lower bound.
  json.Key("total_hits_exact").Bool(result->total_hits_exact);
  json.Key("cascade").String(result->cascade);
  json.Key("hits").BeginArray();
  for (const Hit& hit : result->hits) {
    json.BeginObject();
    if (req.want_id) json.Key("id").String(hit.id);
    if (req.want_score) json.Key("score").Float(hit.score);
    if (req.want_title) json.Key("title").String(hit.title);
    if (req.want_text) json.Key("text").String(hit.text);
    if (req.snippet > 0) json.Key("snippet").String(hit.snippet);
    if (req.want_fields &&
        (!hit.keywords.empty() || !hit.numbers.empty() || !hit.texts.empty() ||
         !hit.extra.empty())) {
      // Keyword and numeric values always as arrays, whether the document
      // gave one or several; other fields as the document gave them.
      json.Key("fields").BeginObject();
      AppendFieldValues(hit.keywords, hit.numbers, hit.texts, hit.extra, json);
      json.EndObject();
    }
    if (req.explain) {
      // "<stage>_rank" (1-based) and "<stage>_score" for every stage that
      // scored the hit.
      json.Key("explain").BeginObject();
      for (const StageScore& stage : hit.explain) {
        if (!stage.scored) continue;
        json.Key(stage.stage + "_rank").Uint(stage.rank);
        json.Key(stage.stage + "_score").Float(stage.score);
      }
      json.EndObject();
    }
    json.EndObject();
  }
  json.EndArray();
  json.Key("timings").BeginObject();
  for (const StageInfo& stage : result->stages) {
    json.Key(stage.stage + "_ms").Millis(stage.took_ms);
  }
  json.EndObject();
  json.Key("stages").BeginArray();
  for (const StageInfo& stage : result->stages) {
    json.BeginObject();
    json.Key("stage").String(stage.stage);
    json.Key("depth").Uint(stage.depth);
    json.Key("candidates").Uint(stage.candidates);
    json.Key("scored").Uint(stage.scored);
    json.Key("took_ms").Millis(stage.took_ms);
    if (stage.budget_ms) json.Key("budget_ms").Double(*stage.budget_ms);
    json.Key("budget_exhausted").Bool(stage.budget_exhausted);
    if (!stage.error.empty()) json.Key("error").String(stage.error);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();

  Response response = JsonResponse(json.Take());
  response.headers.emplace_back("x-took-ms", MillisText(took_ms));
  for (const StageInfo& stage : result->stages) {
    response.headers.emplace_back("x-stage-" + stage.stage + "-ms",
                                  MillisText(stage.took_ms));
  }
  if (!stage_errors.empty()) {
    response.headers.emplace_back("x-rerank-error", HeaderSafe(stage_errors));
  }
  return response;
}

Result<bool> Handlers::ExistsLocked(const std::string& id) {
  auto it = touched_.find(id);
  if (it != touched_.end()) return it->second;
  CASCADE_ASSIGN_OR_RETURN(std::optional<Document> doc, index_->Get(id));
  return doc.has_value();
}

Response Handlers::AddDocuments(std::string_view query, std::string_view body) {
  const auto start = Clock::now();
  Result<bool> refresh_param = ParseRefreshParam(query);
  if (!refresh_param.ok()) return ErrorResponse(refresh_param.status());
  const bool refresh = *refresh_param;

  JsonWriter items;
  items.BeginArray();
  bool errors = false;
  {
    std::lock_guard lock(writes_mu_);
    uint64_t line_number = 0;
    size_t pos = 0;
    Document doc;
    while (pos < body.size()) {
      const size_t newline = body.find('\n', pos);
      std::string_view line = body.substr(
          pos, newline == std::string_view::npos ? std::string_view::npos
                                                 : newline - pos);
      pos = newline == std::string_view::npos ? body.size() : newline + 1;
      ++line_number;
      if (line_number == 1 && line.starts_with(kUtf8Bom)) {
        line.remove_prefix(kUtf8Bom.size());
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (IsBlank(line)) continue;

      items.BeginObject();
      items.Key("line").Uint(line_number);
      // The corpus reader's rules and messages; ids must be strings here
      // (a client gets its own id back unchanged, never a converted number).
      Result<Document> parsed = index_->ParseDocument(line, /*numeric_ids=*/false);
      if (!parsed.ok()) {
        items.Key("status").Int(400).Key("error").String(parsed.status().message());
        items.EndObject();
        errors = true;
        continue;
      }
      doc = std::move(*parsed);
      items.Key("id").String(doc.id);
      Result<bool> existed = ExistsLocked(doc.id);
      Status added = existed.ok() ? index_->Add(doc) : existed.status();
      if (!added.ok()) {
        items.Key("status").Int(HttpStatusFor(added));
        items.Key("error").String(added.message()).EndObject();
        errors = true;
        continue;
      }
      touched_[doc.id] = true;
      items.Key("status").Int(*existed ? 200 : 201).EndObject();
    }
    if (refresh) {
      Status committed = index_->Commit();
      if (!committed.ok()) return ErrorResponse(committed);
      touched_.clear();
    }
  }
  items.EndArray();

  JsonWriter json;
  json.BeginObject();
  json.Key("took_ms").Millis(MillisSince(start));
  json.Key("errors").Bool(errors);
  std::string out = json.Take();
  out.append(",\"items\":");
  out.append(items.str());
  out.push_back('}');
  return JsonResponse(std::move(out));
}

Response Handlers::GetDocument(const std::string& id) {
  Result<std::optional<Document>> doc = index_->Get(id);
  if (!doc.ok()) return ErrorResponse(doc.status());
  if (!doc->has_value()) return ErrorResponse(Status::NotFound(NotFoundReason(id)));
  const Document& d = **doc;
  JsonWriter json;
  json.BeginObject();
  json.Key("id").String(d.id);
  json.Key("title").String(d.title);
  json.Key("text").String(d.text);
  // Keyword and numeric values (always arrays) and the other fields at the
  // top level, as POST /documents takes them.
  AppendFieldValues(d.keywords, d.numbers, d.texts, d.extra, json);
  json.EndObject();
  return JsonResponse(json.Take());
}

Response Handlers::DeleteDocument(const std::string& id) {
  {
    std::lock_guard lock(writes_mu_);
    Status deleted = index_->Delete(id);
    if (deleted.IsNotFound()) {
      return ErrorResponse(Status::NotFound(NotFoundReason(id)));
    }
    if (!deleted.ok()) return ErrorResponse(deleted);
    touched_[id] = false;
  }
  JsonWriter json;
  json.BeginObject();
  json.Key("id").String(id);
  json.Key("deleted").Bool(true);
  json.EndObject();
  return JsonResponse(json.Take());
}

Response Handlers::DeleteByQuery(std::string_view query, std::string_view body) {
  const auto start = Clock::now();
  Result<bool> refresh = ParseRefreshParam(query);
  if (!refresh.ok()) return ErrorResponse(refresh.status());
  Result<DeleteByQueryRequest> parsed = ParseDeleteByQuery(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  DeleteByQueryOptions options;
  options.syntax = parsed->syntax;
  uint64_t deleted = 0;
  {
    std::lock_guard lock(writes_mu_);
    std::vector<std::string> ids;
    Result<uint64_t> result = index_->DeleteByQuery(parsed->query, options, &ids);
    // Ids deleted before a failure stay deleted: keep the view in step.
    for (std::string& id : ids) touched_[std::move(id)] = false;
    if (!result.ok()) {
      // The syntax was checked above: what the engine refuses is the query
      // (a syntax error naming the column, an unknown field, a range).
      const Status& s = result.status();
      if (s.IsInvalidArgument() || s.IsNotSupported()) {
        return ErrorResponse(FieldError("query", s.message()));
      }
      return ErrorResponse(s);
    }
    deleted = *result;
    if (*refresh) {
      Status committed = index_->Commit();
      if (!committed.ok()) return ErrorResponse(committed);
      touched_.clear();
    }
  }
  JsonWriter json;
  json.BeginObject();
  json.Key("took_ms").Millis(MillisSince(start));
  json.Key("deleted").Uint(deleted);
  json.Key("refreshed").Bool(*refresh);
  json.EndObject();
  return JsonResponse(json.Take());
}

Status Handlers::Refresh() {
  std::lock_guard lock(writes_mu_);
  CASCADE_RETURN_IF_ERROR(index_->Commit());
  touched_.clear();
  return Status::OK();
}

Status Handlers::RefreshIfPending() {
  // A write in progress holds the lock for its whole body; the next tick
  // will commit it, so a worker is not parked here waiting.
  std::unique_lock lock(writes_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return Status::OK();
  if (!index_->Stats().uncommitted_changes) return Status::OK();
  CASCADE_RETURN_IF_ERROR(index_->Commit());
  touched_.clear();
  return Status::OK();
}

Status Handlers::CommitPending() {
  std::lock_guard lock(writes_mu_);
  if (!index_->Stats().uncommitted_changes) return Status::OK();
  CASCADE_RETURN_IF_ERROR(index_->Commit());
  touched_.clear();
  return Status::OK();
}

Response Handlers::RefreshEndpoint() {
  Status refreshed = Refresh();
  if (!refreshed.ok()) return ErrorResponse(refreshed);
  JsonWriter json;
  json.BeginObject();
  json.Key("refreshed").Bool(true);
  json.Key("documents").Uint(index_->Stats().documents);
  json.EndObject();
  return JsonResponse(json.Take());
}

Response Handlers::Rerank(std::string_view body) {
  Result<RerankRequest> parsed = ParseRerank(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const RerankRequest& req = *parsed;
  if (rerank_ == nullptr) {
    return ErrorResponse(Status::Unavailable(
        "no reranking model is loaded (start the server with --model)"));
  }
  const rerank::NeuralModel& model = rerank_->model();
  const rerank::WordPieceTokenizer& tokenizer = model.tokenizer();
  const size_t max_length = model.max_length();

  gpu::PairBatch batch;
  batch.offsets.push_back(0);
  if (req.truncate) {
    for (std::string_view text : req.texts) {
      Result<rerank::Encoding> encoding = tokenizer.EncodePair(
          req.query, text, max_length, rerank::Truncation::kLongestFirst);
      if (!encoding.ok()) return ErrorResponse(encoding.status());
      AppendEncoding(*encoding, &batch);
    }
  } else {
    // Without truncation every pair must fit as it is: [CLS] q [SEP] t [SEP].
    std::vector<int32_t> query_ids;
    tokenizer.Tokenize(req.query, &query_ids);
    std::vector<int32_t> text_ids;
    rerank::Encoding encoding;
    for (size_t i = 0; i < req.texts.size(); ++i) {
      text_ids.clear();
      tokenizer.Tokenize(req.texts[i], &text_ids);
      const size_t tokens = query_ids.size() + text_ids.size() + 3;
      if (tokens > max_length) {
        return ErrorResponse(FieldError(
            "texts[" + std::to_string(i) + "]",
            "text " + std::to_string(i) + " and the query are " +
                std::to_string(tokens) + " tokens, over the model's maximum of " +
                std::to_string(max_length) + " (send \"truncate\": true to cut it)"));
      }
      encoding.ids.clear();
      encoding.ids.push_back(tokenizer.cls_id());
      encoding.ids.insert(encoding.ids.end(), query_ids.begin(), query_ids.end());
      encoding.ids.push_back(tokenizer.sep_id());
      const size_t first = encoding.ids.size();
      encoding.ids.insert(encoding.ids.end(), text_ids.begin(), text_ids.end());
      encoding.ids.push_back(tokenizer.sep_id());
      encoding.type_ids.assign(encoding.ids.size(), 1);
      std::fill(encoding.type_ids.begin(), encoding.type_ids.begin() + first, 0);
      AppendEncoding(encoding, &batch);
    }
  }

  Result<std::vector<float>> scores = rerank_->Run(std::move(batch));
  if (!scores.ok()) return ErrorResponse(scores.status());
  if (scores->size() != req.texts.size()) {
    return ErrorResponse(Status::Internal(
        "reranker returned " + std::to_string(scores->size()) + " scores for " +
        std::to_string(req.texts.size()) + " texts"));
  }
  std::vector<size_t> order(scores->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return ScoreKey((*scores)[a]) > ScoreKey((*scores)[b]);
  });
  JsonWriter json;
  json.BeginArray();
  for (size_t i : order) {
    json.BeginObject();
    json.Key("index").Uint(i);
    json.Key("score").Float((*scores)[i]);
    json.EndObject();
  }
  json.EndArray();
  return JsonResponse(json.Take());
}

}  // namespace cascade::http
