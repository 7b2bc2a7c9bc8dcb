/* parse.c - the MTIR reader (SPEC section 1), kept in lockstep with print.c.
 *
 * A hand-written lexer and recursive-descent parser over a byte buffer. Every error names
 * FILE:LINE:COL and what was expected; no input can make it crash or loop: each step
 * consumes at least one byte or stops, and numbers are range-checked before use. Nodes go
 * through mt_graph_add, so shapes are checked by the same inference the builder uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/alloc.h"
#include "ir/graph.h"

typedef enum tok_kind {
    T_EOF,
    T_NL,
    T_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* */
    T_VALUE,  /* %[A-Za-z0-9_.]+, text without the % */
    T_NUMBER, /* integer or float, signed; inf and nan too */
    T_PUNCT,  /* = , : [ ] { } <- */
    T_BAD
} tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s; /* points into the text */
    size_t len;
    int line, col;
    int is_int;
} tok;

typedef struct parser {
    const char *text, *end;
    const char *p;
    int line;
    const char *line_start;
    const char *file;
    tok t; /* the current token */
    mt_diag *d;
    mt_graph *g;
    int updates; /* an update line was read: only updates and the output line may follow */
} parser;

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_value_char(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }

static void describe(const tok *t, char *buf, size_t size)
{
    switch (t->kind) {
    case T_EOF: snprintf(buf, size, "end of file"); return;
    case T_NL: snprintf(buf, size, "end of line"); return;
    case T_VALUE: snprintf(buf, size, "'%%%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s); return;
    case T_BAD:
        if ((unsigned char)t->s[0] >= 0x20 && (unsigned char)t->s[0] < 0x7f)
            snprintf(buf, size, "unexpected character '%c'", t->s[0]);
        else
            snprintf(buf, size, "unexpected byte 0x%02x", (unsigned char)t->s[0]);
        return;
    default: snprintf(buf, size, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s); return;
    }
}

static mt_status err_at(parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mt_status err_at(parser *ps, int line, int col, const char *fmt, ...)
{
    char msg[MT_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mt_diag_set_at(ps->d, MT_ERR_PARSE, ps->file, line, col, "%s", msg);
}

/* "expected X, got Y" at the current token. */
static mt_status expected(parser *ps, const char *what)
{
    char got[80];
    describe(&ps->t, got, sizeof got);
    if (ps->t.kind == T_BAD)
        return err_at(ps, ps->t.line, ps->t.col, "%s, expected %s", got, what);
    return err_at(ps, ps->t.line, ps->t.col, "expected %s, got %s", what, got);
}

static void next(parser *ps)
{
    const char *p = ps->p;
    for (;;) {
        while (p < ps->end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p < ps->end && *p == '#') {
            while (p < ps->end && *p != '\n')
                p++;
            continue;
        }
        break;
    }
    tok t = {0};
    t.s = p;
    t.line = ps->line;
    t.col = (int)(p - ps->line_start) + 1;
    if (p >= ps->end) {
        t.kind = T_EOF;
    } else if (*p == '\n') {
        t.kind = T_NL;
        p++;
        ps->line++;
        ps->line_start = p;
    } else if (is_alpha((unsigned char)*p)) {
        while (p < ps->end && (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p)))
            p++;
        t.kind = T_IDENT;
        if ((p - t.s == 3 && (!memcmp(t.s, "inf", 3) || !memcmp(t.s, "nan", 3)))) {
            t.kind = T_NUMBER;
            t.is_int = 0;
        }
    } else if (*p == '%') {
        p++;
        while (p < ps->end && is_value_char((unsigned char)*p))
            p++;
        t.kind = p - t.s > 1 ? T_VALUE : T_BAD;
        if (t.kind == T_VALUE)
            t.s++;
        else
            p = t.s + 1;
    } else if (is_digit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.') {
        const char *q = p;
        if (*q == '-' || *q == '+')
            q++;
        if (ps->end - q >= 3 && (!memcmp(q, "inf", 3) || !memcmp(q, "nan", 3)) &&
            (ps->end - q == 3 || !is_value_char((unsigned char)q[3]))) {
            q += 3;
            t.is_int = 0;
        } else {
            int digits = 0, is_int = 1;
            while (q < ps->end && is_digit((unsigned char)*q))
                q++, digits++;
            if (q < ps->end && *q == '.') {
                is_int = 0;
                q++;
                while (q < ps->end && is_digit((unsigned char)*q))
                    q++, digits++;
            }
            if (digits && q < ps->end && (*q == 'e' || *q == 'E')) {
                const char *r = q + 1;
                if (r < ps->end && (*r == '-' || *r == '+'))
                    r++;
                if (r < ps->end && is_digit((unsigned char)*r)) {
                    is_int = 0;
                    q = r;
                    while (q < ps->end && is_digit((unsigned char)*q))
                        q++;
                }
            }
            if (!digits)
                q = p; /* a lone sign or dot */
            t.is_int = is_int;
        }
        if (q == p) {
            t.kind = T_BAD;
            p++;
        } else {
            t.kind = T_NUMBER;
            p = q;
        }
    } else if (*p == '<' && p + 1 < ps->end && p[1] == '-') {
        t.kind = T_PUNCT; /* `<-` of an update line */
        p += 2;
    } else if (strchr("=,:[]{}", *p) && *p) {
        t.kind = T_PUNCT;
        p++;
    } else {
        t.kind = T_BAD;
        p++;
    }
    t.len = (size_t)(p - t.s);
    ps->p = p;
    ps->t = t;
}

static int is_punct(const parser *ps, char c) { return ps->t.kind == T_PUNCT && ps->t.s[0] == c; }

static int is_ident(const parser *ps, const char *word)
{
    return ps->t.kind == T_IDENT && ps->t.len == strlen(word) && !memcmp(ps->t.s, word, ps->t.len);
}

static mt_status expect_punct(parser *ps, char c)
{
    if (!is_punct(ps, c)) {
        char what[8] = {'\'', c, '\'', 0};
        return expected(ps, what);
    }
    next(ps);
    return MT_OK;
}

static mt_status expect_eol(parser *ps)
{
    if (ps->t.kind != T_NL)
        return expected(ps, "end of line");
    while (ps->t.kind == T_NL)
        next(ps);
    return MT_OK;
}

/* Copies the current token's text into buf (NUL-terminated); `what` names it in the error
 * when it does not fit. */
static mt_status token_text(parser *ps, char *buf, size_t size, const char *what)
{
    if (ps->t.len >= size)
        return err_at(ps, ps->t.line, ps->t.col, "%s too long", what);
    memcpy(buf, ps->t.s, ps->t.len);
    buf[ps->t.len] = 0;
    return MT_OK;
}

/* The current token's text as a C string: in buf when it fits, else in a new string stored in
 * *heap for the caller to free. Value names have no limit here: the graph decides which names
 * it holds (ir/graph.c), so whatever it holds and prints reads back. NULL when out of memory. */
static const char *token_str(parser *ps, char *buf, size_t size, char **heap)
{
    *heap = NULL;
    if (ps->t.len < size) {
        memcpy(buf, ps->t.s, ps->t.len);
        buf[ps->t.len] = 0;
        return buf;
    }
    *heap = mt_strndup(ps->t.s, ps->t.len);
    if (!*heap)
        mt_diag_set(ps->d, MT_ERR_NOMEM, "out of memory");
    return *heap;
}

static mt_status parse_int(parser *ps, int64_t *out)
{
    if (ps->t.kind != T_NUMBER || !ps->t.is_int)
        return expected(ps, "an integer");
    char buf[64];
    if (token_text(ps, buf, sizeof buf, "integer"))
        return ps->d->status;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return err_at(ps, ps->t.line, ps->t.col, "integer %s out of range", buf);
    *out = v;
    next(ps);
    return MT_OK;
}

static mt_status parse_float(parser *ps, double *out)
{
    if (ps->t.kind != T_NUMBER)
        return expected(ps, "a number");
    char buf[64];
    if (token_text(ps, buf, sizeof buf, "number"))
        return ps->d->status;
    const char *s = buf;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!strcmp(s, "inf"))
        *out = neg ? -INFINITY : INFINITY;
    else if (!strcmp(s, "nan"))
        *out = neg ? -NAN : NAN;
    else
        *out = strtod(buf, NULL); /* overflow gives +-inf, underflow 0: both fine here */
    next(ps);
    return MT_OK;
}

/* [i, i, ...] with at most `max` entries. */
static mt_status parse_list(parser *ps, int64_t *v, int *n, int max)
{
    mt_status st;
    int line = ps->t.line, col = ps->t.col;
    if ((st = expect_punct(ps, '[')))
        return st;
    *n = 0;
    if (is_punct(ps, ']')) {
        next(ps);
        return MT_OK;
    }
    for (;;) {
        if (*n == max)
            return err_at(ps, line, col, "list has more than %d entries", max);
        if ((st = parse_int(ps, &v[(*n)++])))
            return st;
        if (is_punct(ps, ']')) {
            next(ps);
            return MT_OK;
        }
        if (!is_punct(ps, ','))
            return expected(ps, "',' or ']'");
        next(ps);
    }
}

static mt_status parse_type(parser *ps, mt_type *t)
{
    mt_status st;
    memset(t, 0, sizeof *t);
    if (is_ident(ps, "f32"))
        t->dtype = MT_DTYPE_F32;
    else if (is_ident(ps, "f64"))
        t->dtype = MT_DTYPE_F64;
    else if (ps->t.kind == T_IDENT)
        return err_at(ps, ps->t.line, ps->t.col, "unknown dtype '%.*s' (expected f32 or f64)",
                      (int)(ps->t.len > 40 ? 40 : ps->t.len), ps->t.s);
    else
        return expected(ps, "a type like f32[2,3]");
    int line = ps->t.line, col = ps->t.col;
    next(ps);
    int64_t dims[2 * MT_MAX_RANK];
    int n;
    if (!is_punct(ps, '['))
        return expected(ps, "'[' after the dtype");
    if ((st = parse_list(ps, dims, &n, 2 * MT_MAX_RANK)))
        return st;
    if (n > MT_MAX_RANK)
        return err_at(ps, line, col, "rank %d is over the maximum of %d", n, MT_MAX_RANK);
    t->rank = n;
    int64_t numel = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] <= 0)
            return err_at(ps, line, col, "dims must be positive, got %lld", (long long)dims[i]);
        if (numel > MT_MAX_NUMEL / dims[i])
            return err_at(ps, line, col, "type has too many elements (limit 2^40)");
        numel *= dims[i];
        t->dims[i] = dims[i];
    }
    return MT_OK;
}

