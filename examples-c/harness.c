/*
 * harness.c — drives every ystpay function against the platform simulator
 * (ystpay-sim), including bad input, and several threads on one handle.
 *
 *   harness API_URL
 *
 * API_URL is the simulator's API URL, e.g.
 * http://127.0.0.1:PORT/ystpay/service/unitive.api; its /sim/ control API
 * (same host and port) is used to inject faults and to make a customer pay
 * a QR-code order. The simulator should run with a time scale of 20 or more
 * (password waits then take a fraction of a second).
 *
 * Prints one line per check and ends with "N passed, M failed"; exits 0
 * only when nothing failed. Builds with gcc/clang on Linux and with
 * MinGW-w64 for Windows (run under Wine in CI).
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ystpay.h"
#include "check.h"

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
typedef HANDLE thread_t;
#define THREAD_RET DWORD WINAPI
static void sleep_ms(int ms) { Sleep((DWORD)ms); }
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
typedef pthread_t thread_t;
#define THREAD_RET void *
static void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}
#endif

/* A millisecond clock for "returned without waiting" checks. */
#ifdef _WIN32
static unsigned long now_ms(void) { return (unsigned long)GetTickCount(); }
#else
static unsigned long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long)ts.tv_sec * 1000UL + (unsigned long)(ts.tv_nsec / 1000000L);
}
#endif

/* ------------------------------------------------------------ checking */

int passed, failed;

static int all_bytes(const void *p, size_t n, unsigned char b)
{
    const unsigned char *q = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (q[i] != b)
            return 0;
    return 1;
}

static int last_error_contains(const char *needle)
{
    char msg[2048];
    if (ystpay_last_error(msg, (int32_t)sizeof msg, NULL) != YSTPAY_OK)
        return 0;
    return strstr(msg, needle) != NULL;
}

/* ------------------------------------------------- simulator control API */

static char sim_host[64] = "127.0.0.1";
static int sim_port;
static const char *api_url;

#ifdef _WIN32
typedef SOCKET sock_t;
#define CLOSESOCK closesocket
#else
typedef int sock_t;
#define CLOSESOCK close
#endif

/* Sends one request to the simulator's control API (json: the body of a
 * POST, or NULL for a GET); returns the HTTP status, the answer in resp. */
