#include "fusedrnn/core/download_slots.h"

#include "fusedrnn/core/error.h"

namespace fusedrnn {

DownloadTicket DownloadSlots::next() {
    const uint64_t serial = ++issued_;
    const int slot = int((serial - 1) % kSlots);
    serial_of_slot_[size_t(slot)] = serial;
    return {slot, serial};
}

int DownloadSlots::slot_of(const DownloadTicket& t) const {
    FR_CHECK(t.slot >= 0 && t.slot < kSlots && t.serial > 0 && t.serial <= issued_,
             "wait_download: ticket (slot {}, serial {}) was not issued by this backend", t.slot, t.serial);
    FR_CHECK(serial_of_slot_[size_t(t.slot)] == t.serial,
             "wait_download: download {} was overwritten: its slot has since taken download {} (at most {} "
             "downloads may be queued and unread at a time)",
             t.serial, serial_of_slot_[size_t(t.slot)], kSlots);
    return t.slot;
}

}  // namespace fusedrnn
