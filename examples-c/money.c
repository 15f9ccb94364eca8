/*
 * money.c — the money truth through the C ABI, against the platform
 * simulator (ystpay-sim, time scale 20):
 *
 *   1. A serial used twice is never PAID: a journal restored from an old
 *      backup pays another customer, for another amount, under a serial the
 *      platform already holds paid. The answer is UNKNOWN, in conflict, and
 *      the operation cannot be revoked (that would refund the first customer).
 *   2. Recovery right after a kill settles the payment: a child process is
 *      SIGKILLed while the customer enters the password, and a new client on
 *      the same journal settles it as it is created, with nothing left to
 *      the dead process.
 *   3. The recovery report lists the operation it touched (serial, kind,
 *      state), both for the recovery at creation and for ystpay_recover.
 *
 *   money API_URL WORK_DIR
 *
 * Prints one line per check, a line "TRUTH <req_seq> <state>" per operation
 * whose journal state the driver (tests/c_harness.rs) compares with the
 * simulator's truth, and ends with "N passed, M failed". POSIX only
 * (fork/exec, kill).
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

int passed, failed;

static const char *api_url;

static ystpay_client *client_on(const char *journal, int recover_on_start)
{
    char cfg[1400];
    ystpay_client *c = NULL;
    snprintf(cfg, sizeof cfg,
             "server_url = %s\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n"
             "journal = %s\nflow_time_scale = 20\nrecover_on_start = %d\n",
             api_url, journal, recover_on_start);
    if (ystpay_client_from_config(cfg, &c) != YSTPAY_OK)
        return NULL;
    return c;
}

/* A WeChat payment code whose last two digits choose the simulator's
 * scenario (00-49 paid at once, 50-59 a password of N seconds). */
static void code_for(char *buf, int scenario)
{
    static unsigned counter;
    if (!counter)
        counter = 500000u + (unsigned)(getpid() % 100000) * 10u;
    sprintf(buf, "13%014u%02d", ++counter, scenario);
}

static const char *state_name(int32_t s)
{
    switch (s) {
    case YSTPAY_STATE_PAID: return "paid";
    case YSTPAY_STATE_REVOKED: return "revoked";
    case YSTPAY_STATE_FAILED: return "failed";
    case YSTPAY_STATE_CONFLICT: return "conflict";
    default: return "open";
    }
}

/* ------------------------------------------------ 1. a serial used twice */

