/*
 * settle.c — drives the settle flow of ystpay through the C ABI against the
 * platform simulator (ystpay-sim): settle-pay with a password wait, the
 * progress callback, cancel from another thread, refunds, QR-code orders,
 * the journal listing and day totals, and recovery after a crash (a child
 * process killed while the customer enters the password: SIGKILL on POSIX,
 * TerminateProcess on Windows).
 *
 *   settle API_URL [WORK_DIR]
 *
 * API_URL is the simulator's API URL (its /sim/ control API gives the
 * truth to compare with); the simulator should run with a time scale of 20
 * (the clients here use flow_time_scale = 20 to match). WORK_DIR (default
 * ".") receives the journal files. POSIX (fork/exec, kill, pthreads) and
 * Windows (CreateProcess, TerminateProcess, Windows threads and condition
 * variables; built with MinGW-w64 and run under Wine in CI, 32- and 64-bit).
 *
 * Prints one line per check and ends with "N passed, M failed"; exits 0
 * only when nothing failed.
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

/* --------------------------------------------------------------- helpers */

static char journal_path[512];

static ystpay_client *new_client(int recover_on_start)
{
    char cfg[1400];
    ystpay_client *c = NULL;
    snprintf(cfg, sizeof cfg,
             "server_url = %s\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n"
             "journal = %s\nflow_time_scale = 20\nrecover_on_start = %d\n",
             api_url, journal_path, recover_on_start);
    if (ystpay_client_from_config(cfg, &c) != YSTPAY_OK)
        return NULL;
    return c;
}

static void code_for(char *buf, int scenario)
{
    static unsigned counter;
    if (!counter)
        counter = 300000u + (process_id() % 100000u) * 10u;
    sprintf(buf, "13%014u%02d", ++counter, scenario);
}

/* What the progress callback saw. */
typedef struct {
    mutex_t lock;
    cond_t cond;
    int stages[8];      /* count per YSTPAY_STAGE_* */
    int waiting_seen;   /* set at the first YSTPAY_STAGE_WAITING */
    int wrong_thread;   /* a callback ran on another thread */
    int bad_elapsed;    /* elapsed_ms went negative */
    thread_id_t caller;
    char req_seq[64];   /* the message of the first SENDING */
    char finished[32];  /* the message of FINISHED */
    char show_url[512]; /* the message of SHOW_CODE */
    int pay_on_show;    /* make the customer pay at SHOW_CODE */
    int block_at_wait;  /* crash child: print and stop at WAITING */
} progress_log;

static void log_init(progress_log *l)
{
    memset(l, 0, sizeof *l);
    mutex_init(&l->lock);
    cond_init(&l->cond);
    l->caller = thread_self();
}

static void log_free(progress_log *l)
{
    mutex_destroy(&l->lock);
    cond_destroy(&l->cond);
}

/* Waits until the progress callback saw YSTPAY_STAGE_WAITING, at most
 * `ms` milliseconds. */
static void wait_for_waiting(progress_log *l, int ms)
{
#ifdef _WIN32
    DWORD start = GetTickCount(), spent;
    mutex_lock(&l->lock);
    while (!l->waiting_seen && (spent = GetTickCount() - start) < (DWORD)ms)
        SleepConditionVariableCS(&l->cond, &l->lock, (DWORD)ms - spent);
    mutex_unlock(&l->lock);
#else
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    mutex_lock(&l->lock);
    while (!l->waiting_seen)
        if (pthread_cond_timedwait(&l->cond, &l->lock, &until) != 0)
            break;
    mutex_unlock(&l->lock);
#endif
}

