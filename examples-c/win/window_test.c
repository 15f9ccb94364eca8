/*
 * window_test.c — issue 19 under Wine (scripts/ci-windows.sh, 32- and
 * 64-bit, in Xvfb): a till with one UI thread.
 *
 *   window_test API_URL            the checks
 *   window_test API_URL shots      waits at the moments to photograph
 *                                  (see shot() below) instead
 *
 * The simulator must run with time scale 1: its payment codes ending 5N
 * are paid N seconds after the customer starts entering the password
 * (sim/README.md, "Barcode payment codes").
 *
 * Checks:
 *  - no freezing: a message loop with a 50 ms WM_TIMER starts a password
 *    payment (ystpay_start_pay + ystpay_op_notify; paid after 5 s); the
 *    longest gap between timer messages stays <= 200 ms, the end message
 *    arrives, the outcome is PAID;
 *  - cancel: a second payment, Esc (WM_KEYDOWN VK_ESCAPE) to the window ->
 *    ystpay_op_cancel -> REVOKED;
 *  - the payment window on this thread, with another thread typing into
 *    its focused edit box as a scanner does (WM_CHAR each digit, then
 *    Enter): paid after 3 s -> PAID, the owner disabled while it shows and
 *    enabled after; Esc while the customer enters the password -> REVOKED;
 *    "ABC123" scanned -> refused in the window, no request reaches the
 *    simulator (GET /sim/health counts them), the window still waits;
 *  - the QR window: a native order paid through the simulator's control
 *    API (POST /sim/customer-pays) while it shows -> PAID.
 *
 * Prints one line per check and ends with "N passed, M failed".
 */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ystpay.h"
#include "../check.h"
#include "../simctl.h"

int passed, failed;

static ystpay_client *client;
static HWND main_wnd;
static int shots_mode;

#define WM_OP (WM_APP + 7)

/* ------------------------------------------------------------ simulator */

/* API requests the simulator has answered so far (control requests do not count). */
static long sim_requests(void)
{
    char body[256];
    const char *p;
    if (sim_http("GET", "/sim/health", NULL, body, sizeof body) != 200)
        return -1;
    p = strstr(body, "\"requests\":");
    return p ? atol(p + 11) : -1;
}

/* The req_seq of the newest order of kind `kind` ("native"), or "". */
static void newest_order(const char *kind, char *seq, size_t size)
{
    char body[4096], want[64];
    const char *p, *q;
    seq[0] = 0;
    if (sim_http("GET", "/sim/orders/demo?limit=1", NULL, body, sizeof body) != 200)
        return;
    snprintf(want, sizeof want, "\"kind\":\"%s\"", kind);
    if (!strstr(body, want))
        return;
    p = strstr(body, "\"req_seq\":\"");
    if (!p)
        return;
    p += 11;
    q = strchr(p, '"');
    if (q && (size_t)(q - p) < size) {
        memcpy(seq, p, (size_t)(q - p));
        seq[q - p] = 0;
    }
}

/* ----------------------------------------------------- the photographer */

/* Shots mode: asks scripts/ci-windows.sh to photograph the payment
 * window (the file shot-NAME.req appears, holding the window's screen
 * rectangle "x y width height"; the script answers with shot-NAME.ok). */
static void shot(const char *name)
{
    char req[128], tmp[128], ok[128];
    FILE *f;
    RECT r;
    HWND w = FindWindowW(L"ystpay_window", NULL);
    int i;
    if (!shots_mode || !w || !GetWindowRect(w, &r))
        return;
    snprintf(req, sizeof req, "shot-%s.req", name);
    snprintf(tmp, sizeof tmp, "shot-%s.tmp", name);
    snprintf(ok, sizeof ok, "shot-%s.ok", name);
    f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%ld %ld %ld %ld\n", (long)r.left, (long)r.top, (long)(r.right - r.left),
            (long)(r.bottom - r.top));
    fclose(f);
    MoveFileA(tmp, req);
    for (i = 0; i < 300; i++) { /* 30 s at most */
        f = fopen(ok, "r");
        if (f) {
            fclose(f);
            return;
        }
        Sleep(100);
    }
    printf("note: no photograph of %s\n", name);
}

/* ------------------------------------------------ 1. no freezing, cancel */

static LONGLONG now_ms(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return c.QuadPart * 1000 / f.QuadPart;
}