static mt_status parse_value_ref(parser *ps, int *id)
{
    if (ps->t.kind != T_VALUE)
        return expected(ps, "a value like %x");
    char buf[256], *heap = NULL;
    const char *name = token_str(ps, buf, sizeof buf, &heap);
    if (!name)
        return ps->d->status;
    *id = mt_graph_find(ps->g, name);
    mt_free(heap);
    if (*id < 0)
        return err_at(ps, ps->t.line, ps->t.col, "undefined value '%%%.*s'",
                      (int)(ps->t.len > 200 ? 200 : ps->t.len), ps->t.s);
    next(ps);
    return MT_OK;
}

/* The name a definition gives (any length; the graph checks it when the node is added): in buf
 * or in *heap, which the caller frees. */
static mt_status take_name(parser *ps, char *buf, size_t size, const char **name, char **heap)
{
    *heap = NULL;
    if (ps->t.kind != T_VALUE)
        return expected(ps, "a value like %x");
    if (!(*name = token_str(ps, buf, size, heap)))
        return ps->d->status;
    if (mt_graph_find(ps->g, *name) >= 0)
        return err_at(ps, ps->t.line, ps->t.col, "value '%%%.*s' is already defined",
                      (int)(ps->t.len > 200 ? 200 : ps->t.len), ps->t.s);
    next(ps);
    return MT_OK;
}

