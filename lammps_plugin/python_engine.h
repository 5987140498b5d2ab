/* Embedded-Python bridge of fix quests: owns one quests_lmp.lammps.fix.FixEngine per rank.
 *
 * No numerics here: positions, mask and output are handed to Python as zero-copy memoryviews.
 * Every method returns an empty string on success and the Python error message otherwise, so
 * that the fix can turn it into a LAMMPS error. */

#ifndef QUESTS_LMP_PYTHON_ENGINE_H
#define QUESTS_LMP_PYTHON_ENGINE_H

#include <cmath>
#include <string>

struct _object;    // PyObject, without Python.h here

namespace QuestsLmp {

struct EngineOptions {
  std::string reference_file;
  double bandwidth = -1.0;    // 1/A; <= 0: the reference file's default
  std::string method = "exact";
  int neighbors = -1;           // knn only; <= 0: the engine's default
  double certificate = -1.0;    // nats, approx only; < 0: the engine's default
  std::string precision = "double";
  double threshold = NAN;      // nats: atoms with dH above it count as novel; NaN: the engine's (calibrated or 0)
  bool force_error = false;    // expected force error of each atom from the reference's error map
  double force_alarm = NAN;    // eV/A: novel where the expected force error exceeds it; NaN: unset
  std::string elements;        // element of each atom type, space-separated; empty: not given
  std::string species;         // species mode; empty: as the reference file
  std::string unknown;         // error or novel; empty: the engine's default
  // Collection of novel environments (quests_lmp.lammps.collection); unset values: the engine's defaults.
  std::string collect_file;          // empty: no collection
  double collect_threshold = NAN;    // nats; NaN: threshold
  int collect_max = -1;              // environments per evaluation; < 1: unset
  int collect_max_run = -1;          // environments in all; < 1: unset
  double discard_above = NAN;        // nats; NaN: no upper limit
  double collect_buffer = -1.0;      // A beyond the cutoff; < 0: the cutoff again
  long comm_handle = -1;             // the run's communicator (MPI_Comm_c2f); < 0: one rank
  // Bias energy of dH (quests_lmp.engine.bias): empty kind: none.
  std::string bias_kind;         // explore or wall
  double bias_strength = 0.0;    // eV/nat (explore) or eV/nat^2 (wall)
  double bias_level = 0.0;       // nats: the cap (explore) or the threshold (wall)
};

class PythonEngine {
 public:
  PythonEngine() = default;
  ~PythonEngine();
  PythonEngine(const PythonEngine &) = delete;
  PythonEngine &operator=(const PythonEngine &) = delete;

  // Starts Python if needed, imports quests_lmp and loads the reference file.
  std::string create(const EngineOptions &options);
  // Checks at the start of each run what the whole input decides (the collect file against the
  // run's open dumps and logs); a collective call on all ranks.
  std::string setup();
  // Descriptor cutoff of the loaded reference, A.
  double cutoff() const { return cutoff_; }
  // How far out ghost atoms must reach, A: the cutoff, plus the collection buffer when collecting.
  double ghost_cutoff() const { return ghost_cutoff_; }
  // A warning of the engine to print once (empty if none).
  const std::string &notice() const { return notice_; }
  // The novelty threshold in force (nats) and where it came from, for the log.
  double threshold() const { return threshold_; }
  const std::string &alarm() const { return alarm_; }
  // dH of the owned atoms with (mask & groupbit) into out[0..nlocal); 0 for the others.
  // positions and types: owned atoms, then ghosts (n_points of each).
  std::string evaluate(double *positions, int *types, int n_points, int nlocal, int *mask, int groupbit, double *out);
  // As evaluate(), with the bias forces (eV/A) of every point into forces (n_points x 3, ghosts'
  // to be summed onto their owners); energy (eV) and virial (xx yy zz xy xz yz, eV) of this rank.
  std::string evaluate_bias(double *positions, int *types, int n_points, int nlocal, int *mask, int groupbit,
                            double *out, double *forces, double &energy, double virial[6]);
  // (dH, expected force error, its upper quantile) of the owned atoms with (mask & groupbit) into
  // columns (nlocal x 3: nats, eV/A, eV/A; zeros for the others), from dh of the last evaluation.
  std::string expected_errors(double *dh, int nlocal, int *mask, int groupbit, double *columns);
  // Collects the novel environments of the last evaluate() (a collective call on all ranks): tags
  // of tag_bytes each (n_points), dh of the owned atoms, box = xprd yprd zprd xy xz yz (A) and
  // the three periodic flags. Sets written to the number of environments written.
  std::string collect(double *positions, void *tags, int tag_bytes, int n_points, int nlocal, double *dh,
                      long long step, const double box[6], const int periodic[3], int &written);

 private:
  // engine.<name>(positions, types, n_points, nlocal, mask, groupbit, out[, forces]) over memoryviews
  // of LAMMPS memory (forces: null for none); the result, or null with the Python error pending.
  // The caller holds the GIL.
  ::_object *call_with_atoms(const char *name, double *positions, int *types, int n_points, int nlocal, int *mask,
                             int groupbit, double *out, double *forces);
  void *engine_ = nullptr;    // PyObject *
  double cutoff_ = 0.0;
  double ghost_cutoff_ = 0.0;
  double threshold_ = 0.0;
  std::string notice_;
  std::string alarm_;
};

}    // namespace QuestsLmp

#endif