static void YSTPAY_CALL on_progress(void *user_data, int32_t stage, int32_t elapsed_ms,
                                    const char *message)
{
    progress_log *l = (progress_log *)user_data;
    char body[160];
    mutex_lock(&l->lock);
    if (stage > 0 && stage < 8)
        l->stages[stage]++;
    if (!thread_same(l->caller, thread_self()))
        l->wrong_thread = 1;
    if (elapsed_ms < 0)
        l->bad_elapsed = 1;
    if (stage == YSTPAY_STAGE_SENDING && !l->req_seq[0])
        snprintf(l->req_seq, sizeof l->req_seq, "%s", message);
    if (stage == YSTPAY_STAGE_FINISHED)
        snprintf(l->finished, sizeof l->finished, "%s", message);
    if (stage == YSTPAY_STAGE_SHOW_CODE)
        snprintf(l->show_url, sizeof l->show_url, "%s", message);
    if (stage == YSTPAY_STAGE_WAITING && !l->waiting_seen) {
        l->waiting_seen = 1;
        cond_broadcast(&l->cond);
    }
    mutex_unlock(&l->lock);
    if (stage == YSTPAY_STAGE_SHOW_CODE && l->pay_on_show) {
        snprintf(body, sizeof body, "{\"merchant\":\"demo\",\"req_seq\":\"%s\"}", l->req_seq);
        sim_http("POST", "/sim/customer-pays", body, NULL, 0);
    }
    if (stage == YSTPAY_STAGE_WAITING && l->block_at_wait) {
        /* The crash child: the payment is recorded and waiting; tell the
         * parent and stay here until it kills this process. */
        printf("WAITING %s\n", l->req_seq);
        fflush(stdout);
        for (;;)
            sleep_ms(1000);
    }
}

static int32_t settle_pay(ystpay_client *c, const char *req_seq, int64_t fee, const char *code,
                          ystpay_cancel *cancel, progress_log *log, ystpay_settlement *out)
{
    INIT(*out);
    return ystpay_settle_pay(c, req_seq, fee, code, NULL, NULL, 0, 0, cancel,
                             log ? on_progress : NULL, log, out);
}

/* ------------------------------------------------------------- the tests */

static void test_without_journal(void)
{
    ystpay_client *c = NULL;
    ystpay_settlement s;
    int32_t n = -1;
    char code[32];
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0, &c),
             YSTPAY_OK, "client without a journal");
    code_for(code, 1);
    CHECK_RC(settle_pay(c, NULL, 100, code, NULL, NULL, &s), YSTPAY_ERR_NO_JOURNAL,
             "settle_pay needs a journal");
    CHECK_RC(ystpay_journal_count(c, NULL, &n), YSTPAY_ERR_NO_JOURNAL,
             "journal_count needs a journal");
    CHECK(n == -1, "count untouched on failure");
    ystpay_client_free(c);
    c = NULL;
    CHECK_RC(ystpay_client_new_ex(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0,
                                  YSTPAY_FLAG_NO_RECOVER, journal_path, 0, &c),
             YSTPAY_OK, "client_new_ex with a journal");
    CHECK_RC(ystpay_journal_count(c, "", &n), YSTPAY_OK, "journal_count via client_new_ex");
    ystpay_client_free(c);
    c = NULL;
    CHECK_RC(ystpay_client_new_ex(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0,
                                  NULL, -5, &c),
             YSTPAY_ERR_INVALID_ARGUMENT, "client_new_ex negative deadline");
    CHECK_RC(ystpay_client_new_ex(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0,
                                  "no-such-dir/x/journal.db", 0, &c),
             YSTPAY_ERR_JOURNAL, "client_new_ex unusable journal path");
    CHECK(c == NULL, "no handle on failure");
}

