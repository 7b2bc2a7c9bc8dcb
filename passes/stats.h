/* stats.h - what a graph costs to run naively: nodes, FLOPs, bytes moved, peak memory.
 *
 * `mtc dump --stats` prints one row per stage of the pipeline, so the effect of each pass is
 * visible as numbers. The counts model a naive execution: every node runs as its own loop,
 * reading its operands from memory and writing its result to memory, in node order. Fusion
 * (later stages) does better; these are the numbers it is measured against.
 *
 * FLOPs per node (an element is one scalar of the result unless said otherwise):
 *   elementwise (unary, binary, comparison, where)   1 per element; transcendentals (exp, log,
 *                                                    tanh, sigmoid, sqrt, pow) count 1 too
 *   sum, max, mean                                   1 per element of the operand
 *   matmul [..,M,K] x [..,K,N]                       2*M*N*K per batch entry of the result
 *   conv1d x[N,C,L] w[O,C,K] -> [N,O,L']             2*N*O*C*K*L'
 *   conv2d x[N,C,H,W] w[O,C,KH,KW] -> [N,O,H',W']    2*N*O*C*KH*KW*H'*W'
 *   avgpool2d, maxpool2d                             KH*KW per element
 *   movement ops, const, rand, input, param          0 (rand is integer arithmetic)
 * Bytes: every non-leaf node reads each operand whole and writes its result once (a const or
 * rand only writes); leaves are already in memory and move nothing.
 * Peak: the largest number of bytes live at once when nodes run in order and each value is
 * freed right after its last user has run. Inputs and params are live throughout; outputs
 * and the new values of a step graph's updates stay live to the end; a node's operands are
 * still live while it writes its result.
 */
#ifndef MT_PASSES_STATS_H
#define MT_PASSES_STATS_H

#include "ir/alloc.h"
#include "ir/graph.h"

typedef struct mt_stats {
    int nodes;    /* nodes that compute (not inputs or params) */
    double flops; /* doubles: 2*M*N*K alone can pass 2^63 for legal shapes; exact below 2^53 */
    double bytes;
    double peak;
    /* Step graphs: the updates, and the bytes of those the fused program stores in place over
     * their param or state (no second buffer, no copy after the run; 0 for graph stages). */
    int updates, updates_inplace;
    double inplace_bytes;
} mt_stats;

/* Fills *s for g. Fails only when out of memory. */
mt_status mt_graph_stats(const mt_graph *g, mt_stats *s, mt_diag *d);

/* The stats table: a header line, then one row per stage (appended to b), e.g.
 *   stage           nodes          flops          bytes           peak
 *   parsed              6      1552 FLOP         2564 B         1408 B
 *   dce                 6     2.50 GFLOP       3.00 MiB      12.06 KiB
 * Numbers below 10000 print exactly; larger ones with three significant digits and a unit
 * (k, M, G, T, P FLOP; KiB, MiB, GiB, TiB, PiB). */
void mt_stats_header(mt_buf *b);
void mt_stats_row(mt_buf *b, const char *stage, const mt_stats *s);
/* For a step graph's fused program, one line after the table: "updates: 8, 6 in place
 * (448 B: no copy, no second buffer)". Nothing for other graphs. */
void mt_stats_updates(mt_buf *b, const mt_stats *s);

#endif
