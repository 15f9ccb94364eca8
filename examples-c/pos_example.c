/*
 * pos_example.c — the smallest useful cash-register integration:
 *
 *   pos_example API_URL AMOUNT_FEN PAYMENT_CODE
 *
 * charges AMOUNT_FEN fen (1 yuan = 100 fen) with the payment code the
 * customer shows, settles a payment that is still waiting for the
 * customer's password by querying, revokes one whose outcome stays
 * unclear, and prints the receipt lines.
 *
 * Exit status: 0 paid, 1 not paid, 2 usage or configuration error.
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ystpay.h"

#ifdef _WIN32
#include <windows.h>
static void wait_seconds(int s) { Sleep((DWORD)s * 1000); }
#else
#include <unistd.h>
static void wait_seconds(int s) { sleep((unsigned)s); }
#endif

static void report(const char *what, int32_t rc)
{
    char msg[512];
    if (ystpay_last_error(msg, (int32_t)sizeof msg, NULL) != YSTPAY_OK)
        msg[0] = 0;
    fprintf(stderr, "%s: %s (%d) %s\n", what, ystpay_strerror(rc), (int)rc, msg);
}

int main(int argc, char **argv)
{
    ystpay_client *client = NULL;
    ystpay_payment_result pay;
    char req_seq[32];
    long long amount;
    int32_t rc;
    int i, paid = 0;

    if (argc != 4 || (amount = atoll(argv[2])) <= 0) {
        fprintf(stderr, "usage: %s API_URL AMOUNT_FEN PAYMENT_CODE\n", argv[0]);
        return 2;
    }
    rc = ystpay_client_new(argv[1], "demo", "demo123", "0123456789ABCDEF", 0, 0,
                           YSTPAY_ENCODING_UTF8, 0, &client);
    if (rc != YSTPAY_OK) {
        report("configuration", rc);
        return 2;
    }

    /* Take the serial first, so that whatever happens we can ask about it. */
    ystpay_next_req_seq(client, req_seq, (int32_t)sizeof req_seq, NULL);
    memset(&pay, 0, sizeof pay);
    pay.struct_size = sizeof pay;
    rc = ystpay_pay(client, req_seq, (int64_t)amount, argv[3], NULL, NULL, 0, &pay);
    if (rc != YSTPAY_OK)
        report("pay", rc);
    if (rc == YSTPAY_ERR_INVALID_INPUT || rc == YSTPAY_ERR_INVALID_ENCODING) {
        ystpay_client_free(client);
        return 2;
    }

    /* Waiting for the password, or no clear answer: query for up to ~45 s. */
    for (i = 0; i < 15 && (rc != YSTPAY_OK || pay.outcome == YSTPAY_OUTCOME_WAITING ||
                           pay.outcome == YSTPAY_OUTCOME_UNKNOWN);
         i++) {
        ystpay_payment_result q;
        wait_seconds(i == 0 ? 1 : 3);
        memset(&q, 0, sizeof q);
        q.struct_size = sizeof q;
        rc = ystpay_query_pay(client, NULL, req_seq, argv[3], &q);
        if (rc == YSTPAY_OK)
            pay = q;
        else
            report("query", rc);
    }

    if (rc == YSTPAY_OK && pay.outcome == YSTPAY_OUTCOME_SUCCESS) {
        paid = 1;
        printf("PAID %lld fen, order %s, %s\n", (long long)pay.total_fee, pay.trans_seq,
               pay.channel_name);
        for (i = 0; i < pay.receipt_count; i++)
            printf("%s\n", pay.receipt_lines[i]);
    } else if (rc == YSTPAY_OK && pay.outcome == YSTPAY_OUTCOME_FAILED) {
        printf("NOT PAID: %s %s\n", pay.code, pay.msg);
    } else {
        /* Still unclear: revoke, so that no money stays taken without goods. */
        ystpay_revoke_result v;
        memset(&v, 0, sizeof v);
        v.struct_size = sizeof v;
        rc = ystpay_revoke(client, NULL, req_seq, NULL, argv[3], &v);
        if (rc == YSTPAY_OK && v.outcome == YSTPAY_OUTCOME_REVOKED)
            printf("NOT PAID: revoked (serial %s)\n", req_seq);
        else
            printf("UNKNOWN: keep serial %s and check it later\n", req_seq);
    }
    ystpay_client_free(client);
    return paid ? 0 : 1;
}