/* key=value for op `op`; `seen` tracks duplicates by attribute bit. */
static mt_status parse_attr(parser *ps, mt_op op, mt_attrs *a, unsigned *seen)
{
    mt_status st;
    const char *opname = mt_op_name(op);
    unsigned f = mt_op_get(op)->flags;
    int line = ps->t.line, col = ps->t.col;
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)(ps->t.len > 31 ? 31 : ps->t.len), ps->t.s);
    static const struct {
        const char *key;
        unsigned bit;
    } keys[] = {{"dim", MT_A_DIM},       {"shape", MT_A_SHAPE},     {"perm", MT_A_PERM},
                {"start", MT_A_START},   {"end", MT_A_END},         {"pads", MT_A_PADS},
                {"stride", MT_A_STRIDE}, {"padding", MT_A_PADDING}, {"kernel", MT_A_KERNEL},
                {"value", MT_A_VALUE},   {"seed", MT_A_SEED},       {"op", MT_A_OP}};
    unsigned bit = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].key) == ps->t.len && !memcmp(keys[i].key, ps->t.s, ps->t.len))
            bit = keys[i].bit;
    if (!bit)
        return err_at(ps, line, col, "%s: unknown attribute '%s'", opname, key);
    if (!(f & bit))
        return err_at(ps, line, col, "%s: does not take attribute '%s'", opname, key);
    if (*seen & bit)
        return err_at(ps, line, col, "%s: attribute '%s' given twice", opname, key);
    *seen |= bit;
    next(ps);
    if ((st = expect_punct(ps, '=')))
        return st;
    int vline = ps->t.line, vcol = ps->t.col;
    switch (bit) {
    case MT_A_DIM: return parse_int(ps, &a->dim);
    case MT_A_SHAPE: return parse_list(ps, a->shape.v, &a->shape.n, MT_MAX_RANK);
    case MT_A_PERM: return parse_list(ps, a->perm.v, &a->perm.n, MT_MAX_RANK);
    case MT_A_START: return parse_list(ps, a->start.v, &a->start.n, MT_MAX_RANK);
    case MT_A_END: return parse_list(ps, a->end.v, &a->end.n, MT_MAX_RANK);
    case MT_A_PADS: return parse_list(ps, a->pads.v, &a->pads.n, 2 * MT_MAX_RANK);
    case MT_A_VALUE: return parse_float(ps, &a->value);
    case MT_A_OP:
        if (is_ident(ps, "sum") || is_ident(ps, "mean")) {
            a->reduce = is_ident(ps, "mean") ? MT_REDUCE_MEAN : MT_REDUCE_SUM;
            next(ps);
            return MT_OK;
        }
        return expected(ps, "'sum' or 'mean'");
    case MT_A_SEED:
        if ((st = parse_int(ps, &a->seed)))
            return st;
        if (a->seed < 0)
            return err_at(ps, vline, vcol, "rand: seed must be >= 0");
        return MT_OK;
    default: break;
    }
    /* stride, padding, kernel: one int for every spatial axis, or a list of two
     * (conv1d: exactly one int). */
    int64_t *dst = bit == MT_A_STRIDE ? a->stride : bit == MT_A_PADDING ? a->padding : a->kernel;
    if (is_punct(ps, '[')) {
        int64_t v[2 * MT_MAX_RANK];
        int n;
        if ((st = parse_list(ps, v, &n, 2 * MT_MAX_RANK)))
            return st;
        if (op == MT_OP_CONV1D ? n != 1 : n != 2)
            return err_at(ps, vline, vcol, "%s: '%s' needs %s", opname, key,
                          op == MT_OP_CONV1D ? "one integer" : "one integer or a list of two");
        dst[0] = v[0];
        dst[1] = op == MT_OP_CONV1D ? dst[1] : v[1];
        return MT_OK;
    }
    int64_t v;
    if ((st = parse_int(ps, &v)))
        return st;
    dst[0] = v;
    if (op != MT_OP_CONV1D)
        dst[1] = v;
    return MT_OK;
}

