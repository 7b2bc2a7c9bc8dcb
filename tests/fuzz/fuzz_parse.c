/* fuzz_parse.c - libFuzzer target for the MTIR parser: any bytes either parse into a graph
 * that verifies and round-trips through the printer, or give a located error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    if (mt_graph_parse((const char *)data, size, "fuzz.mt", &g, &d) != MT_OK) {
        if (d.msg[0] == 0)
            abort(); /* every error carries a message */
        return 0;
    }
    if (mt_graph_verify(g, &d) != MT_OK)
        abort();
    char *once = mt_graph_print(g);
    mt_graph *g2 = NULL;
    if (once && mt_graph_parse(once, strlen(once), "printed.mt", &g2, &d) != MT_OK)
        abort(); /* the printer wrote something the parser rejects */
    char *twice = g2 ? mt_graph_print(g2) : NULL;
    if (once && twice && strcmp(once, twice) != 0)
        abort(); /* not a fixed point */
    mt_free(once);
    mt_free(twice);
    mt_graph_free(g);
    mt_graph_free(g2);
    return 0;
}
