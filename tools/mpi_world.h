// fusedrnn — the processes of a run started by an MPI launcher (`mpirun -np P fusedrnn train ...`, Slurm's `srun`):
// MPI is initialised only when such a launcher started this process, and the run's ProcessGroup is MPI's world.
// In a build without MPI (CMake found no libopenmpi-dev) a launched run stops with an error saying so, instead of
// training P independent copies.
#pragma once

#include <memory>

#include "fusedrnn/core/process_group.h"

namespace fusedrnn::tools {

// The number of processes the launcher started (its environment: Open MPI's OMPI_COMM_WORLD_SIZE, PMI_SIZE of
// MPICH and Intel MPI, Slurm's SLURM_STEP_NUM_TASKS under srun); 1 when none started this one.
int launched_processes();

// With more than one launched process: MPI initialised (once; finalised at exit) and its world as a
// ProcessGroup, owned here for the life of the program. Otherwise null.
ProcessGroup* join_launched_processes();

// Whether this fusedrnn was built with MPI.
bool built_with_mpi();

}  // namespace fusedrnn::tools
