/*
 * qr.c — checks the QR-code and receipt functions of the C ABI: files,
 * ESC/POS bytes, text, caller buffers, NULLs, GBK. Needs no simulator.
 *
 *   qr <output-dir>
 *
 * Writes <output-dir>/qr.png, qr1.bmp, qr24.bmp (tests/c_qr.rs decodes the
 * PNG back to the URL with an independent decoder). Prints one line per
 * check and "N passed, M failed" last; exits 0 only when nothing failed.
 * Built with -std=c99 -Wall -Wextra -Werror -pedantic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ystpay.h"

static int passed, failed;

#define CHECK(cond, what)                                                   \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            printf("FAIL %s (line %d)\n", what, __LINE__);                  \
        }                                                                   \
    } while (0)

#define URL "weixin://wxpay/bizpayurl?pr=jLbHdkp"

static char path_buf[4096];

static const char *in_dir(const char *dir, const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

/* Reads a whole file; returns its length (or -1) and a malloc'ed copy. */
static long read_file(const char *path, unsigned char **out) {
    FILE *f = fopen(path, "rb");
    long n;
    *out = NULL;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*out);
        *out = NULL;
        return -1;
    }
    fclose(f);
    return n;
}

static unsigned long be32(const unsigned char *b) {
    return ((unsigned long)b[0] << 24) | ((unsigned long)b[1] << 16) | ((unsigned long)b[2] << 8) | b[3];
}

static unsigned long le32(const unsigned char *b) {
    return (unsigned long)b[0] | ((unsigned long)b[1] << 8) | ((unsigned long)b[2] << 16) |
           ((unsigned long)b[3] << 24);
}

static int contains(const unsigned char *hay, long n, const char *needle) {
    long k = (long)strlen(needle), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, (size_t)k) == 0)
            return 1;
    return 0;
}

static int has_message(void) {
    char msg[512];
    return ystpay_last_error(msg, (int32_t)sizeof msg, NULL) == YSTPAY_OK && msg[0] != '\0';
}

/* A valid QR code is 21 + 4k modules plus a 4-module quiet zone per side. */
static int qr_width_ok(unsigned long px, unsigned long scale) {
    unsigned long modules = px / scale;
    return px % scale == 0 && modules >= 29 && (modules - 29) % 4 == 0;
}

