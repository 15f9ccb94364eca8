/*
 * started.c — the started operations of ystpay (ystpay_start_*, ystpay_op_*)
 * through the C ABI, the way a POS program with one thread uses them: start,
 * then look from a timer, never block. Against the platform simulator
 * (ystpay-sim) running at time scale 1, so that a customer's password takes
 * real seconds:
 *
 *   - three payments started at once on one client (quick, password,
 *     walk-away) and polled to PAID, PAID, REVOKED, each compared with the
 *     simulator's truth;
 *   - a started payment cancelled after 1 s ends REVOKED, money returned;
 *   - a handle freed while its payment runs: the payment goes on, the
 *     client's free waits for it, and the journal (opened again) holds it
 *     settled PAID;
 *   - what is refused before anything is sent, the getters, and window
 *     messages (Windows only: "not supported" elsewhere).
 *
 *   started API_URL [WORK_DIR]
 *
 * Prints one line per check and ends with "N passed, M failed"; exits 0
 * only when nothing failed. Runs under valgrind and ASan in
 * scripts/ci-ffi.sh, and under Wine in scripts/ci-windows.sh.
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ystpay.h"
#include "check.h"
#include "simctl.h"

int passed, failed;

static char journal_path[512];

static ystpay_client *new_client(void)
{
    char cfg[1400];
    ystpay_client *c = NULL;
    snprintf(cfg, sizeof cfg,
             "server_url = %s\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n"
             "journal = %s\nrecover_on_start = 0\n",
             api_url, journal_path);
    if (ystpay_client_from_config(cfg, &c) != YSTPAY_OK)
        return NULL;
    return c;
}

/* A WeChat payment code whose last two digits choose the simulator's
 * scenario (README, "Simulator scenarios"). */
static void code_for(char *buf, int scenario)
{
    static unsigned counter;
    if (!counter)
        counter = 500000u + (process_id() % 100000u) * 10u;
    sprintf(buf, "13%014u%02d", ++counter, scenario);
}

/* Polls `op` every 20 ms, as a UI timer would, until it ends or `ms`
 * pass; returns the end's code (YSTPAY_ERR_STILL_RUNNING if it did not). */
static int32_t poll_until_end(ystpay_op *op, int ms, ystpay_settlement *s)
{
    int spent = 0;
    int32_t rc;
    INIT(*s);
    while ((rc = ystpay_op_wait(op, 0, s)) == YSTPAY_ERR_STILL_RUNNING && spent < ms) {
        sleep_ms(20);
        spent += 20;
    }
    return rc;
}

static int64_t number(ystpay_op *op, int32_t field)
{
    int64_t v = -1;
    if (ystpay_op_number(op, field, &v) != YSTPAY_OK)
        return -1;
    return v;
}

/* ------------------------------------------------------------- the tests */

static void test_refused_before_sending(ystpay_client *c)
{
    ystpay_op *op = NULL;
    char code[32], seq[40];
    ystpay_settlement s;
    code_for(code, 0);
    CHECK_RC(ystpay_start_pay(c, NULL, 100, code, NULL, NULL, 0, 0, NULL),
             YSTPAY_ERR_NULL_ARGUMENT, "start_pay NULL out");
    CHECK_RC(ystpay_start_pay(c, NULL, 100, NULL, NULL, NULL, 0, 0, &op),
             YSTPAY_ERR_NULL_ARGUMENT, "start_pay NULL auth_code");
    CHECK_RC(ystpay_start_pay(c, NULL, 100, code, NULL, NULL, 0, -1, &op),
             YSTPAY_ERR_INVALID_ARGUMENT, "start_pay negative deadline");
    CHECK_RC(ystpay_start_pay(NULL, NULL, 100, code, NULL, NULL, 0, 0, &op),
             YSTPAY_ERR_NULL_ARGUMENT, "start_pay NULL client");
    CHECK(op == NULL, "no handle after a refusal");

    /* A serial already in the journal: refused, nothing sent. */
    CHECK_RC(ystpay_next_req_seq(c, seq, (int32_t)sizeof seq, NULL), YSTPAY_OK, "next_req_seq");
    CHECK_RC(ystpay_start_pay(c, seq, 100, code, NULL, NULL, 0, 0, &op), YSTPAY_OK,
             "start_pay with the caller's serial");
    CHECK_RC(poll_until_end(op, 10000, &s), YSTPAY_OK, "quick payment ends");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID && strcmp(s.req_seq, seq) == 0,
          "ended PAID under the caller's serial");
    ystpay_op_free(op);
    op = NULL;
    code_for(code, 0);
    CHECK_RC(ystpay_start_pay(c, seq, 100, code, NULL, NULL, 0, 0, &op), YSTPAY_ERR_DUPLICATE,
             "start_pay with a used serial: DUPLICATE, nothing sent");
    CHECK(op == NULL, "no handle for a duplicate");
    CHECK_RC(ystpay_start_revoke(c, "20990101000000000000", &op), YSTPAY_ERR_NOT_FOUND,
             "start_revoke of an unknown serial");
    CHECK_RC(ystpay_op_wait(NULL, 0, NULL), YSTPAY_ERR_NULL_ARGUMENT, "op_wait NULL op");
    CHECK_RC(ystpay_op_wait((const ystpay_op *)c, 0, NULL), YSTPAY_ERR_INVALID_HANDLE,
             "op_wait on a client handle");
    ystpay_op_free(NULL);
}

