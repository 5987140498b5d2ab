#include "fix_quests.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neighbor.h"
#include "pair.h"
#include "update.h"
#include "utils.h"

#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <string>

using namespace LAMMPS_NS;
using namespace FixConst;

namespace {
// An engine's "Type: message" as a LAMMPS error says it: a ValueError (a setting or file that
// cannot be used, said in words) without its type.
std::string as_error(const std::string &failure)
{
  const std::string value_error = "ValueError: ";
  return failure.rfind(value_error, 0) == 0 ? failure.substr(value_error.size()) : failure;
}
}    // namespace

FixQuests::FixQuests(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), dh(nullptr), columns(nullptr), fbias(nullptr), nmax_bias(0), bias_energy(0.0),
    reevaluate(false), ghost_user(-1.0), ghost_set(0.0)
{
  if (narg < 5) utils::missing_cmd_args(FLERR, "fix quests", error);
  const std::string units = update->unit_style;
  if (units != "metal" && units != "real")
    error->all(FLERR, "Fix quests: descriptors need positions in Angstrom; use units metal or real, not {}", units);
  nevery = utils::inumeric(FLERR, arg[3], false, lmp);
  if (nevery <= 0) error->all(FLERR, "Fix quests: N must be > 0 (evaluate every N steps), got {}", arg[3]);

  // The keywords are read and checked by the engine (quests_lmp.lammps.fix_keywords): problems of
  // the reference file are named with it, those of the keywords as they are.
  QuestsLmp::FixContext context;
  for (int iarg = 4; iarg < narg; iarg++) context.words.emplace_back(arg[iarg]);
  context.types = atom->ntypes;
  context.every = nevery;
  context.atom_ids = atom->tag_enable != 0;
  if (comm->nprocs > 1) context.comm_handle = MPI_Comm_c2f(world);
  const std::string failure = engine.create(context);
  const auto starts = [&failure](const char *text) { return failure.rfind(text, 0) == 0; };
  if (starts("FileNotFoundError: ") || starts("ReferenceFileError: "))
    error->all(FLERR, "Fix quests: cannot use reference file {}: {}", arg[4], failure);
  if (!failure.empty()) error->all(FLERR, "Fix quests: {}", as_error(failure));
  if (comm->me == 0) utils::logmesg(lmp, "Fix quests: alarm at {}\n", engine.alarm());
  if (comm->me == 0 && !engine.notice().empty()) error->warning(FLERR, "Fix quests: {}", engine.notice());

  peratom_flag = 1;
  size_peratom_cols = engine.force_error() ? 3 : 0;
  maxexchange = engine.force_error() ? 4 : 1;    // per-atom values that migrate with an atom
  peratom_freq = nevery;
  vector_flag = 1;
  size_vector = 8;
  global_freq = nevery;
  extvector = 0;
  if (engine.bias()) {
    // E = lambda sum f(dH): f_ID is the bias energy (eV), added to pe by fix_modify energy yes and its
    // virial to the pressure by fix_modify virial yes; ghost forces are summed onto their owners.
    scalar_flag = 1;
    extscalar = 1;
    energy_global_flag = 1;
    virial_global_flag = 1;
    comm_reverse = 3;
  }
  std::memset(stats, 0, sizeof(stats));

  FixQuests::grow_arrays(atom->nmax);
  atom->add_callback(Atom::GROW);
  for (int i = 0; i < atom->nlocal; i++) dh[i] = 0.0;
  if (engine.force_error())
    for (int i = 0; i < atom->nlocal; i++) columns[i][0] = columns[i][1] = columns[i][2] = 0.0;
}

FixQuests::~FixQuests()
{
  if (copymode) return;
  if (ghost_user >= 0.0 && comm->cutghostuser == ghost_set) comm->cutghostuser = ghost_user;
  atom->delete_callback(id, Atom::GROW);
  memory->destroy(dh);
  memory->destroy(columns);
  memory->destroy(fbias);
}

int FixQuests::setmask()
{
  // With a bias, dH and its forces are computed where forces are added, at every step (and dH
  // again at the end of the step where a fix changes the box there, see init()).
  return (!engine.bias() ? END_OF_STEP : POST_FORCE | END_OF_STEP) | MIN_POST_FORCE;
}

