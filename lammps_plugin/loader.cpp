/* questsplugin.so: the file LAMMPS loads (`plugin load`, or LAMMPS_PLUGIN_PATH). It uses no LAMMPS
 * header or library, so it loads into any LAMMPS: it compares the running LAMMPS's version (C
 * library call lammps_version) with the one fix quests was compiled for, then loads the fix
 * (questsimpl.so, same folder) and lets it register. A fix compiled for another LAMMPS would fail
 * to load on undefined symbols or crash on other class layouts; instead LAMMPS prints a warning
 * naming both versions and the command that builds the plugin for the running one, and the deck
 * stops later at "Unrecognized fix style 'quests'". */

#include "plugin_abi.h"

#include <dlfcn.h>

#include <cstdio>
#include <string>

#ifndef QUESTS_LAMMPS_VERSION
#error "QUESTS_LAMMPS_VERSION (YYYYMMDD of the LAMMPS that questsimpl.so is compiled against) must be defined"
#endif

namespace {

using VersionFunction = int (*)(void *);
using ErrorFunction = void (*)(void *, int, const char *);
using RegisterFunction = void (*)(void *, void *, void *);
constexpr int LMP_ERROR_WARNING = 0;    // library.h: lammps_error() calls Error::warning()

void warn(void *lmp, const std::string &text)
{
  const auto error = reinterpret_cast<ErrorFunction>(dlsym(RTLD_DEFAULT, "lammps_error"));
  if (error) {
    error(lmp, LMP_ERROR_WARNING, text.c_str());
  } else {
    std::fprintf(stderr, "WARNING: %s\n", text.c_str());
  }
}

// 20230802 -> "2 Aug 2023 (20230802)", as LAMMPS writes its versions, with the number lammps_version() gives.
std::string version_text(int version)
{
  static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int month = version / 100 % 100;
  const std::string number = std::to_string(version);
  if (month < 1 || month > 12) return number;
  return std::to_string(version % 100) + " " + months[month - 1] + " " + std::to_string(version / 10000) + " (" +
         number + ")";
}

std::string own_folder()
{
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&own_folder), &info) == 0 || !info.dli_fname) return ".";
  const std::string path = info.dli_fname;
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}    // namespace

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  const std::string folder = own_folder();
  const auto version = reinterpret_cast<VersionFunction>(dlsym(RTLD_DEFAULT, "lammps_version"));
  const int running = version ? version(lmp) : QUESTS_LAMMPS_VERSION;
  if (running != QUESTS_LAMMPS_VERSION) {
    warn(lmp, "fix quests not loaded: " + folder + "/questsplugin.so was compiled for LAMMPS " +
                  version_text(QUESTS_LAMMPS_VERSION) + ", but this LAMMPS is " + version_text(running) +
                  ". Compile it for this one: quests-lmp build-plugin --lammps <folder of this LAMMPS> --output "
                  "<folder>, then plugin load <folder>/questsplugin.so (doc/fix_quests.md, Restrictions)");
    return;
  }
  // RTLD_GLOBAL: the libpython that questsimpl.so links must lend its symbols to the compiled
  // Python modules the engine imports (math, numpy, ...).
  void *library = dlopen((folder + "/questsimpl.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
  const auto reg = library ? reinterpret_cast<RegisterFunction>(dlsym(library, "quests_lmp_register")) : nullptr;
  if (!reg) {
    const char *reason = dlerror();
    warn(lmp, "fix quests not loaded: cannot load " + folder +
                  "/questsimpl.so: " + (reason ? reason : "no quests_lmp_register in it") +
                  ". Reinstall quests-lmp, or compile the plugin again with quests-lmp build-plugin");
    return;
  }
  reg(lmp, handle, regfunc);
}
