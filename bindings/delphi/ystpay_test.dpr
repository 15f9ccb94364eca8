(* ystpay_test - Free Pascal ({$mode delphi}) test of the Delphi unit against
  the simulator. scripts/ci-ffi.sh builds it with

    fpc -Mdelphi -Fubindings/delphi ... bindings/delphi/ystpay_test.dpr

  and runs it as: ystpay_test http://127.0.0.1:PORT/ystpay/service/unitive.api
  It ends with "N passed, M failed" and exits 1 when anything failed. *)
program ystpay_test;

{$IFDEF FPC}{$MODE DELPHI}{$CODEPAGE UTF8}{$ENDIF}
{$APPTYPE CONSOLE}

uses
  SysUtils, ystpay;

var
  Passed, Failed: Integer;

procedure Check(Cond: Boolean; const What: string);
begin
  if Cond then
  begin
    Inc(Passed);
    WriteLn('ok   ', What);
  end
  else
  begin
    Inc(Failed);
    WriteLn('FAIL ', What, '  last error: ', YstpayLastError);
  end;
end;

var
  Url: AnsiString;
  Client, Gbk: PYstpayClient;
  Pay, Query: TYstpayPaymentResult;
  Refund: TYstpayRefundResult;
  Order: TYstpayOrderResult;
  Items: array[0..1] of TYstpayProdItem;
  Seq: array[0..31] of AnsiChar;
  Needed, I, Rc: Integer;
  Code: AnsiString;