void FixQuests::init()
{
  // A minimization evaluates at every force evaluation: its last iteration, where LAMMPS writes
  // thermo and dumps, is rarely a multiple of N. An MD run evaluates every N steps.
  const bool minimizing = update->whichflag == 2;
  peratom_freq = global_freq = minimizing ? 1 : nevery;
  widen_ghost_shell();
  if (!engine.bias()) return;
  // rRESPA calls post_force_respa, not post_force: the bias would be silently off.
  if (utils::strmatch(update->integrate_style, "^respa"))
    error->all(FLERR,
               "Fix quests: bias does not support run_style {}: its forces would not be applied; use "
               "run_style verlet (fix quests without bias works under respa)",
               update->integrate_style);
  // dH belongs to the positions where the forces were computed. A fix that changes the box at the
  // end of the step (fix deform, fix press/berendsen) then moves the atoms that dumps write: dH is
  // evaluated again there, so that f_ID always belongs to the positions a dump of the step writes.
  reevaluate = false;
  for (int i = 0; i < modify->nfix && !minimizing; i++)
    if (modify->fix[i] != this && modify->fix[i]->box_change && (modify->fmask[i] & END_OF_STEP)) reevaluate = true;
}

namespace {
// Modify keeps the order of its end-of-step calls in two protected arrays: the fix indices and, side
// by side, each fix's N. Pointers to those members, taken through a derived class, reorder them.
struct EndOfStepOrder : Modify {
  static int *Modify::*fixes() { return &EndOfStepOrder::list_end_of_step; }
  static int *Modify::*every() { return &EndOfStepOrder::end_of_step_every; }
};
}    // namespace

void FixQuests::evaluate_after_box_changes()
{
  // Fixes act at the end of a step in the order they were defined. A fix defined after this one
  // that changes the box there (fix deform, fix press/berendsen) would move the atoms after dH was
  // evaluated, and dumps would write dH of positions that no longer exist. This fix's end-of-step
  // call therefore moves behind the last such fix; end-of-step fixes it passes (fix halt, fix
  // ave/time, ...) now read the previous evaluation, which a warning says.
  int *order = modify->*EndOfStepOrder::fixes();
  int *every = modify->*EndOfStepOrder::every();
  const int n = modify->n_end_of_step;
  int self = -1, last = -1;
  for (int k = 0; k < n; k++) {
    const Fix *other = modify->fix[order[k]];
    if (other == this)
      self = k;
    else if (self >= 0 && other->box_change)
      last = k;
  }
  if (last < 0) return;

  std::string moved_past, read_stale;
  for (int k = self + 1; k <= last; k++) {
    const Fix *other = modify->fix[order[k]];
    std::string &names = other->box_change ? moved_past : read_stale;
    names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", other->id, other->style);
  }
  std::rotate(order + self, order + self + 1, order + last + 1);
  std::rotate(every + self, every + self + 1, every + last + 1);
  if (comm->me == 0 && !read_stale.empty())
    error->warning(FLERR,
                   "Fix {} quests evaluates after fix {}, which changes the box at the end of a step; fix {} "
                   "in between sees the previous evaluation of f_{}: define it after the box-changing fix",
                   id, moved_past, read_stale, id);
}

void FixQuests::widen_ghost_shell()
{
  // The descriptor sees every atom within its cutoff (plus the collection buffer): a potential of
  // shorter reach leaves LAMMPS's ghost shell too thin. As styles of longer reach do, the fix
  // raises the ghost cutoff of comm_modify (never lowers it) before LAMMPS sets up communication,
  // where the pair style's own reach (its cutoff + skin, which LAMMPS takes anyway) is shorter.
  if (comm->mode != Comm::SINGLE) return;    // check_ghost_cutoff() refuses the multi modes
  const double needed = engine.ghost_cutoff() + neighbor->skin;
  const double pair_reach = force->pair ? force->pair->cutforce + neighbor->skin : 0.0;
  if (comm->cutghostuser >= needed || pair_reach >= needed) return;
  if (ghost_user < 0.0) ghost_user = comm->cutghostuser;
  comm->cutghostuser = ghost_set = needed;
  if (comm->me == 0) utils::logmesg(lmp, "Fix quests: ghost atoms now reach {:.6g} A ({})\n", needed, reach());
}

std::string FixQuests::reach() const
{
  const std::string buffer = engine.collect_file().empty()
                                 ? std::string()
                                 : fmt::format(" + collect buffer {:.6g}", engine.ghost_cutoff() - engine.cutoff());
  return fmt::format("cutoff {:.6g}{} + skin {:.6g}", engine.cutoff(), buffer, neighbor->skin);
}

