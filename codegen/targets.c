/* targets.c - the static table of targets, in the order `mt_target_name` lists them. */
#include <string.h>

#include "codegen/target.h"

static const mt_target *const targets[] = {&mt_target_interp, &mt_target_cpu, &mt_target_cuda,
                                           &mt_target_opencl};

const mt_target *mt_target_lookup(const char *name)
{
    for (size_t i = 0; name && i < sizeof targets / sizeof targets[0]; i++)
        if (!strcmp(targets[i]->name, name))
            return targets[i];
    return NULL;
}

const char *mt_target_name(int i)
{
    if (i < 0 || (size_t)i >= sizeof targets / sizeof targets[0])
        return NULL;
    return targets[i]->name;
}
