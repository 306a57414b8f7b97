// `cascade model`: inspect and run a Hugging Face checkpoint.
//   cascade model info DIR
//   cascade model score|embed|weigh --model DIR --input FILE.jsonl [--device cpu]
// Input lines are {"query","passage"} (score), {"text"} (embed) or
// {"passage"} (weigh), or for any of them pre-tokenized
// {"input_ids":[...],"token_type_ids":[...]} (special tokens included).
// Output: one JSON line per input line, in order: {"score"}, {"embedding"}
// or {"input_ids","weights"}. A bad line stops the command with FILE:LINE
// and what was wrong (outputs must stay aligned with inputs).
#include <cstdio>
#include <fstream>
#include <iostream>

#include <simdjson.h>

#include "rerank/neural_model.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct ModelFlags {
  std::string model;
  std::string input = "-";
  std::string device = "auto";
  std::string precision = "fp16";
  unsigned threads = 0;
  size_t max_length = 0;
  size_t batch = 64;
  std::string truncation = "longest_first";
};

void AppendFloat(std::string* out, float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  out->append(buf);
}

Status ReadIds(simdjson::dom::element doc, const char* field,
               std::vector<int32_t>* out) {
  simdjson::dom::array array;
  if (doc[field].get(array)) {
    return Status::InvalidArgument(std::string("field \"") + field +
                                   "\" missing or not an array");
  }
  for (auto v : array) {
    int64_t id;
    if (v.get(id) || id < INT32_MIN || id > INT32_MAX) {
      return Status::InvalidArgument(std::string("field \"") + field +
                                     "\" holds a non-integer");
    }
    out->push_back(static_cast<int32_t>(id));
  }
  return Status::OK();
}