static int sim_call(const char *path, const char *json, char *resp, int cap)
{
    char req[1024];
    struct sockaddr_in addr;
    int n, got = 0, status = 0;
    sock_t s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)sim_port);
    addr.sin_addr.s_addr = inet_addr(sim_host);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        CLOSESOCK(s);
        return -1;
    }
    if (json != NULL)
        n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
                     path, sim_host, sim_port, (unsigned)strlen(json), json);
    else
        n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
                     path, sim_host, sim_port);
    send(s, req, n, 0);
    while (got < cap - 1) {
        int r = (int)recv(s, resp + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += r;
    }
    resp[got] = 0;
    CLOSESOCK(s);
    sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

/* POSTs a JSON body to the simulator's control API; returns the HTTP status. */
static int sim_post(const char *path, const char *json)
{
    char resp[512];
    return sim_call(path, json, resp, (int)sizeof resp);
}

/* The API requests the simulator has answered so far (GET /sim/health), or -1. */
static long sim_requests(void)
{
    char resp[1024];
    const char *at;
    long n = -1;
    if (sim_call("/sim/health", NULL, resp, (int)sizeof resp) != 200)
        return -1;
    at = strstr(resp, "\"requests\":");
    if (at != NULL)
        sscanf(at + strlen("\"requests\":"), "%ld", &n);
    return n;
}

static int inject(const char *kind)
{
    char body[128];
    snprintf(body, sizeof body, "{\"kind\":\"%s\",\"count\":1}", kind);
    return sim_post("/sim/faults", body);
}

/* ------------------------------------------------------------- helpers */

static ystpay_client *client; /* UTF-8 client shared by the tests */
static ystpay_client *gbk;    /* GBK client */
static char gbk_config[600];  /* its configuration: another register number */

/* A WeChat payment code (18 digits, 13...) whose last two digits choose the
 * simulator's scenario; the middle digits make it unique. */
static void code_for(char *buf, int scenario)
{
    static unsigned counter = 100000;
    sprintf(buf, "13%014u%02d", ++counter, scenario);
}

static void fill_item(ystpay_prod_item *it, const char *id, const char *name, int64_t price,
                      const char *qty)
{
    memset(it, 0, sizeof *it);
    it->struct_size = (uint32_t)sizeof *it;
    it->price_fen = price;
    it->goods_fee_fen = -1;
    strncpy(it->goods_id, id, sizeof it->goods_id - 1);
    strncpy(it->goods_name, name, sizeof it->goods_name - 1);
    strncpy(it->quantity, qty, sizeof it->quantity - 1);
}

static int32_t pay(ystpay_client *c, const char *req_seq, int64_t fee, const char *code,
                   ystpay_payment_result *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = (uint32_t)sizeof *p;
    return ystpay_pay(c, req_seq, fee, code, NULL, NULL, 0, p);
}

/* ------------------------------------------------------------- the tests */

static void test_version(void)
{
    CHECK(strcmp(ystpay_version(), YSTPAY_VERSION_STRING) == 0, "version string matches header");
    CHECK(ystpay_version_number() == YSTPAY_HEADER_VERSION, "version number matches header");
    CHECK(YSTPAY_HEADER_VERSION ==
              YSTPAY_VERSION_MAJOR * 10000 + YSTPAY_VERSION_MINOR * 100 + YSTPAY_VERSION_PATCH,
          "version macros agree");
    CHECK(strcmp(ystpay_strerror(YSTPAY_OK), "ok") == 0, "strerror(OK)");
    CHECK(strcmp(ystpay_strerror(-12345), "unknown result code") == 0, "strerror(unknown)");
    CHECK(ystpay_strerror(YSTPAY_ERR_OUTCOME_UNKNOWN) != NULL, "strerror never NULL");
}

static void test_records(void)
{
    CHECK(sizeof(ystpay_payment_result) == YSTPAY_PAYMENT_RESULT_SIZE, "sizeof payment");
    CHECK(sizeof(ystpay_refund_result) == YSTPAY_REFUND_RESULT_SIZE, "sizeof refund");
    CHECK(sizeof(ystpay_revoke_result) == YSTPAY_REVOKE_RESULT_SIZE, "sizeof revoke");
    CHECK(sizeof(ystpay_order_result) == YSTPAY_ORDER_RESULT_SIZE, "sizeof order");
    CHECK(sizeof(ystpay_notice) == YSTPAY_NOTICE_SIZE, "sizeof notice");
    CHECK(sizeof(ystpay_prod_item) == YSTPAY_PROD_ITEM_SIZE, "sizeof prod_item");
}

static void test_create(void)
{
    ystpay_client *c = (ystpay_client *)(void *)&c; /* sentinel */
    ystpay_client *before = c;
    char cfg[1024];
    const char *path = "harness-ystpay.ini";
    FILE *f;

    CHECK_RC(ystpay_client_new(NULL, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0, &c),
             YSTPAY_ERR_NULL_ARGUMENT, "client_new NULL url");
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0, NULL),
             YSTPAY_ERR_NULL_ARGUMENT, "client_new NULL out");
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "short", 0, 0, 0, 0, &c),
             YSTPAY_ERR_CONFIG, "client_new short key");
    CHECK(!last_error_contains("short"), "config message does not echo the key");
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 1234, 0, &c),
             YSTPAY_ERR_INVALID_ARGUMENT, "client_new unknown encoding");
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", -1, 0, 0, 0, &c),
             YSTPAY_ERR_INVALID_ARGUMENT, "client_new negative timeout");
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 8, &c),
             YSTPAY_ERR_INVALID_ARGUMENT, "client_new unknown flag");
    CHECK_RC(ystpay_client_new("http://ut.ystpay.cn:8088/ystpay/service/unitive.api", "demo",
                               "demo123", "0123456789ABCDEF", 0, 0, 0, 0, &c),
             YSTPAY_ERR_CONFIG, "client_new plain http to a remote host needs the flag");
    CHECK(c == before, "out untouched on failure");
    CHECK_RC(ystpay_client_new("http://ut.ystpay.cn:8088/ystpay/service/unitive.api", "demo",
                               "demo123", "0123456789ABCDEF", 0, 0, 0, YSTPAY_FLAG_ALLOW_HTTP, &c),
             YSTPAY_OK, "client_new with YSTPAY_FLAG_ALLOW_HTTP (nothing sent)");
    ystpay_client_free(c);
    ystpay_client_free(NULL);
    CHECK(1, "client_free(NULL) is a no-op");

    snprintf(cfg, sizeof cfg,
             "; POS config\n[ystpay]\nserver_url = %s\nacct = demo\npass = demo123\n"
             "private_key = 0123456789ABCDEF\nread_timeout_ms = 10000\nencoding = utf-8\n",
             api_url);
    c = NULL;
    CHECK_RC(ystpay_client_from_config(cfg, &c), YSTPAY_OK, "client_from_config");
    ystpay_client_free(c);
    CHECK_RC(ystpay_client_from_config("server_url=http://127.0.0.1:1/x\nacct=demo\n"
                                       "pasword=TopSecret99\nprivate_key=0123456789ABCDEF\n",
                                       &c),
             YSTPAY_ERR_CONFIG, "client_from_config unknown key");
    CHECK(last_error_contains("pasword") && !last_error_contains("TopSecret99"),
          "config error names the key, not the value");
    CHECK_RC(ystpay_client_from_config(NULL, &c), YSTPAY_ERR_NULL_ARGUMENT,
             "client_from_config NULL");

    f = fopen(path, "wb");
    if (f) {
        fputs(cfg, f);
        fclose(f);
    }
    c = NULL;
    CHECK_RC(ystpay_client_from_config_file(path, &c), YSTPAY_OK, "client_from_config_file");
    ystpay_client_free(c);
    remove(path);
    CHECK_RC(ystpay_client_from_config_file("no-such-dir/ystpay.ini", &c),
             YSTPAY_ERR_CONFIG_FILE, "client_from_config_file missing");
}