static const struct {
    mt_op op;
    unsigned bit;
    const char *key;
} required[] = {
    {MT_OP_RESHAPE, MT_A_SHAPE, "shape"},     {MT_OP_PERMUTE, MT_A_PERM, "perm"},
    {MT_OP_EXPAND, MT_A_SHAPE, "shape"},      {MT_OP_SLICE, MT_A_START, "start"},
    {MT_OP_SLICE, MT_A_END, "end"},           {MT_OP_PAD, MT_A_PADS, "pads"},
    {MT_OP_CONCAT, MT_A_DIM, "dim"},          {MT_OP_AVGPOOL2D, MT_A_KERNEL, "kernel"},
    {MT_OP_MAXPOOL2D, MT_A_KERNEL, "kernel"}, {MT_OP_CONST, MT_A_VALUE, "value"},
    {MT_OP_RAND, MT_A_SEED, "seed"},          {MT_OP_ALLREDUCE, MT_A_OP, "op"},
};

/* Attributes are separated by whitespace: `stride=2padding=1` reads as two attributes only by
 * accident of the lexer, and the printer never writes it. */
static int after_space(const parser *ps)
{
    return ps->t.s > ps->text && (ps->t.s[-1] == ' ' || ps->t.s[-1] == '\t');
}

/* dim= in the text is an axis; the graph's marker for "every axis" (MT_DIM_ALL) is what an
 * absent dim means, so the same number written out is out of range like any other. */