static LONGLONG last_tick, max_gap;
static int ticks, finished_msgs;
static ystpay_op *current;

static LRESULT CALLBACK main_proc(HWND h, UINT m, WPARAM w, LPARAM l)
{
    switch (m) {
    case WM_TIMER: {
        LONGLONG t = now_ms();
        if (last_tick && t - last_tick > max_gap)
            max_gap = t - last_tick;
        last_tick = t;
        ticks++;
        return 0;
    }
    case WM_OP:
        if (l == YSTPAY_STAGE_FINISHED)
            finished_msgs++;
        return 0;
    case WM_KEYDOWN:
        if (w == VK_ESCAPE && current)
            ystpay_op_cancel(current);
        return 0;
    }
    return DefWindowProcW(h, m, w, l);
}

/* Pumps this thread's messages until `op` ends (or `limit_ms`). */
static int pump_until_end(ystpay_op *op, int limit_ms)
{
    MSG msg;
    LONGLONG until = now_ms() + limit_ms;
    while (now_ms() < until) {
        if (ystpay_op_wait(op, 0, NULL) != YSTPAY_ERR_STILL_RUNNING && finished_msgs > 0)
            return 1;
        if (GetMessageW(&msg, NULL, 0, 0) <= 0)
            return 0;
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    return 0;
}

static int64_t outcome_of(ystpay_op *op)
{
    int64_t v = -1;
    if (ystpay_op_number(op, YSTPAY_FIELD_OUTCOME, &v) != YSTPAY_OK)
        return -1;
    return v;
}

static void test_no_freezing(void)
{
    ystpay_op *op = NULL;
    LONGLONG t0;
    char what[128];
    SetTimer(main_wnd, 1, 50, NULL);
    max_gap = 0;
    last_tick = 0;
    ticks = 0;
    finished_msgs = 0;
    t0 = now_ms();
    CHECK_RC(ystpay_start_pay(client, NULL, 1234, "134567890123456755", NULL, NULL, 0, 0, &op),
             YSTPAY_OK, "start_pay (password, paid after 5 s) returns at once");
    CHECK(now_ms() - t0 < 1000, "start_pay took less than 1 s");
    if (!op)
        return;
    CHECK_RC(ystpay_op_notify(op, main_wnd, WM_OP, 0), YSTPAY_OK, "op_notify");
    CHECK(pump_until_end(op, 30000), "the end message arrived while the loop ran");
    snprintf(what, sizeof what, "timer kept ticking: %d ticks in %d ms, longest gap %d ms (<= 200)",
             ticks, (int)(now_ms() - t0), (int)max_gap);
    CHECK(max_gap > 0 && max_gap <= 200 && now_ms() - t0 >= 4000, what);
    CHECK(outcome_of(op) == YSTPAY_OUTCOME_PAID, "outcome PAID");
    printf("gap: longest %d ms between 50 ms timer messages over %d ms\n", (int)max_gap,
           (int)(now_ms() - t0));
    ystpay_op_free(op);
    KillTimer(main_wnd, 1);
}

static void test_cancel_by_esc(void)
{
    ystpay_op *op = NULL;
    finished_msgs = 0;
    CHECK_RC(ystpay_start_pay(client, NULL, 500, "134567890123456759", NULL, NULL, 0, 0, &op),
             YSTPAY_OK, "start_pay (password, 9 s)");
    if (!op)
        return;
    current = op;
    ystpay_op_notify(op, main_wnd, WM_OP, 0);
    Sleep(1500);
    PostMessageW(main_wnd, WM_KEYDOWN, VK_ESCAPE, 0);
    CHECK(pump_until_end(op, 30000), "the end message arrived after Esc");
    CHECK(outcome_of(op) == YSTPAY_OUTCOME_REVOKED, "Esc -> REVOKED");
    current = NULL;
    ystpay_op_free(op);
}

/* ------------------------------------------------------ 2. the window */

struct scanner {
    DWORD ui_thread;
    const char *code;   /* typed, then Enter */
    int esc_after_ms;   /* > 0: Esc this long after Enter */
    int confirm;        /* 1: shots mode paces the photographs */
    const char *order;  /* "native": pay the newest native order */
    HANDLE done;
};

static HWND wait_window(int ms)
{
    HWND w = NULL;
    int i;
    for (i = 0; i < ms / 50 && !w; i++) {
        w = FindWindowW(L"ystpay_window", NULL);
        if (!w)
            Sleep(50);
    }
    return w;
}

static HWND focused(DWORD thread)
{
    GUITHREADINFO gi;
    memset(&gi, 0, sizeof gi);
    gi.cbSize = sizeof gi;
    if (!GetGUIThreadInfo(thread, &gi))
        return NULL;
    return gi.hwndFocus;
}

static void type_code(HWND edit, const char *code)
{
    const char *c;
    for (c = code; *c; c++)
        PostMessageW(edit, WM_CHAR, (WPARAM)(unsigned char)*c, 0);
    PostMessageW(edit, WM_KEYDOWN, VK_RETURN, 0);
}

static HWND button_of(HWND w)
{
    return FindWindowExW(w, NULL, L"BUTTON", NULL);
}

static DWORD WINAPI scanner_thread(void *arg)
{
    struct scanner *s = arg;
    HWND w = wait_window(10000), edit;
    char seq[64], json[160];
    int i;
    if (!w)
        return 0;
    if (s->order) {
        for (i = 0; i < 100; i++) {
            newest_order(s->order, seq, sizeof seq);
            if (seq[0])
                break;
            Sleep(100);
        }
        Sleep(1000); /* the code on the screen */
        shot("qr");
        snprintf(json, sizeof json, "{\"merchant\":\"demo\",\"req_seq\":\"%s\"}", seq);
        printf("     customer pays %s: HTTP %d\n", seq, sim_http("POST", "/sim/customer-pays", json, NULL, 0));
        return 0;
    }
    Sleep(200);
    edit = focused(s->ui_thread);
    if (!edit) {
        printf("     no focused window in the payment window\n");
        return 0;
    }
    shot("scan");
    type_code(edit, s->code);
    if (s->esc_after_ms > 0) {
        Sleep((DWORD)s->esc_after_ms);
        PostMessageW(w, WM_KEYDOWN, VK_ESCAPE, 0);
    }
    if (s->confirm) {
        Sleep(2500);
        shot("waiting");
        for (i = 0; i < 200 && IsWindow(w) && IsWindowVisible(button_of(w)); i++)
            Sleep(50);
        shot("paid");
    }
    return 0;
}

static HANDLE start_scanner(struct scanner *s)
{
    s->ui_thread = GetCurrentThreadId();
    return CreateThread(NULL, 0, scanner_thread, s, 0, NULL);
}

static void finish_scanner(HANDLE t)
{
    WaitForSingleObject(t, 30000);
    CloseHandle(t);
}

static void test_window_paid(const char *code, int english)
{
    struct scanner s;
    ystpay_op *op = NULL;
    HANDLE t;
    int rc;
    memset(&s, 0, sizeof s);
    s.code = code;
    s.confirm = shots_mode;
    t = start_scanner(&s);
    rc = ystpay_window_pay(client, main_wnd, 1234, 0, english ? YSTPAY_WINDOW_ENGLISH : 0, &op);
    CHECK_RC(rc, YSTPAY_OK, "window_pay: scanned into the focused edit box, paid after 3 s");
    CHECK(IsWindowEnabled(main_wnd), "the owner is enabled again after the window");
    CHECK(FindWindowW(L"ystpay_window", NULL) == NULL, "the window is gone");
    if (op) {
        CHECK(outcome_of(op) == YSTPAY_OUTCOME_PAID, "window_pay -> PAID");
        ystpay_op_free(op);
    }
    finish_scanner(t);
}

/* Watches the owner while the window is open. */
static int owner_disabled_seen;
static DWORD WINAPI owner_watch(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < 200; i++) {
        if (FindWindowW(L"ystpay_window", NULL) && !IsWindowEnabled(main_wnd)) {
            owner_disabled_seen = 1;
            return 0;
        }
        Sleep(50);
    }
    return 0;
}