static void test_last_error(void)
{
    char small[4], buf[512];
    int32_t needed = 0;
    ystpay_payment_result p;
    char code[32];

    code_for(code, 1);
    INIT(p);
    CHECK_RC(ystpay_pay(client, NULL, -5, code, NULL, NULL, 0, &p), YSTPAY_ERR_INVALID_INPUT,
             "pay negative fee");
    memset(small, 'x', sizeof small);
    CHECK_RC(ystpay_last_error(small, (int32_t)sizeof small, &needed), YSTPAY_ERR_BUFFER_TOO_SMALL,
             "last_error short buffer");
    CHECK(needed > (int32_t)sizeof small, "last_error reports the size needed");
    CHECK(all_bytes(small, sizeof small, 'x'), "short buffer untouched");
    CHECK_RC(ystpay_last_error(NULL, 0, &needed), YSTPAY_ERR_BUFFER_TOO_SMALL,
             "last_error size query with NULL buffer");
    CHECK_RC(ystpay_last_error(buf, needed, NULL), YSTPAY_OK, "last_error exact size");
    CHECK((int32_t)strlen(buf) + 1 == needed, "needed counts the NUL");
    CHECK(strstr(buf, "total_fee") != NULL, "message names the field");
    CHECK(strstr(buf, code) == NULL, "message never shows the payment code");
    CHECK_RC(ystpay_last_error(buf, -1, NULL), YSTPAY_ERR_INVALID_ARGUMENT,
             "last_error negative size");
    CHECK_RC(ystpay_last_error(NULL, 10, NULL), YSTPAY_ERR_NULL_ARGUMENT,
             "last_error NULL buffer with a size");
    CHECK(ystpay_strerror(YSTPAY_OK) != NULL && ystpay_last_error(buf, 512, NULL) == YSTPAY_OK &&
              strstr(buf, "total_fee") != NULL,
          "last_error does not clear the message");
    CHECK_RC(ystpay_next_req_seq(client, buf, 512, NULL), YSTPAY_OK, "a successful call");
    CHECK(ystpay_last_error(buf, 512, NULL) == YSTPAY_OK && buf[0] == 0,
          "a successful call clears the message");
}

static void test_req_seq(void)
{
    char a[32], b[32], tiny[8];
    int32_t needed = 0;
    CHECK_RC(ystpay_next_req_seq(client, a, (int32_t)sizeof a, &needed), YSTPAY_OK, "next_req_seq");
    CHECK(strlen(a) == 20 && needed == 21, "req_seq is 20 characters");
    CHECK_RC(ystpay_next_req_seq(client, b, (int32_t)sizeof b, NULL), YSTPAY_OK, "next_req_seq again");
    CHECK(strcmp(a, b) != 0, "req_seq values differ");
    memset(tiny, 'x', sizeof tiny);
    CHECK_RC(ystpay_next_req_seq(client, tiny, (int32_t)sizeof tiny, &needed),
             YSTPAY_ERR_BUFFER_TOO_SMALL, "next_req_seq short buffer");
    CHECK(needed == 21 && all_bytes(tiny, sizeof tiny, 'x'), "short buffer untouched, size given");
    CHECK_RC(ystpay_next_req_seq(NULL, a, (int32_t)sizeof a, NULL), YSTPAY_ERR_NULL_ARGUMENT,
             "next_req_seq NULL client");
}

static char paid_trans_seq[64], paid_req_seq[64];
static int64_t paid_fee = 2560;

static void test_pay(void)
{
    ystpay_payment_result p, q;
    ystpay_prod_item items[2];
    char code[32], seq[32];
    int i;

    code_for(code, 1);
    fill_item(&items[0], "2900002400915", "奶油曲奇", 1760, "1");
    fill_item(&items[1], "2900002400922", "小石头", 800, "1");
    items[1].goods_fee_fen = 800;
    INIT(p);
    CHECK_RC(ystpay_pay(client, NULL, paid_fee, code, "W", items, 2, &p), YSTPAY_OK,
             "pay with product lines");
    CHECK(p.outcome == YSTPAY_OUTCOME_SUCCESS, "paid at once");
    CHECK(strcmp(p.result, "Y") == 0 && strcmp(p.status, "S") == 0, "result Y status S");
    CHECK(strlen(p.req_seq) == 20, "generated req_seq written back");
    CHECK(p.trans_seq[0] != 0 && p.total_fee == paid_fee, "trans_seq and total_fee");
    CHECK(strcmp(p.channel, "W") == 0, "channel W");
    CHECK(p.receipt_count > 0 && p.receipt_count <= YSTPAY_RECEIPT_LINES, "receipt lines");
    for (i = 0; i < p.receipt_count; i++)
        printf("     | %s\n", p.receipt_lines[i]);
    CHECK(p.truncated == 0, "nothing truncated");
    strcpy(paid_trans_seq, p.trans_seq);
    strcpy(paid_req_seq, p.req_seq);

    INIT(q);
    CHECK_RC(ystpay_query_pay(client, NULL, paid_req_seq, NULL, &q), YSTPAY_OK, "query_pay");
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS && strcmp(q.trans_seq, paid_trans_seq) == 0,
          "query shows the same paid order");
    CHECK(strcmp(q.req_seq, paid_req_seq) != 0, "the query has its own req_seq");

    /* caller-chosen req_seq, reused for a retry: no second charge */
    ystpay_next_req_seq(client, seq, (int32_t)sizeof seq, NULL);
    code_for(code, 2);
    CHECK_RC(pay(client, seq, 100, code, &p), YSTPAY_OK, "pay with own req_seq");
    CHECK(strcmp(p.req_seq, seq) == 0, "req_seq kept");
    CHECK_RC(pay(client, seq, 100, code, &q), YSTPAY_OK, "retry with the same req_seq");
    CHECK(strcmp(p.trans_seq, q.trans_seq) == 0, "retry answers the same order");

    /* refused: insufficient balance */
    code_for(code, 71);
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_OK, "refused payment is still YSTPAY_OK");
    CHECK(p.outcome == YSTPAY_OUTCOME_FAILED && strcmp(p.result, "N") == 0, "outcome FAILED, result N");
    CHECK(strcmp(p.code, "E12001") == 0 && strncmp(p.msg, "余额不足", strlen("余额不足")) == 0, "code and Chinese msg");

    /* busy but paid: no status → UNKNOWN, then the query settles it */
    code_for(code, 83);
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_OK, "busy answer");
    CHECK(p.outcome == YSTPAY_OUTCOME_UNKNOWN, "refusal without status is UNKNOWN, never FAILED");
    strcpy(seq, p.req_seq);
    INIT(q);
    CHECK_RC(ystpay_query_pay(client, NULL, seq, code, &q), YSTPAY_OK, "query after busy");
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS, "busy payment did succeed");

    /* password: WAITING, then paid */
    code_for(code, 51);
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_OK, "payment with password");
    CHECK(p.outcome == YSTPAY_OUTCOME_WAITING, "WAITING while the customer types");
    strcpy(seq, p.req_seq);
    for (i = 0; i < 50; i++) {
        INIT(q);
        if (ystpay_query_pay(client, NULL, seq, NULL, &q) != YSTPAY_OK ||
            q.outcome != YSTPAY_OUTCOME_WAITING)
            break;
        sleep_ms(100);
    }
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS, "paid after the password");
}