static mt_status check_dim(parser *ps, mt_op op, const int *in, int nin, const mt_attrs *a,
                           int line, int col)
{
    if (a->dim != MT_DIM_ALL)
        return MT_OK;
    char ts[MT_TYPE_STR_MAX];
    if (nin == 0)
        return err_at(ps, line, col, "%s: dim %lld is out of range", mt_op_name(op),
                      (long long)a->dim);
    return err_at(ps, line, col, "%s: dim %lld is out of range for %s", mt_op_name(op),
                  (long long)a->dim, mt_type_str(&ps->g->nodes[in[0]].type, ts, sizeof ts));
}

/* The rest of `%v = op %a, %b key=val ... [: TYPE]` after the name. */
static mt_status parse_node_rest(parser *ps, const char *name, int line, int col)
{
    mt_status st;
    if ((st = expect_punct(ps, '=')))
        return st;
    if (ps->t.kind != T_IDENT)
        return expected(ps, "an op name");
    int op = mt_op_lookup(ps->t.s, ps->t.len);
    if (op < 0)
        return err_at(ps, ps->t.line, ps->t.col, "unknown op '%.*s'",
                      (int)(ps->t.len > 40 ? 40 : ps->t.len), ps->t.s);
    next(ps);
    int in[64], nin = 0;
    if (ps->t.kind == T_VALUE) {
        for (;;) {
            if (nin == 64)
                return err_at(ps, ps->t.line, ps->t.col, "too many operands (at most 64)");
            if ((st = parse_value_ref(ps, &in[nin++])))
                return st;
            if (!is_punct(ps, ','))
                break;
            next(ps);
        }
    }
    mt_attrs a;
    mt_attrs_init(&a);
    unsigned seen = 0;
    while (ps->t.kind == T_IDENT) {
        if (!after_space(ps))
            return err_at(ps, ps->t.line, ps->t.col,
                          "%s: expected whitespace before attribute '%.*s'", mt_op_name((mt_op)op),
                          (int)(ps->t.len > 40 ? 40 : ps->t.len), ps->t.s);
        if ((st = parse_attr(ps, (mt_op)op, &a, &seen)))
            return st;
    }
    if ((seen & MT_A_DIM) && (st = check_dim(ps, (mt_op)op, in, nin, &a, line, col)))
        return st;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (required[i].op == (mt_op)op && !(seen & required[i].bit))
            return err_at(ps, line, col, "%s: missing attribute '%s'", mt_op_name((mt_op)op),
                          required[i].key);
    mt_type type, *declared = NULL;
    if (is_punct(ps, ':')) {
        next(ps);
        if ((st = parse_type(ps, &type)))
            return st;
        declared = &type;
    } else if (ps->t.kind != T_NL) {
        return expected(ps, "an attribute, ':' or end of line");
    }
    if (mt_graph_add(ps->g, (mt_op)op, in, nin, &a, name, declared, ps->file, line, col, ps->d) < 0)
        return ps->d->status;
    return expect_eol(ps);
}

