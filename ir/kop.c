/* kop.c - the kernel-op table of kops.def as data. */
#include "ir/kernel.h"

static const mt_kop_info infos[] = {
#define MT_KOP(ENUM, text, arity, operands, result, math)                                          \
    [ENUM] = {text, arity, operands, result, math},
#include "ir/kops.def"
#undef MT_KOP
};

/* Every enum value has a line of kops.def, and nothing else does. */
_Static_assert(sizeof infos / sizeof infos[0] == MT_KX_COUNT, "kops.def and mt_kop disagree");

const mt_kop_info *mt_kop_get(mt_kop op) { return (unsigned)op < MT_KX_COUNT ? &infos[op] : NULL; }

const char *mt_kop_name(mt_kop op) { return (unsigned)op < MT_KX_COUNT ? infos[op].text : "?"; }

int mt_kclass_has(mt_kclass c, mt_ktype t)
{
    switch (c) {
    case MT_KC_ANY:
    case MT_KC_SAME: return 1;
    case MT_KC_NUM: return t != MT_KT_BOOL;
    case MT_KC_INT: return t == MT_KT_I64 || t == MT_KT_U32 || t == MT_KT_U64;
    case MT_KC_UINT: return t == MT_KT_U32 || t == MT_KT_U64;
    case MT_KC_BITS: return t == MT_KT_BOOL || t == MT_KT_U32 || t == MT_KT_U64;
    case MT_KC_FLOAT: return t == MT_KT_F32 || t == MT_KT_F64;
    case MT_KC_BOOL: return t == MT_KT_BOOL;
    case MT_KC_I64: return t == MT_KT_I64;
    case MT_KC_U32: return t == MT_KT_U32;
    }
    return 0;
}
