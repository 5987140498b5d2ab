#include "python_engine.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <mpi.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace QuestsLmp {
namespace {

  bool exists(const std::string &path)
  {
    struct stat info;
    return stat(path.c_str(), &info) == 0;
  }

  std::string parent(const std::string &path)
  {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  }

  // Folder that holds the quests_lmp package: fixed when the plugin was compiled outside it
  // (quests-lmp build-plugin), else the plugin's own (.../site-packages/quests_lmp/questsimpl.so).
  std::string site_packages()
  {
#ifdef QUESTS_SITE_PACKAGES
    return QUESTS_SITE_PACKAGES;
#else
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&site_packages), &info) == 0 || !info.dli_fname) return ".";
    return parent(parent(info.dli_fname));
#endif
  }

  // "Type: message" of the pending Python exception, which is cleared.
  std::string python_error()
  {
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    std::string text = "unknown Python error";
    if (value) {
      PyObject *name = type ? PyObject_GetAttrString(type, "__name__") : nullptr;
      PyObject *message = PyObject_Str(value);
      if (message) {
        const char *utf8 = PyUnicode_AsUTF8(message);
        const char *type_name = name ? PyUnicode_AsUTF8(name) : nullptr;
        text = std::string(type_name ? type_name : "Error") + ": " + (utf8 ? utf8 : "");
      }
      Py_XDECREF(name);
      Py_XDECREF(message);
    }
    PyErr_Clear();
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return text;
  }

  // Starts the interpreter inside a native lmp binary: the Python of the virtual environment this
  // plugin was installed into when there is one, so its packages are found first.
  std::string start_python()
  {
    const std::string packages = site_packages();
    const std::string root = parent(parent(parent(packages)));    // <venv>/lib/python3.X/site-packages
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;    // LAMMPS keeps its signals
    config.parse_argv = 0;
    if (exists(root + "/pyvenv.cfg") && exists(root + "/bin/python3")) {
      PyConfig_SetBytesString(&config, &config.executable, (root + "/bin/python3").c_str());
    }
    PyStatus status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
      return std::string("cannot start the embedded Python: ") + (status.err_msg ? status.err_msg : "unknown");
    }
    // The plugin's own site-packages go first in any case (a Python without that venv).
    const std::string code =
        "import sys, site\nfolder = r'" + packages + "'\nif folder not in sys.path:\n" +
        "    site.addsitedir(folder)\n    sys.path.remove(folder)\n    sys.path.insert(0, folder)\n";
    const int failed = PyRun_SimpleString(code.c_str());
    PyEval_SaveThread();    // release the GIL; every call below takes it
    return failed ? "cannot add " + packages + " to the embedded Python's path" : "";
  }

  std::string interpreter_description()
  {
    PyObject *sys = PyImport_ImportModule("sys");
    std::string text = std::string("Python ") + Py_GetVersion();
    if (sys) {
      PyObject *executable = PyObject_GetAttrString(sys, "executable");
      PyObject *path = PyObject_GetAttrString(sys, "path");
      PyObject *path_text = path ? PyObject_Str(path) : nullptr;
      if (executable && PyUnicode_Check(executable))
        text += std::string(", executable '") + PyUnicode_AsUTF8(executable) + "'";
      if (path_text) text += std::string(", sys.path ") + PyUnicode_AsUTF8(path_text);
      Py_XDECREF(executable);
      Py_XDECREF(path);
      Py_XDECREF(path_text);
      Py_DECREF(sys);
    }
    PyErr_Clear();
    return text;
  }

  PyObject *memory(void *data, Py_ssize_t bytes, int flags)
  {
    static char empty = 0;
    return PyMemoryView_FromMemory(data ? static_cast<char *>(data) : &empty, data ? bytes : 0, flags);
  }

  // Byte exchanges on the run's communicator for quests_lmp.lammps.host_comm, through the MPI that
  // LAMMPS itself runs on (a LAMMPS with its own MPI library cannot be reached by mpi4py). Buffers
  // are malloc'ed here and released by release_bytes.
  long long gather_bytes(long long handle, const char *data, int size, int *sizes, char **result)
  {
    const MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(handle));
    int rank = 0, ranks = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
    MPI_Gather(&size, 1, MPI_INT, sizes, 1, MPI_INT, 0, comm);
    std::vector<int> starts(ranks, 0);
    long long total = 0;
    if (rank == 0)
      for (int r = 0; r < ranks; r++) {
        starts[r] = static_cast<int>(total);
        total += sizes[r];
      }
    *result = static_cast<char *>(std::malloc(total > 0 ? total : 1));
    MPI_Gatherv(data, size, MPI_BYTE, *result, sizes, starts.data(), MPI_BYTE, 0, comm);
    return total;
  }

  long long bcast_bytes(long long handle, const char *data, int size, char **result)
  {
    const MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(handle));
    MPI_Bcast(&size, 1, MPI_INT, 0, comm);
    *result = static_cast<char *>(std::malloc(size > 0 ? size : 1));
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0 && size > 0) std::memcpy(*result, data, size);
    MPI_Bcast(*result, size, MPI_BYTE, 0, comm);
    return size;
  }

  void release_bytes(char *buffer)
  {
    std::free(buffer);
  }

  // quests_lmp.lammps.host_comm.HostComm over the run's communicator (new reference; null with the
  // Python error pending).
  PyObject *host_comm(long comm_handle)
  {
    int rank = 0, ranks = 1;
    const MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(comm_handle));
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
    PyObject *module = PyImport_ImportModule("quests_lmp.lammps.host_comm");
    if (!module) return nullptr;
    PyObject *comm_object =
        PyObject_CallMethod(module, "HostComm", "LiiKKK", static_cast<long long>(comm_handle), rank, ranks,
                            static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(&gather_bytes)),
                            static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(&bcast_bytes)),
                            static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(&release_bytes)));
    Py_DECREF(module);
    return comm_object;
  }

  // A str attribute's text; "" with the Python error pending where it is missing or not a str.
  std::string text_attribute(PyObject *object, const char *name)
  {
    PyObject *value = PyObject_GetAttrString(object, name);
    const char *text = value ? PyUnicode_AsUTF8(value) : nullptr;
    const std::string result = text ? text : "";
    Py_XDECREF(value);
    return result;
  }

  double float_attribute(PyObject *object, const char *name)
  {
    PyObject *value = PyObject_GetAttrString(object, name);
    const double number = value ? PyFloat_AsDouble(value) : -1.0;
    Py_XDECREF(value);
    return number;
  }

  bool bool_attribute(PyObject *object, const char *name)
  {
    PyObject *value = PyObject_GetAttrString(object, name);
    const int truth = value ? PyObject_IsTrue(value) : 0;
    Py_XDECREF(value);
    return truth == 1;
  }

  // quests_lmp.lammps.fix_keywords.create_engine(words, types=, every=, atom_ids=, comm=): a new
  // reference, or null with the Python error pending.
  PyObject *create_engine(PyObject *module, const FixContext &context)
  {
    PyObject *words = PyList_New(0);
    for (const std::string &word : context.words) {
      PyObject *text = words ? PyUnicode_FromString(word.c_str()) : nullptr;
      if (!text || PyList_Append(words, text) != 0) Py_CLEAR(words);
      Py_XDECREF(text);
    }
    PyObject *comm = context.comm_handle >= 0 ? host_comm(context.comm_handle) : Py_NewRef(Py_None);
    PyObject *arguments = words ? PyTuple_Pack(1, words) : nullptr;
    PyObject *keywords = comm ? Py_BuildValue("{s:i,s:i,s:O,s:O}", "types", context.types, "every", context.every,
                                              "atom_ids", context.atom_ids ? Py_True : Py_False, "comm", comm)
                              : nullptr;
    PyObject *function = PyObject_GetAttrString(module, "create_engine");
    PyObject *engine = (arguments && keywords && function) ? PyObject_Call(function, arguments, keywords) : nullptr;
    Py_XDECREF(words);
    Py_XDECREF(comm);
    Py_XDECREF(arguments);
    Py_XDECREF(keywords);
    Py_XDECREF(function);
    return engine;
  }

}    // namespace