static mt_status parse_node(parser *ps)
{
    int line = ps->t.line, col = ps->t.col;
    char buf[256], *heap = NULL;
    const char *name = NULL;
    mt_status st = take_name(ps, buf, sizeof buf, &name, &heap);
    if (st == MT_OK)
        st = parse_node_rest(ps, name, line, col);
    mt_free(heap);
    return st;
}

static mt_status parse_leaf(parser *ps, mt_op op)
{
    next(ps);
    int line = ps->t.line, col = ps->t.col;
    char buf[256], *heap = NULL;
    const char *name = NULL;
    mt_status st = take_name(ps, buf, sizeof buf, &name, &heap);
    if (st == MT_OK)
        st = expect_punct(ps, ':');
    mt_type t;
    if (st == MT_OK)
        st = parse_type(ps, &t);
    if (st == MT_OK && mt_graph_add_leaf(ps->g, op, name, t, ps->file, line, col, ps->d) < 0)
        st = ps->d->status;
    mt_free(heap);
    return st == MT_OK ? expect_eol(ps) : st;
}

/* update %target <- %value */
static mt_status parse_update(parser *ps)
{
    mt_status st;
    next(ps);
    int line = ps->t.line, col = ps->t.col;
    int target, value;
    if ((st = parse_value_ref(ps, &target)))
        return st;
    if (!is_punct(ps, '<'))
        return expected(ps, "'<-'");
    next(ps);
    if ((st = parse_value_ref(ps, &value)))
        return st;
    if ((st = mt_graph_add_update(ps->g, target, value, ps->file, line, col, ps->d)))
        return st;
    ps->updates = 1;
    return expect_eol(ps);
}

static mt_status parse_output(parser *ps)
{
    mt_status st;
    next(ps);
    int ids[256], n = 0;
    for (;;) {
        if (n == 256)
            return err_at(ps, ps->t.line, ps->t.col, "too many outputs (at most 256)");
        int line = ps->t.line, col = ps->t.col;
        if ((st = parse_value_ref(ps, &ids[n++])))
            return st;
        if (mt_graph_update_of(ps->g, ids[n - 1]))
            return err_at(ps, line, col,
                          "%%%s has an update, so it cannot also be an output (its new value is "
                          "written under its name)",
                          ps->g->nodes[ids[n - 1]].name);
        if (!is_punct(ps, ','))
            break;
        next(ps);
    }
    if ((st = mt_graph_set_outputs(ps->g, ids, n, ps->d)))
        return st;
    return expect_eol(ps);
}

