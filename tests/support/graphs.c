/* graphs.c - graphs inside a cmocka test (graphs.h). */
#include "tests/support/graphs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "passes/schedule.h"

mt_graph *mt_test_parse(const char *text)
{
    mt_graph *g = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_graph_parse(text, strlen(text), "test.mt", &g, &d) != MT_OK)
        fail_msg("parse: line %d: %s\n%s", d.line, d.msg, text);
    return g;
}

char *mt_test_kernels(const mt_graph *g, const mt_target_desc *t)
{
    mt_kprog *p = NULL;
    mt_diag d;
    mt_diag_init(&d);
    if (mt_schedule(g, t, &p, &d) != MT_OK)
        fail_msg("schedule: %s", d.msg);
    char *s = mt_kprog_print(p);
    mt_kprog_free(p);
    if (!s)
        fail_msg("schedule: out of memory printing the program");
    return s;
}
