"""Value patterns as DuckDB predicates over ``val`` (text) and ``kind`` (JSON kind).

Regular expressions are RE2 (DuckDB's ``regexp_full_match``). Epoch timestamps are
recognised by magnitude within 2000-2100, so ordinary counts and amounts do not qualify.
Currency codes are checked against ISO 4217 rather than any three capitals ("USA" is not one).
"""

from __future__ import annotations

ISO_4217 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF "
    "CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL "
    "HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL "
    "MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON "
    "RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX "
    "USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL"
).split()

_SECONDS = (946684800, 4102444800)  # 2000-01-01 .. 2100-01-01
_TEXT = "kind = 's'"
_WHOLE = "kind IN ('s', 'i')"

PREDICATES: dict[str, str] = {
    "email": rf"{_TEXT} AND regexp_full_match(val, '[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{{2,}}')",
    "url": rf"{_TEXT} AND regexp_full_match(val, '(?i)(https?://|www\.)[^\s]+')",
    "phone": rf"{_TEXT} AND regexp_full_match(val, '\+?[0-9 ().\-]{{7,20}}') "
             r"AND length(regexp_replace(val, '[^0-9]', '', 'g')) BETWEEN 7 AND 15 "
             r"AND NOT regexp_full_match(val, '\d{4}-\d{2}-\d{2}')",
    "iso_date": rf"{_TEXT} AND regexp_full_match(val, '\d{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])')",
    "iso_datetime": rf"{_TEXT} AND regexp_full_match(val, "
                    r"'\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?"
                    r"(Z|[+\-]\d{2}(:?\d{2})?)?')",
    "epoch_seconds": rf"{_WHOLE} AND regexp_full_match(val, '\d{{10}}') "
                     rf"AND TRY_CAST(val AS BIGINT) BETWEEN {_SECONDS[0]} AND {_SECONDS[1]}",
    "epoch_millis": rf"{_WHOLE} AND regexp_full_match(val, '\d{{13}}') "
                    rf"AND TRY_CAST(val AS BIGINT) BETWEEN {_SECONDS[0] * 1000} AND {_SECONDS[1] * 1000}",
    "currency_code": f"{_TEXT} AND val IN ({', '.join(repr(c) for c in ISO_4217)})",
    "uuid": rf"{_TEXT} AND regexp_full_match(val, '(?i)[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}')",
    # identifiers: one token of letters/digits (optionally joined by - _ :), with a digit, 6-64 long
    "id_like": rf"{_WHOLE} AND regexp_full_match(val, '[A-Za-z0-9]+([_:\-][A-Za-z0-9]+)*') "
               r"AND length(val) BETWEEN 6 AND 64 AND regexp_matches(val, '[0-9]')",
}
