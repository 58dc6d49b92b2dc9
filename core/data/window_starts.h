// fusedrnn::data — the valid window starts of one split, stored as runs.
// A station's valid starts come in long unbroken stretches between gaps (every row, or every stride-th
// row), so they are kept as arithmetic runs (first, step) with cumulative counts: 24 bytes per run
// instead of 8 bytes per window. At WEATHER-5K scale (~500 M windows, a few hundred runs per station)
// that is ~0.1 GB instead of 4 GB. Reads are O(log runs) at a position, O(1) per element in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

namespace fusedrnn::data {

class WindowStarts {
public:
    WindowStarts() = default;
    // From a strictly increasing list (throws naming the first position that is not).
    static WindowStarts from_vector(const std::vector<int64_t>& starts);

    // Appends a start; it must be greater than back() (throws otherwise).
    void push_back(int64_t start);
    // Appends all of `other` (its first start must be greater than back()).
    void append(const WindowStarts& other);

    size_t size() const { return ends_.empty() ? 0 : ends_.back(); }
    bool empty() const { return ends_.empty(); }
    int64_t operator[](size_t i) const;  // throws when i >= size()
    int64_t front() const { return (*this)[0]; }
    int64_t back() const { return (*this)[size() - 1]; }
    // starts [i, i + n) into out, O(log runs + n); throws when the range is outside [0, size()).
    void copy_to(size_t i, size_t n, int64_t* out) const;
    std::vector<int64_t> to_vector() const;

    size_t num_runs() const { return runs_.size(); }
    size_t memory_bytes() const { return runs_.capacity() * sizeof(Run) + ends_.capacity() * sizeof(size_t); }

    // The same starts (the run form of a sequence is unique: runs grow greedily).
    bool operator==(const WindowStarts& o) const { return runs_ == o.runs_ && ends_ == o.ends_; }
    bool operator!=(const WindowStarts& o) const { return !(*this == o); }

    // Read-only random-access iteration (each dereference is a lookup: use copy_to in hot loops).
    class const_iterator {
    public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = int64_t;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = int64_t;
        const_iterator() = default;
        const_iterator(const WindowStarts* s, size_t i) : s_(s), i_(i) {}
        int64_t operator*() const { return (*s_)[i_]; }
        int64_t operator[](difference_type d) const { return (*s_)[size_t(difference_type(i_) + d)]; }
        const_iterator& operator++() { ++i_; return *this; }
        const_iterator operator++(int) { auto t = *this; ++i_; return t; }
        const_iterator& operator--() { --i_; return *this; }
        const_iterator operator--(int) { auto t = *this; --i_; return t; }
        const_iterator& operator+=(difference_type d) { i_ = size_t(difference_type(i_) + d); return *this; }
        const_iterator& operator-=(difference_type d) { return *this += -d; }
        friend const_iterator operator+(const_iterator a, difference_type d) { return a += d; }
        friend const_iterator operator+(difference_type d, const_iterator a) { return a += d; }
        friend const_iterator operator-(const_iterator a, difference_type d) { return a -= d; }
        friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
            return difference_type(a.i_) - difference_type(b.i_);
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.i_ == b.i_; }
        friend bool operator!=(const const_iterator& a, const const_iterator& b) { return a.i_ != b.i_; }
        friend bool operator<(const const_iterator& a, const const_iterator& b) { return a.i_ < b.i_; }
        friend bool operator>(const const_iterator& a, const const_iterator& b) { return a.i_ > b.i_; }
        friend bool operator<=(const const_iterator& a, const const_iterator& b) { return a.i_ <= b.i_; }
        friend bool operator>=(const const_iterator& a, const const_iterator& b) { return a.i_ >= b.i_; }

    private:
        const WindowStarts* s_ = nullptr;
        size_t i_ = 0;
    };
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size()}; }

private:
    struct Run {
        int64_t first = 0, step = 0;  // step 0 while the run holds one start
        bool operator==(const Run& o) const { return first == o.first && step == o.step; }
    };
    size_t run_of(size_t i) const;  // the run holding position i

    std::vector<Run> runs_;
    std::vector<size_t> ends_;  // ends_[r] = starts in runs 0..r
};

}  // namespace fusedrnn::data
