/* entry.c - one generated function that runs a whole kernel program (runtime/exec.h:
 * mt_entry_fn).
 *
 * A small program, such as one training step of MiniTorch's Module 3 network (18 kernels of a
 * few microseconds each), spends a noticeable share of a run walking the kernel IR in the
 * executor: per kernel, deciding whether to split it, and an indirect call. The entry makes
 * those decisions once, when it is generated:
 *
 *   int32_t PREFIXentry(void *const *bufs, void *ctx, int32_t (*dispatch)(void *, int32_t))
 *   {
 *       PREFIXk0(bufs, 0, 10);                    a kernel that always runs whole: a call
 *       if (dispatch(ctx, 1)) return 1;           one the pool may share: back to the executor
 *       ...
 *       memcpy(bufs[2], bufs[20], 800);           the updates not stored in place
 *       return 0;
 *   }
 *
 * "Always runs whole" is mt_exec_runs_whole, the executor's own rule, so a run through the
 * entry calls every kernel exactly as a walk would; the thread pool is only reached (and its
 * workers only woken) through dispatch, for kernels with enough work. The kernels are
 * declared here and defined in other units: the JIT links the calls.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/emit_internal.h"
#include "ir/alloc.h"
#include "ir/type.h"

/* A growing text; `ok` drops to 0 when out of memory. */
typedef struct text {
    char *s;
    size_t len, cap;
    int ok;
} text;

static void append(text *t, const char *str)
{
    size_t n = strlen(str);
    if (t->ok && t->len + n + 1 > t->cap) {
        size_t cap = (t->cap + n + 1) * 2;
        char *s = mt_realloc(t->s, cap);
        t->ok = s != NULL;
        t->s = s ? s : t->s;
        t->cap = s ? cap : t->cap;
    }
    if (t->ok) {
        memcpy(t->s + t->len, str, n + 1);
        t->len += n;
    }
}

static int64_t update_bytes(const mt_kprog *p, const mt_kupdate *u)
{
    const mt_kbuf *t = &p->bufs[u->target];
    return t->numel * (int64_t)mt_dtype_size(t->type.dtype);
}

char *mt_llvm_entry_describe(const mt_kprog *p, const char *prefix)
{
    text t = {.ok = 1};
    char line[128];
    append(&t, "entry 1, prefix ");
    append(&t, prefix);
    for (int k = 0; k < p->nkernels; k++) {
        const mt_kernel *kern = &p->kernels[k];
        if (mt_exec_runs_whole(&p->exec, kern))
            snprintf(line, sizeof line, "\ncall [0, %lld) of ", (long long)mt_exec_whole_end(kern));
        else
            snprintf(line, sizeof line, "\ndispatch %d: ", k);
        append(&t, line);
        append(&t, kern->name);
    }
    for (int i = 0; i < p->nupdates; i++) {
        const mt_kupdate *u = &p->updates[i];
        snprintf(line, sizeof line, "\ncopy b%d <- b%d, %lld bytes", u->target, u->value,
                 (long long)update_bytes(p, u));
        if (u->value != u->target)
            append(&t, line);
    }
    if (!t.ok)
        mt_free(t.s);
    return t.ok ? t.s : NULL;
}

/* bufs[b] as an i8*. */
static LLVMValueRef buffer(emitter *e, LLVMValueRef bufs, int b)
{
    LLVMValueRef idx = LLVMConstInt(e->t_i64, (unsigned long long)b, 0);
    return LLVMBuildLoad2(e->B, e->t_ptr, LLVMBuildGEP2(e->B, e->t_ptr, bufs, &idx, 1, ""), "");
}

static void build(emitter *e, const mt_kprog *p, const char *prefix)
{
    LLVMTypeRef pptr = LLVMPointerType(e->t_ptr, 0);
    LLVMTypeRef kparams[3] = {pptr, e->t_i64, e->t_i64};
    LLVMTypeRef kernel_t = LLVMFunctionType(e->t_void, kparams, 3, 0);
    LLVMTypeRef dparams[2] = {e->t_ptr, e->t_i32};
    LLVMTypeRef dispatch_t = LLVMFunctionType(e->t_i32, dparams, 2, 0);
    LLVMTypeRef eparams[3] = {pptr, e->t_ptr, LLVMPointerType(dispatch_t, 0)};
    char name[256];
    snprintf(name, sizeof name, "%sentry", prefix);
    LLVMValueRef fn = LLVMAddFunction(e->M, name, LLVMFunctionType(e->t_i32, eparams, 3, 0));
    mt_emit_add_attr(e, fn, LLVMAttributeFunctionIndex, "nounwind");
    e->fn = fn;
    LLVMValueRef bufs = LLVMGetParam(fn, 0), ctx = LLVMGetParam(fn, 1),
                 dispatch = LLVMGetParam(fn, 2);
    LLVMPositionBuilderAtEnd(e->B, LLVMAppendBasicBlockInContext(e->C, fn, "entry"));
    for (int k = 0; k < p->nkernels; k++) {
        const mt_kernel *kern = &p->kernels[k];
        if (mt_exec_runs_whole(&p->exec, kern)) {
            snprintf(name, sizeof name, "%s%s", prefix, kern->name);
            LLVMValueRef callee = LLVMGetNamedFunction(e->M, name);
            if (!callee)
                callee = LLVMAddFunction(e->M, name, kernel_t);
            LLVMValueRef args[3] = {
                bufs, LLVMConstInt(e->t_i64, 0, 0),
                LLVMConstInt(e->t_i64, (unsigned long long)mt_exec_whole_end(kern), 0)};
            LLVMBuildCall2(e->B, kernel_t, callee, args, 3, "");
            continue;
        }
        LLVMValueRef args[2] = {ctx, LLVMConstInt(e->t_i32, (unsigned long long)k, 0)};
        LLVMValueRef st = LLVMBuildCall2(e->B, dispatch_t, dispatch, args, 2, "st");
        LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->C, fn, "fail");
        LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(e->C, fn, "next");
        LLVMBuildCondBr(e->B, LLVMBuildICmp(e->B, LLVMIntNE, st, LLVMConstInt(e->t_i32, 0, 0), ""),
                        fail, next);
        LLVMPositionBuilderAtEnd(e->B, fail);
        LLVMBuildRet(e->B, st);
        LLVMPositionBuilderAtEnd(e->B, next);
    }
    /* Every kernel has read the old values: the updates not stored in place land now. */
    for (int i = 0; i < p->nupdates; i++) {
        const mt_kupdate *u = &p->updates[i];
        if (u->value == u->target)
            continue;
        LLVMValueRef n = LLVMConstInt(e->t_i64, (unsigned long long)update_bytes(p, u), 0);
        LLVMBuildMemCpy(e->B, buffer(e, bufs, u->target), 16, buffer(e, bufs, u->value), 16, n);
    }
    LLVMBuildRet(e->B, LLVMConstInt(e->t_i32, 0, 0));
}

mt_status mt_llvm_emit_entry(const mt_kprog *p, const char *prefix, mt_llvm_module **out,
                             mt_diag *d)
{
    *out = NULL;
    mt_llvm_module *m = mt_emit_module_new(p->name);
    emitter *e = m ? mt_calloc(1, sizeof *e) : NULL;
    if (!e) {
        mt_llvm_module_free(m);
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    mt_emit_begin(e, m, p);
    build(e, p, prefix);
    LLVMDisposeBuilder(e->B);
    mt_free(e);
    mt_status st = mt_emit_module_verify(m, d);
    if (st == MT_OK)
        *out = m;
    return st;
}