std::string PythonEngine::create(const FixContext &context)
{
  if (!Py_IsInitialized()) {
    const std::string error = start_python();
    if (!error.empty()) return error;
  }
  PyGILState_STATE gil = PyGILState_Ensure();
  std::string error;
  PyObject *module = PyImport_ImportModule("quests_lmp.lammps.fix_keywords");
  if (!module) {
    const std::string reason = python_error();
    error = "cannot import the quests_lmp engine in the embedded " + interpreter_description() + ": " + reason +
            ". Install quests-lmp (pip install quests-lmp) into the Python whose library this plugin "
            "was built against, or add its site-packages to PYTHONPATH";
  } else {
    PyObject *engine = create_engine(module, context);
    if (!engine) {
      error = python_error();
    } else {
      cutoff_ = float_attribute(engine, "cutoff");
      ghost_cutoff_ = PyErr_Occurred() ? -1.0 : float_attribute(engine, "ghost_cutoff");
      threshold_ = PyErr_Occurred() ? 0.0 : float_attribute(engine, "threshold");
      if (!PyErr_Occurred()) notice_ = text_attribute(engine, "notice");
      if (!PyErr_Occurred()) alarm_ = text_attribute(engine, "alarm");
      if (!PyErr_Occurred()) collect_file_ = text_attribute(engine, "collect_file");
      bias_ = !PyErr_Occurred() && bool_attribute(engine, "has_bias");
      force_error_ = !PyErr_Occurred() && bool_attribute(engine, "has_force_error");
      if (PyErr_Occurred()) {
        error = python_error();
        Py_DECREF(engine);
      } else {
        engine_ = engine;
      }
    }
    Py_DECREF(module);
  }
  PyGILState_Release(gil);
  return error;
}