static void test_refund_and_revoke(void)
{
    ystpay_refund_result r, rq;
    ystpay_revoke_result v;
    ystpay_payment_result p, q;
    char code[32], seq[32];

    INIT(r);
    CHECK_RC(ystpay_refund(client, NULL, paid_trans_seq, 1000, "顾客退货", &r), YSTPAY_OK, "refund");
    CHECK(r.outcome == YSTPAY_OUTCOME_SUCCESS && r.refund_seq[0], "refunded");
    CHECK(r.refund_fee == 1000, "refund_fee");
    INIT(rq);
    CHECK_RC(ystpay_query_refund(client, NULL, paid_trans_seq, r.req_seq, &rq), YSTPAY_OK,
             "query_refund");
    CHECK(rq.outcome == YSTPAY_OUTCOME_SUCCESS && strcmp(rq.refund_seq, r.refund_seq) == 0,
          "refund found");
    INIT(r);
    CHECK_RC(ystpay_refund(client, NULL, paid_trans_seq, 999999, "too much", &r), YSTPAY_OK,
             "over-refund answered");
    CHECK(strcmp(r.result, "N") == 0 && r.outcome != YSTPAY_OUTCOME_SUCCESS, "over-refund refused");
    INIT(r);
    CHECK_RC(ystpay_refund(client, NULL, paid_trans_seq, 100, NULL, &r), YSTPAY_ERR_NULL_ARGUMENT,
             "refund NULL reason");
    CHECK_RC(ystpay_refund(client, NULL, paid_trans_seq, 100, "", &r), YSTPAY_ERR_INVALID_INPUT,
             "refund empty reason");

    /* revoke a payment still waiting for the password: closed, no money */
    code_for(code, 69);
    CHECK_RC(pay(client, NULL, 300, code, &p), YSTPAY_OK, "payment to revoke");
    strcpy(seq, p.req_seq);
    INIT(v);
    CHECK_RC(ystpay_revoke(client, NULL, seq, NULL, code, &v), YSTPAY_OK, "revoke");
    CHECK(v.outcome == YSTPAY_OUTCOME_REVOKED && strcmp(v.result, "Y") == 0, "REVOKED");
    INIT(q);
    CHECK_RC(ystpay_query_pay(client, NULL, seq, NULL, &q), YSTPAY_OK, "query revoked payment");
    CHECK(q.outcome == YSTPAY_OUTCOME_FAILED, "revoked payment reads FAILED (no money)");
    INIT(v);
    CHECK_RC(ystpay_revoke(client, NULL, seq, NULL, NULL, &v), YSTPAY_ERR_INVALID_INPUT,
             "revoke needs channel or auth_code");
}

