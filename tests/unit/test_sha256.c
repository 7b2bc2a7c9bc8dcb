/* test_sha256.c - SHA-256 (codegen/llvm/sha256.c) against the FIPS 180-4 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/sha256.h"

static void hex_of(const void *data, size_t len, char out[2 * MT_SHA256_BYTES + 1])
{
    mt_sha256 s;
    unsigned char digest[MT_SHA256_BYTES];
    mt_sha256_init(&s);
    mt_sha256_update(&s, data, len);
    mt_sha256_final(&s, digest);
    mt_sha256_hex(digest, out);
}

static void the_digests_of_the_standard_examples_match(void **state)
{
    (void)state;
    char hex[2 * MT_SHA256_BYTES + 1];
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    hex_of(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

/* Every split of a message into two updates (across block and padding boundaries) gives the
 * one-shot digest. */
static void updates_in_pieces_give_the_one_shot_digest(void **state)
{
    (void)state;
    unsigned char msg[200];
    for (int i = 0; i < 200; i++)
        msg[i] = (unsigned char)(i * 31 + 7);
    for (size_t len = 0; len <= sizeof msg; len += 13) {
        char want[2 * MT_SHA256_BYTES + 1];
        hex_of(msg, len, want);
        for (size_t cut = 0; cut <= len; cut++) {
            mt_sha256 s;
            unsigned char digest[MT_SHA256_BYTES];
            char got[2 * MT_SHA256_BYTES + 1];
            mt_sha256_init(&s);
            mt_sha256_update(&s, msg, cut);
            mt_sha256_update(&s, msg + cut, len - cut);
            mt_sha256_final(&s, digest);
            mt_sha256_hex(digest, got);
            assert_string_equal(got, want);
        }
    }
    /* Lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other. */
    char a[2 * MT_SHA256_BYTES + 1], b[2 * MT_SHA256_BYTES + 1];
    hex_of(msg, 55, a);
    hex_of(msg, 56, b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_digests_of_the_standard_examples_match),
        cmocka_unit_test(updates_in_pieces_give_the_one_shot_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
