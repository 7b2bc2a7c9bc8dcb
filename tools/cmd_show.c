/* cmd_show.c - `mtc show FILE.safetensors [--all]`: prints each tensor's name, type and values,
 * so a person (or a lit test) can read what `mtc run` wrote without Python. */
#include <stdio.h>
#include <string.h>

#include "runtime/tensor.h"
#include "ir/type.h"
#include "tools/cmd.h"

static const char usage_text[] =
    "usage: mtc show FILE.safetensors [--all]\n"
    "\n"
    "Prints every tensor as 'name : TYPE' followed by its values in row-major order, one row\n"
    "(last axis) per line. Without --all, at most 64 values per tensor are shown.\n";

static void show(const char *name, const mt_tensor *t, int all)
{
    char ts[MT_TYPE_STR_MAX];
    printf("%s : %s\n", name, mt_type_str(&t->type, ts, sizeof ts));
    int64_t n = mt_type_numel(&t->type);
    int64_t row = t->type.rank ? t->type.dims[t->type.rank - 1] : 1;
    int64_t shown = all || n <= 64 ? n : 64;
    for (int64_t i = 0; i < shown; i++) {
        if (i % row == 0)
            printf("  ");
        if (t->type.dtype == MT_DTYPE_F32)
            printf("%.9g", (double)((const float *)t->data)[i]);
        else
            printf("%.17g", ((const double *)t->data)[i]);
        printf((i + 1) % row == 0 || i + 1 == shown ? "\n" : " ");
    }
    if (shown < n)
        printf("  ... (%lld more)\n", (long long)(n - shown));
}

int mtc_cmd_show(int argc, char **argv)
{
    const char *file = NULL;
    int all = 0;
    if (mtc_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return mtc_usage_error("show", "unknown flag '%s'", argv[i]);
        else if (!file)
            file = argv[i];
        else
            return mtc_usage_error("show", "more than one file given");
    }
    if (!file)
        return mtc_usage_error("show", "no file given");
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    if (mt_safetensors_load(file, &m, &d) != MT_OK) {
        int rc = mtc_fail(&d);
        mt_diag_fini(&d);
        return rc;
    }
    for (int i = 0; i < mt_tensor_map_count(m); i++)
        show(mt_tensor_map_name(m, i), mt_tensor_map_at(m, i), all);
    mt_tensor_map_free(m);
    return 0;
}