static void test_orders(void)
{
    ystpay_order_result o, q;
    char body[96];
    int status;

    INIT(o);
    CHECK_RC(ystpay_native_pay(client, NULL, 1200, 300, "W", &o), YSTPAY_OK, "native_pay");
    CHECK(o.outcome == YSTPAY_OUTCOME_WAITING && strncmp(o.pay_url, "weixin://", 9) == 0,
          "QR order waiting with a weixin:// pay_url");
    snprintf(body, sizeof body, "{\"merchant\":\"demo\",\"req_seq\":\"%s\"}", o.req_seq);
    status = sim_post("/sim/customer-pays", body);
    CHECK(status == 200, "simulator: the customer scans and pays");
    INIT(q);
    CHECK_RC(ystpay_native_query(client, NULL, o.req_seq, "W", &q), YSTPAY_OK, "native_query");
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS && q.total_fee == 1200, "QR order paid");
    CHECK_RC(ystpay_native_pay(client, NULL, 1200, 100, "W", &o), YSTPAY_ERR_INVALID_INPUT,
             "native_pay expire_seconds below 300");
    CHECK_RC(ystpay_native_pay(client, NULL, 1200, 0, "Q", &o), YSTPAY_ERR_INVALID_INPUT,
             "native_pay channel Q not allowed");

    INIT(o);
    CHECK_RC(ystpay_js_pay(client, NULL, 990, "W", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", &o), YSTPAY_OK,
             "js_pay");
    CHECK(o.outcome == YSTPAY_OUTCOME_WAITING && o.signature_info[0] == '{' && o.pay_url[0],
          "JS order with signature_info JSON");
    CHECK_RC(ystpay_js_pay(client, NULL, 990, "W", NULL, &o), YSTPAY_ERR_NULL_ARGUMENT,
             "js_pay NULL subopen_id");

    INIT(o);
    CHECK_RC(ystpay_h5_pay(client, NULL, 990, "W", "125.71.132.197", "http://shop.example/back", &o),
             YSTPAY_OK, "h5_pay");
    CHECK(o.outcome == YSTPAY_OUTCOME_WAITING && strncmp(o.pay_url, "http", 4) == 0,
          "H5 order with pay_info URL");
    CHECK_RC(ystpay_h5_pay(client, NULL, 990, "W", NULL, "http://shop.example/back", &o),
             YSTPAY_ERR_INVALID_INPUT, "h5_pay WeChat needs ip");
}

static void test_notice(void)
{
    char body[1024], reply[256], tiny[8];
    ystpay_notice n;
    int32_t needed = 0;

    snprintf(body, sizeof body,
             "<data><request_type>native_order_notice</request_type><req_seq>%s</req_seq>"
             "<channel>W</channel><trans_seq>%s</trans_seq><total_fee>%d</total_fee>"
             "<status>S</status><pay_time>2024-01-01 10:00:00</pay_time></data>",
             paid_req_seq, paid_trans_seq, (int)paid_fee);
    INIT(n);
    CHECK_RC(ystpay_notice_read(client, body, -1, &n), YSTPAY_OK, "notice_read plain, confirmed");
    CHECK(n.verified == YSTPAY_VERIFIED_QUERY && n.outcome == YSTPAY_OUTCOME_SUCCESS,
          "plain notice verified by query");
    CHECK(strcmp(n.trans_seq, paid_trans_seq) == 0 && n.total_fee == paid_fee, "notice fields");
    INIT(n);
    CHECK_RC(ystpay_notice_read(client, body, (int32_t)strlen(body), &n), YSTPAY_OK,
             "notice_read with a length");

    snprintf(body, sizeof body,
             "<data><request_type>native_order_notice</request_type><req_seq>%s</req_seq>"
             "<channel>W</channel><trans_seq>99999999999999999999</trans_seq>"
             "<total_fee>1</total_fee><status>S</status><pay_time>2024-01-01 10:00:00</pay_time></data>",
             paid_req_seq);
    memset(&n, 0xAB, sizeof n);
    n.struct_size = (uint32_t)sizeof n;
    CHECK_RC(ystpay_notice_read(client, body, -1, &n), YSTPAY_ERR_UNCONFIRMED, "forged notice");
    CHECK(all_bytes((char *)&n + 4, sizeof n - 4, 0xAB), "record untouched on failure");
    CHECK_RC(ystpay_notice_read(client, "not xml", -1, &n), YSTPAY_ERR_REJECTED, "garbage notice");
    CHECK_RC(ystpay_notice_read(client, NULL, 0, &n), YSTPAY_ERR_NULL_ARGUMENT, "NULL notice body");

    CHECK_RC(ystpay_notice_reply(client, 1, NULL, reply, (int32_t)sizeof reply, &needed), YSTPAY_OK,
             "notice_reply");
    CHECK(strstr(reply, "<result>Y</result>") != NULL && needed == (int32_t)strlen(reply) + 1,
          "reply says Y");
    CHECK_RC(ystpay_notice_reply(client, 0, "稍后重试", tiny, (int32_t)sizeof tiny, &needed),
             YSTPAY_ERR_BUFFER_TOO_SMALL, "notice_reply short buffer");
    CHECK(needed > 8, "reply size needed");
}

