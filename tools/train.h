/* train.h - what `mtc train` writes besides its progress: the CSV log and the SVG chart. */
#ifndef MT_TOOLS_TRAIN_H
#define MT_TOOLS_TRAIN_H

#include "frontend/train.h"

/* The epochs as CSV (`--log`) and as an SVG chart (`--plot`, tools/train_plot.c); the caller
 * frees the text with mt_free. NULL when out of memory. */
char *mt_train_log_csv(const mt_train_epoch *e, int n);
char *mt_train_plot_svg(const char *title, const mt_train_epoch *e, int n);

#endif
