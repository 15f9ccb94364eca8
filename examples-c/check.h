/*
 * check.h — the checks the C test programs of examples-c/ print: one line
 * per check ("ok   ..." or "FAIL ..."), counted in `passed` and `failed`,
 * which the program defines. A failed check prints the library's last
 * error message of this thread.
 */
#ifndef YSTPAY_EXAMPLES_CHECK_H
#define YSTPAY_EXAMPLES_CHECK_H

#include <stdio.h>
#include <string.h>

#include "ystpay.h"

extern int passed, failed;

static void print_last_error(void)
{
    char msg[1024];
    if (ystpay_last_error(msg, (int32_t)sizeof msg, NULL) == YSTPAY_OK && msg[0])
        printf("     last error: %s\n", msg);
}

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
            printf("ok   %s\n", what);                                                     \
        } else {                                                                           \
            failed++;                                                                      \
            printf("FAIL %s  (%s:%d: %s)\n", what, __FILE__, __LINE__, #cond);             \
            print_last_error();                                                            \
        }                                                                                  \
    } while (0)

#define CHECK_RC(call, expected, what)                                                     \
    do {                                                                                   \
        int32_t rc_ = (call);                                                              \
        if (rc_ == (expected)) {                                                           \
            passed++;                                                                      \
            printf("ok   %s\n", what);                                                     \
        } else {                                                                           \
            failed++;                                                                      \
            printf("FAIL %s: got %d (%s), expected %d\n", what, (int)rc_,                  \
                   ystpay_strerror(rc_), (int)(expected));                                 \
            print_last_error();                                                            \
        }                                                                                  \
    } while (0)

/* Zeroes a record and sets its struct_size. */
#define INIT(rec) (memset(&(rec), 0, sizeof(rec)), (rec).struct_size = (uint32_t)sizeof(rec))

#endif
