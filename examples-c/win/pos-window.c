/* pos-window.c: a payment through the library's own window (Windows).
 * The till's program draws nothing: ystpay_window_pay shows the amount,
 * takes the scanner's code, waits for the customer's password with the
 * till's window disabled and still painted, and returns when it closes.
 *
 * MinGW:  gcc -Iinclude example\pos-window.c -Lx86 -lystpay -o pos-window.exe
 *         (then copy x86\ystpay.dll beside pos-window.exe)
 * MSVC:   cl /Iinclude example\pos-window.c ystpay.lib user32.lib
 *
 *   pos-window.exe SERVER_URL [AMOUNT_FEN]
 */
#include <stdio.h>
#include <stdlib.h>

#include "ystpay.h"

int main(int argc, char **argv)
{
    ystpay_client *client = NULL;
    ystpay_op *op = NULL;
    ystpay_settlement s = {0};
    char why[512];
    int32_t rc;
    if (argc < 2) {
        fprintf(stderr, "usage: pos-window SERVER_URL [AMOUNT_FEN]\n");
        return 2;
    }
    /* A client with a journal: every payment is recorded before it is sent. */
    rc = ystpay_client_new_ex(argv[1], "demo", "demo123", "0123456789ABCDEF", 0, 0, 0, 0,
                              "journal.db", 0, &client);
    if (rc != YSTPAY_OK) {
        ystpay_last_error(why, sizeof why, NULL);
        fprintf(stderr, "client: %s\n", why);
        return 1;
    }
    /* The till's main window goes where NULL is (it is disabled meanwhile).
     * YSTPAY_WINDOW_ENGLISH for English words. */
    rc = ystpay_window_pay(client, NULL, argc > 2 ? atoll(argv[2]) : 1234, 0, 0, &op);
    if (rc == YSTPAY_OK) {
        s.struct_size = sizeof s;
        ystpay_op_wait(op, 0, &s); /* it has ended: this only reads it */
        printf("outcome %d, %lld fen, req_seq %s\n", (int)s.outcome, (long long)s.total_fee,
               s.req_seq);
        ystpay_op_free(op);
    } else if (rc == YSTPAY_ERR_NOT_SENT) {
        printf("closed before a payment code was scanned: nothing sent\n");
    } else {
        ystpay_last_error(why, sizeof why, NULL);
        printf("not sent (%d): %s\n", (int)rc, why);
    }
    ystpay_client_free(client);
    return rc == YSTPAY_OK && s.outcome == YSTPAY_OUTCOME_PAID ? 0 : 1;
}