static void test_bad_input(ystpay_client *c)
{
    ystpay_settlement s;
    ystpay_cancel *k = NULL;
    uint64_t fake[4] = {0, 0, 0, 0};
    char code[32];
    code_for(code, 1);
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, code, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL),
             YSTPAY_ERR_NULL_ARGUMENT, "settle_pay NULL out");
    memset(&s, 0xAB, sizeof s);
    s.struct_size = 12;
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, code, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_STRUCT_SIZE, "settle_pay wrong struct_size");
    s.struct_size = (uint32_t)sizeof s;
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_NULL_ARGUMENT, "settle_pay NULL auth_code");
    CHECK_RC(ystpay_settle_pay(c, NULL, -5, code, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_INVALID_INPUT, "settle_pay negative fee");
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, code, NULL, NULL, 0, -1, NULL, NULL, NULL, &s),
             YSTPAY_ERR_INVALID_ARGUMENT, "settle_pay negative deadline");
    CHECK_RC(ystpay_settle_pay(c, "123456789012345678901", 100, code, NULL, NULL, 0, 0, NULL,
                               NULL, NULL, &s),
             YSTPAY_ERR_INVALID_INPUT, "settle_pay 21-char req_seq");
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, "\xff\xfe", NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_INVALID_ENCODING, "settle_pay invalid UTF-8");
    CHECK_RC(ystpay_settle_pay(c, NULL, 100, code, NULL, NULL, 0, 0, (ystpay_cancel *)fake, NULL,
                               NULL, &s),
             YSTPAY_ERR_INVALID_HANDLE, "settle_pay foreign cancel handle");
    CHECK(s.struct_size == sizeof s && s.outcome == (int32_t)0xABABABAB,
          "record untouched on failure");
    CHECK_RC(ystpay_cancel_new(NULL), YSTPAY_ERR_NULL_ARGUMENT, "cancel_new NULL");
    CHECK_RC(ystpay_cancel_trigger(NULL), YSTPAY_ERR_NULL_ARGUMENT, "cancel_trigger NULL");
    CHECK_RC(ystpay_cancel_trigger((ystpay_cancel *)fake), YSTPAY_ERR_INVALID_HANDLE,
             "cancel_trigger foreign handle");
    ystpay_cancel_free(NULL);
    CHECK_RC(ystpay_cancel_new(&k), YSTPAY_OK, "cancel_new");
    CHECK_RC(ystpay_cancel_trigger(k), YSTPAY_OK, "cancel_trigger twice (1)");
    CHECK_RC(ystpay_cancel_trigger(k), YSTPAY_OK, "cancel_trigger twice (2)");
    ystpay_cancel_free(k);
    CHECK_RC(ystpay_recover(c, NULL, NULL, NULL), YSTPAY_ERR_NULL_ARGUMENT, "recover NULL out");
    CHECK_RC(ystpay_settle_refund(c, NULL, NULL, 1, "x", 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_NULL_ARGUMENT, "settle_refund NULL pay_req_seq");
    CHECK_RC(ystpay_settle_revoke(c, "00000000000000000000", NULL, NULL, &s),
             YSTPAY_ERR_NOT_FOUND, "settle_revoke unknown req_seq");
    CHECK_RC(ystpay_settle_order(c, 99, 100, "W", 0, NULL, NULL, NULL, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_INVALID_ARGUMENT, "settle_order unknown kind");
    CHECK(strcmp(ystpay_strerror(YSTPAY_ERR_REFUND_EXCEEDS), "unknown result code") != 0,
          "new codes have texts");
}

static char paid_seq[64], password_seq[64], refused_seq[64], cancelled_seq[64];

static void test_paid_and_password(ystpay_client *c)
{
    ystpay_settlement s;
    progress_log log;
    char code[32], seq[64];
    int32_t needed = 0;

    CHECK_RC(ystpay_next_req_seq(c, seq, (int32_t)sizeof seq, &needed), YSTPAY_OK,
             "next_req_seq for the settle");
    code_for(code, 1);
    log_init(&log);
    CHECK_RC(settle_pay(c, seq, 1234, code, NULL, &log, &s), YSTPAY_OK, "settle_pay paid at once");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID && s.state == YSTPAY_STATE_PAID, "outcome PAID");
    CHECK(strcmp(s.req_seq, seq) == 0, "the caller's req_seq was used");
    CHECK(s.trans_seq[0] != 0 && s.total_fee == 1234 && s.kind == YSTPAY_KIND_PAY,
          "trans_seq, fee and kind");
    CHECK(s.receipt_count > 0 && strstr(s.receipt_lines[0], "") != NULL, "receipt lines");
    CHECK(strcmp(s.channel, "W") == 0 && s.journal_failed == 0, "channel W, journal written");
    CHECK(log.stages[YSTPAY_STAGE_SENDING] == 1 && strcmp(log.req_seq, seq) == 0,
          "SENDING callback carries the req_seq");
    CHECK(strcmp(log.finished, "PAID") == 0, "FINISHED callback says PAID");
    snprintf(paid_seq, sizeof paid_seq, "%s", s.req_seq);
    log_free(&log);

    CHECK_RC(settle_pay(c, seq, 1234, code, NULL, NULL, &s), YSTPAY_ERR_DUPLICATE,
             "a req_seq already in the journal is refused");

    /* 52: the customer enters a password for 2 s (0.1 s at time scale 20). */
    code_for(code, 52);
    log_init(&log);
    CHECK_RC(settle_pay(c, NULL, 500, code, NULL, &log, &s), YSTPAY_OK, "settle_pay password");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID, "password payment ends PAID");
    CHECK(log.stages[YSTPAY_STAGE_WAITING] >= 1, "progress callback saw the waiting stage");
    CHECK(log.wrong_thread == 0, "callbacks ran on the calling thread");
    CHECK(log.bad_elapsed == 0, "elapsed_ms never negative");
    CHECK(strcmp(log.req_seq, s.req_seq) == 0, "generated req_seq reported while sending");
    CHECK(sim_money_kept(s.req_seq) == 1, "simulator: paid");
    snprintf(password_seq, sizeof password_seq, "%s", s.req_seq);
    log_free(&log);

    code_for(code, 71);
    CHECK_RC(settle_pay(c, NULL, 500, code, NULL, NULL, &s), YSTPAY_OK, "settle_pay refused");
    CHECK(s.outcome == YSTPAY_OUTCOME_FAILED && s.code[0] != 0, "refused ends FAILED with a code");
    snprintf(refused_seq, sizeof refused_seq, "%s", s.req_seq);
}

