"""Display units a channel may be converted to (`[sensors.channels.X] unit = "°F"`).

Apart from filters.py so that the config loader can check a unit against the channel's base unit
when it loads the file, and polling can convert with the same table.
"""

from __future__ import annotations

from collections.abc import Callable

from pi_dashboard.errors import ConfigError

CONVERSIONS: dict[tuple[str, str], Callable[[float], float]] = {
    ("°C", "°F"): lambda c: c * 9 / 5 + 32,
    ("°C", "K"): lambda c: c + 273.15,
    ("hPa", "inHg"): lambda p: p * 0.029529983071445,
    ("hPa", "mmHg"): lambda p: p * 0.750061682704,
    ("hPa", "kPa"): lambda p: p / 10,
    ("hPa", "Pa"): lambda p: p * 100,
    ("m", "cm"): lambda m: m * 100,
    ("m", "mm"): lambda m: m * 1000,
    ("m", "in"): lambda m: m / 0.0254,
    ("V", "mV"): lambda v: v * 1000,
    ("B", "MB"): lambda b: b / 1e6,
    ("B", "GB"): lambda b: b / 1e9,
    ("B", "MiB"): lambda b: b / 1048576,
    ("B", "GiB"): lambda b: b / 1073741824,
}
UNIT_ALIASES = {"degC": "°C", "C": "°C", "degF": "°F", "F": "°F"}


def unit_converter(
    base: str | None, wanted: str | None, path: str
) -> Callable[[float], float] | None:
    """The conversion from a channel's base unit to the unit a user asked for, or a ConfigError."""
    if wanted is None:
        return None
    wanted = UNIT_ALIASES.get(wanted, wanted)
    if wanted == base:
        return None
    fn = CONVERSIONS.get((base or "", wanted))
    if fn is None:
        options = sorted(t for (f, t) in CONVERSIONS if f == base)
        hint = f" (choose from {', '.join(options)})" if options else ""
        raise ConfigError(
            f'cannot convert {base or "this channel"} to "{wanted}"{hint}', field=path
        )
    return fn


def canonical_unit(unit: str | None) -> str | None:
    return UNIT_ALIASES.get(unit, unit) if unit else unit