/* Quick, password and walk-away started together on one client. */
static void test_three_at_once(ystpay_client *c)
{
    ystpay_op *op[3] = {NULL, NULL, NULL};
    ystpay_settlement s[3];
    const char *name[3] = {"quick", "password", "walk-away"};
    int expect[3] = {YSTPAY_OUTCOME_PAID, YSTPAY_OUTCOME_PAID, YSTPAY_OUTCOME_REVOKED};
    int kept[3] = {1, 1, 0}; /* the simulator keeps the money of the two paid */
    int ended[3] = {0, 0, 0}, left = 3, spent = 0, waiting_seen = 0, i;
    char code[3][32], words[256], what[160];
    int32_t stage, elapsed;

    code_for(code[0], 0);  /* paid at once */
    code_for(code[1], 52); /* the customer types the password for 2 s */
    code_for(code[2], 50); /* 10 s: the customer walks away before (deadline 3 s) */
    CHECK_RC(ystpay_start_pay(c, NULL, 101, code[0], NULL, NULL, 0, 0, &op[0]), YSTPAY_OK,
             "start quick payment");
    CHECK_RC(ystpay_start_pay(c, NULL, 202, code[1], NULL, NULL, 0, 0, &op[1]), YSTPAY_OK,
             "start password payment");
    CHECK_RC(ystpay_start_pay(c, NULL, 303, code[2], NULL, NULL, 0, 3000, &op[2]), YSTPAY_OK,
             "start walk-away payment (deadline 3 s)");
    if (!op[0] || !op[1] || !op[2])
        return;
    CHECK_RC(ystpay_op_number(op[2], YSTPAY_FIELD_OUTCOME, &(int64_t){0}),
             YSTPAY_ERR_STILL_RUNNING, "a getter before the end: STILL_RUNNING");
#ifdef _WIN32
    /* Posting to a window that is not one fails silently, as documented. */
    CHECK_RC(ystpay_op_notify(op[0], (void *)op[0], 0x0400, 1), YSTPAY_OK, "op_notify");
#else
    CHECK_RC(ystpay_op_notify(op[0], (void *)op[0], 0x0400, 1), YSTPAY_ERR_NOT_SUPPORTED,
             "op_notify: window messages only on Windows");
#endif

    /* The UI timer: look at each, never block. */
    while (left > 0 && spent < 30000) {
        for (i = 0; i < 3; i++) {
            int32_t rc;
            if (ended[i])
                continue;
            if (ystpay_op_stage(op[i], &stage, &elapsed, words, (int32_t)sizeof words, NULL) ==
                    YSTPAY_OK &&
                i == 1 && stage == YSTPAY_STAGE_WAITING && strstr(words, "\xe7\xa7\x92"))
                waiting_seen = 1; /* "秒": the seconds left, in UTF-8 */
            INIT(s[i]);
            rc = ystpay_op_wait(op[i], 0, &s[i]);
            if (rc != YSTPAY_ERR_STILL_RUNNING) {
                snprintf(what, sizeof what, "%s payment ends YSTPAY_OK", name[i]);
                CHECK_RC(rc, YSTPAY_OK, what);
                ended[i] = 1;
                left--;
            }
        }
        sleep_ms(50);
        spent += 50;
    }
    CHECK(left == 0, "all three ended within 30 s");
    CHECK(waiting_seen, "the password payment showed WAITING with the seconds left");
    for (i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "%s payment: outcome %d (expected %d)", name[i],
                 (int)s[i].outcome, expect[i]);
        CHECK(ended[i] && s[i].outcome == expect[i], what);
        snprintf(what, sizeof what, "%s payment: simulator %s the money", name[i],
                 kept[i] ? "keeps" : "does not keep");
        CHECK(sim_money_kept(s[i].req_seq) == kept[i], what);
    }
    /* The getters give the same end without the record. */
    CHECK(number(op[1], YSTPAY_FIELD_OUTCOME) == YSTPAY_OUTCOME_PAID, "op_number OUTCOME");
    CHECK(number(op[1], YSTPAY_FIELD_TOTAL_FEE) == 202, "op_number TOTAL_FEE");
    CHECK(number(op[1], YSTPAY_FIELD_KIND) == YSTPAY_KIND_PAY, "op_number KIND");
    {
        char buf[64];
        int32_t need = 0;
        CHECK_RC(ystpay_op_text(op[1], YSTPAY_FIELD_REQ_SEQ, buf, (int32_t)sizeof buf, NULL),
                 YSTPAY_OK, "op_text REQ_SEQ");
        CHECK(strcmp(buf, s[1].req_seq) == 0, "op_text REQ_SEQ = the record's");
        CHECK_RC(ystpay_op_text(op[1], YSTPAY_FIELD_TRANS_SEQ, buf, 2, &need),
                 YSTPAY_ERR_BUFFER_TOO_SMALL, "op_text with a small buffer");
        CHECK(need == (int32_t)strlen(s[1].trans_seq) + 1, "op_text says the size needed");
        CHECK_RC(ystpay_op_text(op[1], 999, buf, (int32_t)sizeof buf, NULL),
                 YSTPAY_ERR_INVALID_ARGUMENT, "op_text unknown field");
        CHECK(number(op[1], YSTPAY_FIELD_RECEIPT_COUNT) == s[1].receipt_count,
              "op_number RECEIPT_COUNT = the record's");
        CHECK_RC(ystpay_op_receipt_line(op[1], 9999, buf, (int32_t)sizeof buf, NULL),
                 YSTPAY_ERR_INDEX, "op_receipt_line out of range");
        CHECK_RC(ystpay_op_stage(op[1], &stage, NULL, NULL, 0, NULL), YSTPAY_OK,
                 "op_stage after the end");
        CHECK(stage == YSTPAY_STAGE_FINISHED, "stage FINISHED after the end");
    }
    for (i = 0; i < 3; i++)
        ystpay_op_free(op[i]);
}

