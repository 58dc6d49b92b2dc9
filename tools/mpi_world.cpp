#include "fusedrnn/tools/mpi_world.h"

#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "fusedrnn/core/error.h"

#ifdef FUSEDRNN_WITH_MPI
#include <mpi.h>
#endif

namespace fusedrnn::tools {

int launched_processes() {
    // Slurm's srun sets SLURM_STEP_NUM_TASKS in each task of a step (not in a batch script's own shell, whose
    // SLURM_NTASKS is the allocation's and must not count).
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
        const char* v = std::getenv(var);
        if (v && *v) {
            const int n = std::atoi(v);
            if (n > 0) return n;
        }
    }
    return 1;
}

#ifdef FUSEDRNN_WITH_MPI

bool built_with_mpi() { return true; }

namespace {

void check_mpi(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    FR_FAIL("MPI call {} failed: {}", call, std::string(text, size_t(len)));
}
#define FR_MPI_CHECK(call) check_mpi((call), #call)

int checked_count(size_t bytes) {
    FR_CHECK(bytes <= size_t(INT_MAX), "an MPI message of {} bytes is over MPI's 2 GiB limit per call", bytes);
    return int(bytes);
}

class MpiWorld final : public ProcessGroup {
public:
    MpiWorld() {
        // The collectives are called from the main thread only (the ranks' threads only launch GPU work).
        int provided = 0;
        FR_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
        FR_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
        if (provided < MPI_THREAD_FUNNELED) {
            MPI_Finalize();  // the destructor will not run for an object never made
            FR_FAIL("this MPI does not support threads (MPI_THREAD_FUNNELED)");
        }
        FR_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
        FR_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
        MPI_Comm node;
        FR_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
        FR_MPI_CHECK(MPI_Comm_rank(node, &node_rank_));
        FR_MPI_CHECK(MPI_Comm_free(&node));
    }
    ~MpiWorld() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }

    int size() const override { return size_; }
    int rank() const override { return rank_; }
    int node_rank() const override { return node_rank_; }
    std::string name() const override { return "mpi"; }

    void all_gather(const void* in, size_t bytes, void* out) override {
        const int n = checked_count(bytes);
        checked_count(bytes * size_t(size_));  // the receive buffer's extent, too
        if (timeout_s_ <= 0) {
            FR_MPI_CHECK(MPI_Allgather(in, n, MPI_BYTE, out, n, MPI_BYTE, MPI_COMM_WORLD));
            return;
        }
        MPI_Request request = MPI_REQUEST_NULL;
        FR_MPI_CHECK(MPI_Iallgather(in, n, MPI_BYTE, out, n, MPI_BYTE, MPI_COMM_WORLD, &request));
        wait(request, "an all-gather");
    }

    void broadcast(void* buf, size_t bytes, int root) override {
        if (timeout_s_ <= 0) {
            FR_MPI_CHECK(MPI_Bcast(buf, checked_count(bytes), MPI_BYTE, root, MPI_COMM_WORLD));
            return;
        }
        MPI_Request request = MPI_REQUEST_NULL;
        FR_MPI_CHECK(MPI_Ibcast(buf, checked_count(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &request));
        wait(request, "a broadcast");
    }

    void set_timeout(double seconds) override { timeout_s_ = seconds; }

    [[noreturn]] void abort(int code) override {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);  // MPI_Abort does not return; in case it does
    }

private:
    // A nonblocking collective completed by polling, so a process that never joins it (stopped, hung in I/O or on its
    // GPU) is an error after the timeout instead of a hang: the CLI then ends every process (abort). MPI_Test drives
    // the collective's progress; the first polls only yield the core (a step's collective is short), later ones sleep.
    void wait(MPI_Request& request, const char* what) {
        const auto start = std::chrono::steady_clock::now();
        for (long polls = 0;; ++polls) {
            int done = 0;
            FR_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
            if (done) return;
            const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            FR_CHECK(waited < timeout_s_,
                     "process {} of {} waited {:.3g} s in {} for the other processes (FUSEDRNN_PEER_TIMEOUT_S = {:g}): "
                     "one of them is stuck (its host, GPU or filesystem) or gone; ending the run. Restart it (with "
                     "--resume to continue from the last checkpoint) once every process is healthy",
                     rank_, size_, waited, what, timeout_s_);
            if (polls < 1000) std::this_thread::yield();
            else std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    int size_ = 1, rank_ = 0, node_rank_ = 0;
    double timeout_s_ = 0;  // 0: collectives block (MPI_Allgather, MPI_Bcast) however long the others take
};

}  // namespace

ProcessGroup* join_launched_processes() {
    if (launched_processes() <= 1) return nullptr;
    static MpiWorld world;  // finalised at exit
    return &world;
}

#else

bool built_with_mpi() { return false; }

ProcessGroup* join_launched_processes() {
    FR_CHECK(launched_processes() <= 1, "this process is one of {} started by an MPI launcher, but this fusedrnn was "
             "built without MPI: install libopenmpi-dev (scripts/deps.sh does) and build again, or run one process",
             launched_processes());
    return nullptr;
}

#endif

}  // namespace fusedrnn::tools
