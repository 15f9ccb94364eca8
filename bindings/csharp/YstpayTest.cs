// YstpayTest.cs - runs the C# binding against the simulator (Mono on Linux in
// CI, .NET on Windows alike):  YstpayTest.exe API_URL
// Ends with "N passed, M failed"; exit code 1 when anything failed.
using System;
using System.Runtime.InteropServices;
using YstpayInterop;

public static class YstpayTest
{
    static int passed, failed;

    static void Check(bool cond, string what)
    {
        if (cond) { passed++; Console.WriteLine("ok   " + what); }
        else { failed++; Console.WriteLine("FAIL " + what + "  last error: " + Ystpay.LastError()); }
    }

    public static int Main(string[] args)
    {
        if (args.Length < 1) { Console.WriteLine("usage: YstpayTest API_URL"); return 2; }
        Check(Ystpay.Static(Ystpay.ystpay_version()) == YstpayConst.YSTPAY_VERSION_STRING, "version string");
        Check(Ystpay.ystpay_version_number() == YstpayConst.YSTPAY_HEADER_VERSION, "version number");
        Check(Marshal.SizeOf(typeof(YstpayPaymentResult)) == YstpayConst.YSTPAY_PAYMENT_RESULT_SIZE, "payment record size");
        Check(Marshal.SizeOf(typeof(YstpayOrderResult)) == YstpayConst.YSTPAY_ORDER_RESULT_SIZE, "order record size");
        Check(Marshal.SizeOf(typeof(YstpayProdItem)) == YstpayConst.YSTPAY_PROD_ITEM_SIZE, "item record size");

        IntPtr client;
        int rc = Ystpay.ystpay_client_new(Ystpay.Z(args[0]), Ystpay.Z("demo"), Ystpay.Z("demo123"),
            Ystpay.Z("0123456789ABCDEF"), 0, 0, YstpayConst.YSTPAY_ENCODING_UTF8, 0, out client);
        Check(rc == YstpayConst.YSTPAY_OK, "ystpay_client_new");

        var item = Ystpay.NewProdItem();
        item.price_fen = 1760;
        item.goods_fee_fen = -1;
        Array.Copy(Ystpay.Z("2900002400915"), item.goods_id, 14);
        byte[] name = Ystpay.Z("奶油曲奇");
        Array.Copy(name, item.goods_name, name.Length);
        item.quantity[0] = (byte)'1';
        var pay = Ystpay.NewPaymentResult();
        rc = Ystpay.ystpay_pay(client, null, 1760, Ystpay.Z("134567890123500001"), null,
            new[] { item }, 1, ref pay);
        Check(rc == YstpayConst.YSTPAY_OK && pay.outcome == YstpayConst.YSTPAY_OUTCOME_SUCCESS, "ystpay_pay paid");
        Check(Ystpay.Text(pay.trans_seq).Length > 0 && pay.total_fee == 1760, "trans_seq and total_fee");
        for (int i = 0; i < pay.receipt_count; i++)
            Console.WriteLine("     | " + Ystpay.ReceiptLine(pay.receipt_lines, i));

        var refused = Ystpay.NewPaymentResult();
        rc = Ystpay.ystpay_pay(client, null, 100, Ystpay.Z("134567890123500071"), null, null, 0, ref refused);
        Check(rc == YstpayConst.YSTPAY_OK && refused.outcome == YstpayConst.YSTPAY_OUTCOME_FAILED, "refused payment");
        Check(Ystpay.Text(refused.msg).StartsWith("余额不足"), "Chinese message");

        var bad = Ystpay.NewPaymentResult();
        rc = Ystpay.ystpay_pay(client, null, -1, Ystpay.Z("134567890123500001"), null, null, 0, ref bad);
        Check(rc == YstpayConst.YSTPAY_ERR_INVALID_INPUT && Ystpay.LastError().Contains("total_fee"), "negative fee");

        Ystpay.ystpay_client_free(client);
        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
