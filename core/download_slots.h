// fusedrnn — bookkeeping for queued device -> host copies (Backend::queue_download): a ring of host
// buffers the copies land in, and tickets that say which copy a caller waits for. The backend owns the
// buffers (pinned memory and an event per slot on a GPU, plain vectors on the CPU); this says which slot
// the next copy takes and whether a ticket still names its slot's latest copy.
#pragma once

#include <array>
#include <cstdint>

namespace fusedrnn {

// Names one queued download: the slot it landed in and its serial (the n-th download the backend queued).
struct DownloadTicket {
    int slot = -1;
    uint64_t serial = 0;
};

class DownloadSlots {
public:
    // Downloads a caller may have queued and not yet read: a ticket stays valid until this many more have
    // been queued. An evaluation loop keeps two batches in flight, three downloads each.
    static constexpr int kSlots = 8;

    // The slot and serial of the next download.
    DownloadTicket next();
    // The ticket's slot; throws Error when the ticket was never issued here or its slot has since taken a
    // newer download (the bytes it named are gone).
    int slot_of(const DownloadTicket& ticket) const;

private:
    std::array<uint64_t, kSlots> serial_of_slot_{};  // 0: never used
    uint64_t issued_ = 0;
};

}  // namespace fusedrnn
