// PostingPool: many growable streams of uint32 values (one per term: its
// (doc, tf) pairs, or its positions) packed into shared fixed-size blocks,
// as Lucene's ByteBlockPool holds a RAM buffer's postings.
//
// A stream is a chain of slices whose sizes double from 4 to 4,096 values;
// the last value of a full slice is the address of the next. Appending is a
// store and an increment, with no allocation per term and no copying as a
// stream grows (a std::vector per term spent a fifth of the writer
// thread's time in malloc, realloc copies and page faults). Clear() keeps
// the blocks for the next buffer.
//
// Capacity: 2^32 values (16 GiB). Not thread-safe.
#ifndef CASCADE_INDEX_POSTING_POOL_H_
#define CASCADE_INDEX_POSTING_POOL_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace cascade::index {

class PostingPool {
 public:
  static constexpr uint32_t kNil = UINT32_MAX;

  struct Stream {
    uint32_t head = kNil;  // address of the first slice
    uint32_t pos = 0;      // where the next value goes
    uint32_t end = 0;      // the current slice's link slot
    uint32_t size = 0;     // values appended
    uint32_t level = 0;    // the current slice's size class
  };

  void Append(Stream& s, uint32_t value) {
    if (s.pos == s.end) NewSlice(s);
    At(s.pos++) = value;
    ++s.size;
  }

  // Where the next value of `s` goes, to prefetch; null before its first.
  const uint32_t* Next(const Stream& s) const {
    return s.head == kNil || s.pos == s.end ? nullptr : &At(s.pos);
  }

  // Appends the values of `s`, in order, to `*out`.
  void Read(const Stream& s, std::vector<uint32_t>* out) const {
    uint32_t address = s.head;
    uint32_t level = 0;
    for (uint32_t remaining = s.size; remaining > 0;) {
      const uint32_t payload = SliceSize(level) - 1;
      const uint32_t n = std::min(remaining, payload);
      const uint32_t* p = &At(address);
      out->insert(out->end(), p, p + n);
      remaining -= n;
      if (remaining > 0) {
        address = p[payload];
        level = std::min(level + 1, kMaxLevel);
      }
    }
  }

  // Forgets every stream; keeps the blocks.
  void Clear() { used_ = 0; }
  // Bytes of the blocks in use.
  size_t bytes() const { return size_t{used_} * sizeof(uint32_t); }

 private:
  static constexpr uint32_t kBlockBits = 16;
  static constexpr uint32_t kBlockValues = uint32_t{1} << kBlockBits;
  static constexpr uint32_t kMaxLevel = 10;  // slices of 4 << 10 = 4,096
  static constexpr uint32_t SliceSize(uint32_t level) { return uint32_t{4} << level; }

  uint32_t& At(uint32_t address) {
    return blocks_[address >> kBlockBits][address & (kBlockValues - 1)];
  }
  const uint32_t& At(uint32_t address) const {
    return blocks_[address >> kBlockBits][address & (kBlockValues - 1)];
  }

  void NewSlice(Stream& s) {
    const uint32_t level = s.head == kNil ? 0 : std::min(s.level + 1, kMaxLevel);
    const uint32_t size = SliceSize(level);
    // Slices never straddle two blocks.
    const uint32_t offset = used_ & (kBlockValues - 1);
    if (offset != 0 && offset + size > kBlockValues) used_ += kBlockValues - offset;
    if ((used_ >> kBlockBits) >= blocks_.size()) {
      // Not zeroed: a block's pages are touched only as slices fill them.
      blocks_.push_back(std::unique_ptr<uint32_t[]>(new uint32_t[kBlockValues]));
    }
    const uint32_t address = used_;
    used_ += size;
    if (s.head == kNil) {
      s.head = address;
    } else {
      At(s.end) = address;  // link from the full slice
    }
    s.pos = address;
    s.end = address + size - 1;
    s.level = level;
  }

  std::vector<std::unique_ptr<uint32_t[]>> blocks_;
  uint32_t used_ = 0;  // values handed out, block padding included
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_POSTING_POOL_H_
