/*
 * Figures 3 and 6 (issue 6): the same pay as benches/client_pay.rs, through
 * the C ABI (libystpay.so), against a running simulator.
 *
 *   pay_bench URL time N REQ_SEQ   N timed pays of one order (REQ_SEQ, paid
 *                                  by the first call; later ones are the
 *                                  simulator's retries), after 50 warm-up
 *                                  pays; prints "median_us <x>"
 *   pay_bench URL rss N            N pays, each a new order; prints the
 *                                  resident set (VmRSS, KB) every 1,000
 *                                  pays as "rss <pays> <kb>"
 *
 * Exits non-zero on any call that does not pay.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ystpay.h"

static const char *CODE = "134567890123456701"; /* WeChat, paid at once */

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) { kb = strtol(line + 6, NULL, 10); break; }
    }
    fclose(f);
    return kb;
}

static int pay(const struct ystpay_client *c, const char *seq) {
    struct ystpay_payment_result r;
    memset(&r, 0, sizeof r);
    r.struct_size = (uint32_t)sizeof r;
    int32_t rc = ystpay_pay(c, seq, 1, CODE, NULL, NULL, 0, &r);
    if (rc != YSTPAY_OK || r.outcome != YSTPAY_OUTCOME_SUCCESS) {
        char msg[512] = "";
        ystpay_last_error(msg, (int32_t)sizeof msg, NULL);
        fprintf(stderr, "pay failed: rc=%d (%s) outcome=%d %s\n", (int)rc, ystpay_strerror(rc),
                (int)r.outcome, msg);
        return 0;
    }
    return 1;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s URL time N REQ_SEQ | URL rss N\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long n = strtol(argv[3], NULL, 10);
    struct ystpay_client *c = NULL;
    int32_t rc = ystpay_client_new(url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0, &c);
    if (rc != YSTPAY_OK) {
        fprintf(stderr, "ystpay_client_new: %s\n", ystpay_strerror(rc));
        return 1;
    }
    if (strcmp(argv[2], "time") == 0 && argc >= 5) {
        const char *seq = argv[4];
        double *t = malloc(sizeof(double) * (size_t)n);
        if (!t) return 1;
        for (int i = 0; i < 50; i++)
            if (!pay(c, seq)) return 1;
        for (long i = 0; i < n; i++) {
            double a = now_us();
            if (!pay(c, seq)) return 1;
            t[i] = now_us() - a;
        }
        qsort(t, (size_t)n, sizeof(double), cmp);
        printf("median_us %.2f\n", t[n / 2]);
        free(t);
    } else if (strcmp(argv[2], "rss") == 0) {
        for (long i = 1; i <= n; i++) {
            if (!pay(c, "")) return 1;
            if (i % 1000 == 0) printf("rss %ld %ld\n", i, rss_kb());
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[2]);
        return 2;
    }
    ystpay_client_free(c);
    return 0;
}