void FixQuests::check_ghost_cutoff()
{
  // Every neighbor within the descriptor cutoff of an owned atom must be an owned or ghost atom,
  // also after atoms moved up to half the skin since the last neighbor list build. Checked at
  // setup, not in init(): the communication cutoff is known only once neighbor lists are set up.
  // Collection cuts out every atom within the cutoff plus its buffer: the ghosts must reach that far.
  if (comm->mode != Comm::SINGLE)
    error->all(FLERR, "Fix quests: comm_modify mode multi gives ghost atoms a reach per type, and the descriptor "
                      "needs every atom within its cutoff: use comm_modify mode single");
  const double needed = engine.ghost_cutoff() + neighbor->skin;
  const double ghosts = comm->get_comm_cutoff();
  if (ghosts < needed)
    error->all(FLERR,
               "Fix quests: ghost atoms reach {:.6g} A but the descriptor needs {:.6g} A ({}); add 'comm_modify "
               "cutoff {:.6g}' to the input before the run",
               ghosts, needed, reach(), needed);
}

void FixQuests::start_run()
{
  check_ghost_cutoff();
  const std::string failure = engine.setup();
  if (!failure.empty()) error->all(FLERR, "Fix quests: {}", as_error(failure));
}

void FixQuests::setup(int vflag)
{
  start_run();
  if (!engine.bias() || reevaluate) evaluate_after_box_changes();
  if (!engine.bias()) {
    evaluate();
  } else {
    apply_bias(vflag);
    summarize();
  }
}

void FixQuests::min_setup(int vflag)
{
  start_run();
  if (!engine.bias())
    evaluate();
  else
    post_force(vflag);
}

void FixQuests::end_of_step()
{
  if (!engine.bias() || reevaluate) evaluate();
}

void FixQuests::min_post_force(int vflag)
{
  if (!engine.bias())
    evaluate();
  else
    post_force(vflag);
}

void FixQuests::post_force(int vflag)
{
  apply_bias(vflag);
  if (!reevaluate) summarize();    // else at the end of the step, from dH evaluated there
}

void FixQuests::apply_bias(int vflag)
{
  // Ghost positions are those the force field just used; the bias forces of ghosts go back to
  // their owners through LAMMPS's reverse communication.
  v_init(vflag);
  if (atom->nmax > nmax_bias) {
    nmax_bias = atom->nmax;
    memory->destroy(fbias);
    memory->create(fbias, nmax_bias, 3, "quests:fbias");
  }
  const int nlocal = atom->nlocal;
  const int n_points = nlocal + atom->nghost;
  double energy = 0.0, local_virial[6];
  const std::string failure =
      engine.evaluate_bias(n_points ? atom->x[0] : nullptr, atom->type, n_points, nlocal, atom->mask, groupbit, dh,
                           n_points ? fbias[0] : nullptr, energy, local_virial);
  if (!failure.empty())
    error->one(FLERR, "Fix quests: dH and bias forces failed at step {}: {}", update->ntimestep, failure);
  comm->reverse_comm(this);
  double **f = atom->f;
  for (int i = 0; i < nlocal; i++)
    for (int d = 0; d < 3; d++) f[i][d] += fbias[i][d];
  MPI_Allreduce(&energy, &bias_energy, 1, MPI_DOUBLE, MPI_SUM, world);
  if (vflag_global)
    for (int i = 0; i < 6; i++) virial[i] += local_virial[i];
}

double FixQuests::compute_scalar()
{
  return bias_energy;
}

int FixQuests::pack_reverse_comm(int n, int first, double *buf)
{
  int m = 0;
  for (int i = first; i < first + n; i++)
    for (int d = 0; d < 3; d++) buf[m++] = fbias[i][d];
  return m;
}

void FixQuests::unpack_reverse_comm(int n, int *list, double *buf)
{
  int m = 0;
  for (int i = 0; i < n; i++)
    for (int d = 0; d < 3; d++) fbias[list[i]][d] += buf[m++];
}