typedef struct {
    progress_log *log;
    ystpay_cancel *cancel;
    int32_t rc;
} canceller_arg;

/* The UI thread: waits until the customer is entering the password, then
 * presses Esc. */
static THREAD_RET canceller(void *p)
{
    canceller_arg *a = (canceller_arg *)p;
    wait_for_waiting(a->log, 30000);
    a->rc = ystpay_cancel_trigger(a->cancel);
    return 0;
}

static void test_cancel(ystpay_client *c)
{
    ystpay_settlement s;
    progress_log log;
    ystpay_cancel *k = NULL;
    canceller_arg arg;
    thread_t t;
    char code[32], truth[32];

    /* 50: a 10 s password wait (0.5 s at time scale 20). */
    code_for(code, 50);
    log_init(&log);
    CHECK_RC(ystpay_cancel_new(&k), YSTPAY_OK, "cancel handle");
    arg.log = &log;
    arg.cancel = k;
    arg.rc = -1;
    if (thread_start(&t, canceller, &arg) != 0) {
        CHECK(0, "start the cancelling thread");
        return;
    }
    CHECK_RC(settle_pay(c, NULL, 800, code, k, &log, &s), YSTPAY_OK,
             "settle_pay cancelled from another thread");
    thread_join(t);
    CHECK(arg.rc == YSTPAY_OK, "cancel_trigger from the other thread");
    CHECK(log.waiting_seen, "cancel came during the password wait");
    CHECK(s.outcome == YSTPAY_OUTCOME_REVOKED && s.state == YSTPAY_STATE_REVOKED,
          "cancelled payment ends REVOKED");
    CHECK(log.stages[YSTPAY_STAGE_REVOKING] >= 1, "progress callback saw the revoke");
    CHECK(sim_money_kept(s.req_seq) == 0, "simulator: no money kept");
    CHECK(sim_truth(s.req_seq, truth, sizeof truth) == 0 &&
              (strcmp(truth, "closed") == 0 || strcmp(truth, "revoked") == 0),
          "simulator: closed or revoked");
    snprintf(cancelled_seq, sizeof cancelled_seq, "%s", s.req_seq);
    ystpay_cancel_free(k);
    log_free(&log);
}

