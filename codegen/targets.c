/* targets.c - the static table of targets, in the order `mt_target_name` lists them. */
#include <string.h>

#include "codegen/target.h"

/* Planned targets: named, so that asking for them says "not available" rather than
 * "unknown". */
static const mt_target cuda = {"cuda", "NVRTC kernels on an NVIDIA GPU", NULL, NULL, NULL, NULL};
static const mt_target opencl = {"opencl", "OpenCL kernels on a GPU", NULL, NULL, NULL, NULL};

static const mt_target *const targets[] = {&mt_target_interp, &mt_target_cpu, &cuda, &opencl};

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