static mt_status parse_graph(parser *ps)
{
    mt_status st;
    while (ps->t.kind == T_NL)
        next(ps);
    if (!is_ident(ps, "mtir"))
        return expected(ps, "'mtir 1' header");
    next(ps);
    int line = ps->t.line, col = ps->t.col;
    int64_t version;
    if ((st = parse_int(ps, &version)))
        return st;
    if (version != 1)
        return err_at(ps, line, col, "unsupported MTIR version %lld (this is version 1)",
                      (long long)version);
    if ((st = expect_eol(ps)))
        return st;
    if (!is_ident(ps, "graph"))
        return expected(ps, "'graph NAME {'");
    next(ps);
    if (ps->t.kind != T_IDENT)
        return expected(ps, "a graph name");
    char name[256];
    if (token_text(ps, name, sizeof name, "graph name"))
        return ps->d->status;
    ps->g->name = mt_arena_strdup(&ps->g->arena, name);
    if (!ps->g->name)
        return mt_diag_set(ps->d, MT_ERR_NOMEM, "out of memory");
    next(ps);
    if ((st = expect_punct(ps, '{')))
        return st;
    if ((st = expect_eol(ps)))
        return st;
    for (;;) {
        if (is_punct(ps, '}')) {
            if (!ps->g->has_outputs)
                return err_at(ps, ps->t.line, ps->t.col, "missing 'output' line before '}'");
            next(ps);
            break;
        }
        if (ps->g->has_outputs)
            return expected(ps, "'}' after the output line");
        int definition = is_ident(ps, "input") || is_ident(ps, "param") || is_ident(ps, "state") ||
                         ps->t.kind == T_VALUE;
        if (definition && ps->updates)
            return err_at(ps, ps->t.line, ps->t.col,
                          "definitions must come before the 'update' lines");
        if (is_ident(ps, "input"))
            st = parse_leaf(ps, MT_OP_INPUT);
        else if (is_ident(ps, "param"))
            st = parse_leaf(ps, MT_OP_PARAM);
        else if (is_ident(ps, "state"))
            st = parse_leaf(ps, MT_OP_STATE);
        else if (is_ident(ps, "update"))
            st = parse_update(ps);
        else if (is_ident(ps, "output"))
            st = parse_output(ps);
        else if (ps->t.kind == T_VALUE)
            st = parse_node(ps);
        else if (ps->t.kind == T_EOF)
            return err_at(ps, ps->t.line, ps->t.col, "unexpected end of file, expected '}'");
        else
            st =
                expected(ps, "'input', 'param', 'state', '%v = op ...', 'update', 'output' or '}'");
        if (st)
            return st;
    }
    while (ps->t.kind == T_NL)
        next(ps);
    if (ps->t.kind != T_EOF)
        return expected(ps, "end of file after '}'");
    return MT_OK;
}

mt_status mt_graph_parse(const char *text, size_t len, const char *filename, mt_graph **out,
                         mt_diag *d)
{
    mt_diag local;
    mt_diag_init(&local);
    if (!d)
        d = &local;
    *out = NULL;
    parser ps = {0};
    ps.text = ps.p = ps.line_start = text;
    ps.end = text + len;
    ps.line = 1;
    ps.file = filename ? filename : "<input>";
    ps.d = d;
    ps.g = mt_graph_new("main");
    if (!ps.g)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    next(&ps);
    mt_status st = parse_graph(&ps);
    if (st == MT_OK && d->status != MT_OK)
        st = d->status;
    if (st != MT_OK) {
        mt_graph_free(ps.g);
        return st;
    }
    *out = ps.g;
    return MT_OK;
}

/* The most MTIR text one file may hold. */
#define MAX_FILE ((size_t)1 << 30)

mt_status mt_graph_parse_file(const char *path, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > MAX_FILE) {
        fclose(f);
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "file is larger than 1 GiB");
    }
    mt_buf b = {0};
    char chunk[65536];
    size_t n;
    /* A NUL byte is never MTIR: reading stops at the chunk holding the first one, and the
     * parser reports it with its line and column. So /dev/zero or /dev/urandom given as a
     * file cost one chunk, not a gigabyte of memory; endless text (a FIFO) stops at 1 GiB. */
    int binary = 0;
    while (!binary && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE) {
            fclose(f);
            mt_buf_fini(&b);
            return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "file is larger than 1 GiB");
        }
        size_t old = b.len;
        mt_buf_printf(&b, "%*s", (int)n, "");
        if (b.oom)
            break;
        memcpy(b.data + old, chunk, n);
        binary = memchr(chunk, 0, n) != NULL;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        mt_buf_fini(&b);
        return mt_diag_set_at(d, MT_ERR_IO, path, 0, 0, "read error: %s", strerror(errno));
    }
    if (b.oom) {
        mt_buf_fini(&b);
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory reading %s", path);
    }
    mt_status st = mt_graph_parse(b.data ? b.data : "", b.len, path, out, d);
    mt_buf_fini(&b);
    return st;
}
