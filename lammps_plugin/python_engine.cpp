#include "python_engine.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <string>

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
    const std::string code = "import sys, site\nfolder = r'" + packages + "'\nif folder not in sys.path:\n" +
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

}    // namespace

std::string PythonEngine::create(const EngineOptions &options)
{
  if (!Py_IsInitialized()) {
    const std::string error = start_python();
    if (!error.empty()) return error;
  }
  PyGILState_STATE gil = PyGILState_Ensure();
  std::string error;
  PyObject *module = PyImport_ImportModule("quests_lmp.lammps.fix");
  if (!module) {
    const std::string reason = python_error();
    error = "cannot import the quests_lmp engine in the embedded " + interpreter_description() + ": " + reason +
        ". Install quests-lmp (pip install quests-lmp) into the Python whose library this plugin "
        "was built against, or add its site-packages to PYTHONPATH";
  } else {
    PyObject *bandwidth = options.bandwidth > 0 ? PyFloat_FromDouble(options.bandwidth) : Py_NewRef(Py_None);
    PyObject *neighbors = options.neighbors > 0 ? PyLong_FromLong(options.neighbors) : Py_NewRef(Py_None);
    PyObject *certificate =
        options.certificate >= 0 ? PyFloat_FromDouble(options.certificate) : Py_NewRef(Py_None);
    auto text_or_none = [](const std::string &text) { return text.empty() ? nullptr : text.c_str(); };
    PyObject *engine = PyObject_CallMethod(
        module, "FixEngine", "sOsOsOdzzz", options.reference_file.c_str(), bandwidth, options.method.c_str(),
        neighbors, options.precision.c_str(), certificate, options.threshold, text_or_none(options.elements),
        text_or_none(options.species), text_or_none(options.unknown));
    Py_DECREF(bandwidth);
    Py_DECREF(neighbors);
    Py_DECREF(certificate);
    if (!engine) {
      error = python_error();
    } else {
      PyObject *cutoff = PyObject_GetAttrString(engine, "cutoff");
      cutoff_ = cutoff ? PyFloat_AsDouble(cutoff) : -1.0;
      Py_XDECREF(cutoff);
      PyObject *notice = PyErr_Occurred() ? nullptr : PyObject_GetAttrString(engine, "notice");
      const char *text = notice ? PyUnicode_AsUTF8(notice) : nullptr;
      if (text) notice_ = text;
      Py_XDECREF(notice);
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

std::string PythonEngine::evaluate(double *positions, int *types, int n_points, int nlocal, int *mask, int groupbit,
                                   double *out)
{
  PyGILState_STATE gil = PyGILState_Ensure();
  std::string error;
  PyObject *x = memory(positions, Py_ssize_t(n_points) * 3 * sizeof(double), PyBUF_READ);
  PyObject *t = memory(types, Py_ssize_t(n_points) * sizeof(int), PyBUF_READ);
  PyObject *m = memory(mask, Py_ssize_t(nlocal) * sizeof(int), PyBUF_READ);
  PyObject *o = memory(out, Py_ssize_t(nlocal) * sizeof(double), PyBUF_WRITE);
  PyObject *result = (x && t && m && o) ? PyObject_CallMethod(static_cast<PyObject *>(engine_), "evaluate",
                                                              "OOiiOiO", x, t, n_points, nlocal, m, groupbit, o)
                                        : nullptr;
  if (!result) error = python_error();
  Py_XDECREF(result);
  Py_XDECREF(x);
  Py_XDECREF(t);
  Py_XDECREF(m);
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
