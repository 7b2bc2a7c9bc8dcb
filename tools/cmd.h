/* cmd.h - the subcommands of `mtc`, one file each (tools/cmd_<name>.c), and shared CLI helpers.
 *
 * Exit codes (SPEC section 4): 0 success, 1 user error (bad file, missing tensor, ...),
 * 2 usage error (unknown flag, missing argument).
 */
#ifndef MT_TOOLS_CMD_H
#define MT_TOOLS_CMD_H

#include "mtc/mtc.h"

int mtc_cmd_run(int argc, char **argv);
int mtc_cmd_dump(int argc, char **argv);
int mtc_cmd_grad(int argc, char **argv);
int mtc_cmd_gradcheck(int argc, char **argv);
int mtc_cmd_bisect(int argc, char **argv);
int mtc_cmd_show(int argc, char **argv);
int mtc_cmd_step(int argc, char **argv);
int mtc_cmd_train(int argc, char **argv);
int mtc_cmd_compile(int argc, char **argv);
int mtc_cmd_profile(int argc, char **argv);

/* Prints the diag as "FILE:LINE:COL: message" to stderr and returns 1. */
int mtc_fail(const mt_diag *d);
/* Prints "mtc CMD: message" and a pointer to --help to stderr and returns 2. */
int mtc_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv holds -h or --help. */
int mtc_wants_help(int argc, char **argv);
/* Writes text to `path` (stdout when NULL) by the rules of mt_outfile_write (runtime/outfile.h):
 * a regular file (or a new path) is replaced atomically, so a failed write leaves the old file;
 * a FIFO or device is written through; a symlink is followed. Returns 1, or 0 with d naming the
 * file and the reason. */
int mtc_write_text(const char *path, const char *text, mt_diag *d);
/* Closes stdout after a command that returned `rc`: a write that failed at any point (a full
 * disk, `> /dev/full`) is reported as "<stdout>: write failed: REASON" and makes the exit status
 * 1 (a failing rc is kept). Returns the exit status. */
int mtc_close_stdout(int rc);
/* The ids of --wrt's comma-separated LIST of g's values (with or without '%'), in a new
 * array the caller frees with mt_free; NULL and 0 when `list` is NULL. 0 on an unknown name or
 * an empty list, with d saying "--wrt: ..." (and naming `file`), else 1. */
int mtc_wrt_ids(const mt_graph *g, const char *list, const char *file, int **ids, int *n,
                mt_diag *d);
/* Prints g as MTIR to `path` (stdout when NULL) as mtc_write_text does; 1, or 0 with d set. */
int mtc_write_graph(const char *path, const mt_graph *g, mt_diag *d);
/* Parses a flag's number (the whole string); 0 and a usage error on anything else. */
int mtc_parse_double(const char *cmd, const char *flag, const char *s, double *out);
/* Splits "a,b,c" into graph value ids; an unknown name is a user error naming it. Returns the
 * count, or -1 with d set. `ids` must have room for `max`. */
int mtc_value_list(const mt_graph *g, const char *list, int *ids, int max, mt_diag *d);

#endif
