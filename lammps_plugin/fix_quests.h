/* fix quests: per-atom QUESTS differential entropy dH against a reference (training) set.
 *
 *   fix ID group-ID quests N reference-file [bandwidth h] [method exact|approx|knn] [certificate c]
 *                                           [neighbors m] [precision single|double] [threshold t]
 *                                           [elements E1 E2 ...] [species mode] [unknown error|novel]
 *                                           [collect FILE [collect_threshold t] [collect_max M [M_total]]
 *                                            [discard_above t2] [collect_buffer b]]
 *                                           [bias explore lambda cap | bias wall lambda threshold]
 *                                           [force_error yes|no] [force_alarm E]
 *
 * Outputs: per-atom vector f_ID (dH in nats, 0 outside the group), or with force_error yes a
 * per-atom array (dH, expected force error, its upper quantile; eV/A), and a global vector of 8:
 * [1] max dH, [2] mean dH, [3] fraction of group atoms with dH > threshold, [4] their number,
 * [5] number of atoms evaluated, [6] environments collected at this evaluation, [7] in all,
 * [8] largest expected force error (eV/A; 0 without force_error).
 * With a bias: global scalar f_ID = bias energy (eV), forces every step (N = 1).
 * See doc/fix_quests.md. */

#ifndef QUESTS_LMP_FIX_QUESTS_H
#define QUESTS_LMP_FIX_QUESTS_H

#include "fix.h"
#include "python_engine.h"

namespace LAMMPS_NS {

class FixQuests : public Fix {
 public:
  FixQuests(class LAMMPS *, int, char **);
  ~FixQuests() override;
  int setmask() override;
  void init() override;
  void setup(int) override;
  void min_setup(int) override;
  void end_of_step() override;
  void min_post_force(int) override;
  void post_force(int) override;
  double compute_scalar() override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;
  double compute_vector(int) override;
  double memory_usage() override;
  void grow_arrays(int) override;
  void copy_arrays(int, int, int) override;
  int pack_exchange(int, double *) override;
  int unpack_exchange(int, double *) override;

 private:
  QuestsLmp::PythonEngine engine;
  double *dh;            // per-atom dH (the output without force_error)
  double **columns;      // per-atom output with force_error: dH, expected force error, upper quantile
  double stats[8];       // global vector, see above
  double **fbias;        // bias forces of owned and ghost atoms (eV/A), with a bias
  int nmax_bias;         // rows of fbias
  double bias_energy;    // global bias energy (eV)
  bool reevaluate;       // with a bias: dH again at the end of each step, where a fix changes the box there
  double ghost_user;     // comm_modify's ghost cutoff before this fix raised it (A; < 0: not raised)
  double ghost_set;      // the ghost cutoff this fix set (A)

  void widen_ghost_shell();
  std::string reach() const;
  void check_ghost_cutoff();
  void start_run();
  void apply_bias(int);
  void evaluate_after_box_changes();
  void evaluate();
  void expected_errors();
  void summarize();
  void collect();
};

}    // namespace LAMMPS_NS

#endif
