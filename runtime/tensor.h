/* tensor.h - the tensor struct, shared by the runtime's own files. */
#ifndef MT_RUNTIME_TENSOR_H
#define MT_RUNTIME_TENSOR_H

#include "mtc/mtc.h"

struct mt_tensor {
    mt_type type;
    size_t nbytes;
    void *data; /* owned, nbytes long (at least 1 byte allocated) */
};

/* A tensor with the same type and a copy of the data; NULL when out of memory. */
mt_tensor *mt_tensor_clone(const mt_tensor *t);

#endif