begin
  Passed := 0;
  Failed := 0;
  if ParamCount < 1 then
  begin
    WriteLn('usage: ystpay_test API_URL');
    Halt(2);
  end;
  Url := AnsiString(ParamStr(1));

  Check(StrPas(ystpay_version) = YSTPAY_VERSION_STRING, 'version string matches the unit');
  Check(ystpay_version_number = YSTPAY_HEADER_VERSION, 'version number matches the unit');
  Check(SizeOf(TYstpayPaymentResult) = YSTPAY_PAYMENT_RESULT_SIZE, 'SizeOf payment result');
  Check(SizeOf(TYstpayRefundResult) = YSTPAY_REFUND_RESULT_SIZE, 'SizeOf refund result');
  Check(SizeOf(TYstpayRevokeResult) = YSTPAY_REVOKE_RESULT_SIZE, 'SizeOf revoke result');
  Check(SizeOf(TYstpayOrderResult) = YSTPAY_ORDER_RESULT_SIZE, 'SizeOf order result');
  Check(SizeOf(TYstpayNotice) = YSTPAY_NOTICE_SIZE, 'SizeOf notice');
  Check(SizeOf(TYstpayProdItem) = YSTPAY_PROD_ITEM_SIZE, 'SizeOf prod item');
  Check(StrPas(ystpay_strerror(YSTPAY_ERR_OUTCOME_UNKNOWN)) <> '', 'strerror');

  Client := nil;
  Rc := ystpay_client_new(PAnsiChar(Url), 'demo', 'demo123', '0123456789ABCDEF', 0, 0,
    YSTPAY_ENCODING_UTF8, 0, Client);
  Check((Rc = YSTPAY_OK) and (Client <> nil), 'ystpay_client_new');
  Rc := ystpay_client_new(PAnsiChar(Url), 'demo', 'demo123', 'short', 0, 0, 0, 0, Gbk);
  Check(Rc = YSTPAY_ERR_CONFIG, 'bad key is YSTPAY_ERR_CONFIG');
  Check(Pos('private_key', string(YstpayLastError)) > 0, 'last error names the field');

  { a paid barcode payment with two product lines (UTF-8 names) }
  FillChar(Items, SizeOf(Items), 0);
  for I := 0 to 1 do
  begin
    Items[I].struct_size := SizeOf(TYstpayProdItem);
    Items[I].goods_fee_fen := -1;
    YstpaySetStr(Items[I].quantity, '1');
  end;
  YstpaySetStr(Items[0].goods_id, '2900002400915');
  YstpaySetStr(Items[0].goods_name, UTF8Encode('奶油曲奇'));
  Items[0].price_fen := 1760;
  YstpaySetStr(Items[1].goods_id, '2900002400922');
  YstpaySetStr(Items[1].goods_name, UTF8Encode('小石头'));
  Items[1].price_fen := 800;
  FillChar(Pay, SizeOf(Pay), 0);
  Pay.struct_size := SizeOf(Pay);
  Code := '134567890123400001';
  Rc := ystpay_pay(Client, nil, 2560, PAnsiChar(Code), 'W', @Items[0], 2, Pay);
  Check(Rc = YSTPAY_OK, 'ystpay_pay');
  Check(Pay.outcome = YSTPAY_OUTCOME_SUCCESS, 'paid');
  Check(Pay.total_fee = 2560, 'total_fee');
  Check(Length(YstpayStr(Pay.trans_seq)) > 0, 'trans_seq');
  Check(Pay.receipt_count > 0, 'receipt lines');
  for I := 0 to Pay.receipt_count - 1 do
    WriteLn('     | ', YstpayReceiptLine(Pay.receipt_lines, I));

  FillChar(Query, SizeOf(Query), 0);
  Query.struct_size := SizeOf(Query);
  Rc := ystpay_query_pay(Client, nil, @Pay.req_seq[0], nil, Query);
  Check((Rc = YSTPAY_OK) and (Query.outcome = YSTPAY_OUTCOME_SUCCESS), 'ystpay_query_pay');

  FillChar(Refund, SizeOf(Refund), 0);
  Refund.struct_size := SizeOf(Refund);
  Rc := ystpay_refund(Client, nil, @Pay.trans_seq[0], 500, 'customer returned goods', Refund);
  Check((Rc = YSTPAY_OK) and (Refund.outcome = YSTPAY_OUTCOME_SUCCESS), 'ystpay_refund');

  { refused: YSTPAY_OK with outcome FAILED and the platform's words }
  FillChar(Pay, SizeOf(Pay), 0);
  Pay.struct_size := SizeOf(Pay);
  Code := '134567890123400071';
  Rc := ystpay_pay(Client, nil, 100, PAnsiChar(Code), nil, nil, 0, Pay);
  Check((Rc = YSTPAY_OK) and (Pay.outcome = YSTPAY_OUTCOME_FAILED), 'refused payment');
  Check(YstpayStr(Pay.code) = 'E12001', 'refusal code');

  { bad input: 11-digit fee, wrong struct_size, short buffer }
  Code := '134567890123400001';
  Rc := ystpay_pay(Client, nil, 10000000000, PAnsiChar(Code), nil, nil, 0, Pay);
  Check(Rc = YSTPAY_ERR_INVALID_INPUT, '11-digit fee');
  Pay.struct_size := 8;
  Rc := ystpay_pay(Client, nil, 100, PAnsiChar(Code), nil, nil, 0, Pay);
  Check(Rc = YSTPAY_ERR_STRUCT_SIZE, 'wrong struct_size');
  Needed := 0;
  Rc := ystpay_next_req_seq(Client, @Seq[0], 4, @Needed);
  Check((Rc = YSTPAY_ERR_BUFFER_TOO_SMALL) and (Needed = 21), 'short buffer reports the size');
  Rc := ystpay_next_req_seq(Client, @Seq[0], SizeOf(Seq), nil);
  Check((Rc = YSTPAY_OK) and (Length(StrPas(PAnsiChar(@Seq[0]))) = 20), 'ystpay_next_req_seq');

  { a QR-code order }
  FillChar(Order, SizeOf(Order), 0);
  Order.struct_size := SizeOf(Order);
  Rc := ystpay_native_pay(Client, nil, 1200, 0, 'W', Order);
  Check((Rc = YSTPAY_OK) and (Order.outcome = YSTPAY_OUTCOME_WAITING), 'ystpay_native_pay');
  Check(Copy(YstpayStr(Order.pay_url), 1, 9) = 'weixin://', 'pay_url');

  { GBK client: the platform's Chinese message arrives in code page 936 }
  Gbk := nil;
  Rc := ystpay_client_new(PAnsiChar(Url), 'demo', 'demo123', '0123456789ABCDEF', 0, 0,
    YSTPAY_ENCODING_GBK, 0, Gbk);
  Check(Rc = YSTPAY_OK, 'GBK client');
  FillChar(Pay, SizeOf(Pay), 0);
  Pay.struct_size := SizeOf(Pay);
  Code := '134567890123400072';
  Rc := ystpay_pay(Gbk, nil, 100, PAnsiChar(Code), nil, nil, 0, Pay);
  Check((Rc = YSTPAY_OK) and (Copy(YstpayStr(Pay.msg), 1, 8) = #$D3#$E0#$B6#$EE#$B2#$BB#$D7#$E3),
    'GBK message bytes');

  ystpay_client_free(Gbk);
  ystpay_client_free(Client);
  ystpay_client_free(nil);
  WriteLn(Passed, ' passed, ', Failed, ' failed');
  if Failed > 0 then
    Halt(1);
end.
