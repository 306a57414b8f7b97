#include "tools/side_vectors.h"

namespace cascade::tools {

Result<SideVectorSpec> ParseSideVectorSpec(std::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    return Status::InvalidArgument("--vectors " + std::string(spec) +
                                   ": expected FIELD=FILE");
  }
  return SideVectorSpec{std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
}

Result<std::unique_ptr<SideVectors>> SideVectors::Open(
    std::span<const SideVectorSpec> specs, std::span<const dense::VectorField> fields) {
  std::unique_ptr<SideVectors> out(new SideVectors());
  for (const SideVectorSpec& spec : specs) {
    const dense::VectorField* field = nullptr;
    for (const dense::VectorField& f : fields) {
      if (f.name == spec.field) field = &f;
    }
    if (field == nullptr) {
      std::string names;
      for (const dense::VectorField& f : fields) names += (names.empty() ? "" : ", ") + f.name;
      return Status::InvalidArgument(
          "--vectors " + spec.field + "=" + spec.path + ": the index has no vector field " +
          spec.field + (names.empty() ? " (it has none)" : " (it has " + names + ")"));
    }
    for (const Side& side : out->sides_) {
      if (side.field.name == spec.field) {
        return Status::InvalidArgument("--vectors: field " + spec.field + " given twice");
      }
    }
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<VectorFileReader> reader,
                             VectorFileReader::Open(spec.path));
    out->sides_.push_back(Side{*field, std::move(reader)});
  }
  return out;
}

Status SideVectors::Attach(const index::CorpusRecord& record, index::Document* doc) {
  std::string where_doc = "document \"" + doc->id + "\" (" + record.source;
  if (record.line > 0) where_doc.append(":").append(std::to_string(record.line));
  where_doc.append(")");
  for (Side& side : sides_) {
    VectorFileReader& reader = *side.reader;
    // Rows of the bad records before this one are read and dropped.
    while (true) {
      CASCADE_ASSIGN_OR_RETURN(bool got, reader.Next(&row_));
      if (!got) {
        return Status::InvalidArgument(
            reader.path() + " holds " + std::to_string(reader.rows()) +
            " rows, fewer than the corpus's records: no row for record " +
            std::to_string(record.ordinal + 1) + ", " + where_doc);
      }
      if (reader.rows() == record.ordinal + 1) break;
    }
    const std::string where = reader.Where();
    if (!row_.id.empty() && row_.id != doc->id) {
      return Status::InvalidArgument(where + ": id \"" + row_.id + "\" does not match " +
                                     where_doc + " (rows must follow the corpus's order)");
    }
    for (const auto& [name, values] : doc->vectors) {
      if (name == side.field.name) {
        return Status::InvalidArgument(where_doc + " carries vector \"" + name +
                                       "\" inline, which --vectors also gives (" + where + ")");
      }
    }
    Status checked = dense::CheckVector(side.field, row_.values, doc->id);
    if (!checked.ok()) return Status::InvalidArgument(where + ": " + checked.message());
    doc->vectors.emplace_back(side.field.name, std::move(row_.values));
    row_.values = {};
  }
  return Status::OK();
}

Status SideVectors::Finish(uint64_t records) {
  for (Side& side : sides_) {
    VectorFileReader& reader = *side.reader;
    while (true) {
      CASCADE_ASSIGN_OR_RETURN(bool got, reader.Next(&row_));
      if (!got) break;
    }
    if (reader.rows() != records) {
      return Status::InvalidArgument(reader.path() + " holds " + std::to_string(reader.rows()) +
                                     " rows, but the corpus has " + std::to_string(records) +
                                     " records (one row per record, in order)");
    }
  }
  return Status::OK();
}

Status CheckSideVectors(const std::vector<std::string>& inputs,
                        const index::CorpusOptions& corpus_options,
                        std::span<const SideVectorSpec> specs,
                        std::span<const dense::VectorField> fields) {
  index::CorpusOptions options = corpus_options;
  options.max_problems_kept = 0;  // the indexing pass reports them
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<index::CorpusReader> reader,
                           index::CorpusReader::Open(inputs, options));
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<SideVectors> side, SideVectors::Open(specs, fields));
  index::CorpusRecord record;
  while (true) {
    CASCADE_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    CASCADE_RETURN_IF_ERROR(side->Attach(record, &record.doc));
  }
  return side->Finish(reader->records());
}

}  // namespace cascade::tools
