// Host emulation of NCCL as cuda/nccl_gradient_sum.cpp uses it: an all-reduce is queued on the emulated device (so
// it runs after the ranks' backward passes queued before it) and sums the ranks' buffers in rank order. What real
// NCCL refuses or would hang on is an error here: two ranks on one device, an all-reduce of a multi-rank clique
// outside a group (one thread would wait forever for the other ranks), a group that leaves a rank out or gives the
// ranks different counts, any type but float or any operation but sum.
//
// A fault can be injected into the next all-reduce (emulation::break_next_all_reduce): it then stays queued, holding
// up the device's queue, until its communicators are aborted, as a collective whose peer never joins spins on a GPU
// until ncclCommAbort; for a dead peer the communicators also report ncclRemoteError to ncclCommGetAsyncError.
//
// Communicators made by ncclCommInitRank stand for a clique spread over processes. Those "processes" are emulated
// one after another in one thread: a group holding only some of the clique's ranks (one process's) is kept until
// the other processes' groups have brought the rest, then the sum is queued.
#include <nccl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fusedrnn/tests/cuda_emulation/emulation.h"

struct ncclComm {
    struct Clique* clique = nullptr;
    int rank = 0;
};

// What outlives a clique: a broken all-reduce still queued when the clique's last communicator is aborted.
struct CliqueHealth {
    bool aborted = false;                  // ncclCommAbort was called on one of its communicators
    ncclResult_t async_error = ncclSuccess;  // what ncclCommGetAsyncError reports
};

struct Clique {
    int size = 0;
    int alive = 0;               // communicators not yet destroyed
    bool multi_process = false;  // made by ncclCommInitRank: its ranks' calls may come in several groups
    std::shared_ptr<CliqueHealth> health = std::make_shared<CliqueHealth>();
};

namespace {

struct PendingAllReduce {
    const float* send;
    float* recv;
    size_t count;
};

int group_depth = 0;
std::map<Clique*, std::map<int, PendingAllReduce>> pending;  // per clique, per rank: the calls of the open group
std::map<std::string, Clique*> cliques_by_id;                // ncclCommInitRank's cliques, by unique id
int ids_made = 0;
fusedrnn::emulation::NcclFault next_fault = fusedrnn::emulation::NcclFault::None;

// Queues the sum over the ranks of one clique; every rank's call must be there, with the same count.
ncclResult_t launch(Clique* clique, const std::map<int, PendingAllReduce>& calls) {
    if (int(calls.size()) != clique->size) return ncclInvalidUsage;
    const size_t count = calls.begin()->second.count;
    for (const auto& kv : calls)
        if (kv.second.count != count) return ncclInvalidUsage;
    std::vector<PendingAllReduce> ranks;
    for (const auto& kv : calls) ranks.push_back(kv.second);  // rank order (std::map)
    auto sum_ranks = [ranks, count] {
        std::vector<float> sum(ranks[0].send, ranks[0].send + count);
        for (size_t r = 1; r < ranks.size(); ++r)
            for (size_t i = 0; i < count; ++i) sum[i] += ranks[r].send[i];
        for (const PendingAllReduce& r : ranks) std::copy(sum.begin(), sum.end(), r.recv);
    };
    using fusedrnn::emulation::NcclFault;
    const NcclFault fault = std::exchange(next_fault, NcclFault::None);
    if (fault == NcclFault::None) {
        fusedrnn::emulation::enqueue_device_work(sum_ranks);
        return ncclSuccess;
    }
    // Broken: nothing is summed, and the queue moves on only once the communicators are aborted.
    const std::shared_ptr<CliqueHealth> health = clique->health;
    if (fault == NcclFault::PeerDied) health->async_error = ncclRemoteError;
    fusedrnn::emulation::enqueue_device_work([] {}, [health] { return health->aborted; });
    return ncclSuccess;
}

}  // namespace

ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
    if (!comms || ndev < 1 || !devlist) return ncclInvalidArgument;
    if (std::set<int>(devlist, devlist + ndev).size() != size_t(ndev)) return ncclInvalidUsage;  // duplicate GPU
    auto* clique = new Clique{ndev, ndev};
    for (int r = 0; r < ndev; ++r) comms[r] = new ncclComm{clique, r};
    return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
    if (!id) return ncclInvalidArgument;
    *id = ncclUniqueId{};
    const std::string name = "emulated-nccl-" + std::to_string(++ids_made);
    std::copy(name.begin(), name.end(), id->internal);
    return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
    if (!comm || nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
    const std::string key(id.internal, sizeof id.internal);
    Clique*& clique = cliques_by_id[key];
    if (!clique) clique = new Clique{nranks, 0, true};
    if (clique->size != nranks) return ncclInvalidUsage;
    ++clique->alive;
    *comm = new ncclComm{clique, rank};
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (!comm) return ncclInvalidArgument;
    Clique* clique = comm->clique;
    delete comm;
    if (--clique->alive == 0) {
        for (auto it = cliques_by_id.begin(); it != cliques_by_id.end(); ++it)
            if (it->second == clique) {
                cliques_by_id.erase(it);
                break;
            }
        delete clique;
    }
    return ncclSuccess;
}

// Ends the clique's broken all-reduce, if one is queued (without summing), then destroys the communicator.
ncclResult_t ncclCommAbort(ncclComm_t comm) {
    if (!comm) return ncclInvalidArgument;
    comm->clique->health->aborted = true;
    return ncclCommDestroy(comm);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* async_error) {
    if (!comm || !async_error) return ncclInvalidArgument;
    *async_error = comm->clique->health->async_error;
    return ncclSuccess;
}

const char* ncclGetLastError(ncclComm_t comm) {
    return comm && comm->clique->health->async_error == ncclRemoteError
               ? "emulated: a peer's connection closed (the process died or its network failed)"
               : "";
}

ncclResult_t ncclGroupStart() {
    ++group_depth;
    return ncclSuccess;
}

ncclResult_t ncclGroupEnd() {
    if (group_depth == 0) return ncclInvalidUsage;
    if (--group_depth > 0) return ncclSuccess;
    ncclResult_t result = ncclSuccess;
    for (auto it = pending.begin(); it != pending.end();) {
        // A multi-process clique's sum waits for the other processes' ranks.
        if (it->first->multi_process && int(it->second.size()) < it->first->size) {
            ++it;
            continue;
        }
        const ncclResult_t r = launch(it->first, it->second);
        if (result == ncclSuccess) result = r;
        it = pending.erase(it);
    }
    return result;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t) {
    if (!comm || !sendbuff || !recvbuff || datatype != ncclFloat || op != ncclSum) return ncclInvalidArgument;
    const PendingAllReduce call{static_cast<const float*>(sendbuff), static_cast<float*>(recvbuff), count};
    if (group_depth == 0) {
        if (comm->clique->size > 1) return ncclInvalidUsage;
        return launch(comm->clique, {{comm->rank, call}});
    }
    auto& calls = pending[comm->clique];
    if (calls.count(comm->rank)) return ncclInvalidUsage;  // one call per rank per group here
    calls[comm->rank] = call;
    return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
    switch (result) {
        case ncclSuccess: return "no error";
        case ncclInvalidArgument: return "invalid argument";
        case ncclInvalidUsage: return "invalid usage";
        case ncclRemoteError: return "remote process exited or there was a network error";
        case ncclInProgress: return "NCCL operation in progress";
        default: return "unhandled error";
    }
}

namespace fusedrnn::emulation {
void break_next_all_reduce(NcclFault fault) { next_fault = fault; }
}  // namespace fusedrnn::emulation