std::string PythonEngine::setup()
{
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *result = PyObject_CallMethod(static_cast<PyObject *>(engine_), "setup", nullptr);
  const std::string error = result ? std::string() : python_error();
  Py_XDECREF(result);
  PyGILState_Release(gil);
  return error;
}

PyObject *PythonEngine::call_with_atoms(const char *name, double *positions, int *types, int n_points, int nlocal,
                                        int *mask, int groupbit, double *out, double *forces)
{
  PyObject *x = memory(positions, Py_ssize_t(n_points) * 3 * sizeof(double), PyBUF_READ);
  PyObject *t = memory(types, Py_ssize_t(n_points) * sizeof(int), PyBUF_READ);
  PyObject *m = memory(mask, Py_ssize_t(nlocal) * sizeof(int), PyBUF_READ);
  PyObject *o = memory(out, Py_ssize_t(nlocal) * sizeof(double), PyBUF_WRITE);
  PyObject *f = forces ? memory(forces, Py_ssize_t(n_points) * 3 * sizeof(double), PyBUF_WRITE) : nullptr;
  PyObject *result = nullptr;
  if (x && t && m && o && (f || !forces)) {
    PyObject *method = PyObject_GetAttrString(static_cast<PyObject *>(engine_), name);
    PyObject *arguments = forces ? Py_BuildValue("(OOiiOiOO)", x, t, n_points, nlocal, m, groupbit, o, f)
                                 : Py_BuildValue("(OOiiOiO)", x, t, n_points, nlocal, m, groupbit, o);
    result = (method && arguments) ? PyObject_Call(method, arguments, nullptr) : nullptr;
    Py_XDECREF(method);
    Py_XDECREF(arguments);
  }
  Py_XDECREF(x);
  Py_XDECREF(t);
  Py_XDECREF(m);
  Py_XDECREF(o);
  Py_XDECREF(f);
  return result;
}