static void test_serial_used_twice(const char *dir)
{
    char journal_a[600], journal_b[600], code[32], seq[64];
    ystpay_client *a, *b;
    ystpay_settlement s;

    snprintf(journal_a, sizeof journal_a, "%s/money-first.db", dir);
    snprintf(journal_b, sizeof journal_b, "%s/money-restored.db", dir);
    remove(journal_a);
    remove(journal_b);
    a = client_on(journal_a, 1);
    CHECK(a != NULL, "a register with a journal");
    if (!a)
        return;
    code_for(code, 1);
    INIT(s);
    CHECK_RC(ystpay_settle_pay(a, NULL, 100, code, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_OK, "the first customer pays 1.00");
    CHECK(s.outcome == YSTPAY_OUTCOME_PAID, "paid");
    snprintf(seq, sizeof seq, "%s", s.req_seq);
    printf("TRUTH %s paid\n", seq);

    code_for(code, 1);
    INIT(s);
    CHECK_RC(ystpay_settle_pay(a, seq, 200, code, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
             YSTPAY_ERR_DUPLICATE, "its own journal refuses the serial again, nothing sent");

    /* The journal is restored from a backup made before that payment. */
    b = client_on(journal_b, 1);
    CHECK(b != NULL, "the register after its journal was restored");
    if (b) {
        code_for(code, 1);
        INIT(s);
        CHECK_RC(ystpay_settle_pay(b, seq, 200, code, NULL, NULL, 0, 0, NULL, NULL, NULL, &s),
                 YSTPAY_OK, "another customer pays 2.00 under the same serial");
        printf("     outcome %d, state %d: %s\n", (int)s.outcome, (int)s.state, s.detail);
        CHECK(s.outcome == YSTPAY_OUTCOME_UNKNOWN, "never PAID: UNKNOWN");
        CHECK(s.state == YSTPAY_STATE_CONFLICT, "the journal keeps it open, in conflict");
        CHECK(strstr(s.detail, "¥1.00, not ¥2.00") != NULL, "the detail names the mismatch");
        CHECK(s.trans_seq[0] == 0, "the other order's number is not taken as this one's");
        CHECK(s.total_fee == 200, "the amount is the one asked");
        INIT(s);
        CHECK_RC(ystpay_settle_revoke(b, seq, NULL, NULL, &s), YSTPAY_ERR_CONFLICT,
                 "a revoke that would refund the first customer is refused");
        ystpay_client_free(b);
    }
    ystpay_client_free(a);
}

/* ------------------------------------------- 2, 3. kill, recover at once */

static void on_progress(void *user_data, int32_t stage, int32_t elapsed_ms, const char *message)
{
    char *seq = (char *)user_data;
    (void)elapsed_ms;
    if (stage == YSTPAY_STAGE_SENDING && !seq[0])
        snprintf(seq, 64, "%s", message);
    if (stage == YSTPAY_STAGE_WAITING) {
        printf("WAITING %s\n", seq);
        fflush(stdout);
        for (;;)
            pause(); /* until killed */
    }
}

/* The child: pays with a password wait and stops at the wait. */
static int child(const char *journal)
{
    char code[32], seq[64] = "";
    ystpay_settlement s;
    ystpay_client *c = client_on(journal, 0);
    if (!c)
        return 2;
    code_for(code, 50); /* 10 s of password, 0.5 s at time scale 20 */
    INIT(s);
    ystpay_settle_pay(c, NULL, 700, code, NULL, NULL, 0, 0, NULL, on_progress, seq, &s);
    printf("CHILD-NOT-KILLED\n");
    return 3;
}

/* Runs the child on `journal`, SIGKILLs it in the password wait; its
 * payment's serial into `seq` (empty when it never got there). */
static void pay_and_kill(const char *self, const char *journal, char *seq)
{
    int fds[2], status = 0;
    char line[256];
    pid_t pid;
    FILE *f;

    seq[0] = 0;
    if (pipe(fds) != 0)
        return;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--child", api_url, journal, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "WAITING %63s", seq) == 1)
            break;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (f)
        fclose(f);
    CHECK(seq[0] != 0, "the child reached the password wait");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was SIGKILLed");
}

/* The recovery just reported in `r` touched exactly `seq` and settled it. */
static void check_listed(ystpay_client *c, const ystpay_recovery_report *r, const char *seq)
{
    ystpay_recovery_entry e;
    CHECK(r->settled == 1 && r->still_open == 0 && r->busy_elsewhere == 0,
          "settled at once: nothing left to the dead process");
    CHECK(r->entry_count == 1, "the report lists one operation");
    INIT(e);
    CHECK_RC(ystpay_recovery_get(c, 0, &e), YSTPAY_OK, "its entry");
    CHECK(strcmp(e.req_seq, seq) == 0, "the entry is the killed payment");
    CHECK(e.kind == YSTPAY_KIND_PAY, "a barcode payment");
    CHECK(e.disposition == YSTPAY_RECOVERED_SETTLED, "settled now");
    CHECK(e.state == YSTPAY_STATE_PAID || e.state == YSTPAY_STATE_REVOKED,
          "its final state: paid, or revoked (the customer is no longer served)");
    CHECK((e.state == YSTPAY_STATE_PAID) == (e.outcome == YSTPAY_OUTCOME_PAID),
          "the outcome matches the state");
    printf("TRUTH %s %s\n", seq, state_name(e.state));
    INIT(e);
    CHECK_RC(ystpay_recovery_get(c, 1, &e), YSTPAY_ERR_INDEX, "nothing past the end");
}

static void test_kill_then_recover(const char *self, const char *dir)
{
    char journal[600], seq[64];
    ystpay_client *c;
    ystpay_recovery_report r;

    /* Recovery as the new client is created. */
    snprintf(journal, sizeof journal, "%s/money-killed.db", dir);
    remove(journal);
    pay_and_kill(self, journal, seq);
    if (!seq[0])
        return;
    c = client_on(journal, 1);
    CHECK(c != NULL, "a new client on the same journal, right after the kill");
    if (!c)
        return;
    INIT(r);
    CHECK_RC(ystpay_last_recovery(c, &r), YSTPAY_OK, "what its creation recovered");
    check_listed(c, &r, seq);
    ystpay_client_free(c);

    /* Recovery on demand, by ystpay_recover. */
    pay_and_kill(self, journal, seq);
    if (!seq[0])
        return;
    c = client_on(journal, 0);
    CHECK(c != NULL, "a client that does not recover on creation");
    if (!c)
        return;
    INIT(r);
    CHECK_RC(ystpay_last_recovery(c, &r), YSTPAY_OK, "no recovery yet");
    CHECK(r.entry_count == 0, "nothing listed");
    INIT(r);
    CHECK_RC(ystpay_recover(c, NULL, NULL, &r), YSTPAY_OK, "ystpay_recover, right after the kill");
    check_listed(c, &r, seq);
    ystpay_client_free(c);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0) {
        api_url = argv[2];
        return child(argv[3]);
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s API_URL WORK_DIR\n", argv[0]);
        return 2;
    }
    api_url = argv[1];
    test_serial_used_twice(argv[2]);
    test_kill_then_recover(argv[0], argv[2]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
