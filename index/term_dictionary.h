// TermDictionary: the in-memory term -> id map of the index writer's RAM
// buffer.
//
// Terms arrive with their hash already computed (HashTerm, on the analysis
// threads), so the writer thread, which adds every posting in document
// order, spends one probe of a flat open-addressing table per distinct term
// of a document: the stored 64-bit hash is compared before any bytes, so a
// probe touches one slot and, on a hit, the term's bytes once. Terms are
// kept end to end in one byte arena, and ids are dense (0, 1, ... in order
// of first addition), so per-term data lives in plain vectors beside it.
//
// Not thread-safe; HashTerm is a pure function.
#ifndef CASCADE_INDEX_TERM_DICTIONARY_H_
#define CASCADE_INDEX_TERM_DICTIONARY_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::index {

// A 64-bit hash of a term: 8 bytes at a time through a multiply-xorshift
// mix, finished with splitmix64's mixer. Stable within a process only (it
// is never stored).
inline uint64_t HashTerm(std::string_view term) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = (term.size() + 1) * kMul;
  const char* p = term.data();
  size_t n = term.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 32;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * kMul;
    h ^= h >> 32;
  }
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

// a == b for terms: inline, 8 bytes at a time (terms are short; a call to
// memcmp per probe was 5% of the writer thread).
inline bool SameTerm(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  size_t n = a.size();
  for (; n >= 8; p += 8, q += 8, n -= 8) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++p, ++q, --n) {
    if (*p != *q) return false;
  }
  return true;
}

class TermDictionary {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The id of `term`, whose hash is `hash` (HashTerm(term)), adding it with
  // the next id when absent; *added says which.
  uint32_t FindOrAdd(std::string_view term, uint64_t hash, bool* added) {
    if (2 * (size() + 1) > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id == kNone) {
        slot.hash = hash;
        slot.id = static_cast<uint32_t>(size());
        bytes_.append(term);
        offsets_.push_back(bytes_.size());
        *added = true;
        return slot.id;
      }
      if (slot.hash == hash && SameTerm(this->term(slot.id), term)) {
        *added = false;
        return slot.id;
      }
    }
  }

  // Starts fetching the slot where a probe for `hash` begins.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  }

  // kNone when absent.
  uint32_t Find(std::string_view term) const {
    if (slots_.empty()) return kNone;
    const uint64_t hash = HashTerm(term);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id == kNone) return kNone;
      if (slot.hash == hash && SameTerm(this->term(slot.id), term)) return slot.id;
    }
  }

  std::string_view term(uint32_t id) const {
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  size_t size() const { return offsets_.size() - 1; }
  // Bytes held (arena, offsets, table), for the writer's flush trigger.
  size_t memory() const {
    return bytes_.capacity() + offsets_.capacity() * sizeof(size_t) +
           slots_.capacity() * sizeof(Slot);
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t id = kNone;
  };

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : 2 * old.size(), Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.id == kNone) continue;
      size_t i = s.hash & mask;
      while (slots_[i].id != kNone) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;              // size a power of two, or 0
  std::string bytes_;                    // the terms, end to end
  std::vector<size_t> offsets_ = {0};    // term i is [offsets_[i], offsets_[i+1])
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_TERM_DICTIONARY_H_
