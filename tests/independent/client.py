#!/usr/bin/env python3
"""An independent client of the 赢商通 HTTP API v1.3.1, written from the seed
document alone: Python's hashlib for MD5, base64, xml.etree, urllib, and the
`openssl enc` command for AES/CBC/NoPadding. It shares no code with ystpay.

Usage: client.py API_URL
Pays, queries, refunds, refund-queries, revokes and native-pays against the
simulator's default device (acct demo, pass demo123, key 0123456789ABCDEF),
checks every answer's signature, and checks that tampered requests are
refused. Prints one line per check and a closing 'N passed, M failed'.
"""
import base64
import hashlib
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

ACCT, PASS, KEY = "demo", "demo123", "0123456789ABCDEF"


def md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest().upper()


DSN = md5(ACCT.lower() + KEY + md5(PASS))


def aes(key: bytes, data: bytes, decrypt: bool) -> bytes:
    if not decrypt:
        data += b"\0" * ((-len(data)) % 16 if data else 16)
    k = key.hex()
    iv = key[:16].hex()
    bits = len(key) * 8
    args = ["openssl", "enc", f"-aes-{bits}-cbc", "-K", k, "-iv", iv, "-nopad"]
    if decrypt:
        args.append("-d")
    out = subprocess.run(args, input=data, capture_output=True, check=True).stdout
    return out.rstrip(b"\0") if decrypt else out


def post(url: str, body: str) -> str:
    req = urllib.request.Request(url, data=body.encode("utf-8"),
                                 headers={"Content-Type": "text/xml; charset=UTF-8"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status
        return r.read().decode("utf-8")


seq_counter = [0]


def next_seq() -> str:
    seq_counter[0] += 1
    return "9" + time.strftime("%y%m%d%H%M%S") + "%07d" % (seq_counter[0] * 7 % 10_000_000)


def call(url, request_type, fields, tamper=None):
    """Sends one request; returns the decrypted answer fields as a dict."""
    req_seq = next_seq()
    inner = f"<data><request_type>{request_type}</request_type><dsn>{DSN}</dsn><req_seq>{req_seq}</req_seq>"
    for name, value in fields:
        inner += f"<{name}>{escape(str(value))}</{name}>"
    inner += "</data>"
    data = base64.b64encode(aes(KEY.encode(), inner.encode("utf-8"), False)).decode()
    sig = md5(KEY + DSN + data)
    if tamper == "signature":
        sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    if tamper == "data":
        data = data[:10] + ("A" if data[10] != "A" else "B") + data[11:]
    body = (f"<request><request_type>{request_type}</request_type><account>{ACCT}</account>"
            f"<dsn>{DSN}</dsn><data>{data}</data><signature>{sig}</signature></request>")
    resp = ET.fromstring(post(url, body))
    ts, rdata, rsig = resp.findtext("timestamp"), resp.findtext("data"), resp.findtext("signature")
    if md5(DSN + ts + rdata) != rsig.upper():
        raise AssertionError("answer signature does not verify")
    plain = aes(DSN[:16].encode(), base64.b64decode("".join(rdata.split())), True).decode("utf-8")
    root = ET.fromstring(plain)
    out = {child.tag: (child.text or "").strip() for child in root}
    out["_lines"] = [l.text or "" for l in root.iter("line")]
    out["_req_seq"] = req_seq
    if tamper is None and out.get("req_seq") != req_seq:
        raise AssertionError(f"answer echoes req_seq {out.get('req_seq')!r}, not {req_seq!r}")
    return out


def main():
    url = sys.argv[1]
    passed = failed = 0

    def check(name, cond, detail=""):
        nonlocal passed, failed
        if cond:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name} {detail}")

    pay = call(url, "unitive_pay_request", [("total_fee", 1234), ("auth_code", "134567890123456701")])
    check("pay paid at once", pay.get("result") == "Y" and pay.get("status") == "S", pay)
    check("pay has trans_seq and receipts", bool(pay.get("trans_seq")) and len(pay["_lines"]) > 0, pay)

    q = call(url, "unitive_query_pay_request", [("ori_seq", pay["_req_seq"])])
    check("query reports paid", q.get("status") == "S" and q.get("trans_seq") == pay.get("trans_seq"), q)

    r = call(url, "unitive_refund_request",
             [("trans_seq", pay["trans_seq"]), ("refund_fee", 234), ("reason", "顾客退货 & <测试>")])
    check("partial refund", r.get("result") == "Y" and r.get("refund_fee") in ("234",), r)
    rq = call(url, "unitive_query_refund_request", [("trans_seq", pay["trans_seq"]), ("ori_seq", r["_req_seq"])])
    check("refund query", rq.get("result") == "Y" and rq.get("refund_seq") == r.get("refund_seq"), rq)
    over = call(url, "refund_fee_request",
                [("trans_seq", pay["trans_seq"]), ("refund_fee", 1001), ("reason", "too much")])
    check("refund beyond paid refused", over.get("result") == "N", over)

    pay2 = call(url, "unitive_pay_request", [("total_fee", 500), ("auth_code", "134567890123456702")])
    rv = call(url, "unitive_revoke_request", [("ori_seq", pay2["_req_seq"]), ("channel", "W")])
    check("revoke of a paid payment", rv.get("result") == "Y", rv)
    q2 = call(url, "unitive_query_pay_request", [("ori_seq", pay2["_req_seq"])])
    check("revoked payment is not paid", q2.get("status") != "S", q2)

    n = call(url, "unitive_native_pay_request", [("total_fee", 1), ("expire_time", 300), ("channel", "A")])
    check("native pay waits with a pay_url", n.get("status") == "W" and n.get("pay_url", "").startswith("http"), n)

    for how in ("signature", "data"):
        t = call(url, "unitive_pay_request", [("total_fee", 1), ("auth_code", "134567890123456703")], tamper=how)
        check(f"tampered {how} refused", t.get("result") == "N", t)

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
