"""Money: given and shown in major units as a decimal string, stored in integer minor units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

from .errors import invalid

_CURRENCIES = frozenset(list_currencies())


def check_currency(code: str, field: str = "currency") -> str:
    """An ISO 4217 code, upper-cased; anything else is a field error."""
    norm = (code or "").strip().upper()
    if norm not in _CURRENCIES:
        raise invalid(field, f"{code!r} is not an ISO 4217 currency code (e.g. EUR, USD, JPY)")
    return norm


def to_minor(value: str | int | Decimal, currency: str, field: str = "value") -> int:
    """``"12000.50"`` EUR → ``1200050``. Refuses floats' cousins: more decimals than the
    currency has, negative amounts, and text that is not a number."""
    currency = check_currency(currency)
    try:
        amount = Decimal(str(value).strip().replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise invalid(field, f"{value!r} is not a number (write e.g. 12000.50)") from None
    if not amount.is_finite():
        raise invalid(field, "must be a finite number")
    if amount < 0:
        raise invalid(field, "must not be negative")
    digits = get_currency_precision(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise invalid(field, f"{currency} has {digits} decimal places; {value!r} has more")
    minor = int(scaled)
    if minor > 9_000_000_000_000_000:
        raise invalid(field, "is too large")
    return minor


def to_major(minor: int, currency: str) -> str:
    """``1200050`` EUR → ``"12000.50"``."""
    digits = get_currency_precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