static void test_window_esc(void)
{
    struct scanner s;
    ystpay_op *op = NULL;
    HANDLE t, watch;
    int rc;
    memset(&s, 0, sizeof s);
    s.code = "134567890123456758";
    s.esc_after_ms = 2000;
    owner_disabled_seen = 0;
    watch = CreateThread(NULL, 0, owner_watch, NULL, 0, NULL);
    t = start_scanner(&s);
    rc = ystpay_window_pay(client, main_wnd, 800, 0, 0, &op);
    CHECK_RC(rc, YSTPAY_OK, "window_pay with Esc while the customer enters the password");
    if (op) {
        CHECK(outcome_of(op) == YSTPAY_OUTCOME_REVOKED, "Esc while waiting -> REVOKED");
        ystpay_op_free(op);
    }
    finish_scanner(t);
    WaitForSingleObject(watch, 15000);
    CloseHandle(watch);
    CHECK(owner_disabled_seen, "the owner was disabled while the window showed");
}

static DWORD WINAPI not_a_code_thread(void *arg)
{
    struct scanner *s = arg;
    HWND w = wait_window(10000), edit;
    long before, after;
    if (!w)
        return 0;
    Sleep(200);
    edit = focused(s->ui_thread);
    before = sim_requests();
    type_code(edit, "ABC123");
    Sleep(1500);
    after = sim_requests();
    printf("     simulator requests before %ld, after %ld\n", before, after);
    /* The result goes through the return code of the window call: Esc
     * closes it; a window that had sent something would return YSTPAY_OK. */
    s->esc_after_ms = (before >= 0 && before == after && IsWindow(w) &&
                       focused(s->ui_thread) == edit) ? 1 : -1;
    PostMessageW(w, WM_KEYDOWN, VK_ESCAPE, 0);
    return 0;
}