static void test_bad_input(void)
{
    ystpay_payment_result p;
    ystpay_prod_item item;
    char code[32];
    char bad_utf8[] = {'1', '3', (char)0xE5, (char)0xA5, 0};
    uint64_t not_a_client[16];

    code_for(code, 1);
    memset(&p, 0xAB, sizeof p);
    p.struct_size = (uint32_t)sizeof p;
#define UNTOUCHED all_bytes((char *)&p + 4, sizeof p - 4, 0xAB)
    CHECK_RC(ystpay_pay(NULL, NULL, 100, code, NULL, NULL, 0, &p), YSTPAY_ERR_NULL_ARGUMENT,
             "pay NULL client");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, NULL, 0, NULL), YSTPAY_ERR_NULL_ARGUMENT,
             "pay NULL result");
    CHECK_RC(ystpay_pay(client, NULL, 100, NULL, NULL, NULL, 0, &p), YSTPAY_ERR_NULL_ARGUMENT,
             "pay NULL auth_code");
    CHECK_RC(ystpay_pay(client, NULL, -1, code, NULL, NULL, 0, &p), YSTPAY_ERR_INVALID_INPUT,
             "pay negative fee");
    CHECK_RC(ystpay_pay(client, NULL, 0, code, NULL, NULL, 0, &p), YSTPAY_ERR_INVALID_INPUT,
             "pay zero fee");
    CHECK_RC(ystpay_pay(client, NULL, 10000000000LL, code, NULL, NULL, 0, &p),
             YSTPAY_ERR_INVALID_INPUT, "pay 11-digit fee");
    CHECK_RC(ystpay_pay(client, "123456789012345678901", 100, code, NULL, NULL, 0, &p),
             YSTPAY_ERR_INVALID_INPUT, "pay 21-character req_seq");
    CHECK_RC(ystpay_pay(client, NULL, 100, bad_utf8, NULL, NULL, 0, &p),
             YSTPAY_ERR_INVALID_ENCODING, "pay invalid UTF-8");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, "X", NULL, 0, &p), YSTPAY_ERR_INVALID_INPUT,
             "pay unknown channel");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, NULL, -1, &p), YSTPAY_ERR_INVALID_ARGUMENT,
             "pay negative item_count");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, NULL, 1, &p), YSTPAY_ERR_NULL_ARGUMENT,
             "pay NULL items with a count");
    fill_item(&item, "1", "x", 100, "1");
    memset(item.goods_name, 'x', sizeof item.goods_name);
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, &item, 1, &p), YSTPAY_ERR_INVALID_ARGUMENT,
             "item without its NUL");
    fill_item(&item, "1", "x", 100, "1");
    item.struct_size = 12;
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, &item, 1, &p), YSTPAY_ERR_STRUCT_SIZE,
             "item with a wrong struct_size");
    fill_item(&item, "1", "x", -100, "1");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, &item, 1, &p), YSTPAY_ERR_INVALID_INPUT,
             "item with a negative price");
    fill_item(&item, "1", "x", 100, "one");
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, &item, 1, &p), YSTPAY_ERR_INVALID_INPUT,
             "item with a non-numeric quantity");
    p.struct_size = 100;
    CHECK_RC(ystpay_pay(client, NULL, 100, code, NULL, NULL, 0, &p), YSTPAY_ERR_STRUCT_SIZE,
             "result with a wrong struct_size");
    p.struct_size = (uint32_t)sizeof p;
    memset(not_a_client, 0, sizeof not_a_client);
    CHECK_RC(ystpay_pay((const ystpay_client *)(const void *)not_a_client, NULL, 100, code, NULL,
                        NULL, 0, &p),
             YSTPAY_ERR_INVALID_HANDLE, "pay with something that is not a client");
    CHECK(UNTOUCHED, "result record untouched by every failure");
    CHECK_RC(ystpay_query_pay(client, NULL, NULL, NULL, &p), YSTPAY_ERR_NULL_ARGUMENT,
             "query_pay NULL ori_seq");
    CHECK_RC(ystpay_query_refund(client, NULL, NULL, "1", NULL), YSTPAY_ERR_NULL_ARGUMENT,
             "query_refund NULL record");
}

static void test_gbk(void)
{
    /* "奶油曲奇" and "余额不足" in GBK */
    static const char name_gbk[] = "\xC4\xCC\xD3\xCD\xC7\xFA\xC6\xE6";
    static const char refused_gbk[] = "\xD3\xE0\xB6\xEE\xB2\xBB\xD7\xE3";
    static const char bad_gbk[] = "\x81\x20";
    ystpay_payment_result p;
    ystpay_prod_item item;
    char code[32];

    code_for(code, 1);
    fill_item(&item, "2900002400915", name_gbk, 1760, "1");
    INIT(p);
    CHECK_RC(ystpay_pay(gbk, NULL, 1760, code, NULL, &item, 1, &p), YSTPAY_OK,
             "GBK client pays with a GBK product name");
    CHECK(p.outcome == YSTPAY_OUTCOME_SUCCESS, "GBK payment paid");
    code_for(code, 72);
    INIT(p);
    CHECK_RC(ystpay_pay(gbk, NULL, 100, code, NULL, NULL, 0, &p), YSTPAY_OK, "GBK refused payment");
    CHECK(strncmp(p.msg, refused_gbk, strlen(refused_gbk)) == 0, "platform message arrives in GBK");
    fill_item(&item, "1", bad_gbk, 100, "1");
    CHECK_RC(ystpay_pay(gbk, NULL, 100, code, NULL, &item, 1, &p), YSTPAY_ERR_INVALID_ENCODING,
             "invalid GBK product name");
    CHECK_RC(ystpay_refund(gbk, NULL, paid_trans_seq, 1, bad_gbk, NULL), YSTPAY_ERR_NULL_ARGUMENT,
             "NULL record is checked before strings");
}