static void files(const char *dir) {
    unsigned char *b;
    long n;
    unsigned long w_png = 0, w, row;
    int32_t rc;

    rc = ystpay_qr_png_file(URL, YSTPAY_ENCODING_UTF8, 4, in_dir(dir, "qr.png"));
    CHECK(rc == YSTPAY_OK, "PNG written");
    n = read_file(in_dir(dir, "qr.png"), &b);
    CHECK(n > 33, "PNG file read back");
    if (n > 33) {
        CHECK(memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature");
        CHECK(memcmp(b + 12, "IHDR", 4) == 0, "PNG IHDR first");
        w_png = be32(b + 16);
        CHECK(w_png == be32(b + 20), "PNG is square");
        CHECK(qr_width_ok(w_png, 4), "PNG width = modules x scale");
        CHECK(b[24] == 1 && b[25] == 0, "PNG 1-bit greyscale");
    }
    free(b);

    rc = ystpay_qr_bmp_file(URL, 0, 4, 1, in_dir(dir, "qr1.bmp"));
    CHECK(rc == YSTPAY_OK, "1-bit BMP written");
    n = read_file(in_dir(dir, "qr1.bmp"), &b);
    CHECK(n > 62, "1-bit BMP read back");
    if (n > 62) {
        w = le32(b + 18);
        row = (w + 31) / 32 * 4;
        CHECK(b[0] == 'B' && b[1] == 'M', "BMP magic");
        CHECK(le32(b + 2) == (unsigned long)n, "BMP size field = file size");
        CHECK(le32(b + 10) == 62, "1-bit BMP: data after the 2-colour palette");
        CHECK(le32(b + 14) == 40, "BITMAPINFOHEADER");
        CHECK(w == w_png && le32(b + 22) == w, "BMP same size as the PNG");
        CHECK(b[28] == 1 && b[29] == 0, "1 bit per pixel");
        CHECK(le32(b + 30) == 0, "BI_RGB (uncompressed)");
        CHECK((unsigned long)n == 62 + row * w, "1-bit BMP length");
    }
    free(b);

    rc = ystpay_qr_bmp_file(URL, 0, 3, 24, in_dir(dir, "qr24.bmp"));
    CHECK(rc == YSTPAY_OK, "24-bit BMP written");
    n = read_file(in_dir(dir, "qr24.bmp"), &b);
    CHECK(n > 54, "24-bit BMP read back");
    if (n > 54) {
        w = le32(b + 18);
        row = (w * 3 + 3) / 4 * 4;
        CHECK(qr_width_ok(w, 3), "24-bit BMP width = modules x 3");
        CHECK(b[28] == 24 && le32(b + 10) == 54, "24 bits per pixel, no palette");
        CHECK((unsigned long)n == 54 + row * w, "24-bit BMP length");
        CHECK(b[n - (long)row + (long)(w - 1) * 3] == 0xFF, "top-right pixel is quiet zone (white)");
    }
    free(b);

    /* Errors: nothing written, message set. */
    rc = ystpay_qr_png_file(NULL, 0, 4, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT && has_message(), "PNG: NULL pay_url");
    rc = ystpay_qr_png_file(URL, 0, 4, NULL);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "PNG: NULL path");
    rc = ystpay_qr_png_file("", 0, 4, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "PNG: empty pay_url");
    rc = ystpay_qr_png_file(URL, 0, -1, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "PNG: negative scale");
    rc = ystpay_qr_png_file(URL, 0, YSTPAY_QR_MAX_SCALE + 1, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "PNG: scale above the maximum");
    rc = ystpay_qr_png_file(URL, 1234, 4, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "PNG: unknown encoding");
    rc = ystpay_qr_png_file("abc\xff", 0, 4, in_dir(dir, "x.png"));
    CHECK(rc == YSTPAY_ERR_INVALID_ENCODING, "PNG: invalid UTF-8");
    rc = ystpay_qr_bmp_file(URL, 0, 4, 8, in_dir(dir, "x.bmp"));
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "BMP: 8 bits per pixel refused");
    CHECK(read_file(in_dir(dir, "x.png"), &b) < 0 && read_file(in_dir(dir, "x.bmp"), &b) < 0,
          "failed calls wrote no file");
    rc = ystpay_qr_png_file(URL, 0, 4, in_dir(dir, "no/such/dir/x.png"));
    CHECK(rc == YSTPAY_ERR_FILE_WRITE && has_message(), "PNG: unwritable path");
    CHECK(strcmp(ystpay_strerror(YSTPAY_ERR_FILE_WRITE), "unknown result code") != 0,
          "strerror knows YSTPAY_ERR_FILE_WRITE");
    {
        char *huge = (char *)malloc(5001);
        memset(huge, 'x', 5000);
        huge[5000] = '\0';
        rc = ystpay_qr_png_file(huge, 0, 4, in_dir(dir, "x.png"));
        CHECK(rc == YSTPAY_ERR_QR_TOO_BIG, "PNG: 5000 bytes do not fit in a QR code");
        free(huge);
    }
}

