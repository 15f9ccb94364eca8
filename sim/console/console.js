// ystpay-sim console (sim/README.md "Console").
//
// Uses only the simulator's JSON control API, by same-origin relative paths
// under /sim/. Every value from the simulator goes into the page as text
// (textContent, attributes), never as markup.
"use strict";

(function () {
  const POLL_MS = 1000;
  const MAX_ORDERS = 200;
  const MAX_NOTICES = 100;

  const TEXT = {
    zh: {
      title: "模拟平台控制台",
      connecting: "正在连接…",
      online: "已连接",
      offline: "连不上模拟平台",
      requests: "接口请求 {n} 次",
      orders: "订单",
      orders_hint: "实时显示（每秒刷新，最新的 200 笔在前）。等待中的订单可以在这里扮演顾客。",
      no_orders: "还没有订单。",
      col_time: "时间",
      col_merchant: "商户",
      col_req_seq: "请求流水号",
      col_kind: "类型",
      col_channel: "渠道",
      col_amount: "金额",
      col_status: "状态",
      col_refunds: "退款",
      col_pay_count: "扣款次数",
      col_actions: "顾客操作",
      col_attempt: "第几次",
      col_delivered: "结果",
      col_answer: "接收方应答",
      kind_barcode: "付款码",
      kind_native: "扫码（二维码）",
      kind_js: "公众号/服务窗",
      kind_h5: "H5",
      channel_W: "微信",
      channel_A: "支付宝",
      channel_none: "—",
      status_waiting: "等待中",
      status_paid: "已支付",
      status_failed: "失败",
      status_closed: "已关闭",
      status_revoked: "已撤销",
      pay: "顾客付款",
      confirm: "立即确认密码",
      walk_away: "顾客离开",
      done_pay: "顾客已为 {seq} 付款。",
      done_confirm: "顾客已确认 {seq} 的密码。",
      done_walk_away: "顾客已离开 {seq}。",
      refused: "模拟平台拒绝：{why}",
      failed_request: "请求失败：{why}",
      faults: "故障队列",
      faults_hint: "接下来的接口请求按顺序各消耗一个故障（控制台的请求不算）。",
      fault_kind: "故障",
      fault_count: "次数",
      fault_delay: "延迟（毫秒）",
      inject: "加入队列",
      clear: "清空队列",
      no_faults: "队列为空：请求正常处理。",
      queued: "已加入 {n} 个故障。",
      cleared: "已清空 {n} 个故障。",
      fault_delay_desc: "延迟 {ms} 毫秒后正常处理",
      "fault_delay_opt": "delay — 延迟后正常处理",
      "fault_drop_before_commit": "drop_before_commit — 不处理，直接断开连接",
      "fault_drop_after_commit": "drop_after_commit — 处理并生效，不应答就断开",
      "fault_http_500": "http_500 — 不处理，应答 HTTP 500",
      "fault_garbage": "garbage — 处理并生效，应答非 XML 内容",
      "fault_bad_signature": "bad_signature — 处理并生效，应答签名错误",
      notices: "支付通知",
      notices_hint: "扫码/公众号/H5 订单支付后，模拟平台向 notify URL 发送的每一次通知（最近 100 次）。",
      no_notices: "还没有发送通知（未配置 --notify-url 时不发送）。",
      delivered: "已送达",
      not_delivered: "未送达",
    },
    en: {
      title: "Simulator console",
      connecting: "connecting…",
      online: "connected",
      offline: "simulator not reachable",
      requests: "{n} API requests",
      orders: "Orders",
      orders_hint: "Live (refreshed every second, newest 200 first). Act as the customer on a waiting order.",
      no_orders: "No orders yet.",
      col_time: "Time",
      col_merchant: "Merchant",
      col_req_seq: "req_seq",
      col_kind: "Kind",
      col_channel: "Channel",
      col_amount: "Amount",
      col_status: "Status",
      col_refunds: "Refunds",
      col_pay_count: "pay_count",
      col_actions: "Customer",
      col_attempt: "Attempt",
      col_delivered: "Result",
      col_answer: "Receiver's answer",
      kind_barcode: "Barcode",
      kind_native: "QR (native)",
      kind_js: "JS",
      kind_h5: "H5",
      channel_W: "WeChat",
      channel_A: "Alipay",
      channel_none: "—",
      status_waiting: "waiting",
      status_paid: "paid",
      status_failed: "failed",
      status_closed: "closed",
      status_revoked: "revoked",
      pay: "Customer pays",
      confirm: "Confirm now",
      walk_away: "Walk away",
      done_pay: "The customer paid {seq}.",
      done_confirm: "The customer confirmed {seq}.",
      done_walk_away: "The customer walked away from {seq}.",
      refused: "The simulator refused: {why}",
      failed_request: "The request failed: {why}",
      faults: "Fault queue",
      faults_hint: "The next API requests each take one fault, first in, first out (console requests do not count).",
      fault_kind: "Fault",
      fault_count: "Count",
      fault_delay: "Delay (ms)",
      inject: "Queue",
      clear: "Clear queue",
      no_faults: "The queue is empty: requests are processed normally.",
      queued: "Queued {n} fault(s).",
      cleared: "Cleared {n} fault(s).",
      fault_delay_desc: "wait {ms} ms, then answer normally",
      "fault_delay_opt": "delay — wait, then answer normally",
      "fault_drop_before_commit": "drop_before_commit — close the connection, nothing processed",
      "fault_drop_after_commit": "drop_after_commit — process, then close with no answer",
      "fault_http_500": "http_500 — HTTP 500, nothing processed",
      "fault_garbage": "garbage — process, answer a body that is not XML",
      "fault_bad_signature": "bad_signature — process, answer with a corrupted signature",
      notices: "Payment notifications",
      notices_hint: "Every attempt to deliver a notification of a paid QR/JS/H5 order to the notify URL (last 100).",
      no_notices: "No notification sent yet (none without --notify-url).",
      delivered: "delivered",
      not_delivered: "not delivered",
    },
  };

  const $ = (id) => document.getElementById(id);

  function pickLang() {
    const asked = new URLSearchParams(window.location.search).get("lang");
    if (asked === "zh" || asked === "en") return asked;
    try {
      const kept = window.localStorage.getItem("ystpay-sim-lang");
      if (kept === "zh" || kept === "en") return kept;
    } catch (e) {
      // Storage may be off; the browser's language decides.
    }
    return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  let lang = pickLang();

  function t(key, vars) {
    let s = TEXT[lang][key];
    if (s === undefined) s = key;
    if (vars) {
      for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    }
    return s;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function yuan(fen) {
    const n = Number(fen) || 0;
    const a = Math.abs(n);
    return (n < 0 ? "-" : "") + "¥" + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0");
  }

  // "2015-06-09 11:17:48:751" -> "06-09 11:17:48"
  function shortTime(s) {
    return typeof s === "string" && s.length >= 19 ? s.slice(5, 19) : String(s || "");
  }

  // The last message, kept as key + values so a language switch retells it.
  let said = null;

  function say(key, vars, isError) {
    said = { key: key, vars: vars, isError: isError };
    const m = $("message");
    m.textContent = t(key, vars);
    m.className = isError ? "error" : "ok";
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: "no-store", credentials: "same-origin" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  // POST/DELETE to the control API; resolves to [ok, body].
  async function send(method, path, body) {
    const init = { method: method, cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    let answer = {};
    try {
      answer = await r.json();
    } catch (e) {
      answer = { error: "HTTP " + r.status };
    }
    return [r.ok, answer];
  }

  // ------------------------------------------------------------ labels

  function applyLabels() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
    const b = $("lang");
    b.textContent = lang === "zh" ? "English" : "中文";
    b.lang = lang === "zh" ? "en" : "zh-CN";
    document.title = t("title") + " · ystpay-sim";
  }

  // ------------------------------------------------------------ orders

  const rows = new Map(); // merchant + "\n" + req_seq -> { tr, sig, actions }

  function actionsFor(o) {
    if (o.status !== "waiting") return [];
    return o.kind === "barcode" ? ["confirm", "walk_away"] : ["pay"];
  }

  const ENDPOINT = {
    pay: "customer-pays",
    confirm: "customer-confirms",
    walk_away: "customer-walks-away",
  };

  async function act(action, merchant, reqSeq, tr) {
    for (const b of tr.querySelectorAll("button")) b.disabled = true;
    try {
      const [ok, answer] = await send("POST", ENDPOINT[action], {
        merchant: merchant,
        req_seq: reqSeq,
      });
      if (ok) say("done_" + action, { seq: reqSeq }, false);
      else say("refused", { why: answer.error || "?" }, true);
    } catch (e) {
      say("failed_request", { why: e.message }, true);
    }
    refreshSoon();
  }

  function fillRow(row, o) {
    const tr = row.tr;
    tr.dataset.status = o.status;
    const cells = [
      [shortTime(o.created), "time", o.created],
      [o.merchant, "merchant"],
      [o.req_seq, "req-seq", o.trans_seq ? "trans_seq " + o.trans_seq : ""],
      [t("kind_" + o.kind), "kind"],
      [o.channel ? t("channel_" + o.channel) : t("channel_none"), "channel"],
      [yuan(o.total_fee), "num amount"],
      [t("status_" + o.status), "status s-" + o.status],
      [
        o.refunded_fee > 0 || o.refunds.length > 0
          ? yuan(o.refunded_fee) + (o.refunds.length ? " (" + o.refunds.length + ")" : "")
          : "—",
        "num refunds",
      ],
      [String(o.pay_count), "num pay-count"],
    ];
    while (tr.children.length < cells.length + 1) tr.appendChild(el("td"));
    cells.forEach(([text, cls, title], i) => {
      const td = tr.children[i];
      td.className = cls;
      td.textContent = text;
      if (title) td.title = title;
      else td.removeAttribute("title");
    });
    tr.children[6].dataset.status = o.status;
    // Buttons are replaced only when what they can do changes, so a click
    // never lands on a button that a refresh just removed.
    const wanted = actionsFor(o).join(" ") + "|" + lang;
    if (row.actions !== wanted) {
      row.actions = wanted;
      const td = tr.children[cells.length];
      td.className = "actions";
      td.replaceChildren();
      for (const a of actionsFor(o)) {
        const b = el("button", { type: "button", "data-action": a.replace("_", "-") }, t(a));
        b.addEventListener("click", () => act(a, o.merchant, o.req_seq, tr));
        td.appendChild(b);
      }
    }
  }

  function renderOrders(orders) {
    const body = $("orders").tBodies[0];
    const seen = new Set();
    orders.forEach((o, i) => {
      const key = o.merchant + "\n" + o.req_seq;
      seen.add(key);
      let row = rows.get(key);
      if (!row) {
        const tr = el("tr");
        tr.dataset.merchant = o.merchant;
        tr.dataset.reqSeq = o.req_seq;
        tr.dataset.kind = o.kind;
        row = { tr: tr, sig: "", actions: null };
        rows.set(key, row);
      }
      const sig = JSON.stringify(o) + lang;
      if (row.sig !== sig) {
        row.sig = sig;
        fillRow(row, o);
      }
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
    });
    for (const [key, row] of rows) {
      if (!seen.has(key)) {
        row.tr.remove();
        rows.delete(key);
      }
    }
    $("no-orders").hidden = orders.length > 0;
  }

  // ------------------------------------------------------------ faults

  let faultKinds = "";
  let faultQueue = "";

  function renderFaults(f) {
    const kinds = JSON.stringify(f.kinds) + lang;
    if (kinds !== faultKinds) {
      faultKinds = kinds;
      const sel = $("fault-kind");
      const was = sel.value;
      sel.replaceChildren();
      for (const k of f.kinds) {
        const label = k === "delay" ? t("fault_delay_opt") : t("fault_" + k);
        sel.appendChild(el("option", { value: k }, label === "fault_" + k ? k : label));
      }
      if (f.kinds.includes(was)) sel.value = was;
      showDelay();
    }
    const queue = JSON.stringify(f.queued) + lang;
    if (queue !== faultQueue) {
      faultQueue = queue;
      const ol = $("fault-queue");
      ol.replaceChildren();
      for (const q of f.queued) {
        const text =
          q.kind === "delay" ? "delay — " + t("fault_delay_desc", { ms: q.delay_ms }) : q.kind;
        ol.appendChild(el("li", { "data-kind": q.kind }, text));
      }
      $("no-faults").hidden = f.queued.length > 0;
    }
  }

  function showDelay() {
    $("fault-delay-label").hidden = $("fault-kind").value !== "delay";
  }

  async function inject(ev) {
    ev.preventDefault();
    const kind = $("fault-kind").value;
    const spec = { kind: kind, count: Number($("fault-count").value) || 1 };
    if (kind === "delay") spec.delay_ms = Number($("fault-delay").value) || 0;
    try {
      const [ok, answer] = await send("POST", "faults", spec);
      if (ok) say("queued", { n: answer.queued }, false);
      else say("refused", { why: answer.error || "?" }, true);
    } catch (e) {
      say("failed_request", { why: e.message }, true);
    }
    refreshSoon();
  }

  async function clearFaults() {
    try {
      const [ok, answer] = await send("DELETE", "faults");
      if (ok) say("cleared", { n: answer.cleared }, false);
      else say("refused", { why: answer.error || "?" }, true);
    } catch (e) {
      say("failed_request", { why: e.message }, true);
    }
    refreshSoon();
  }

  // ------------------------------------------------------------ notices

  let noticesSig = "";

  function renderNotices(list) {
    const sig = JSON.stringify(list) + lang;
    if (sig === noticesSig) return;
    noticesSig = sig;
    const body = $("notices").tBodies[0];
    body.replaceChildren();
    for (const n of list.slice().reverse()) {
      const tr = el("tr", { "data-req-seq": n.req_seq, "data-attempt": String(n.attempt) });
      tr.appendChild(el("td", { class: "time", title: n.at || "" }, shortTime(n.at)));
      tr.appendChild(el("td", { class: "merchant" }, n.merchant));
      tr.appendChild(el("td", { class: "req-seq" }, n.req_seq));
      tr.appendChild(el("td", { class: "num" }, String(n.attempt)));
      tr.appendChild(
        el(
          "td",
          { class: n.delivered ? "s-paid" : "s-failed", "data-delivered": String(n.delivered) },
          n.delivered ? t("delivered") : t("not_delivered"),
        ),
      );
      const detail = String(n.detail || "");
      tr.appendChild(
        el(
          "td",
          { class: "answer", title: detail },
          detail.length > 200 ? detail.slice(0, 200) + "…" : detail,
        ),
      );
      body.appendChild(tr);
    }
    $("no-notices").hidden = list.length > 0;
  }

  // ------------------------------------------------------------ polling

  let merchants = null;
  let timer = null;
  let busy = false;

  function setConn(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = text;
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      if (merchants === null) merchants = await getJson("merchants");
      const [health, faults, notices, ...perMerchant] = await Promise.all([
        getJson("health"),
        getJson("faults"),
        getJson("notices?limit=" + MAX_NOTICES),
        ...merchants.map((m) => getJson("orders/" + encodeURIComponent(m) + "?limit=" + MAX_ORDERS)),
      ]);
      const orders = [];
      perMerchant.forEach((list, i) => {
        for (const o of list) orders.push(Object.assign({ merchant: merchants[i] }, o));
      });
      orders.sort((a, b) =>
        a.created === b.created
          ? b.req_seq.localeCompare(a.req_seq)
          : b.created.localeCompare(a.created),
      );
      renderOrders(orders.slice(0, MAX_ORDERS));
      renderFaults(faults);
      renderNotices(notices);
      setConn("online", t("online"));
      $("requests").textContent = t("requests", { n: health.requests });
    } catch (e) {
      setConn("offline", t("offline"));
    } finally {
      busy = false;
      timer = setTimeout(refresh, POLL_MS);
    }
  }

  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 0);
  }

  function switchLang() {
    lang = lang === "zh" ? "en" : "zh";
    try {
      window.localStorage.setItem("ystpay-sim-lang", lang);
    } catch (e) {
      // Not kept across reloads then.
    }
    applyLabels();
    const c = $("conn");
    c.textContent = t(c.dataset.state);
    if (said) say(said.key, said.vars, said.isError);
    refreshSoon();
  }

  document.addEventListener("DOMContentLoaded", () => {
    applyLabels();
    setConn("connecting", t("connecting"));
    $("lang").addEventListener("click", switchLang);
    $("fault-form").addEventListener("submit", inject);
    $("fault-clear").addEventListener("click", clearFaults);
    $("fault-kind").addEventListener("change", showDelay);
    refresh();
  });
})();
