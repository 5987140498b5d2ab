/* Registers fix quests with LAMMPS; called by questsplugin.so (loader.cpp) once it has checked
 * that this library was compiled for the running LAMMPS. */

#include "fix_quests.h"
#include "lammps.h"
#include "plugin_abi.h"

using namespace LAMMPS_NS;

static void *fix_quests_creator(void *lmp, int argc, char **argv)
{
  return new FixQuests(static_cast<LAMMPS *>(lmp), argc, argv);
}

extern "C" __attribute__((visibility("default"))) void quests_lmp_register(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  plugin.version = static_cast<LAMMPS *>(lmp)->version;    // loader.cpp checked it is the compiled-for one
  plugin.style = "fix";
  plugin.name = "quests";
  plugin.info = "QUESTS per-atom differential entropy (quests-lmp)";
  plugin.author = "quests-lmp developers";
  plugin.creator.v2 = &fix_quests_creator;
  plugin.handle = handle;
  (*(lammpsplugin_regfunc)regfunc)(&plugin, lmp);
}