static void test_cancel_after_one_second(ystpay_client *c)
{
    ystpay_op *op = NULL;
    ystpay_settlement s;
    char code[32];
    code_for(code, 50); /* the customer would take 10 s */
    CHECK_RC(ystpay_start_pay(c, NULL, 404, code, NULL, NULL, 0, 0, &op), YSTPAY_OK,
             "start payment to cancel");
    if (!op)
        return;
    sleep_ms(1000);
    CHECK_RC(ystpay_op_wait(op, 0, NULL), YSTPAY_ERR_STILL_RUNNING, "still running after 1 s");
    CHECK_RC(ystpay_op_cancel(op), YSTPAY_OK, "op_cancel (the Esc key)");
    INIT(s);
    CHECK_RC(ystpay_op_wait(op, 15000, &s), YSTPAY_OK, "cancelled payment ends");
    CHECK(s.outcome == YSTPAY_OUTCOME_REVOKED, "cancelled after 1 s: REVOKED");
    CHECK(sim_money_kept(s.req_seq) == 0, "simulator: no money kept");
    CHECK_RC(ystpay_op_cancel(op), YSTPAY_OK, "op_cancel after the end does nothing");
    INIT(s);
    CHECK_RC(ystpay_op_wait(op, 0, &s), YSTPAY_OK, "the end stays");
    CHECK(s.outcome == YSTPAY_OUTCOME_REVOKED, "still REVOKED");
    ystpay_op_free(op);
}

/* The handle is freed at once and the client right after: the payment
 * runs on, the client's free waits, and the journal holds it PAID. */
static void test_freed_while_running(void)
{
    ystpay_client *c = new_client();
    ystpay_op *op = NULL;
    ystpay_journal_entry e;
    char code[32], seq[40], st[32];
    CHECK(c != NULL, "client for the freed-handle test");
    if (!c)
        return;
    code_for(code, 52); /* paid after 2 s */
    CHECK_RC(ystpay_next_req_seq(c, seq, (int32_t)sizeof seq, NULL), YSTPAY_OK, "serial");
    CHECK_RC(ystpay_start_pay(c, seq, 505, code, NULL, NULL, 0, 0, &op), YSTPAY_OK,
             "start payment, then free its handle");
    ystpay_op_free(op);
    ystpay_client_free(c); /* waits for the payment */
    CHECK(sim_truth(seq, st, sizeof st) == 0 && strcmp(st, "paid") == 0,
          "client_free returned after the payment ended: the simulator says paid");
    c = new_client();
    CHECK(c != NULL, "journal opened again");
    if (!c)
        return;
    INIT(e);
    CHECK_RC(ystpay_journal_find(c, seq, &e), YSTPAY_OK, "journal holds the freed payment");
    CHECK(e.state == YSTPAY_STATE_PAID && e.outcome == YSTPAY_OUTCOME_PAID,
          "journal: settled PAID");
    ystpay_client_free(c);
}

int main(int argc, char **argv)
{
    ystpay_client *c;
    const char *dir = argc > 2 ? argv[2] : ".";
#ifdef _WIN32
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    setvbuf(stdout, NULL, _IONBF, 0);
#else
    setvbuf(stdout, NULL, _IOLBF, 0);
#endif
    if (argc < 2) {
        fprintf(stderr, "usage: started API_URL [WORK_DIR]\n");
        return 2;
    }
    api_url = argv[1];
    if (parse_url(api_url) != 0) {
        fprintf(stderr, "cannot read host:port from %s\n", api_url);
        return 2;
    }
    snprintf(journal_path, sizeof journal_path, "%s/started-journal-%u.db", dir, process_id());
    remove(journal_path);
    c = new_client();
    CHECK(c != NULL, "client with a journal");
    if (c) {
        test_refused_before_sending(c);
        test_three_at_once(c);
        test_cancel_after_one_second(c);
        ystpay_client_free(c);
    }
    test_freed_while_running();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