static void test_faults(void)
{
    ystpay_payment_result p, q;
    ystpay_client *dead = NULL;
    char code[32], seq[32];

    code_for(code, 1);
    CHECK(inject("drop_after_commit") == 200, "simulator: drop the answer after paying");
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_ERR_OUTCOME_UNKNOWN,
             "no answer: OUTCOME_UNKNOWN");
    /* p is untouched, so the caller must know its req_seq: use its own */
    ystpay_next_req_seq(client, seq, (int32_t)sizeof seq, NULL);
    code_for(code, 1);
    inject("drop_after_commit");
    CHECK_RC(pay(client, seq, 100, code, &p), YSTPAY_ERR_OUTCOME_UNKNOWN, "again, own req_seq");
    INIT(q);
    CHECK_RC(ystpay_query_pay(client, NULL, seq, NULL, &q), YSTPAY_OK, "query after no answer");
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS, "the payment went through");

    code_for(code, 1);
    inject("bad_signature");
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_ERR_BAD_SIGNATURE, "forged answer");
    inject("garbage");
    code_for(code, 1);
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_ERR_REJECTED, "garbage answer");
    inject("http_500");
    code_for(code, 1);
    CHECK_RC(pay(client, NULL, 100, code, &p), YSTPAY_ERR_OUTCOME_UNKNOWN, "HTTP 500");

    CHECK_RC(ystpay_client_new("http://127.0.0.1:1/ystpay/service/unitive.api", "demo", "demo123",
                               "0123456789ABCDEF", 2000, 2000, 0, 0, &dead),
             YSTPAY_OK, "client for a closed port");
    code_for(code, 1);
    CHECK_RC(pay(dead, NULL, 100, code, &p), YSTPAY_ERR_NOT_SENT, "connection refused: NOT_SENT");
    ystpay_client_free(dead);
}

/* ystpay_prepare (docs/C-ABI.md, "A warm link"): it opens or checks the
 * connection without any API request; a payment after it works; a
 * platform that cannot be reached is NOT_SENT at once, not after a read
 * timeout. */
static void test_prepare(void)
{
    ystpay_payment_result p, q;
    ystpay_client *fresh = NULL, *dead = NULL;
    char code[32];
    long before;
    unsigned long t0, took;

    CHECK_RC(ystpay_prepare(NULL), YSTPAY_ERR_NULL_ARGUMENT, "prepare(NULL)");
    /* A client of its own: no connection kept yet, so prepare opens one. */
    CHECK_RC(ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 2000, 5000,
                               YSTPAY_ENCODING_UTF8, 0, &fresh),
             YSTPAY_OK, "client for prepare");
    before = sim_requests();
    CHECK(before >= 0, "simulator: request count");
    CHECK_RC(ystpay_prepare(fresh), YSTPAY_OK, "prepare against the simulator");
    CHECK_RC(ystpay_prepare(fresh), YSTPAY_OK, "prepare again: the kept connection checked");
    CHECK(sim_requests() == before, "prepare made no API request");
    code_for(code, 1);
    INIT(p);
    CHECK_RC(ystpay_pay(fresh, NULL, 123, code, NULL, NULL, 0, &p), YSTPAY_OK, "pay after prepare");
    CHECK(p.outcome == YSTPAY_OUTCOME_SUCCESS && p.total_fee == 123 && strlen(p.req_seq) == 20,
          "paid at once after prepare");
    CHECK(sim_requests() == before + 1, "the payment was the one API request");
    INIT(q);
    CHECK_RC(ystpay_query_pay(fresh, NULL, p.req_seq, NULL, &q), YSTPAY_OK, "query after prepare");
    CHECK(q.outcome == YSTPAY_OUTCOME_SUCCESS && strcmp(q.trans_seq, p.trans_seq) == 0,
          "the platform holds that payment");
    ystpay_client_free(fresh);

    /* Nothing listens on port 1: the connect is refused, the request never
     * leaves. connect_timeout 2000 ms, read_timeout 10000 ms: one try ends
     * within the connect_timeout (on Linux at once); a wait for the answer
     * would take the read_timeout. */
    CHECK_RC(ystpay_client_new("http://127.0.0.1:1/ystpay/service/unitive.api", "demo", "demo123",
                               "0123456789ABCDEF", 2000, 10000, 0, 0, &dead),
             YSTPAY_OK, "client for a closed port");
    t0 = now_ms();
    CHECK_RC(ystpay_prepare(dead), YSTPAY_ERR_NOT_SENT, "prepare, closed port: NOT_SENT");
    took = now_ms() - t0;
    printf("     prepare against a closed port returned in %lu ms\n", took);
    CHECK(took < 3000, "prepare, closed port: within about one connect_timeout, no read wait");
    CHECK(last_error_contains("127.0.0.1:1") || last_error_contains("io:"),
          "prepare, closed port: the message says why");
    ystpay_client_free(dead);
}

/* ------------------------------------------------------------- threads */

#define THREADS 8
#define PAYS_PER_THREAD 5

struct worker {
    int id;
    int ok;
    char seqs[PAYS_PER_THREAD][32];
};

