/* fuzz_safetensors.c - libFuzzer target for the safetensors reader (runtime/safetensors.c).
 *
 * Every input must give MT_OK or a clean error: no crash, no sanitizer report, no leak. A
 * successful parse is also checked against its promises (each tensor's bytes lie inside the
 * input), so a reader that accepts nonsense shows up as a crash here too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mtc/mtc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_tensor_map *m = NULL;
    mt_status st = mt_safetensors_parse(data, size, "fuzz.safetensors", &m, &d);
    if ((st == MT_OK) != (m != NULL) || (st != MT_OK && d.status != st))
        abort();
    if (m) {
        /* Tensors do not overlap and lie after the 8-byte length, so their bytes fit. */
        size_t total = 0;
        for (int i = 0; i < mt_tensor_map_count(m); i++) {
            const mt_tensor *t = mt_tensor_map_at(m, i);
            if (mt_type_numel(mt_tensor_type(t)) <= 0)
                abort();
            total += mt_tensor_nbytes(t);
        }
        if (total > size - 8)
            abort();
    }
    mt_tensor_map_free(m);
    mt_diag_fini(&d);
    return 0;
}