static void escpos_and_text(void) {
    int32_t needed = -1, needed2 = -1, rc;
    char *buf;
    char small[16];
    unsigned char *u;
    unsigned xbytes, h;

    rc = ystpay_qr_escpos(URL, 0, 0, 384, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL && needed > 8, "ESC/POS: size query");
    buf = (char *)malloc((size_t)needed + 1);
    memset(buf, 0x55, (size_t)needed + 1);
    rc = ystpay_qr_escpos(URL, 0, 0, 384, buf, needed - 1, &needed2);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL && needed2 == needed, "ESC/POS: one byte short");
    CHECK((unsigned char)buf[0] == 0x55, "ESC/POS: short buffer untouched");
    rc = ystpay_qr_escpos(URL, 0, 0, 384, buf, needed + 1, &needed2);
    CHECK(rc == YSTPAY_OK && needed2 == needed, "ESC/POS written, exact length");
    u = (unsigned char *)buf;
    CHECK(u[0] == 0x1D && u[1] == 0x76 && u[2] == 0x30 && u[3] == 0x00, "ESC/POS starts GS v 0");
    xbytes = u[4] | (u[5] << 8);
    h = u[6] | (u[7] << 8);
    CHECK((long)needed == 8 + (long)xbytes * h, "ESC/POS length = 8 + xbytes * height");
    CHECK(h <= 384 && xbytes * 8 >= h && xbytes * 8 < h + 8, "ESC/POS fits 58 mm paper");
    CHECK((unsigned char)buf[needed] == 0x55, "ESC/POS: no NUL appended");
    free(buf);
    rc = ystpay_qr_escpos(URL, 0, 0, 384, small, (int32_t)sizeof small, NULL);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "ESC/POS: NULL needed");
    rc = ystpay_qr_escpos(URL, 0, 0, 384, NULL, 10, &needed);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "ESC/POS: NULL buf with a size");
    rc = ystpay_qr_escpos(URL, 0, 40, 384, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_QR_TOO_BIG, "ESC/POS: wider than the printer");
    rc = ystpay_qr_escpos(URL, 0, 0, 0, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "ESC/POS: zero printer width");

    rc = ystpay_qr_text(URL, YSTPAY_ENCODING_GBK, YSTPAY_QR_TEXT_ASCII, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL && needed > 100, "text: size query");
    buf = (char *)malloc((size_t)needed);
    rc = ystpay_qr_text(URL, YSTPAY_ENCODING_GBK, YSTPAY_QR_TEXT_ASCII, buf, needed, NULL);
    CHECK(rc == YSTPAY_OK && (int32_t)strlen(buf) + 1 == needed, "text written, NUL-terminated");
    CHECK(strstr(buf, "##") != NULL && buf[needed - 2] == '\n', "text: ## modules, lines end in LF");
    free(buf);
    rc = ystpay_qr_text(URL, YSTPAY_ENCODING_GBK, YSTPAY_QR_TEXT_BLOCKS_DARK_BG, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "text: half blocks refused in GBK");
    rc = ystpay_qr_text(URL, 0, YSTPAY_QR_TEXT_BLOCKS_LIGHT_BG, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL, "text: half blocks in UTF-8");
    rc = ystpay_qr_text(NULL, 0, 0, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "text: NULL pay_url");
}

/* 交易金额：0.01元 */
#define AMOUNT_GBK "\xBD\xBB\xD2\xD7\xBD\xF0\xB6\xEE\xA3\xBA" "0.01\xD4\xAA"
#define AMOUNT_UTF8 "\xE4\xBA\xA4\xE6\x98\x93\xE9\x87\x91\xE9\xA2\x9D\xEF\xBC\x9A" "0.01\xE5\x85\x83"

