"""Reading what spreadsheets hold: dates, money, numbers, countries, yes/no.

Each parser takes the cell's text and returns the value a command takes, or raises
``ValueError`` with a sentence a person can act on (it becomes the reject's reason).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, list_currencies

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "janv", "janvier", "januar", "ene", "enero", "gen", "gennaio"),
            ("feb", "february", "fev", "fevr", "fevrier", "februar", "febrero", "febbraio"),
            ("mar", "march", "mars", "marz", "maerz", "marzo"),
            ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio"),
            ("jun", "june", "juin", "juni", "junio", "giu", "giugno"),
            ("jul", "july", "juil", "juillet", "juli", "julio", "lug", "luglio"),
            ("aug", "august", "aout", "ago", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre", "set", "settembre"),
            ("oct", "october", "octobre", "okt", "oktober", "octubre", "ott", "ottobre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "decembre", "dez", "dezember", "dic", "diciembre", "dicembre"),
        ]
    )
    for name in names
}

ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
NUMERIC_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[T ].*)?$")
WORDY_DATE = re.compile(
    r"^(?:[^\W\d_]+,?\s+)?(\d{1,2})(?:st|nd|rd|th)?[\s.-]+([^\W\d_]+)\.?[\s,.-]+(\d{4})$"
)
WORDY_DATE_US = re.compile(
    r"^(?:[^\W\d_]+,?\s+)?([^\W\d_]+)\.?[\s.-]+(\d{1,2})(?:st|nd|rd|th)?,?[\s.-]+(\d{4})$"
)

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW"}
_CURRENCIES = frozenset(list_currencies())


def fold(text: str) -> str:
    """Lower case without accents or punctuation: ``"Févr."`` → ``"fevr"``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def ambiguous_date_order(text: str) -> str | None:
    """For ``03/04/2026`` style text: ``"dmy"`` or ``"mdy"`` when the numbers decide it,
    ``"either"`` when both readings are possible, ``None`` when it is not such a date."""
    m = NUMERIC_DATE.match(text.strip())
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if a > 12 >= b:
        return "dmy"
    if b > 12 >= a:
        return "mdy"
    return "either"


def parse_date(text: str, order: str = "dmy") -> date:
    """``2026-03-04``, ``04/03/2026`` (``order`` says day or month first), ``4.3.26``,
    ``4 March 2026``, ``March 4, 2026``, ``2026-03-04T10:00:00Z`` (the date part)."""
    s = text.strip().lower()
    try:
        m = ISO_DATE.match(s)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = NUMERIC_DATE.match(s)
        if m:
            a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if year < 100:
                year += 2000 if year < 70 else 1900
            if a > 12:
                day, month = a, b
            elif b > 12 or order == "mdy":
                day, month = b, a
            else:
                day, month = a, b
            return date(year, month, day)
        m = WORDY_DATE.match(s)
        if m and fold(m.group(2)) in MONTHS:
            return date(int(m.group(3)), MONTHS[fold(m.group(2))], int(m.group(1)))
        m = WORDY_DATE_US.match(s)
        if m and fold(m.group(1)) in MONTHS:
            return date(int(m.group(3)), MONTHS[fold(m.group(1))], int(m.group(2)))
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None
    try:
        return datetime.fromisoformat(text.strip()).date()
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date (write e.g. 2026-03-04 or 04/03/2026)")


def parse_money(text: str, currency: str | None) -> tuple[str, str | None]:
    """``"€24,000.50"`` → ``("24000.50", "EUR")``; ``"1.234,5"`` → ``("1234.5", None)``.

    The decimal separator is the last of ``,`` and ``.`` when both appear; when only one
    appears, a group of exactly three digits after it is read as thousands unless the
    currency has three decimals. Spaces, apostrophes and currency signs or codes are
    dropped; the currency found in the text, if any, is returned."""
    s = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    found: str | None = None
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in s:
            found = code
            s = s.replace(symbol, "")
    code = re.search(r"[A-Za-z]{3}", s)
    if code:
        if code.group(0).upper() not in _CURRENCIES:
            raise ValueError(f"{text!r} is not an amount (write e.g. 24000.50)")
        found = code.group(0).upper()
        s = s.replace(code.group(0), "")
    s = re.sub(r"[\s']", "", s)
    if (s.startswith("(") and s.endswith(")")) or s.startswith("-"):
        raise ValueError(f"{text!r} is negative; amounts must not be")
    if not re.fullmatch(r"[0-9.,]+", s) or not re.search(r"\d", s):
        raise ValueError(f"{text!r} is not an amount (write e.g. 24000.50)")
    digits = get_currency_precision(found or currency or "EUR")
    if "," in s and "." in s:
        decimal_mark = "," if s.rfind(",") > s.rfind(".") else "."
    elif "," in s or "." in s:
        mark = "," if "," in s else "."
        grouped = re.fullmatch(rf"\d{{1,3}}(?:{re.escape(mark)}\d{{3}})+", s) is not None
        if grouped and (s.count(mark) > 1 or digits != 3):
            decimal_mark = ""
        elif s.count(mark) == 1:
            decimal_mark = mark
        else:
            raise ValueError(f"{text!r} is not an amount (write e.g. 24000.50)")
    else:
        decimal_mark = ""
    thousands = {",", "."} - {decimal_mark}
    for t in thousands:
        s = s.replace(t, "")
    if decimal_mark:
        s = s.replace(decimal_mark, ".")
    try:
        Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount (write e.g. 24000.50)") from None
    return s, found


def parse_int(text: str) -> int:
    s = re.sub(r"[\s',]", "", text.strip())
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number")
    return int(value)


def parse_number(text: str) -> int | float:
    s, _ = parse_money(text, "KWD")  # three decimals allowed, thousands groups understood
    value = Decimal(s)
    return int(value) if value == value.to_integral_value() else float(value)


TRUE = frozenset({"1", "y", "yes", "true", "x", "oui", "ja", "si", "on", "checked"})
FALSE = frozenset({"0", "n", "no", "false", "non", "nein", "off", "unchecked"})


def parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise ValueError(f"{text!r} is not yes or no")


@cache
def _countries() -> dict[str, str]:
    names: dict[str, str] = {}
    for lang in ("en", "fr", "de", "es", "it", "nl", "pt"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(fold(name), code)
    names.update({"usa": "US", "us": "US", "uk": "GB", "greatbritain": "GB", "england": "GB"})
    return names


def parse_country(text: str) -> str:
    """``FR``, ``fr``, ``France``, ``Allemagne``, ``United States`` → ISO 3166 code."""
    s = text.strip()
    if len(s) == 2 and s.isalpha():
        return s.upper()
    code = _countries().get(fold(s))
    if code is None:
        raise ValueError(f"{text!r} is not a country (write a name or a code such as FR)")
    return code


def split_list(text: str) -> list[str]:
    """``"a@x.io; b@x.io, c@x.io"`` → three items (``;``, ``,``, ``|`` or new lines)."""
    return [p.strip() for p in re.split(r"[;,|\n]", text) if p.strip()]