int RunModel(const std::string& verb, const ModelFlags& flags) {
  rerank::ModelOptions options;
  auto device = rerank::ParseDevice(flags.device);
  if (!device.ok()) return ReportError("model", device.status());
  options.device = *device;
  auto precision = gpu::ParsePrecision(flags.precision);
  if (!precision.ok()) return ReportError("model", precision.status());
  options.precision = *precision;
  options.threads = flags.threads;
  options.max_length = flags.max_length;
  options.max_batch = flags.batch;
  if (flags.truncation == "longest_first") {
    options.truncation = rerank::Truncation::kLongestFirst;
  } else if (flags.truncation == "only_second") {
    options.truncation = rerank::Truncation::kOnlySecond;
  } else {
    return ReportError("model", Status::InvalidArgument(
                                    "--truncation must be longest_first or only_second"));
  }
  auto model = rerank::NeuralModel::Open(flags.model, options);
  if (!model.ok()) return ReportError("model", model.status());
  const gpu::ModelKind want = verb == "score"   ? gpu::ModelKind::kCrossEncoder
                              : verb == "embed" ? gpu::ModelKind::kBiEncoder
                                                : gpu::ModelKind::kTokenWeigher;
  if ((*model)->config().kind != want) {
    return ReportError(
        "model", Status::InvalidArgument(
                     "'" + verb + "' needs a " + std::string(gpu::ModelKindName(want)) +
                     "; " + flags.model + " is a " +
                     std::string(gpu::ModelKindName((*model)->config().kind))));
  }

  std::ifstream file;
  std::istream* in = &std::cin;
  if (flags.input != "-") {
    file.open(flags.input);
    if (!file) {
      return ReportError("model", Status::NotFound("cannot open input", flags.input));
    }
    in = &file;
  }
  const rerank::WordPieceTokenizer& tok = (*model)->tokenizer();
  simdjson::dom::parser parser;
  gpu::PairBatch batch;
  std::string line;
  uint64_t line_no = 0;
  const size_t hidden = static_cast<size_t>((*model)->config().bert.hidden_size);

  auto flush = [&]() -> Status {
    if (batch.size() == 0) return Status::OK();
    CASCADE_ASSIGN_OR_RETURN(std::vector<float> out, (*model)->RunTokens(batch));
    std::string text;
    for (size_t i = 0; i < batch.size(); ++i) {
      text.clear();
      if (want == gpu::ModelKind::kCrossEncoder) {
        text = "{\"score\":";
        AppendFloat(&text, out[i]);
        text += "}";
      } else if (want == gpu::ModelKind::kBiEncoder) {
        text = "{\"embedding\":[";
        for (size_t d = 0; d < hidden; ++d) {
          if (d) text.push_back(',');
          AppendFloat(&text, out[i * hidden + d]);
        }
        text += "]}";
      } else {
        text = "{\"input_ids\":[";
        for (int32_t t = batch.offsets[i]; t < batch.offsets[i + 1]; ++t) {
          if (t != batch.offsets[i]) text.push_back(',');
          text += std::to_string(batch.token_ids[t]);
        }
        text += "],\"weights\":[";
        for (int32_t t = batch.offsets[i]; t < batch.offsets[i + 1]; ++t) {
          if (t != batch.offsets[i]) text.push_back(',');
          AppendFloat(&text, out[t]);
        }
        text += "]}";
      }
      std::cout << text << "\n";
    }
    batch = gpu::PairBatch();
    return Status::OK();
  };

  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = flags.input + ":" + std::to_string(line_no) + ": ";
    simdjson::dom::element doc;
    if (auto error = parser.parse(line).get(doc)) {
      return ReportError("model", Status::InvalidArgument(
                                      where + "invalid JSON: " + simdjson::error_message(error)));
    }
    rerank::Encoding e;
    if (doc["input_ids"].error() == simdjson::SUCCESS) {
      Status s = ReadIds(doc, "input_ids", &e.ids);
      if (s.ok() && doc["token_type_ids"].error() == simdjson::SUCCESS) {
        s = ReadIds(doc, "token_type_ids", &e.type_ids);
      } else if (s.ok()) {
        e.type_ids.assign(e.ids.size(), 0);
      }
      if (s.ok() && e.ids.size() != e.type_ids.size()) {
        s = Status::InvalidArgument("input_ids and token_type_ids differ in length");
      }
      if (!s.ok()) return ReportError("model", Status::InvalidArgument(where + s.message()));
    } else {
      std::string_view a, b;
      Result<rerank::Encoding> enc = Status::Internal("unset");
      if (want == gpu::ModelKind::kCrossEncoder) {
        if (doc["query"].get(a) || doc["passage"].get(b)) {
          return ReportError("model", Status::InvalidArgument(
                                          where + "expected string fields \"query\" and \"passage\""));
        }
        enc = tok.EncodePair(a, b, (*model)->max_length(), options.truncation);
      } else {
        const char* field = want == gpu::ModelKind::kBiEncoder ? "text" : "passage";
        if (doc[field].get(a)) {
          return ReportError("model", Status::InvalidArgument(
                                          where + "expected a string field \"" + field + "\""));
        }
        enc = tok.EncodeSingle(a, (*model)->max_length());
      }
      if (!enc.ok()) return ReportError("model", Status::InvalidArgument(where + enc.status().message()));
      e = std::move(*enc);
    }
    // Check each line here, so that errors name it (a batch fails as a whole).
    const auto& bert = (*model)->config().bert;
    std::string problem;
    if (e.ids.empty()) problem = "no tokens";
    if (e.ids.size() > (*model)->max_length()) {
      problem = std::to_string(e.ids.size()) + " tokens, over --max-length " +
                std::to_string((*model)->max_length());
    }
    for (size_t t = 0; t < e.ids.size() && problem.empty(); ++t) {
      if (e.ids[t] < 0 || e.ids[t] >= bert.vocab_size) {
        problem = "input id " + std::to_string(e.ids[t]) + " outside the vocabulary (0.." +
                  std::to_string(bert.vocab_size - 1) + ")";
      } else if (e.type_ids[t] < 0 || e.type_ids[t] >= bert.type_vocab_size) {
        problem = "token type id " + std::to_string(e.type_ids[t]) + " outside 0.." +
                  std::to_string(bert.type_vocab_size - 1);
      }
    }
    if (!problem.empty()) {
      return ReportError("model", Status::InvalidArgument(where + problem));
    }
    if (batch.offsets.empty()) batch.offsets.push_back(0);
    batch.token_ids.insert(batch.token_ids.end(), e.ids.begin(), e.ids.end());
    batch.segment_ids.insert(batch.segment_ids.end(), e.type_ids.begin(), e.type_ids.end());
    batch.offsets.push_back(static_cast<int32_t>(batch.token_ids.size()));
    if (batch.size() >= flags.batch) {
      Status s = flush();
      if (!s.ok()) return ReportError("model", Status::InvalidArgument(where + s.message()));
    }
  }
  Status s = flush();
  if (!s.ok()) return ReportError("model", s);
  return kExitOk;
}