static THREAD_RET worker_main(void *arg)
{
    struct worker *w = (struct worker *)arg;
    int i;
    for (i = 0; i < PAYS_PER_THREAD; i++) {
        ystpay_payment_result p;
        char code[32];
        sprintf(code, "13%08d%06d%02d", w->id, i, 1);
        INIT(p);
        if (ystpay_pay(client, NULL, 100 + w->id, code, NULL, NULL, 0, &p) == YSTPAY_OK &&
            p.outcome == YSTPAY_OUTCOME_SUCCESS && p.total_fee == 100 + w->id)
            w->ok++;
        strcpy(w->seqs[i], p.req_seq);
    }
    return 0;
}

static void test_threads(void)
{
    struct worker workers[THREADS];
    thread_t t[THREADS];
    int i, j, k, l, total = 0, distinct = 1;
    for (i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].id = i + 1;
#ifdef _WIN32
        t[i] = CreateThread(NULL, 0, worker_main, &workers[i], 0, NULL);
#else
        pthread_create(&t[i], NULL, worker_main, &workers[i]);
#endif
    }
    for (i = 0; i < THREADS; i++) {
#ifdef _WIN32
        WaitForSingleObject(t[i], INFINITE);
        CloseHandle(t[i]);
#else
        pthread_join(t[i], NULL);
#endif
        total += workers[i].ok;
    }
    for (i = 0; i < THREADS; i++)
        for (j = 0; j < PAYS_PER_THREAD; j++)
            for (k = i; k < THREADS; k++)
                for (l = (k == i ? j + 1 : 0); l < PAYS_PER_THREAD; l++)
                    if (strcmp(workers[i].seqs[j], workers[k].seqs[l]) == 0)
                        distinct = 0;
    CHECK(total == THREADS * PAYS_PER_THREAD, "8 threads x 5 payments on one handle all paid");
    CHECK(distinct, "every concurrent payment got its own req_seq");
}

/* ------------------------------------------------ 32-bit Windows stdcall */

#if defined(_WIN32) && defined(__i386__)
typedef const char *(*one_arg_fn)(int32_t);

static const char *local_cdecl(int32_t code)
{
    (void)code;
    return "";
}

/* Calls fn(0) through a raw `call`, and returns how far the stack pointer
 * moved across the call after our 4-byte push: 0 when the callee popped
 * its argument (stdcall), 4 when it left it for the caller (cdecl). */
static unsigned stack_left_by(one_arg_fn fn)
{
    unsigned moved;
    __asm__ volatile("movl %%esp, %%esi\n\t"
                     "pushl $0\n\t"
                     "call *%1\n\t"
                     "movl %%esi, %0\n\t"
                     "subl %%esp, %0\n\t"
                     "movl %%esi, %%esp\n\t"
                     : "=&r"(moved)
                     : "r"(fn)
                     : "eax", "ecx", "edx", "esi", "memory", "cc");
    return moved;
}

static void test_stdcall(void)
{
    HMODULE dll = GetModuleHandleA("ystpay.dll");
    CHECK(stack_left_by(local_cdecl) == 4, "probe: a cdecl function leaves its argument");
    CHECK(stack_left_by((one_arg_fn)(void (*)(void))ystpay_strerror) == 0,
          "ystpay_strerror pops its own argument (stdcall)");
    CHECK(dll != NULL && GetProcAddress(dll, "ystpay_pay") != NULL, "export ystpay_pay undecorated");
    CHECK(dll != NULL && GetProcAddress(dll, "_ystpay_pay@32") == NULL &&
              GetProcAddress(dll, "ystpay_pay@32") == NULL,
          "no decorated export names");
}
#endif

int main(int argc, char **argv)
{
    char port_text[16] = "";
#ifdef _WIN32
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
#endif
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2 || sscanf(argv[1], "http://%63[^:/]:%15[0-9]", sim_host, port_text) != 2) {
        fprintf(stderr, "usage: harness http://127.0.0.1:PORT/ystpay/service/unitive.api\n");
        return 2;
    }
    api_url = argv[1];
    sim_port = atoi(port_text);
    printf("ystpay %s, simulator at %s\n", ystpay_version(), api_url);

    test_version();
    test_records();
    /* Two registers of one device: without a journal, only distinct
     * register numbers keep their serials apart (docs/DESIGN.md, "Serials"). */
    snprintf(gbk_config, sizeof gbk_config,
             "server_url = %s\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n"
             "connect_timeout_ms = 2000\nread_timeout_ms = 5000\nencoding = gbk\n"
             "register_no = 2\n",
             api_url);
    if (ystpay_client_new(api_url, "demo", "demo123", "0123456789ABCDEF", 2000, 5000,
                          YSTPAY_ENCODING_UTF8, 0, &client) != YSTPAY_OK ||
        ystpay_client_from_config(gbk_config, &gbk) != YSTPAY_OK) {
        print_last_error();
        fprintf(stderr, "cannot create the clients\n");
        return 1;
    }
    test_create();
    test_last_error();
    test_req_seq();
    test_pay();
    test_prepare();
    test_refund_and_revoke();
    test_orders();
    test_notice();
    test_bad_input();
    test_gbk();
    test_faults();
    test_threads();
#if defined(_WIN32) && defined(__i386__)
    test_stdcall();
#endif
    ystpay_client_free(client);
    ystpay_client_free(gbk);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