static void test_refunds_and_revoke(ystpay_client *c)
{
    ystpay_settlement s;
    ystpay_journal_entry e;
    int32_t n = -1;
    INIT(s);
    CHECK_RC(ystpay_settle_refund(c, NULL, paid_seq, 234, "退货", 0, NULL, NULL, NULL, &s),
             YSTPAY_OK, "settle_refund part");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID && s.state == YSTPAY_STATE_REFUNDED &&
              s.kind == YSTPAY_KIND_REFUND,
          "refund ends refunded");
    CHECK(s.refund_seq[0] != 0 && s.total_fee == 234, "refund_seq and amount");
    INIT(s);
    CHECK_RC(ystpay_settle_refund(c, NULL, paid_seq, 1001, "退货", 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_REFUND_EXCEEDS, "refund beyond what is left refused locally");
    CHECK_RC(ystpay_settle_refund(c, NULL, refused_seq, 1, "退货", 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_NOT_PAID, "refund of a failed payment refused locally");
    CHECK_RC(ystpay_journal_refund_count(c, paid_seq, &n), YSTPAY_OK, "refund_count");
    CHECK(n == 1, "one refund of the payment");
    INIT(e);
    CHECK_RC(ystpay_journal_refund_get(c, paid_seq, 0, &e), YSTPAY_OK, "refund_get 0");
    CHECK(strcmp(e.parent_seq, paid_seq) == 0 && e.total_fee == 234, "refund entry");
    CHECK_RC(ystpay_journal_refund_get(c, paid_seq, 1, &e), YSTPAY_ERR_INDEX, "refund_get 1");

    INIT(s);
    CHECK_RC(ystpay_settle_revoke(c, password_seq, NULL, NULL, &s), YSTPAY_OK,
             "settle_revoke a paid payment");
    CHECK(s.outcome == YSTPAY_OUTCOME_REVOKED, "revoked");
    CHECK(sim_money_kept(password_seq) == 0, "simulator: money returned");
}

static void test_order(ystpay_client *c)
{
    ystpay_settlement s;
    progress_log log;
    log_init(&log);
    log.pay_on_show = 1;
    INIT(s);
    CHECK_RC(ystpay_settle_order(c, YSTPAY_KIND_NATIVE, 990, "W", 0, NULL, NULL, NULL, 0, NULL,
                                 on_progress, &log, &s),
             YSTPAY_OK, "settle_order native");
    CHECK(log.show_url[0] != 0, "SHOW_CODE callback carries the URL");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID && s.kind == YSTPAY_KIND_NATIVE,
          "QR-code order paid by the customer");
    CHECK(sim_money_kept(s.req_seq) == 1, "simulator: order paid");
    log_free(&log);
}

static void test_journal(ystpay_client *c)
{
    ystpay_journal_entry e;
    ystpay_day_totals t;
    ystpay_total_line line;
    int32_t n = -1, i, found = 0, lines_ok = 1;
    int64_t paid = 0;
    CHECK_RC(ystpay_journal_count(c, NULL, &n), YSTPAY_OK, "journal_count today");
    CHECK(n >= 6, "today's operations are listed");
    for (i = 0; i < n; i++) {
        INIT(e);
        if (ystpay_journal_get(c, NULL, i, &e) != YSTPAY_OK) {
            found = -100;
            break;
        }
        if (strcmp(e.req_seq, paid_seq) == 0 && e.state == YSTPAY_STATE_PAID &&
            strstr(e.auth_code_masked, "*") != NULL)
            found++;
        if (strcmp(e.req_seq, cancelled_seq) == 0 && e.state == YSTPAY_STATE_REVOKED)
            found++;
        if (strcmp(e.req_seq, refused_seq) == 0 && e.outcome == YSTPAY_OUTCOME_FAILED)
            found++;
    }
    CHECK(found == 3, "journal_get lists paid, revoked and failed payments (code masked)");
    CHECK_RC(ystpay_journal_get(c, NULL, n + 1000, &e), YSTPAY_ERR_INDEX, "journal_get past end");
    CHECK_RC(ystpay_journal_get(c, NULL, -1, &e), YSTPAY_ERR_INDEX, "journal_get negative");
    CHECK_RC(ystpay_journal_count(c, "2024/01/01", &n), YSTPAY_ERR_INVALID_ARGUMENT,
             "journal_count bad day");
    CHECK_RC(ystpay_journal_count(c, "2001-01-01", &n), YSTPAY_OK, "journal_count empty day");
    CHECK(n == 0, "no operations that day");
    INIT(e);
    CHECK_RC(ystpay_journal_find(c, cancelled_seq, &e), YSTPAY_OK, "journal_find");
    CHECK(e.state == YSTPAY_STATE_REVOKED && e.outcome == YSTPAY_OUTCOME_REVOKED &&
              strlen(e.day) == 10,
          "journal_find: revoked, with its day");
    CHECK_RC(ystpay_journal_find(c, "00000000000000000001", &e), YSTPAY_ERR_NOT_FOUND,
             "journal_find unknown");

    INIT(t);
    CHECK_RC(ystpay_journal_totals(c, NULL, &t), YSTPAY_OK, "journal_totals today");
    CHECK(t.line_count > 0 && t.net_fee == t.paid_fee - t.refunded_fee && t.refunded_fee >= 234,
          "totals: lines, net = paid - refunded");
    for (i = 0; i < t.line_count; i++) {
        INIT(line);
        if (ystpay_journal_total_line(c, NULL, i, &line) != YSTPAY_OK || line.count <= 0)
            lines_ok = 0;
        else if (line.state == YSTPAY_STATE_PAID && line.kind != YSTPAY_KIND_REFUND)
            paid += line.fee;
    }
    CHECK(lines_ok, "every total line reads");
    CHECK(paid == t.paid_fee, "paid lines sum to paid_fee");
    CHECK_RC(ystpay_journal_total_line(c, NULL, t.line_count, &line), YSTPAY_ERR_INDEX,
             "total_line past end");

    /* The bookkeeper's CSV of today: written whole, UTF-8 after a BOM here. */
    {
        char csv_path[600];
        char head[64];
        size_t got = 0;
        FILE *f;
        snprintf(csv_path, sizeof csv_path, "%s.csv", journal_path);
        CHECK_RC(ystpay_journal_export_csv(c, NULL, NULL, csv_path, YSTPAY_ENCODING_UTF8),
                 YSTPAY_OK, "journal_export_csv today");
        f = fopen(csv_path, "rb");
        if (f) {
            got = fread(head, 1, sizeof head, f);
            fclose(f);
        }
        CHECK(got > 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0,
              "export: UTF-8 with a byte-order mark");
        remove(csv_path);
        CHECK_RC(ystpay_journal_export_csv(c, "2025-11-25", "2025-11-24", csv_path,
                                           YSTPAY_ENCODING_GBK),
                 YSTPAY_ERR_INVALID_ARGUMENT, "export: reversed range");
        CHECK_RC(ystpay_journal_export_csv(c, NULL, NULL, NULL, YSTPAY_ENCODING_GBK),
                 YSTPAY_ERR_NULL_ARGUMENT, "export: NULL path");
        f = fopen(csv_path, "rb");
        CHECK(f == NULL, "export: a refused call writes no file");
        if (f)
            fclose(f);
    }
}

