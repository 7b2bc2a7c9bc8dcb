/* tensor.c - dense tensors and ordered name -> tensor maps. */
#include "runtime/tensor.h"

#include <string.h>

#include "ir/alloc.h"

mt_tensor *mt_tensor_new(mt_type type)
{
    int64_t n = mt_type_numel(&type);
    if (n < 0 || (uint64_t)n > SIZE_MAX / 8)
        return NULL;
    mt_tensor *t = mt_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->type = type;
    t->nbytes = (size_t)n * mt_dtype_size(type.dtype);
    t->data = mt_calloc(1, t->nbytes ? t->nbytes : 1);
    if (!t->data) {
        mt_free(t);
        return NULL;
    }
    return t;
}

void mt_tensor_free(mt_tensor *t)
{
    if (!t)
        return;
    mt_free(t->data);
    mt_free(t);
}

mt_tensor *mt_tensor_clone(const mt_tensor *t)
{
    mt_tensor *c = mt_tensor_new(t->type);
    if (c)
        memcpy(c->data, t->data, t->nbytes);
    return c;
}

const mt_type *mt_tensor_type(const mt_tensor *t) { return &t->type; }
void *mt_tensor_data(const mt_tensor *t) { return t->data; }
size_t mt_tensor_nbytes(const mt_tensor *t) { return t->nbytes; }

struct mt_tensor_map {
    int n, cap;
    char **names;
    mt_tensor **tensors;
};

mt_tensor_map *mt_tensor_map_new(void) { return mt_calloc(1, sizeof(mt_tensor_map)); }

void mt_tensor_map_free(mt_tensor_map *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        mt_free(m->names[i]);
        mt_tensor_free(m->tensors[i]);
    }
    mt_free(m->names);
    mt_free(m->tensors);
    mt_free(m);
}

static int find(const mt_tensor_map *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0)
            return i;
    return -1;
}

mt_status mt_tensor_map_put(mt_tensor_map *m, const char *name, mt_tensor *t)
{
    if (!m || !name || !t) {
        mt_tensor_free(t);
        return MT_ERR_ARG;
    }
    int i = find(m, name);
    if (i >= 0) {
        mt_tensor_free(m->tensors[i]);
        m->tensors[i] = t;
        return MT_OK;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        char **names = mt_realloc(m->names, (size_t)cap * sizeof *names);
        if (!names) {
            mt_tensor_free(t);
            return MT_ERR_NOMEM;
        }
        m->names = names;
        mt_tensor **ts = mt_realloc(m->tensors, (size_t)cap * sizeof *ts);
        if (!ts) {
            mt_tensor_free(t);
            return MT_ERR_NOMEM;
        }
        m->tensors = ts;
        m->cap = cap;
    }
    char *copy = mt_strdup(name);
    if (!copy) {
        mt_tensor_free(t);
        return MT_ERR_NOMEM;
    }
    m->names[m->n] = copy;
    m->tensors[m->n] = t;
    m->n++;
    return MT_OK;
}

mt_tensor *mt_tensor_map_get(const mt_tensor_map *m, const char *name)
{
    int i = find(m, name);
    return i < 0 ? NULL : m->tensors[i];
}

int mt_tensor_map_count(const mt_tensor_map *m) { return m->n; }
const char *mt_tensor_map_name(const mt_tensor_map *m, int i) { return m->names[i]; }
mt_tensor *mt_tensor_map_at(const mt_tensor_map *m, int i) { return m->tensors[i]; }