std::string PythonEngine::evaluate(double *positions, int *types, int n_points, int nlocal, int *mask, int groupbit,
                                   double *out)
{
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *result = call_with_atoms("evaluate", positions, types, n_points, nlocal, mask, groupbit, out, nullptr);
  const std::string error = result ? std::string() : python_error();
  Py_XDECREF(result);
  PyGILState_Release(gil);
  return error;
}

std::string PythonEngine::evaluate_bias(double *positions, int *types, int n_points, int nlocal, int *mask,
                                        int groupbit, double *out, double *forces, double &energy, double virial[6])
{
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *result = call_with_atoms("evaluate_bias", positions, types, n_points, nlocal, mask, groupbit, out, forces);
  double values[7] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  if (result && !PyArg_ParseTuple(result, "ddddddd", &values[0], &values[1], &values[2], &values[3], &values[4],
                                  &values[5], &values[6]))
    Py_CLEAR(result);
  const std::string error = result ? std::string() : python_error();
  energy = values[0];
  for (int i = 0; i < 6; i++) virial[i] = values[i + 1];
  Py_XDECREF(result);
  PyGILState_Release(gil);
  return error;
}

std::string PythonEngine::expected_errors(double *dh, int nlocal, int *mask, int groupbit, double *columns)
{
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *o = memory(dh, Py_ssize_t(nlocal) * sizeof(double), PyBUF_READ);
  PyObject *m = memory(mask, Py_ssize_t(nlocal) * sizeof(int), PyBUF_READ);
  PyObject *c = memory(columns, Py_ssize_t(nlocal) * 3 * sizeof(double), PyBUF_WRITE);
  PyObject *result = (o && m && c) ? PyObject_CallMethod(static_cast<PyObject *>(engine_), "expected_errors", "OiOiO",
                                                         o, nlocal, m, groupbit, c)
                                   : nullptr;
  const std::string error = result ? std::string() : python_error();
  Py_XDECREF(result);
  Py_XDECREF(o);
  Py_XDECREF(m);
  Py_XDECREF(c);
  PyGILState_Release(gil);
  return error;
}

std::string PythonEngine::collect(double *positions, void *tags, int tag_bytes, int n_points, int nlocal, double *dh,
                                  long long step, const double box[6], const int periodic[3], int &written)
{
  PyGILState_STATE gil = PyGILState_Ensure();
  std::string error;
  written = 0;
  PyObject *x = memory(positions, Py_ssize_t(n_points) * 3 * sizeof(double), PyBUF_READ);
  PyObject *t = memory(tags, Py_ssize_t(n_points) * tag_bytes, PyBUF_READ);
  PyObject *o = memory(dh, Py_ssize_t(nlocal) * sizeof(double), PyBUF_READ);
  PyObject *result = (x && t && o)
                         ? PyObject_CallMethod(static_cast<PyObject *>(engine_), "collect", "OOiiiOL(ddddddiii)", x, t,
                                               tag_bytes, n_points, nlocal, o, step, box[0], box[1], box[2], box[3],
                                               box[4], box[5], periodic[0], periodic[1], periodic[2])
                         : nullptr;
  if (result) written = int(PyLong_AsLong(result));
  if (!result || PyErr_Occurred()) error = python_error();
  Py_XDECREF(result);
  Py_XDECREF(x);
  Py_XDECREF(t);
  Py_XDECREF(o);
  PyGILState_Release(gil);
  return error;
}

PythonEngine::~PythonEngine()
{
  if (engine_ && Py_IsInitialized()) {
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF(static_cast<PyObject *>(engine_));
    PyGILState_Release(gil);
  }
}

}    // namespace QuestsLmp