int RunInfo(const std::string& dir) {
  rerank::ModelOptions options;
  options.device = rerank::Device::kCpu;
  auto model = rerank::NeuralModel::Open(dir, options);
  if (!model.ok()) return ReportError("model info", model.status());
  const gpu::ModelConfig& c = (*model)->config();
  std::printf("model         %s\n", dir.c_str());
  std::printf("kind          %s\n", std::string(gpu::ModelKindName(c.kind)).c_str());
  std::printf("architecture  %s\n", c.architecture.empty() ? "-" : c.architecture.c_str());
  std::printf("layers        %d\nhidden        %d\nheads         %d\nintermediate  %d\n",
              c.bert.num_layers, c.bert.hidden_size, c.bert.num_heads,
              c.bert.intermediate_size);
  std::printf("vocab         %d (tokenizer: %zu, lowercase %s)\n", c.bert.vocab_size,
              (*model)->tokenizer().vocab_size(),
              (*model)->tokenizer().config().lowercase ? "yes" : "no");
  std::printf("max length    %zu\n", (*model)->max_length());
  if (c.kind == gpu::ModelKind::kCrossEncoder) std::printf("labels        %d\n", c.num_labels);
  if (c.kind == gpu::ModelKind::kBiEncoder) {
    std::printf("pooling       %s%s\n", c.pooling == gpu::Pooling::kCls ? "cls" : "mean",
                c.normalize ? ", normalized" : "");
  }
  std::printf("backend       %s\n", std::string((*model)->backend_name()).c_str());
  return kExitOk;
}

}  // namespace

void RegisterModelCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("model", "Inspect or run a Hugging Face BERT checkpoint");
  cmd->require_subcommand(1);
  auto info_dir = std::make_shared<std::string>();
  CLI::App* info = cmd->add_subcommand("info", "Show what a checkpoint folder holds");
  info->add_option("dir", *info_dir, "Model folder")->required();
  info->callback([info_dir, exit_code] { *exit_code = RunInfo(*info_dir); });

  for (const char* verb : {"score", "embed", "weigh"}) {
    auto flags = std::make_shared<ModelFlags>();
    const std::string name = verb;
    const char* help = name == "score"   ? "Cross-encoder scores of {\"query\",\"passage\"} lines"
                       : name == "embed" ? "Bi-encoder embeddings of {\"text\"} lines"
                                         : "TILDEv2 token weights of {\"passage\"} lines";
    CLI::App* sub = cmd->add_subcommand(name, help);
    WithEnv(sub->add_option("--model", flags->model, "Model folder")->required());
    WithEnv(sub->add_option("--input", flags->input, "JSONL input, - for stdin")
                ->capture_default_str());
    WithEnv(sub->add_option("--device", flags->device, "cpu, cuda or auto")
                ->capture_default_str());
    WithEnv(sub->add_option("--precision", flags->precision,
                            "GPU arithmetic: fp16, bf16 or fp32 (the CPU is fp32)")
                ->capture_default_str());
    WithEnv(sub->add_option("--threads", flags->threads, "CPU threads (0 = all cores)")
                ->capture_default_str());
    WithEnv(sub->add_option("--max-length", flags->max_length,
                            "Tokens per sequence (0 = the model's maximum, at most 512)")
                ->capture_default_str());
    WithEnv(sub->add_option("--batch", flags->batch, "Sequences per forward pass (1..4096)")
                ->capture_default_str());
    WithEnv(sub->add_option("--truncation", flags->truncation,
                            "Pairs: longest_first or only_second")
                ->capture_default_str());
    sub->callback([name, flags, exit_code] { *exit_code = RunModel(name, *flags); });
  }
}

}  // namespace cascade::tools
