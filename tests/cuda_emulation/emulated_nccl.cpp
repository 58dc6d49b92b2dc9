// Host emulation of NCCL for one process driving every rank (ncclCommInitAll), as cuda/nccl_gradient_sum.cpp uses
// it: an all-reduce is queued on the emulated device (so it runs after the ranks' backward passes queued before
// it) and sums the ranks' buffers in rank order. What real NCCL refuses or would hang on is an error here: two
// ranks on one device, an all-reduce of a multi-rank clique outside a group (one thread would wait forever for the
// other ranks), a group that leaves a rank out or gives the ranks different counts, any type but float or any
// operation but sum.
#include <nccl.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "tests/cuda_emulation/emulation.h"

struct ncclComm {
    struct Clique* clique = nullptr;
    int rank = 0;
};

struct Clique {
    int size = 0;
    int alive = 0;  // communicators not yet destroyed
};

namespace {

struct PendingAllReduce {
    const float* send;
    float* recv;
    size_t count;
};

int group_depth = 0;
std::map<Clique*, std::map<int, PendingAllReduce>> pending;  // per clique, per rank: the calls of the open group

// Queues the sum over the ranks of one clique; every rank's call must be there, with the same count.
ncclResult_t launch(Clique* clique, const std::map<int, PendingAllReduce>& calls) {
    if (int(calls.size()) != clique->size) return ncclInvalidUsage;
    const size_t count = calls.begin()->second.count;
    for (const auto& kv : calls)
        if (kv.second.count != count) return ncclInvalidUsage;
    std::vector<PendingAllReduce> ranks;
    for (const auto& kv : calls) ranks.push_back(kv.second);  // rank order (std::map)
    fusedrnn::emulation::enqueue_device_work([ranks, count] {
        std::vector<float> sum(ranks[0].send, ranks[0].send + count);
        for (size_t r = 1; r < ranks.size(); ++r)
            for (size_t i = 0; i < count; ++i) sum[i] += ranks[r].send[i];
        for (const PendingAllReduce& r : ranks) std::copy(sum.begin(), sum.end(), r.recv);
    });
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

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (!comm) return ncclInvalidArgument;
    Clique* clique = comm->clique;
    delete comm;
    if (--clique->alive == 0) delete clique;
    return ncclSuccess;
}

ncclResult_t ncclGroupStart() {
    ++group_depth;
    return ncclSuccess;
}

ncclResult_t ncclGroupEnd() {
    if (group_depth == 0) return ncclInvalidUsage;
    if (--group_depth > 0) return ncclSuccess;
    ncclResult_t result = ncclSuccess;
    for (const auto& kv : pending) {
        const ncclResult_t r = launch(kv.first, kv.second);
        if (result == ncclSuccess) result = r;
    }
    pending.clear();
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
        default: return "unhandled error";
    }
}