/* --------------------------------------------------------------- crash */

static int crash_child(void)
{
    ystpay_client *c = new_client(0);
    ystpay_settlement s;
    progress_log log;
    char code[32];
    if (!c) {
        printf("CHILD-FAILED client\n");
        return 2;
    }
    /* 50: a 10 s password wait (0.5 s at time scale 20). */
    code_for(code, 50);
    log_init(&log);
    log.block_at_wait = 1;
    settle_pay(c, NULL, 700, code, NULL, &log, &s);
    printf("CHILD-NOT-KILLED\n");
    return 3;
}

/* The crash child: this program run again with --crash-child, its standard
 * output a pipe whose reading end `*out` is returned. */
#ifdef _WIN32
typedef HANDLE child_t;
#define CRASH_EXIT_CODE 9u /* what TerminateProcess makes the child exit with */

static int start_crash_child(const char *self, child_t *child, FILE **out)
{
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE rd, wr;
    char cmd[2048];
    int fd;
    (void)self; /* argv[0] may lack the folder and ".exe": ask Windows */
    if (GetModuleFileNameA(NULL, cmd + 1, (DWORD)sizeof cmd / 2) == 0)
        return -1;
    cmd[0] = '"';
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "\" --crash-child \"%s\" \"%s\"",
             api_url, journal_path);
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    if (!CreatePipe(&rd, &wr, &sa, 0))
        return -1;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    fflush(stdout);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        CloseHandle(rd);
        CloseHandle(wr);
        return -1;
    }
    CloseHandle(wr);
    CloseHandle(pi.hThread);
    *child = pi.hProcess;
    fd = _open_osfhandle((intptr_t)rd, _O_RDONLY);
    *out = fd >= 0 ? _fdopen(fd, "r") : NULL;
    return 0;
}

/* Kills the child as a power cut would; 1 when it died of that. */
static int kill_crash_child(child_t child)
{
    DWORD code = 0;
    int ok = TerminateProcess(child, CRASH_EXIT_CODE) &&
             WaitForSingleObject(child, 30000) == WAIT_OBJECT_0 &&
             GetExitCodeProcess(child, &code) && code == CRASH_EXIT_CODE;
    CloseHandle(child);
    return ok;
}
#define KILLED_HOW "crash child stopped by TerminateProcess"
#else
typedef pid_t child_t;

