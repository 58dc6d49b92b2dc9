#include "fusedrnn/core/data/window_starts.h"

#include <algorithm>
#include <memory>

#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

WindowStarts WindowStarts::from_vector(const std::vector<int64_t>& starts) {
    WindowStarts w;
    for (size_t i = 0; i < starts.size(); ++i) {
        FR_CHECK(i == 0 || starts[i] > starts[i - 1], "window starts must increase: position {} holds {} after {}", i,
                 starts[i], starts[i - 1]);
        w.push_back(starts[i]);
    }
    return w;
}

void WindowStarts::push_back(int64_t start) {
    if (!runs_.empty()) {
        Run& r = runs_.back();
        const size_t count = ends_.back() - (ends_.size() > 1 ? ends_[ends_.size() - 2] : 0);
        const int64_t last = r.first + int64_t(count - 1) * r.step;
        FR_CHECK(start > last, "window starts must increase: {} after {}", start, last);
        if (count == 1 || start - last == r.step) {  // extends the run (a one-start run takes any step)
            r.step = start - last;
            ++ends_.back();
            return;
        }
    }
    runs_.push_back({start, 0});
    ends_.push_back(size() + 1);
}

void WindowStarts::append(const WindowStarts& other) {
    if (other.empty()) return;
    if (empty()) {
        *this = other;
        return;
    }
    FR_CHECK(other.front() > back(), "appended window starts must follow: {} after {}", other.front(), back());
    // Exactly as pushing every start of `other`, run by run at O(1) each: after a run's first three
    // starts are pushed, our last run holds its 2nd and 3rd (so has its step) and takes the rest as a
    // count. (Copying `other`'s runs as they are would not do: where its first run merges into our last
    // one, the boundaries after it can move.)
    for (size_t r = 0; r < other.runs_.size(); ++r) {
        const Run& o = other.runs_[r];
        const size_t count = other.ends_[r] - (r ? other.ends_[r - 1] : 0);
        for (size_t i = 0; i < std::min<size_t>(count, 3); ++i) push_back(o.first + int64_t(i) * o.step);
        if (count > 3) ends_.back() += count - 3;
    }
}

size_t WindowStarts::run_of(size_t i) const {
    return size_t(std::upper_bound(ends_.begin(), ends_.end(), i) - ends_.begin());
}

int64_t WindowStarts::operator[](size_t i) const {
    FR_CHECK(i < size(), "window position {} outside [0, {})", i, size());
    const size_t r = run_of(i);
    const size_t begin = r ? ends_[r - 1] : 0;
    return runs_[r].first + int64_t(i - begin) * runs_[r].step;
}

void WindowStarts::copy_to(size_t i, size_t n, int64_t* out) const {
    FR_CHECK(i <= size() && n <= size() - i, "window positions [{}, {}) outside [0, {})", i, i + n, size());
    if (n == 0) return;
    size_t r = run_of(i);
    size_t k = i - (r ? ends_[r - 1] : 0);  // position within run r
    for (size_t j = 0; j < n; ++j) {
        if (i + j == ends_[r]) {
            ++r;
            k = 0;
        }
        out[j] = runs_[r].first + int64_t(k++) * runs_[r].step;
    }
}

std::vector<int64_t> WindowStarts::to_vector() const {
    std::vector<int64_t> v(size());
    copy_to(0, v.size(), v.data());
    return v;
}

}  // namespace fusedrnn::data
