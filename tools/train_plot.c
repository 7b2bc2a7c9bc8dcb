/* train_plot.c - `mtc train --plot CURVE.svg`: loss and accuracy per epoch as an SVG file.
 *
 * Two panels side by side, drawn with plain SVG elements a browser shows as they are: the
 * mean training loss per epoch on the left, training and test accuracy on the right (a
 * series is left out when no epoch has it). No library: a few polylines, axes and labels.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "tools/train.h"

#define W 900
#define H 360
#define PANEL_W 380
#define PANEL_H 260
#define LEFT 60
#define TOP 50

typedef struct panel {
    double x0, y0;     /* top-left corner of the plot area */
    double ymin, ymax; /* value range of the y axis */
    int epochs;        /* x runs from epoch 1 to epochs */
} panel;

static double px(const panel *p, int epoch)
{
    return p->x0 + (p->epochs > 1 ? (double)(epoch - 1) / (p->epochs - 1) : 0.5) * PANEL_W;
}

static double py(const panel *p, double v)
{
    double span = p->ymax > p->ymin ? p->ymax - p->ymin : 1;
    return p->y0 + PANEL_H - (v - p->ymin) / span * PANEL_H;
}

static void axes(mt_buf *b, const panel *p, const char *title, int percent)
{
    mt_buf_printf(b,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" "
                  "stroke=\"#999\"/>\n",
                  p->x0, p->y0, PANEL_W, PANEL_H);
    mt_buf_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
                  p->x0 + PANEL_W / 2.0, p->y0 - 14, title);
    for (int i = 0; i <= 4; i++) {
        double v = p->ymin + (p->ymax - p->ymin) * i / 4;
        double y = py(p, v);
        mt_buf_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
                      p->x0, y, p->x0 + PANEL_W, y);
        if (percent)
            mt_buf_printf(
                b,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.0f%%</text>\n",
                p->x0 - 6, y + 4, v * 100);
        else
            mt_buf_printf(
                b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.3g</text>\n",
                p->x0 - 6, y + 4, v);
    }
    mt_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">1</text>\n", p->x0 - 3,
                  p->y0 + PANEL_H + 16);
    mt_buf_printf(
        b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">epoch %d</text>\n",
        p->x0 + PANEL_W, p->y0 + PANEL_H + 16, p->epochs);
}

/* One series; `which` picks the field: 0 loss, 1 train accuracy, 2 test accuracy. */
static void series(mt_buf *b, const panel *p, const mt_train_epoch *e, int n, int which,
                   const char *color)
{
    mt_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (int i = 0; i < n; i++) {
        double v = which == 0 ? e[i].loss : which == 1 ? e[i].train_acc : e[i].test_acc;
        if (isfinite(v))
            mt_buf_printf(b, "%.1f,%.1f ", px(p, e[i].epoch), py(p, v));
    }
    mt_buf_puts(b, "\"/>\n");
}

static int has(const mt_train_epoch *e, int n, int which)
{
    for (int i = 0; i < n; i++)
        if (isfinite(which == 1 ? e[i].train_acc : e[i].test_acc))
            return 1;
    return 0;
}

char *mt_train_plot_svg(const char *title, const mt_train_epoch *e, int n)
{
    mt_buf b = {0};
    mt_buf_printf(&b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
                  "fill=\"white\"/>\n",
                  W, H);
    mt_buf_printf(&b, "<text x=\"%d\" y=\"20\" font-size=\"16\" font-weight=\"bold\">", LEFT);
    for (const char *c = title; *c; c++) /* the title holds a user's path: escape it */
        if (*c == '<' || *c == '>' || *c == '&' || *c == '"')
            mt_buf_puts(&b, *c == '<'   ? "&lt;"
                            : *c == '>' ? "&gt;"
                            : *c == '&' ? "&amp;"
                                        : "&quot;");
        else
            mt_buf_printf(&b, "%c", *c);
    mt_buf_puts(&b, "</text>\n");
    panel loss = {LEFT, TOP, INFINITY, -INFINITY, 1};
    for (int i = 0; i < n; i++) {
        if (isfinite(e[i].loss)) {
            loss.ymin = fmin(loss.ymin, e[i].loss);
            loss.ymax = fmax(loss.ymax, e[i].loss);
        }
        loss.epochs = e[i].epoch > loss.epochs ? e[i].epoch : loss.epochs;
    }
    if (!isfinite(loss.ymin))
        loss.ymin = 0, loss.ymax = 1;
    loss.ymin = fmin(loss.ymin, 0);
    axes(&b, &loss, "mean training loss", 0);
    series(&b, &loss, e, n, 0, "#d62728");

    panel acc = {LEFT + PANEL_W + 80, TOP, 0, 1, loss.epochs};
    axes(&b, &acc, "accuracy", 1);
    /* A series and its legend entry only where some epoch has that accuracy. */
    if (has(e, n, 1)) {
        series(&b, &acc, e, n, 1, "#1f77b4");
        mt_buf_printf(&b,
                      "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#1f77b4\">train</text>\n",
                      acc.x0 + 8, TOP + PANEL_H + 34);
    }
    if (has(e, n, 2)) {
        series(&b, &acc, e, n, 2, "#2ca02c");
        mt_buf_printf(&b,
                      "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#2ca02c\">test</text>\n",
                      acc.x0 + 60, TOP + PANEL_H + 34);
    }
    mt_buf_puts(&b, "</svg>\n");
    return mt_buf_take(&b);
}

char *mt_train_log_csv(const mt_train_epoch *e, int n)
{
    mt_buf b = {0};
    mt_buf_puts(&b, "epoch,loss,train_acc,test_acc,samples_per_s\n");
    for (int i = 0; i < n; i++) {
        mt_buf_printf(&b, "%d,%.6f,", e[i].epoch, e[i].loss);
        if (isfinite(e[i].train_acc))
            mt_buf_printf(&b, "%.6f", e[i].train_acc);
        mt_buf_puts(&b, ",");
        if (isfinite(e[i].test_acc))
            mt_buf_printf(&b, "%.6f", e[i].test_acc);
        mt_buf_printf(&b, ",%.1f\n", e[i].samples_per_s);
    }
    return mt_buf_take(&b);
}