static void test_window_not_a_code(void)
{
    struct scanner s;
    ystpay_op *op = NULL;
    HANDLE t;
    memset(&s, 0, sizeof s);
    s.ui_thread = GetCurrentThreadId();
    t = CreateThread(NULL, 0, not_a_code_thread, &s, 0, NULL);
    CHECK_RC(ystpay_window_pay(client, main_wnd, 100, 0, 0, &op), YSTPAY_ERR_NOT_SENT,
             "ABC123 then Esc: the window returns NOT_SENT");
    finish_scanner(t);
    CHECK(s.esc_after_ms == 1,
          "ABC123: no request reached the simulator, the window still waited with the focus");
}

static void test_window_order(int english)
{
    struct scanner s;
    ystpay_op *op = NULL;
    HANDLE t;
    memset(&s, 0, sizeof s);
    s.order = "native";
    t = start_scanner(&s);
    CHECK_RC(ystpay_window_order(client, main_wnd, 2500, "W", 0, english ? YSTPAY_WINDOW_ENGLISH : 0, &op),
             YSTPAY_OK, "window_order: the customer pays through the simulator");
    if (op) {
        CHECK(outcome_of(op) == YSTPAY_OUTCOME_PAID, "window_order -> PAID");
        ystpay_op_free(op);
    }
    finish_scanner(t);
}

/* -------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    WSADATA wsa;
    WNDCLASSW wc;
    char journal[MAX_PATH];
    if (argc < 2) {
        fprintf(stderr, "usage: window_test API_URL [shots]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    api_url = argv[1];
    shots_mode = argc > 2 && strcmp(argv[2], "shots") == 0;
    if (parse_url(api_url) != 0) {
        fprintf(stderr, "cannot read host:port from %s\n", api_url);
        return 2;
    }
    WSAStartup(MAKEWORD(2, 2), &wsa);

    memset(&wc, 0, sizeof wc);
    wc.lpfnWndProc = main_proc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"till";
    wc.hbrBackground = (HBRUSH)(COLOR_WINDOW + 1);
    RegisterClassW(&wc);
    main_wnd = CreateWindowW(L"till", L"POS", WS_OVERLAPPEDWINDOW | WS_VISIBLE, 0, 0, 800, 600,
                             NULL, NULL, wc.hInstance, NULL);
    CHECK(main_wnd != NULL, "the till's window");

    snprintf(journal, sizeof journal, "window-%lu.db", (unsigned long)GetCurrentProcessId());
    CHECK_RC(ystpay_client_new_ex(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0,
                                  YSTPAY_FLAG_NO_RECOVER, journal, 0, &client),
             YSTPAY_OK, "client with a journal");
    if (!client)
        return 1;

    if (shots_mode) {
        int english = argc > 3 && strcmp(argv[3], "en") == 0;
        test_window_paid("134567890123456759", english);
        test_window_order(english);
    } else {
        test_no_freezing();
        test_cancel_by_esc();
        test_window_paid("134567890123456753", 0);
        test_window_esc();
        test_window_not_a_code();
        test_window_order(0);
    }
    ystpay_client_free(client);
    DestroyWindow(main_wnd);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