static int start_crash_child(const char *self, child_t *child, FILE **out)
{
    int fds[2];
    pid_t pid;
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--crash-child", api_url, journal_path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    *child = pid;
    *out = fdopen(fds[0], "r");
    return 0;
}

static int kill_crash_child(child_t child)
{
    int status = 0;
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}
#define KILLED_HOW "crash child killed by SIGKILL"
#endif

static void test_crash_then_recover(const char *self)
{
    child_t child;
    char buf[256] = "", seq[64] = "", truth[32] = "";
    FILE *f = NULL;
    int32_t rc = -1;
    ystpay_client *c;
    ystpay_journal_entry e;
    ystpay_recovery_report r;

    if (start_crash_child(self, &child, &f) != 0) {
        CHECK(0, "start the crash child");
        return;
    }
    while (f && fgets(buf, sizeof buf, f))
        if (sscanf(buf, "WAITING %63s", seq) == 1)
            break;
    CHECK(seq[0] != 0, "crash child reached the password wait");
    CHECK(kill_crash_child(child), KILLED_HOW);
    if (f)
        fclose(f);
    if (!seq[0])
        return;

    c = new_client(0);
    CHECK(c != NULL, "a new process opens the same journal");
    if (!c)
        return;
    INIT(e);
    CHECK_RC(ystpay_journal_find(c, seq, &e), YSTPAY_OK, "the killed payment is in the journal");
    CHECK(e.state == YSTPAY_STATE_WAITING || e.state == YSTPAY_STATE_PENDING,
          "it was left open (waiting)");
    /* Ownership died with the killed process: one recovery, right away,
     * takes the payment over; nothing is left to the dead process. */
    INIT(r);
    rc = ystpay_recover(c, NULL, NULL, &r);
    CHECK_RC(rc, YSTPAY_OK, "recover at once");
    CHECK(r.settled >= 1 && r.still_open == 0 && r.busy_elsewhere == 0,
          "recover settled the killed payment, nothing left open");
    CHECK(r.entry_count == r.settled, "the report lists each operation it settled");
    CHECK(r.settled == r.paid + r.failed + r.revoked, "report counts add up");
    INIT(e);
    CHECK_RC(ystpay_journal_find(c, seq, &e), YSTPAY_OK, "journal_find after recovery");
    CHECK(sim_truth(seq, truth, sizeof truth) == 0, "simulator knows the payment");
    printf("     crash: journal %d, simulator %s\n", (int)e.state, truth);
    CHECK((e.state == YSTPAY_STATE_PAID && strcmp(truth, "paid") == 0) ||
              (e.state == YSTPAY_STATE_REVOKED &&
               (strcmp(truth, "closed") == 0 || strcmp(truth, "revoked") == 0)),
          "after recovery the journal equals the simulator's truth");
    INIT(r);
    CHECK_RC(ystpay_recover(c, NULL, NULL, &r), YSTPAY_OK, "recover again");
    CHECK(r.settled == 0 && r.still_open == 0, "nothing more to recover");
    ystpay_client_free(c);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    ystpay_client *c;
    const char *dir = argc > 2 ? argv[2] : ".";
#ifdef _WIN32
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    setvbuf(stdout, NULL, _IONBF, 0); /* the Windows C library has no line buffering */
#else
    setvbuf(stdout, NULL, _IOLBF, 0);
#endif
    if (argc == 4 && strcmp(argv[1], "--crash-child") == 0) {
        api_url = argv[2];
        snprintf(journal_path, sizeof journal_path, "%s", argv[3]);
        if (parse_url(api_url) != 0)
            return 2;
        return crash_child();
    }
    if (argc < 2) {
        fprintf(stderr, "usage: settle API_URL [WORK_DIR]\n");
        return 2;
    }
    api_url = argv[1];
    if (parse_url(api_url) != 0) {
        fprintf(stderr, "cannot read host:port from %s\n", api_url);
        return 2;
    }
    snprintf(journal_path, sizeof journal_path, "%s/settle-journal-%u.db", dir, process_id());

    test_without_journal();
    c = new_client(1);
    CHECK(c != NULL, "client_from_config with journal= (recovers on start)");
    if (c) {
        test_bad_input(c);
        test_paid_and_password(c);
        test_cancel(c);
        test_refunds_and_revoke(c);
        test_order(c);
        test_journal(c);
        ystpay_client_free(c);
    }
    test_crash_then_recover(argv[0]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
