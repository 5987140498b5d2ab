/* Embedded-Python bridge of fix quests: owns one quests_lmp.lammps.fix.FixEngine per rank.
 *
 * No numerics here: positions, mask and output are handed to Python as zero-copy memoryviews.
 * Every method returns an empty string on success and the Python error message otherwise, so
 * that the fix can turn it into a LAMMPS error. */

#ifndef QUESTS_LMP_PYTHON_ENGINE_H
#define QUESTS_LMP_PYTHON_ENGINE_H

#include <string>
#include <vector>

struct _object;    // PyObject, without Python.h here

namespace QuestsLmp {

// What the fix hands the engine: its words from the reference file on (the keywords are read and
// checked in Python, quests_lmp.lammps.fix_keywords) and the run they belong to.
struct FixContext {
  std::vector<std::string> words;
  int types = 1;            // atom types
  int every = 1;            // N: evaluate every N steps
  bool atom_ids = true;     // the atoms have IDs
  long comm_handle = -1;    // the run's communicator (MPI_Comm_c2f) on several ranks; < 0: one rank
};

class PythonEngine {
 public:
  PythonEngine() = default;
  ~PythonEngine();
  PythonEngine(const PythonEngine &) = delete;
  PythonEngine &operator=(const PythonEngine &) = delete;

  // Starts Python if needed, imports quests_lmp, reads the fix's keywords and loads the reference file.
  std::string create(const FixContext &context);
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
  // What the keywords asked for: a bias (forces at every step), force_error (three per-atom
  // columns), collect (the file novel environments are appended to; empty: none).
  bool bias() const { return bias_; }
  bool force_error() const { return force_error_; }
  const std::string &collect_file() const { return collect_file_; }
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
  bool bias_ = false;
  bool force_error_ = false;
  std::string collect_file_;
};

}    // namespace QuestsLmp

#endif
