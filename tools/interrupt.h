// Ctrl-C and SIGTERM (a cluster's time limit, `kill`) during training: the first one asks the trainer to
// save a checkpoint at its next step and stop; a second one ends the process at once, as usual.
#pragma once

namespace fusedrnn::tools {

// While one exists, SIGINT and SIGTERM set a flag instead of ending the process (data loading before
// and evaluation after training keep the default behaviour: nothing there needs saving).
class StopOnSignal {
public:
    StopOnSignal();
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

    static bool requested();
};

}  // namespace fusedrnn::tools