static void receipts(void) {
    char gbk[3][YSTPAY_RECEIPT_LINE_SIZE];
    ystpay_payment_result *res;
    char text[512];
    char *esc;
    int32_t needed = 0, rc;
    const char expect[] = "TITLE\r\n" AMOUNT_GBK "\r\nsp004\r\n";

    memset(gbk, 0, sizeof gbk);
    strcpy(gbk[0], "TITLE");
    strcpy(gbk[1], AMOUNT_GBK);
    strcpy(gbk[2], "sp004");
    rc = ystpay_receipt_text(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, text,
                             (int32_t)sizeof text, &needed);
    CHECK(rc == YSTPAY_OK, "receipt text (GBK)");
    CHECK(strcmp(text, expect) == 0 && needed == (int32_t)sizeof expect,
          "receipt text: GBK bytes, CRLF");
    rc = ystpay_receipt_text(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, text, 5,
                             &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL && needed == (int32_t)sizeof expect,
          "receipt text: short buffer reports needed");
    rc = ystpay_receipt_text(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_UTF8, text,
                             (int32_t)sizeof text, &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ENCODING, "receipt text: GBK bytes are not UTF-8");

    /* From a payment result record, UTF-8 client. */
    res = (ystpay_payment_result *)calloc(1, sizeof *res);
    res->struct_size = sizeof *res;
    strcpy(res->receipt_lines[0], "-----TITLE-----");
    strcpy(res->receipt_lines[1], AMOUNT_UTF8);
    strcpy(res->receipt_lines[2], "-----TITLE-----");
    strcpy(res->receipt_lines[3], "copy 2");
    res->receipt_count = 4;
    rc = ystpay_receipt_escpos(res->receipt_lines[0], YSTPAY_RECEIPT_LINE_SIZE, res->receipt_count,
                               YSTPAY_ENCODING_UTF8, 0, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL && needed > 0, "receipt ESC/POS: size query");
    esc = (char *)malloc((size_t)needed);
    rc = ystpay_receipt_escpos(res->receipt_lines[0], YSTPAY_RECEIPT_LINE_SIZE, res->receipt_count,
                               YSTPAY_ENCODING_UTF8, 0, esc, needed, &needed);
    CHECK(rc == YSTPAY_OK, "receipt ESC/POS from a payment record");
    CHECK(memcmp(esc, "\x1B\x40\x1C\x26", 4) == 0, "ESC @, FS & first");
    CHECK(contains((unsigned char *)esc, needed, AMOUNT_GBK "\n"), "UTF-8 line printed in GBK");
    CHECK(!contains((unsigned char *)esc, needed, AMOUNT_UTF8), "no UTF-8 left");
    CHECK(memcmp(esc + needed - 4, "\x1D\x56\x42\x00", 4) == 0, "ends with the cut");
    {
        long i, cuts = 0;
        for (i = 0; i + 4 <= needed; i++)
            cuts += memcmp(esc + i, "\x1D\x56\x42\x00", 4) == 0;
        CHECK(cuts == 2, "one cut per copy");
    }
    free(esc);
    rc = ystpay_receipt_escpos(res->receipt_lines[0], YSTPAY_RECEIPT_LINE_SIZE, res->receipt_count,
                               0, YSTPAY_RECEIPT_NO_CUT, NULL, 0, &needed);
    CHECK(rc == YSTPAY_ERR_BUFFER_TOO_SMALL, "receipt ESC/POS without cut: size");
    esc = (char *)malloc((size_t)needed);
    rc = ystpay_receipt_escpos(res->receipt_lines[0], YSTPAY_RECEIPT_LINE_SIZE, res->receipt_count,
                               0, YSTPAY_RECEIPT_NO_CUT, esc, needed, &needed);
    CHECK(rc == YSTPAY_OK && !contains((unsigned char *)esc, needed, "\x1D\x56"),
          "YSTPAY_RECEIPT_NO_CUT: no GS V");
    free(esc);

    /* GBK in, ESC/POS out: the same GBK bytes. */
    rc = ystpay_receipt_escpos(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, 0, text,
                               (int32_t)sizeof text, &needed);
    CHECK(rc == YSTPAY_OK && contains((unsigned char *)text, needed, AMOUNT_GBK "\n"),
          "GBK line printed as the same GBK bytes");

    /* Bad input. */
    rc = ystpay_receipt_escpos(NULL, YSTPAY_RECEIPT_LINE_SIZE, 3, 0, 0, text, (int32_t)sizeof text,
                               &needed);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "receipt: NULL lines");
    rc = ystpay_receipt_escpos(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, 0, text,
                               (int32_t)sizeof text, NULL);
    CHECK(rc == YSTPAY_ERR_NULL_ARGUMENT, "receipt ESC/POS: NULL needed");
    rc = ystpay_receipt_escpos(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, 8, text,
                               (int32_t)sizeof text, &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "receipt ESC/POS: unknown flag");
    rc = ystpay_receipt_text(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, -1, 0, text, (int32_t)sizeof text,
                             &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT, "receipt: negative count");
    memset(gbk[2], 'x', sizeof gbk[2]);
    rc = ystpay_receipt_text(gbk[0], YSTPAY_RECEIPT_LINE_SIZE, 3, YSTPAY_ENCODING_GBK, text,
                             (int32_t)sizeof text, &needed);
    CHECK(rc == YSTPAY_ERR_INVALID_ARGUMENT && has_message(), "receipt: a line without its NUL");
    rc = ystpay_receipt_text(NULL, YSTPAY_RECEIPT_LINE_SIZE, 0, 0, text, (int32_t)sizeof text,
                             &needed);
    CHECK(rc == YSTPAY_OK && text[0] == '\0' && needed == 1, "receipt: no lines is empty text");
    free(res);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output-dir>\n", argv[0]);
        return 2;
    }
    CHECK(ystpay_version_number() == YSTPAY_HEADER_VERSION, "header and library versions match");
    CHECK(strcmp(ystpay_version(), YSTPAY_VERSION_STRING) == 0, "version strings match");
    files(argv[1]);
    escpos_and_text();
    receipts();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