void FixQuests::evaluate()
{
  // Ghost positions as LAMMPS's own forward communication makes them from the owned atoms now: a
  // fix defined earlier (fix deform) may have moved the atoms and the box in this end of step.
  comm->forward_comm();
  const int nlocal = atom->nlocal;
  const int n_points = nlocal + atom->nghost;    // owned atoms, then ghosts
  const std::string failure =
      engine.evaluate(n_points ? atom->x[0] : nullptr, atom->type, n_points, nlocal, atom->mask, groupbit, dh);
  if (!failure.empty())
    error->one(FLERR, "Fix quests: dH evaluation failed at step {}: {}", update->ntimestep, failure);
  summarize();
}

void FixQuests::summarize()
{
  // The global vector of this evaluation, then the collection of novel environments.
  const int nlocal = atom->nlocal;
  if (engine.force_error()) expected_errors();

  double local_max = -1.0e300, local_sums[3] = {0.0, 0.0, 0.0};    // sum dH, novel, evaluated
  for (int i = 0; i < nlocal; i++) {
    if (!(atom->mask[i] & groupbit)) continue;
    local_max = dh[i] > local_max ? dh[i] : local_max;
    local_sums[0] += dh[i];
    local_sums[1] += dh[i] > engine.threshold() ? 1.0 : 0.0;
    local_sums[2] += 1.0;
  }
  double sums[3];
  MPI_Allreduce(&local_max, &stats[0], 1, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(local_sums, sums, 3, MPI_DOUBLE, MPI_SUM, world);
  const double evaluated = sums[2];
  if (evaluated == 0.0) stats[0] = 0.0;
  stats[1] = evaluated > 0.0 ? sums[0] / evaluated : 0.0;
  stats[2] = evaluated > 0.0 ? sums[1] / evaluated : 0.0;
  stats[3] = sums[1];
  stats[4] = evaluated;
  if (!engine.collect_file().empty()) collect();
}

void FixQuests::expected_errors()
{
  // The per-atom array (dH, expected force error, upper quantile) and its largest expected error.
  const int nlocal = atom->nlocal;
  const std::string failure = engine.expected_errors(dh, nlocal, atom->mask, groupbit, nlocal ? columns[0] : nullptr);
  if (!failure.empty())
    error->one(FLERR, "Fix quests: expected force errors failed at step {}: {}", update->ntimestep, failure);
  double local_max = 0.0;    // errors are >= 0; 0 for an empty group
  for (int i = 0; i < nlocal; i++)
    if (atom->mask[i] & groupbit) local_max = std::max(local_max, columns[i][1]);
  MPI_Allreduce(&local_max, &stats[7], 1, MPI_DOUBLE, MPI_MAX, world);
}

void FixQuests::collect()
{
  const double box[6] = {domain->xprd, domain->yprd, domain->zprd, domain->xy, domain->xz, domain->yz};
  const int periodic[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};
  const int n_points = atom->nlocal + atom->nghost;
  int written = 0;
  const std::string failure = engine.collect(n_points ? atom->x[0] : nullptr, atom->tag, sizeof(tagint), n_points,
                                             atom->nlocal, dh, update->ntimestep, box, periodic, written);
  if (!failure.empty())
    error->one(FLERR, "Fix quests: collecting novel environments into {} failed at step {}: {}", engine.collect_file(),
               update->ntimestep, failure);
  stats[5] = written;
  stats[6] += written;
}

double FixQuests::compute_vector(int n)
{
  return stats[n];
}

double FixQuests::memory_usage()
{
  return double(atom->nmax) * (engine.force_error() ? 4 : 1) * sizeof(double);
}

void FixQuests::grow_arrays(int nmax)
{
  memory->grow(dh, nmax, "quests:dh");
  vector_atom = dh;
  if (engine.force_error()) {
    memory->grow(columns, nmax, 3, "quests:columns");
    array_atom = columns;
  }
}

void FixQuests::copy_arrays(int i, int j, int)
{
  dh[j] = dh[i];
  if (engine.force_error())
    for (int c = 0; c < 3; c++) columns[j][c] = columns[i][c];
}

int FixQuests::pack_exchange(int i, double *buf)
{
  buf[0] = dh[i];
  if (!engine.force_error()) return 1;
  for (int c = 0; c < 3; c++) buf[1 + c] = columns[i][c];
  return 4;
}

int FixQuests::unpack_exchange(int nlocal, double *buf)
{
  dh[nlocal] = buf[0];
  if (!engine.force_error()) return 1;
  for (int c = 0; c < 3; c++) columns[nlocal][c] = buf[1 + c];
  return 4;
}
