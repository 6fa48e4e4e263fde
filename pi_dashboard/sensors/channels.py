"""Channels several sensor types share. Each type passes the range its own datasheet specifies,
so a reading outside what that chip can measure is an error rather than a value."""

from __future__ import annotations

from pi_dashboard.model import ChannelMeta, DeviceClass

Range = tuple[float, float]


def temperature_channel(valid_range: Range, *, precision: int = 2) -> ChannelMeta:
    """Air temperature in °C over the chip's operating range."""
    return ChannelMeta(
        id="temperature", name="Temperature", unit="°C", device_class=DeviceClass.TEMPERATURE,
        precision=precision, valid_range=valid_range,
    )  # fmt: skip


def humidity_channel(valid_range: Range = (0.0, 100.0), *, precision: int = 1) -> ChannelMeta:
    """Relative humidity in %: 0..100 unless the chip's datasheet specifies less."""
    return ChannelMeta(
        id="humidity", name="Humidity", unit="%", device_class=DeviceClass.HUMIDITY,
        precision=precision, valid_range=valid_range,
    )  # fmt: skip


def pressure_channel(valid_range: Range, *, precision: int = 1) -> ChannelMeta:
    """Atmospheric pressure in hPa over the chip's operating range."""
    return ChannelMeta(
        id="pressure", name="Pressure", unit="hPa", device_class=DeviceClass.ATMOSPHERIC_PRESSURE,
        precision=precision, valid_range=valid_range,
    )  # fmt: skip
